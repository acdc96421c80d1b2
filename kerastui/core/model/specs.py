"""Plain dataclasses that describe a whole workbench state; a preset file is their TOML form.

Every section is strict: an unknown key or a value of the wrong type or out of range is a
:class:`PresetError` that names the file, the dotted key and the reason.  ``to_dict`` and
``from_dict`` are exact inverses, so ``load(save(p)) == p`` for every preset.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union, cast

from kerastui.core.errors import PresetError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Reserved keys of a layer table; every other key is a keyword argument of the Keras class.
LAYER_RESERVED = ("type", "name", "inputs")
# What TensorFlow takes as a layer's name scope, less the slashes that Keras refuses.
LAYER_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # TensorFlow node names refuse others (">" too, when it ends a scope)
MODEL_TYPES = ("sequential", "functional", "subclass")
SAVE_FORMATS = ("keras", "h5", "savedmodel")
DATA_KINDS = ("tabular", "image", "sequence")
MISSING_VALUES = ("error", "drop", "mean")
CACHE_KINDS = ("memory", "file")
SEED_MAX = 2**32 - 1  # NumPy's and Keras's seeds are unsigned 32-bit integers
COUNT_MAX = 2**31 - 1  # epochs, batch sizes, patience: TensorFlow counts them in int32
# Keras 3.15 builds a Sequential stack of ~1,000 layers into "maximum recursion depth exceeded"
# after 20 s, and reloading a saved stack grows quadratically (500 Dense layers: 87 s, 800: 250 s).
# A deeper model belongs in a model.subclass file (a loop in call()).
MAX_LAYERS = 500

_D = TypeVar("_D", bound="DataclassInstance")


def _meta(*, choices: tuple[Any, ...] | None = None, min: float | None = None, max: float | None = None,
          below: float | None = None, above: float | None = None, unique: bool = False,
          doc: str = "") -> dict[str, Any]:
    """Field rules: ``min``/``max`` inclusive, ``above``/``below`` exclusive; ``unique`` for lists.

    Every float field must also be finite: no preset key gives NaN or infinity a meaning.
    """
    return {"choices": choices, "min": min, "max": max, "below": below, "above": above, "unique": unique, "doc": doc}


@dataclass
class LayerSpec:
    """One Keras layer: its class name, optional name and inputs (functional), and kwargs."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    inputs: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        if self.inputs is not None:
            out["inputs"] = list(self.inputs)
        out.update(self.kwargs)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str, key: str) -> LayerSpec:
        if not isinstance(data, dict):
            raise PresetError(where, key,
                              f"a layer must be a table like {{type = \"Dense\", units = 8}}, got {_show(data)}")
        if "type" not in data:
            raise PresetError(where, key, "a layer needs a 'type' (the Keras class name, e.g. \"Dense\")")
        layer_type = data["type"]
        if not isinstance(layer_type, str) or not layer_type:
            raise PresetError(where, f"{key}.type", f"must be a Keras layer class name, got {_show(layer_type)}")
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise PresetError(where, f"{key}.name", f"must be a string, got {_show(name)}")
        inputs = data.get("inputs")
        if inputs is not None:
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
                raise PresetError(where, f"{key}.inputs", "must be a list of layer names")
        kwargs = {k: v for k, v in data.items() if k not in LAYER_RESERVED}
        check_finite(kwargs, where, key)
        return cls(type=layer_type, kwargs=kwargs, name=name, inputs=inputs)

    def label(self) -> str:
        return f"{self.type}({self.name})" if self.name else self.type


@dataclass
class ObjectSpec:
    """A Keras object named by its class with its own keyword arguments: a metric
    (``{type = "TopKCategoricalAccuracy", k = 2}``), an optimizer or a loss.  Checked against the
    class's signature when Keras is loaded (``kerastui.core.model.kerasobjects``)."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.kwargs}

    @classmethod
    def from_dict(cls, data: Any, where: str, key: str) -> ObjectSpec:
        if not isinstance(data, dict):
            raise PresetError(where, key, f"must be a name or a table like {{type = \"ClassName\", ...}}, "
                                          f"got {_show(data)}")
        if "type" not in data:
            raise PresetError(where, key, "a table needs a 'type' (the Keras class name)")
        kind = data["type"]
        if not isinstance(kind, str) or not kind.isidentifier():
            raise PresetError(where, f"{key}.type", f"must be a Keras class name, got {_show(kind)}")
        kwargs = {k: v for k, v in data.items() if k != "type"}
        check_finite(kwargs, where, key)
        return cls(type=kind, kwargs=kwargs)

    def call_text(self) -> str:
        """``TopKCategoricalAccuracy(k=2)``: how the object reads in Python (and in the Train form)."""
        return f"{self.type}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


def object_name(value: str | ObjectSpec) -> str:
    """A compile entry's name: the string itself, or a table's class name (``CategoricalCrossentropy``)."""
    return value if isinstance(value, str) else value.type


def object_text(value: str | ObjectSpec) -> str:
    """A compile entry as one reads it: the string, or ``ClassName(k=v, ...)``."""
    return value if isinstance(value, str) else value.call_text()


@dataclass
class DataSpec:
    source: str = field(default="synthetic:classification", metadata=_meta(
        doc="keras:NAME, sklearn:NAME, synthetic:classification|regression|images, npz:PATH, csv:PATH, images:DIR"))
    normalize: bool = True
    one_hot: bool | None = field(default=None, metadata=_meta(doc="None: decided by the loss"))
    validation_split: float = field(default=0.2, metadata=_meta(min=0.0, below=1.0))
    test_split: float = field(default=0.2, metadata=_meta(min=0.0, below=1.0,
                                                          doc="used where the source has no test split"))
    limit: int | None = field(default=None, metadata=_meta(min=1, max=COUNT_MAX,
                                                           doc="cap on training samples; test gets a quarter"))
    seed: int = field(default=0, metadata=_meta(min=0, max=SEED_MAX))
    classes: list[int] | None = field(default=None, metadata=_meta(
        min=0, unique=True, doc="keep only these class labels, renumbered 0..k-1"))
    resize: list[int] | None = field(default=None, metadata=_meta(min=1, doc="[height, width] for images"))
    max_image_pixels: int = field(default=50_000_000, metadata=_meta(
        min=1, doc="images: a file whose header gives more pixels (width × height) is skipped, never decoded"))
    # Synthetic and file-source options.
    samples: int | None = field(default=None, metadata=_meta(min=2))
    features: int | None = field(default=None, metadata=_meta(min=1))
    num_classes: int | None = field(default=None, metadata=_meta(min=2))
    image_shape: list[int] | None = field(default=None, metadata=_meta(min=1, doc="[height, width(, channels)]"))
    noise: float | None = field(default=None, metadata=_meta(min=0.0))
    label_column: str | int | None = field(default=None, metadata=_meta(
        doc="csv: the label column's name, or its index (-1: the last) for a file without a header"))
    kind: str | None = field(default=None, metadata=_meta(
        choices=DATA_KINDS, doc="what the arrays are; None: guessed from their shape and dtype"))
    missing: str = field(default="error", metadata=_meta(
        choices=MISSING_VALUES, doc="csv: an empty or NA cell is an error, drops its row, or takes the column mean"))
    stream: bool | None = field(default=None, metadata=_meta(
        doc="feed training from a tf.data pipeline (images:, npy:, npz:); None: when the data is large"))
    cache: str | None = field(default=None, metadata=_meta(
        choices=CACHE_KINDS, doc="a streamed pipeline's decoded samples kept in memory or a file in the run"))
    split: str | None = field(default=None, metadata=_meta(doc="tfds: the split to train on (default train)"))
    data_dir: str | None = field(default=None, metadata=_meta(doc="tfds: the folder of prepared datasets"))
    as_supervised: bool = True


@dataclass
class ModelSpec:
    type: str = field(default="sequential", metadata=_meta(choices=MODEL_TYPES))
    name: str | None = None
    layers: list[LayerSpec] = field(default_factory=list)
    outputs: list[str] | None = field(default=None,
                                      metadata=_meta(unique=True, doc="functional: names of output layers"))
    subclass: str | None = field(default=None, metadata=_meta(doc="file.py:ClassName, relative to the preset"))
    kwargs: dict[str, Any] = field(default_factory=dict)
    summary: bool = False


@dataclass
class CompileSpec:
    # Each of optimizer, loss and metrics[i] is a Keras name ("adam") or an ObjectSpec table
    # ({type = "SGD", momentum = 0.9}).
    optimizer: str | ObjectSpec = "adam"
    learning_rate: float | None = field(default=None, metadata=_meta(above=0.0))
    loss: str | ObjectSpec = "categorical_crossentropy"
    metrics: list[str | ObjectSpec] = field(default_factory=lambda: ["accuracy"], metadata=_meta(unique=True))
    custom_metrics: list[str] = field(default_factory=list, metadata=_meta(
        unique=True, doc="file.py:ClassName, relative to the preset"))

    @property
    def loss_name(self) -> str:
        """The loss's name for decisions on labels: ``categorical_crossentropy`` or ``CategoricalCrossentropy``."""
        return object_name(self.loss)


@dataclass
class FitSpec:
    epochs: int = field(default=10, metadata=_meta(min=1, max=COUNT_MAX))
    batch_size: int = field(default=32, metadata=_meta(min=1, max=COUNT_MAX))
    shuffle: bool = True
    seed: int = field(default=0, metadata=_meta(min=0, max=SEED_MAX))


@dataclass
class EarlyStoppingSpec:
    monitor: str = "val_loss"
    patience: int = field(default=3, metadata=_meta(min=0, max=COUNT_MAX))
    min_delta: float = field(default=0.0, metadata=_meta(min=0.0))
    restore_best_weights: bool = True


@dataclass
class ReduceLRSpec:
    monitor: str = "val_loss"
    factor: float = field(default=0.1, metadata=_meta(above=0.0, below=1.0))
    patience: int = field(default=2, metadata=_meta(min=0, max=COUNT_MAX))
    min_lr: float = field(default=0.0, metadata=_meta(min=0.0))


@dataclass
class CheckpointSpec:
    monitor: str = "val_loss"
    save_best_only: bool = True
    filename: str = "checkpoint.keras"


def run_file_problem(name: str) -> str | None:
    """Why a file name a preset gives for a run's own file (``callbacks.checkpoint.filename``) would
    not lie inside the run directory, or None: a run writes only there (a preset may be a stranger's)."""
    if Path(name).is_absolute() or name.startswith("~") or ".." in Path(name).parts:
        shown = repr(name) if len(name) <= 200 else f"{name[:197]!r}..."
        return (f"{shown} leads out of the run directory; a run writes only inside it: give a name inside it, "
                "such as 'best.keras'")
    return None


@dataclass
class TensorBoardSpec:
    log_dir: str | None = field(default=None, metadata=_meta(doc="default: the run directory's tensorboard/"))
    histogram_freq: int = field(default=0, metadata=_meta(min=0, max=COUNT_MAX))


@dataclass
class CallbacksSpec:
    early_stopping: EarlyStoppingSpec | None = None
    reduce_lr: ReduceLRSpec | None = None
    checkpoint: CheckpointSpec | None = None
    tensorboard: TensorBoardSpec | None = None


@dataclass
class SaveSpec:
    formats: list[str] = field(default_factory=list, metadata=_meta(choices=SAVE_FORMATS, unique=True))
    verify: bool = True


@dataclass
class TransferSpec:
    base: str = "ResNet50"
    weights: str = field(default="imagenet", metadata=_meta(doc="imagenet, none, or a path to a weights .h5"))
    allow_no_weights: bool = False
    input_shape: list[int] | None = field(default=None, metadata=_meta(min=1))
    freeze: bool = True
    fine_tune_last: int = field(default=0, metadata=_meta(min=0))
    fine_tune_epochs: int = field(default=0, metadata=_meta(min=0, max=COUNT_MAX))
    fine_tune_learning_rate: float = field(default=1e-5, metadata=_meta(above=0.0))


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass
class DevicesSpec:
    """Where a run trains: one model on the devices of ONE machine (kerastui/core/devices.py).

    More than one selected device → ``tf.distribute.MirroredStrategy``; ``fit.batch_size`` is then
    the global batch, split over the replicas.  Training one model over several machines is not
    supported (Keras 3's TensorFlow trainer cannot run MultiWorkerMirroredStrategy, keras-team/keras
    #20585); a multi-machine mode would be a new key here (e.g. ``workers``), not a change of these.
    """

    gpus: Any = field(default="all", metadata=_meta(
        doc='"all", "none", or GPU indices like [0, 2] (numbered as nvidia-smi does); several → MirroredStrategy'))
    memory_growth: bool = field(default=True, metadata=_meta(
        doc="take GPU memory as the run needs it, not all of every GPU at start"))
    precision: str = field(default="float32", metadata=_meta(
        choices=PRECISIONS, doc="mixed_*: layers compute in float16/bfloat16, the output layer in float32"))
    jit_compile: Any = field(default="auto", metadata=_meta(
        doc='"auto" (XLA where safe: off on the CPU and under MirroredStrategy), true or false'))
    logical_cpus: int | None = field(default=None, metadata=_meta(
        min=2, max=64, doc="without GPU: split the CPU into N logical devices and mirror the model over "
                           "them (proves the multi-device path; slower than one device)"))


SAMPLERS = ("tpe", "random", "grid", "cmaes", "qmc")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")


@dataclass
class SweepSpec:
    """A sweep (Optuna study) over this preset: each trial an ordinary run with the ``space``'s keys
    (``--set`` syntax) given sampled values.  The space is checked against the preset by
    :func:`kerastui.core.model.sweepspace.check_sweep` (called when a preset file is read)."""

    trials: int | None = field(default=None, metadata=_meta(min=1, max=COUNT_MAX, doc="how many trials in all"))
    timeout: Any = field(default=None, metadata=_meta(
        doc='no trial starts after this long: "8h", "90m", "1h30m", "45s" or seconds'))
    parallel: Any = field(default=1, metadata=_meta(
        doc='trials at once on each machine: a number, or "gpus" (one per visible GPU)'))
    objective: str | None = field(default=None, metadata=_meta(
        doc="the logged metric a trial is judged by (default val_loss, else loss)"))
    direction: str | None = field(default=None, metadata=_meta(
        choices=DIRECTIONS, doc="default: from the objective's name (loss, error… lower; the rest higher)"))
    sampler: str = field(default="tpe", metadata=_meta(choices=SAMPLERS))
    pruner: str = field(default="median", metadata=_meta(choices=PRUNERS))
    seed: int | None = field(default=None, metadata=_meta(min=0, max=SEED_MAX, doc="the sampler's seed"))
    startup_trials: int = field(default=5, metadata=_meta(
        min=0, max=COUNT_MAX, doc="trials that complete before the pruner prunes any"))
    warmup_epochs: int = field(default=0, metadata=_meta(
        min=0, max=COUNT_MAX, doc="epochs a trial runs before the pruner may prune it"))
    space: dict[str, Any] = field(default_factory=dict, metadata=_meta(
        doc='KEY = { low, high[, log][, step] } or { choices = [...] }, KEY as --set writes it'))


@dataclass
class Preset:
    title: str = ""
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    compile: CompileSpec = field(default_factory=CompileSpec)
    fit: FitSpec = field(default_factory=FitSpec)
    callbacks: CallbacksSpec = field(default_factory=CallbacksSpec)
    save: SaveSpec = field(default_factory=SaveSpec)
    transfer: TransferSpec | None = None
    devices: DevicesSpec = field(default_factory=DevicesSpec)
    sweep: SweepSpec | None = None
    # Where the preset came from; not part of its TOML.
    name: str = field(default="", compare=False, metadata={"transient": True})
    path: Path | None = field(default=None, compare=False, metadata={"transient": True})

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    @property
    def planned_epochs(self) -> int:
        """Every epoch a run of it trains, all phases (a transfer run fine-tunes after its head)."""
        t = self.transfer
        fine_tune = t.fine_tune_epochs if t is not None and t.fine_tune_last > 0 and t.fine_tune_epochs > 0 else 0
        return self.fit.epochs + fine_tune

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else (self.name or "preset")

    def to_dict(self) -> dict[str, Any]:
        return cast("dict[str, Any]", to_dict(self))

    @classmethod
    def from_dict(cls, data: Any, where: str = "preset") -> Preset:
        preset = from_dict(cls, data, where, "")
        check_preset(preset, where)
        return preset


# --------------------------------------------------------------------------- conversion


def to_dict(obj: Any) -> Any:
    """A TOML-ready mapping: ``None`` values are left out (TOML has no null)."""
    if isinstance(obj, (LayerSpec, ObjectSpec)):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.metadata.get("transient"):
                continue
            value = getattr(obj, f.name)
            if value is None:
                continue
            out[f.name] = to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type[_D], data: Any, where: str, prefix: str) -> _D:
    label = prefix or "preset"
    if not isinstance(data, dict):
        raise PresetError(where, prefix or None, f"{label} must be a table, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("transient")}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(fields)}"
        raise PresetError(where, _join(prefix, key), f"unknown key{hint}")
    values = {}
    for name, f in fields.items():
        if name not in data:
            continue
        key = _join(prefix, name)
        value = _convert(hints[name], data[name], where, key)
        _check_range(f.metadata, value, where, key)
        values[name] = value
    return cls(**values)


def _convert(hint: Any, value: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, where, key)
        if set(options) == {str, int}:  # a name or an index (data.label_column)
            if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
                return value
            raise PresetError(where, key, f"must be a string or an integer, got {_show(value)}")
        if set(options) == {str, ObjectSpec}:  # a Keras name or {type = "ClassName", ...} (compile)
            return value if isinstance(value, str) else ObjectSpec.from_dict(value, where, key)
        raise TypeError(f"unsupported annotation {hint}")  # pragma: no cover - specs only use X | None
    if hint is LayerSpec:
        return LayerSpec.from_dict(value, where, key)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, key)
    if origin is list:
        if not isinstance(value, list):
            raise PresetError(where, key, f"must be a list, got {_show(value)}")
        (item,) = args
        return [_convert(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise PresetError(where, key, f"must be a table, got {_show(value)}")
        return dict(value)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise PresetError(where, key, f"must be true or false, got {_show(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PresetError(where, key, f"must be an integer, got {_show(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PresetError(where, key, f"must be a number, got {_show(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise PresetError(where, key, f"must be a string, got {_show(value)}")
        return value
    raise TypeError(f"unsupported annotation {hint}")  # pragma: no cover


def _check_range(meta: Any, value: Any, where: str, key: str) -> None:
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    choices = meta.get("choices")
    if meta.get("unique") and isinstance(value, list):
        seen: set[Any] = set()  # strings and integers, or a table's repr (ObjectSpec)
        for i, item in enumerate(value):
            marker = repr(item) if isinstance(item, ObjectSpec) else item
            if marker in seen:
                shown = item.call_text() if isinstance(item, ObjectSpec) else item
                raise PresetError(where, f"{key}[{i}]", f"{_show(shown)} is listed twice")
            seen.add(marker)
    for i, item in enumerate(items):
        item_key = f"{key}[{i}]" if isinstance(value, list) else key
        if choices and item not in choices:
            close = difflib.get_close_matches(str(item), [str(c) for c in choices], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PresetError(where, item_key, f"{_show(item)} is not one of {', '.join(map(str, choices))}{hint}")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            allowed = allowed_range(meta)
            if isinstance(item, float) and not math.isfinite(item):
                raise PresetError(where, item_key, f"must be a finite number{allowed}, got {item}")
            if ((meta.get("min") is not None and item < meta["min"])
                    or (meta.get("max") is not None and item > meta["max"])
                    or (meta.get("below") is not None and item >= meta["below"])
                    or (meta.get("above") is not None and item <= meta["above"])):
                raise PresetError(where, item_key, f"must be{allowed}, got {_show(item)}")


def allowed_range(meta: Any) -> str:
    """`` in [0, 1)``-style text for a field's bounds ('' when it has none)."""
    low, high = meta.get("min"), meta.get("max")
    above, below = meta.get("above"), meta.get("below")
    if low is None and above is None and high is None and below is None:
        return ""
    left = f"[{_num(low)}" if low is not None else f"({_num(above)}" if above is not None else "(-∞"
    right = f"{_num(high)}]" if high is not None else f"{_num(below)})" if below is not None else "∞)"
    return f" in {left}, {right}"


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:,}" if isinstance(value, int) and value >= 10**6 else str(value)


def check_preset(preset: Preset, where: str) -> None:
    """Checks that span several keys."""
    model = preset.model
    check_finite(model.kwargs, where, "model.kwargs")
    if model.type == "subclass":
        if not model.subclass:
            raise PresetError(where, "model.subclass", "a subclass model needs subclass = \"file.py:ClassName\"")
        _check_ref(model.subclass, where, "model.subclass")
    elif model.subclass:
        raise PresetError(where, "model.subclass", f"only used when model.type = \"subclass\" (it is \"{model.type}\")")
    if model.type in ("sequential", "functional") and not model.layers and preset.transfer is None:
        raise PresetError(where, "model.layers", "the model has no layers")
    for i, layer in enumerate(model.layers):
        if layer.name and not LAYER_NAME.fullmatch(layer.name):
            raise PresetError(where, f"model.layers[{i}].name",
                              f"{_show(layer.name)}: a layer's name takes letters, digits, '_', '.' and '-' only "
                              "(TensorFlow refuses others, spaces included, when training starts)")
    if model.type == "functional":
        seen: set[str] = set()
        for i, layer in enumerate(model.layers):
            key = f"model.layers[{i}]"
            if not layer.name:
                raise PresetError(where, key, "functional layers need a 'name'")
            if layer.name in seen:
                raise PresetError(where, f"{key}.name", f"duplicate layer name '{layer.name}'")
            if layer.type in ("Input", "InputLayer"):
                if layer.inputs:
                    raise PresetError(where, f"{key}.inputs", "an Input layer takes no inputs")
            else:
                for name in layer.inputs or []:
                    if name not in seen:
                        raise PresetError(where, f"{key}.inputs", f"'{name}' is not the name of an earlier layer")
            seen.add(layer.name)
        for name in model.outputs or []:
            if name not in seen:
                raise PresetError(where, "model.outputs", f"'{name}' is not a layer name")
    elif model.outputs is not None:
        raise PresetError(where, "model.outputs", "only used when model.type = \"functional\"")
    if preset.transfer is not None and model.type != "sequential":
        raise PresetError(where, "transfer", "a transfer base takes a sequential head in model.layers")
    for i, ref in enumerate(preset.compile.custom_metrics):
        _check_ref(ref, where, f"compile.custom_metrics[{i}]")
    optimizer = preset.compile.optimizer
    if (isinstance(optimizer, ObjectSpec) and "learning_rate" in optimizer.kwargs
            and preset.compile.learning_rate is not None):
        raise PresetError(where, "compile.optimizer.learning_rate", "given twice (compile.learning_rate sets it "
                                                                     "too): keep one")
    shape = preset.transfer.input_shape if preset.transfer else None
    if shape is not None and len(shape) != 3:
        raise PresetError(where, "transfer.input_shape", f"must be [height, width, channels], got {_show(shape)}")
    if preset.data.resize is not None and len(preset.data.resize) != 2:
        raise PresetError(where, "data.resize", f"must be [height, width], got {_show(preset.data.resize)}")
    image_shape = preset.data.image_shape
    if image_shape is not None and len(image_shape) not in (2, 3):
        raise PresetError(where, "data.image_shape", f"must be [height, width] or [height, width, channels], "
                                                     f"got {_show(image_shape)}")
    if preset.data.classes is not None and not preset.data.classes:
        raise PresetError(where, "data.classes", "an empty list keeps no class; leave the key out to keep all")
    check_devices(preset.devices, where)
    if preset.callbacks.checkpoint is not None and (problem := run_file_problem(preset.callbacks.checkpoint.filename)):
        raise PresetError(where, "callbacks.checkpoint.filename", problem)
    if len(preset.model.layers) > MAX_LAYERS:
        raise PresetError(where, "model.layers", f"{len(preset.model.layers):,} layers; kerastui builds stacks of "
                                                 f"at most {MAX_LAYERS:,} layers (a deeper model belongs in a "
                                                 "model.subclass file)")


def check_devices(spec: DevicesSpec, where: str) -> None:
    """The two keys whose values are a word or something else (whether a GPU exists is the run's check)."""
    gpus = spec.gpus
    if isinstance(gpus, list):
        if not gpus:
            raise PresetError(where, "devices.gpus", 'an empty list selects no GPU; write gpus = "none"')
        for i, index in enumerate(gpus):
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise PresetError(where, f"devices.gpus[{i}]",
                                  f"must be a GPU index (an integer ≥ 0), got {_show(index)}")
            if index in gpus[:i]:
                raise PresetError(where, f"devices.gpus[{i}]", f"GPU {index} is listed twice")
    elif gpus not in ("all", "none") or isinstance(gpus, bool):
        raise PresetError(where, "devices.gpus", f'must be "all", "none" or a list of GPU indices like [0, 2], '
                                                 f"got {_show(gpus)}")
    if spec.jit_compile != "auto" and not isinstance(spec.jit_compile, bool):
        raise PresetError(where, "devices.jit_compile", f'must be "auto", true or false, got {_show(spec.jit_compile)}')


def check_finite(value: Any, where: str, key: str) -> None:
    """No NaN or infinity anywhere in a Keras argument table: no Keras argument gives them a meaning,
    and some (``epsilon = nan``, ``negative_slope = inf``) pass Keras's checks and turn the loss NaN."""
    stack = [(key, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise PresetError(where, path, f"must be a finite number, got {item}")
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}", v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))


def _check_ref(ref: str, where: str, key: str) -> None:
    file, sep, cls = ref.rpartition(":")
    if not sep or not file.endswith(".py") or not cls.isidentifier():
        raise PresetError(where, key, f"must look like \"file.py:ClassName\", got {_show(ref)}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def split_ref(ref: str) -> tuple[str, str]:
    file, _, cls = ref.rpartition(":")
    return file, cls

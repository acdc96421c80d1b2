"""Transfer learning on ``keras.applications`` bases: freeze, train a head, unfreeze the last N.

The base is called with ``training=False`` so its BatchNormalization layers always run in
inference mode, and when the last N layers are unfrozen the BatchNormalization layers among
them stay frozen: updating their moving statistics on a small dataset wrecks what the base
learnt (Keras's own fine-tuning guide does the same).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import io
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kerastui.core.errors import TransferError, one_line
from kerastui.core.model.parts import BuiltModel, apply_layer, keras_name, make_layer, parameter_counts
from kerastui.core.model.specs import LayerSpec, Preset, TransferSpec
from kerastui.core.tfenv import load_keras

# Bases we know the minimum input size and preprocessing module of; any other
# keras.applications class also works (preprocessing found through its module).
KNOWN_BASES = {
    "ResNet50": ("resnet50", 32),
    "ResNet101": ("resnet", 32),
    "ResNet152": ("resnet", 32),
    "ResNet50V2": ("resnet_v2", 32),
    "MobileNetV2": ("mobilenet_v2", 32),
    "MobileNet": ("mobilenet", 32),
    "EfficientNetB0": ("efficientnet", 32),
    "EfficientNetV2B0": ("efficientnet_v2", 32),
    "VGG16": ("vgg16", 32),
    "VGG19": ("vgg19", 32),
    "DenseNet121": ("densenet", 32),
    "Xception": ("xception", 71),
    "InceptionV3": ("inception_v3", 75),
}
WEIGHT_FILES = {
    "ResNet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "VGG16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "MobileNetV2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    "EfficientNetB0": "efficientnetb0_notop.h5",
}


def application_names() -> list[str]:
    keras = load_keras()
    return sorted(n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n)))


def base_constructor(name: str) -> Callable[..., Any]:
    keras = load_keras()
    fn: Callable[..., Any] | None = getattr(keras.applications, name, None)
    if fn is None or not name[:1].isupper():
        close = difflib.get_close_matches(name, application_names(), n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise TransferError(f"transfer.base: {name!r} is not a keras.applications model{hint}")
    return fn


def min_size(name: str) -> int:
    return KNOWN_BASES.get(name, (None, 32))[1]


def preprocess_function(name: str) -> Callable[..., Any]:
    keras = load_keras()
    module_name = KNOWN_BASES.get(name, (None,))[0]
    if module_name is not None:
        module = getattr(keras.applications, module_name)
    else:
        module = importlib.import_module(base_constructor(name).__module__)
    preprocess: Callable[..., Any] = module.preprocess_input
    return preprocess


def transfer_image_shape(spec: TransferSpec, data_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The base's input: the preset's ``input_shape``, else the data's, grown to the base's minimum."""
    if spec.input_shape:
        h, w, c = spec.input_shape
    else:
        h, w = data_shape[0], data_shape[1]
        c = 3
        smallest = min_size(spec.base)
        h, w = max(h, smallest), max(w, smallest)
    return (int(h), int(w), int(c))


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "models"


def load_base(spec: TransferSpec, input_shape: tuple[int, ...]) -> tuple[Any, list[str]]:
    """The base without its top, with weights resolved; notices say what was decided for the user."""
    constructor = base_constructor(spec.base)
    notices: list[str] = []
    weights: str | None = spec.weights
    if spec.weights in ("none", "", "random"):
        weights = None
    elif spec.weights not in ("imagenet",):
        path = Path(spec.weights).expanduser()
        if not path.is_file():
            raise TransferError(f"transfer.weights: {path} not found (use imagenet, none or a weights .h5 path)")
        weights = str(path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # "Downloading data from …"
            base = constructor(include_top=False, weights=weights, input_shape=tuple(input_shape))
    except Exception as error:  # noqa: BLE001
        if spec.weights == "imagenet" and _looks_like_download_failure(error):
            file = WEIGHT_FILES.get(spec.base, f"the {spec.base} no-top weights file")
            message = (f"transfer.weights: {spec.base} imagenet weights are not cached and could not be downloaded; "
                       f"put {file} in {keras_models_dir()}/, or set transfer.weights = \"none\" or a local .h5 path")
            if not spec.allow_no_weights:
                raise TransferError(message) from None
            notices.append(f"{spec.base}: imagenet weights unavailable offline; training from random weights "
                           "(transfer.allow_no_weights = true)")
            base = constructor(include_top=False, weights=None, input_shape=tuple(input_shape))
        else:
            raise TransferError(f"transfer: {spec.base}(input_shape={list(input_shape)}, weights={spec.weights!r}): "
                                f"{one_line(error)}") from None
    return base, notices


def _looks_like_download_failure(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return any(s in text for s in ("url", "fetch", "download", "connection", "resolve", "network", "http", "urlopen"))


def build_transfer_model(preset: Preset, input_shape: tuple[int, ...], *, trusted: bool = False) -> BuiltModel:
    """The base and the preset's head (``model.layers``); ``trusted`` as the builder's ``build_model``."""
    keras = load_keras()
    spec = preset.transfer
    assert spec is not None
    base, notices = load_base(spec, input_shape)
    base.trainable = not spec.freeze
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = base(inputs, training=False)
    for i, layer_spec in enumerate(preset.model.layers):
        where = f"model.layers[{i}]"
        layer = make_layer(layer_spec, where, trusted=trusted)
        x = apply_layer(layer, x, where, layer_spec)
    model = keras.Model(inputs, x, name=keras_name(preset.model.name) or f"{spec.base.lower()}_transfer")
    return BuiltModel(model, tuple(input_shape), base=base, notices=notices)


def freeze(base: Any) -> None:
    base.trainable = False


def unfreeze_last(base: Any, count: int) -> list[str]:
    """Make the last ``count`` layers trainable except BatchNormalization; returns their names."""
    keras = load_keras()
    base.trainable = True
    cut = max(len(base.layers) - count, 0)
    unfrozen = []
    for i, layer in enumerate(base.layers):
        trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        if trainable:
            unfrozen.append(layer.name)
    return unfrozen


def stages(base: Any) -> list[tuple[str, list[Any]]]:
    """Layers folded by stage name prefix (``conv1``, ``conv2`` … for ResNet), in order."""
    folded: list[tuple[str, list[Any]]] = []
    for layer in base.layers:
        stage = layer.name.split("_")[0]
        if not folded or folded[-1][0] != stage:
            folded.append((stage, []))
        folded[-1][1].append(layer)
    return folded


# --------------------------------------------------------------------------- the layer table

MAX_STAGES = 40  # more runs of names than this (InceptionV3's conv2d_N…) fold into even chunks


def stage_of(name: str) -> str:
    """The stage a layer belongs to, from Keras's names: ``conv4_block2_1_conv`` → ``conv4_x`` (ResNet,
    DenseNet), ``block_13_expand`` → ``block13`` (MobileNetV2), ``block2b_dwconv`` → ``block2``
    (EfficientNet), ``block3_conv1`` → ``block3`` (VGG); otherwise the name's first word."""
    match = re.match(r"(conv\d+)_block\d+_", name)
    if match:
        return f"{match[1]}_x"
    match = re.match(r"block_?(\d+)[a-z]?_", name)
    if match:
        return f"block{match[1]}"
    if name.startswith("expanded_conv"):
        return "block0"
    if name.startswith("input"):
        return "input"
    return name.removeprefix("bn_").split("_")[0]


@dataclass(frozen=True)
class BaseLayer:
    index: int
    name: str
    type: str
    stage: str
    params: int  # every weight of the layer
    trainable_params: int  # the weights that train when the layer is trainable
    batch_norm: bool

    @property
    def fine_tunable(self) -> int:
        """What unfreezing this layer adds to the trainable count (BatchNormalization stays frozen)."""
        return 0 if self.batch_norm else self.trainable_params


@dataclass(frozen=True)
class ParamCounts:
    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class BaseTable:
    """A base's layers and its head's parameter counts, measured once from the Keras objects, so that
    moving the freeze boundary is a sum over this table (no model is rebuilt).  The counts agree with
    ``model.trainable_weights`` after :func:`freeze` / :func:`unfreeze_last`."""

    base: str
    input_shape: tuple[int, int, int]
    layers: list[BaseLayer]
    head: str = ""
    head_trainable: int = 0
    head_non_trainable: int = 0
    stages: list[tuple[str, int, int]] = field(default_factory=list)  # (stage, first index, stop index)
    _tail: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        tail = [0] * (len(self.layers) + 1)
        for i in range(len(self.layers) - 1, -1, -1):
            tail[i] = tail[i + 1] + self.layers[i].fine_tunable
        self._tail = tail
        if not self.stages:
            self.stages = fold_stages([layer.stage for layer in self.layers])

    @property
    def base_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total(self) -> int:
        return self.base_params + self.head_trainable + self.head_non_trainable

    def clamp(self, last: int) -> int:
        return max(0, min(int(last), len(self.layers)))

    def phase1(self, freeze: bool) -> ParamCounts:
        """Training the head: the base frozen, or (freeze off) trainable as a whole."""
        trainable = self.head_trainable + (0 if freeze else sum(layer.trainable_params for layer in self.layers))
        return ParamCounts(trainable, self.total - trainable)

    def phase2(self, last: int) -> ParamCounts:
        """Fine-tuning with the last ``last`` layers unfrozen, BatchNormalization kept frozen."""
        trainable = self.head_trainable + self._tail[len(self.layers) - self.clamp(last)]
        return ParamCounts(trainable, self.total - trainable)

    def unfrozen(self, index: int, last: int) -> bool:
        """Whether layer ``index`` trains in phase 2 with the last ``last`` layers unfrozen."""
        return index >= len(self.layers) - self.clamp(last) and not self.layers[index].batch_norm

    def batch_norm_kept(self, last: int) -> int:
        """BatchNormalization layers among the last ``last`` (they stay frozen)."""
        return sum(layer.batch_norm for layer in self.layers[len(self.layers) - self.clamp(last):])

    def stage_step(self, last: int, direction: int) -> int:
        """N that unfreezes one stage more (``direction`` 1) or one fewer (-1) than ``last``."""
        starts = sorted({len(self.layers) - start for _, start, _ in self.stages} | {0})
        if direction > 0:
            return next((n for n in starts if n > last), len(self.layers))
        return next((n for n in reversed(starts) if n < last), 0)


def fold_stages(names: list[str]) -> list[tuple[str, int, int]]:
    """Runs of equal stage names as (stage, start, stop); too many runs fold into even chunks."""
    runs: list[tuple[str, int, int]] = []
    for i, stage in enumerate(names):
        if runs and runs[-1][0] == stage:
            runs[-1] = (stage, runs[-1][1], i + 1)
        else:
            runs.append((stage, i, i + 1))
    if len(runs) <= MAX_STAGES:
        return runs
    size = -(-len(names) // 20)
    return [(f"layers {start}–{min(start + size, len(names)) - 1}", start, min(start + size, len(names)))
            for start in range(0, len(names), size)]


def head_text(layers: list[LayerSpec]) -> str:
    """``GlobalAveragePooling2D → Dropout(0.2) → Dense(5, softmax)``."""
    parts = []
    for spec in layers:
        shown = [str(v) for k, v in spec.kwargs.items() if k in ("units", "rate", "activation", "filters")]
        parts.append(f"{spec.type}({', '.join(shown)})" if shown else spec.type)
    return " → ".join(parts)


def default_head(num_classes: int) -> list[LayerSpec]:
    """The head the exercise uses: GlobalAveragePooling2D → Dropout(0.2) → Dense(classes, softmax)."""
    return [LayerSpec("GlobalAveragePooling2D"), LayerSpec("Dropout", {"rate": 0.2}),
            LayerSpec("Dense", {"units": int(num_classes), "activation": "softmax"})]


def inspect_base(spec: TransferSpec, input_shape: tuple[int, int, int], head: list[LayerSpec]) -> BaseTable:
    """Build the base once (random weights: the structure does not depend on them) and the head on
    its output, and measure every layer."""
    keras = load_keras()
    base, _ = load_base(replace(spec, weights="none"), input_shape)
    base.trainable = True
    rows = []
    for i, layer in enumerate(base.layers):
        rows.append(BaseLayer(i, layer.name, type(layer).__name__, stage_of(layer.name), int(layer.count_params()),
                              int(sum(math.prod(w.shape) for w in layer.trainable_weights)),
                              isinstance(layer, keras.layers.BatchNormalization)))
    inputs = keras.Input(shape=tuple(base.output.shape[1:]))
    x = inputs
    for i, layer_spec in enumerate(head):
        where = f"model.layers[{i}]"
        x = apply_layer(make_layer(layer_spec, where), x, where, layer_spec)
    counts = parameter_counts(keras.Model(inputs, x))
    h, w, c = input_shape
    return BaseTable(spec.base, (int(h), int(w), int(c)), rows, head_text(head), counts["trainable"],
                     counts["non_trainable"])


def weights_file(name: str) -> Path | None:
    file = WEIGHT_FILES.get(name)
    return keras_models_dir() / file if file else None


def check_weights(spec: TransferSpec, input_shape: tuple[int, ...]) -> tuple[bool, str]:
    """Whether the chosen weights can be had, as (ok, one line): ``none`` always; a file if it loads
    into this base; ``imagenet`` if cached, else if the download works (it is then cached)."""
    weights = spec.weights
    if weights in ("none", "", "random"):
        return True, "none: random initial weights"
    if weights == "imagenet":
        cached = weights_file(spec.base)
        if cached is not None and cached.is_file():
            return True, f"imagenet: cached ({cached})"
        try:
            load_base(replace(spec, allow_no_weights=False), input_shape)
        except TransferError as error:
            if "could not be downloaded" in str(error):
                return False, f"imagenet offline: {spec.base} weights not cached, download failed"
            return False, str(error)
        return True, f"imagenet: downloaded to {keras_models_dir()}"
    try:
        load_base(spec, input_shape)
    except TransferError as error:
        return False, str(error)
    return True, f"file: {Path(weights).name} loaded"

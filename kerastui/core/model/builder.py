"""ModelSpec → ``keras.Model``: sequential, functional, a user's subclass, or a transfer base.

Layers are created and called one at a time on symbolic tensors, so whatever Keras rejects —
an invalid argument, a shape that does not fit — is reported with the layer's index and type.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kerastui.core.data.base import DataInfo
from kerastui.core.errors import KerasTUIError, ModelError, one_line, user_message
from kerastui.core.model import kerasobjects
from kerastui.core.model import layers as catalogue
from kerastui.core.model.parts import INPUT_TYPES, apply_layer, keras_name, make_input, make_layer

# Built models and their counts are made in ``parts`` (transfer learning shares them); callers get them here.
from kerastui.core.model.parts import BuiltModel as BuiltModel
from kerastui.core.model.parts import parameter_counts as parameter_counts
from kerastui.core.model.specs import CompileSpec, LayerSpec, Preset
from kerastui.core.model.transfer import build_transfer_model, transfer_image_shape
from kerastui.core.model.usercode import load_object, user_code_location
from kerastui.core.tfenv import load_keras


@dataclass(frozen=True)
class LayerRow:
    index: int
    name: str
    type: str
    output_shape: str
    params: int
    trainable: bool


def model_input_shape(preset: Preset, info: DataInfo) -> tuple[int, ...]:
    """The per-sample shape the model sees after the data is prepared (channel axis, resize)."""
    shape = tuple(info.shape)
    if info.kind == "image":
        if len(shape) == 2:
            shape = (*shape, 1)
        if preset.data.resize:
            shape = (*preset.data.resize, shape[2])
        if preset.transfer is not None:
            shape = transfer_image_shape(preset.transfer, shape)
    return shape


# --------------------------------------------------------------------------- models


def build_model(preset: Preset, input_shape: tuple[int, ...], *, num_classes: int | None = None,
                trusted: bool = False) -> BuiltModel:
    """The preset's model.  ``trusted``: the user trusts this model to run code from the files its
    layers name (a TFSMLayer's SavedModel); otherwise such a layer is refused
    (:class:`~kerastui.core.model.parts.UntrustedCodeError`) before its file is opened."""
    load_keras()
    kind = preset.model.type
    if preset.transfer is not None:
        built = build_transfer_model(preset, input_shape, trusted=trusted)
    elif kind == "sequential":
        built = BuiltModel(_sequential(preset, input_shape, trusted), input_shape)
    elif kind == "functional":
        built = BuiltModel(_functional(preset, input_shape, trusted), input_shape)
    else:
        built = BuiltModel(_subclass(preset, input_shape), input_shape)
    built.custom_objects.update(custom_metric_classes(preset))
    return built


def _sequential(preset: Preset, input_shape: tuple[int, ...], trusted: bool) -> Any:
    keras = load_keras()
    specs = list(preset.model.layers)
    first = specs[0] if specs and specs[0].type in INPUT_TYPES else None
    if first is not None:
        specs = specs[1:]
    inputs = make_input(first, input_shape, "model.layers[0]")
    offset = 1 if first is not None else 0
    x = inputs
    built = []
    for i, spec in enumerate(specs, start=offset):
        where = f"model.layers[{i}]"
        layer = make_layer(spec, where, trusted=trusted)
        x = apply_layer(layer, x, where, spec)
        built.append(layer)
    try:
        return keras.Sequential([inputs, *built], name=keras_name(preset.model.name or preset.name))
    except Exception as error:  # noqa: BLE001
        raise ModelError(f"model: {one_line(error)}") from None


def _functional(preset: Preset, input_shape: tuple[int, ...], trusted: bool) -> Any:
    keras = load_keras()
    tensors: dict[str | None, Any] = {}  # by layer name (check_preset: every layer has one)
    inputs = []
    previous = None
    for i, spec in enumerate(preset.model.layers):
        where = f"model.layers[{i}]"
        if spec.type in INPUT_TYPES:
            tensor = make_input(spec, input_shape, where)
            inputs.append(tensor)
        else:
            if spec.inputs:
                args = [tensors[name] for name in spec.inputs]
            elif previous is not None:
                args = [previous]
            else:
                implicit = make_input(None, input_shape, where)
                inputs.append(implicit)
                args = [implicit]
            layer = make_layer(spec, where, trusted=trusted)
            tensor = apply_layer(layer, args if len(args) > 1 else args[0], where, spec)
        tensors[spec.name] = tensor
        previous = tensor
    names: Sequence[str | None] = preset.model.outputs or [preset.model.layers[-1].name]
    outputs = [tensors[n] for n in names]
    try:
        return keras.Model(inputs=inputs if len(inputs) > 1 else inputs[0],
                           outputs=outputs if len(outputs) > 1 else outputs[0],
                           name=keras_name(preset.model.name or preset.name))
    except Exception as error:  # noqa: BLE001
        raise ModelError(f"model.outputs: {one_line(error)}") from None


def _subclass(preset: Preset, input_shape: tuple[int, ...]) -> Any:
    keras = load_keras()
    ref = preset.model.subclass
    if not ref:  # check_preset refuses this already
        raise ModelError('model.subclass: a subclass model needs subclass = "file.py:ClassName"')
    cls = load_object(ref, preset.base_dir, "model.subclass")
    if not (isinstance(cls, type) and issubclass(cls, keras.Model)):
        raise ModelError(f"model.subclass: {preset.model.subclass} is not a keras.Model subclass")
    try:
        model = cls(**preset.model.kwargs)
        # A call on one zero sample creates every weight and checks the shapes end to end.
        model(keras.ops.zeros((1, *input_shape)))
    except KerasTUIError:
        raise
    except Exception as error:  # noqa: BLE001 - user code
        raise ModelError(f"model.subclass: {user_code_location(error)}: {user_message(error)}") from None
    return model


def custom_metric_classes(preset: Preset) -> dict[str, type]:
    keras = load_keras()
    found: dict[str, type] = {}
    for i, ref in enumerate(preset.compile.custom_metrics):
        key = f"compile.custom_metrics[{i}]"
        cls = load_object(ref, preset.base_dir, key)
        if not (isinstance(cls, type) and issubclass(cls, keras.metrics.Metric)):
            raise ModelError(f"{key}: {ref} is not a keras.metrics.Metric subclass")
        found[cls.__name__] = cls
    if preset.model.type == "subclass" and preset.model.subclass:
        cls = load_object(preset.model.subclass, preset.base_dir, "model.subclass")
        found[cls.__name__] = cls
    return found


def optimizer_names() -> list[str]:
    """Keras's own optimizers (lower-case names, as compile accepts them)."""
    keras = load_keras()
    names = []
    for name in dir(keras.optimizers):
        obj = getattr(keras.optimizers, name)
        if (inspect.isclass(obj) and issubclass(obj, keras.optimizers.Optimizer)
                and name not in ("Optimizer", "LossScaleOptimizer", "MultiOptimizer")):
            names.append(name.lower())
    return sorted(names)


def compile_model(model: Any, spec: CompileSpec, custom_objects: dict[str, type] | None = None,
                  learning_rate: float | None = None) -> list[str]:
    """Compile with the spec; returns the names its metrics are logged under (custom ones included).

    Each of the optimizer, the loss and the metrics is a Keras name or a class with its arguments
    (:mod:`kerastui.core.model.kerasobjects` checks them against the class's signature)."""
    lr = learning_rate if learning_rate is not None else spec.learning_rate
    optimizer = kerasobjects.make_optimizer(spec.optimizer, lr)
    loss = kerasobjects.make_loss(spec.loss)
    metrics, names = kerasobjects.make_metrics(list(spec.metrics))
    custom = custom_metrics(custom_objects)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics + custom)
    return [*names, *(metric.name for metric in custom)]


def custom_metrics(custom_objects: dict[str, type] | None) -> list[Any]:
    """One instance of each custom metric class (``kerastui check`` makes them as compile does)."""
    keras = load_keras()
    out = []
    for cls in (custom_objects or {}).values():
        if isinstance(cls, type) and issubclass(cls, keras.metrics.Metric):
            try:
                out.append(cls())
            except Exception as error:  # noqa: BLE001 - user code
                raise ModelError(f"compile.custom_metrics: {cls.__name__}() failed at "
                                 f"{user_code_location(error)}: {one_line(error)}") from None
    return out


# --------------------------------------------------------------------------- inspection


def layer_rows(model: Any) -> list[LayerRow]:
    rows = []
    for i, layer in enumerate(model.layers):
        try:
            shape = str(tuple(layer.output.shape))
        except Exception:  # noqa: BLE001 - subclassed layers may have no symbolic output
            shape = "?"
        rows.append(LayerRow(i, layer.name, type(layer).__name__, shape.replace("None", "None"),
                             int(layer.count_params()) if layer.built else 0, bool(layer.trainable)))
    return rows


def summary_text(model: Any) -> str:
    """The content of ``model.summary()`` as plain text, the same on any terminal or none."""
    rows = layer_rows(model)
    counts = parameter_counts(model)
    head = ("Layer (type)", "Output Shape", "Param #")
    cells = [(f"{r.name} ({r.type})", r.output_shape, f"{r.params:,}") for r in rows]
    w0 = max(len(head[0]), *(len(c[0]) for c in cells)) if cells else len(head[0])
    w1 = max(len(head[1]), *(len(c[1]) for c in cells)) if cells else len(head[1])
    w2 = max(len(head[2]), *(len(c[2]) for c in cells)) if cells else len(head[2])
    rule = "-" * (w0 + w1 + w2 + 4)
    lines = [f'Model: "{model.name}"', rule, f"{head[0]:<{w0}}  {head[1]:<{w1}}  {head[2]:>{w2}}", rule]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}" for a, b, c in cells]
    lines += [rule, f"Total params: {counts['total']:,}", f"Trainable params: {counts['trainable']:,}",
              f"Non-trainable params: {counts['non_trainable']:,}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the editor's view


@dataclass(frozen=True)
class StackRow:
    index: int  # position in preset.model.layers (-1 for rows the spec does not list)
    type: str
    name: str
    args: str
    output_shape: str
    params: int | None


@dataclass(frozen=True)
class StackReport:
    rows: list[StackRow]
    totals: dict[str, int] | None
    error: str | None = None
    error_index: int | None = None
    summary: str | None = None
    # The built model's per-sample input and output shapes (what ``kerastui check`` compares with the data).
    inputs: list[tuple[int | None, ...]] = field(default_factory=list)
    outputs: list[tuple[int | None, ...]] = field(default_factory=list)


def args_text(kwargs: dict[str, Any], limit: int = 48) -> str:
    parts = []
    for key, value in kwargs.items():
        if isinstance(value, (list, tuple)):
            value = "(" + ", ".join(map(str, value)) + ")"
        parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stack_report(preset: Preset, input_shape: tuple[int, ...], on_model: Callable[[Any], None] | None = None,
                 *, trusted: bool = False) -> StackReport:
    """Build the spec and describe every row: output shape and parameters, or Keras's reason.

    Everything here comes from shapes, so it can run under ``keras.StatelessScope`` (no weight
    allocated: see ``resources.stateless_report``); ``on_model`` sees the built model first.
    ``trusted`` as :func:`build_model` takes it.
    """
    specs = preset.model.layers
    try:
        built = build_model(preset, input_shape, trusted=trusted)
    except ModelError as error:
        return failed_report(specs, error)
    model = built.model
    if on_model is not None:
        on_model(model)
    rows = []
    if preset.model.type == "subclass":
        rows = [StackRow(-1, r.type, r.name, "", r.output_shape, r.params) for r in layer_rows(model)]
    else:
        layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        transfer = preset.transfer
        if built.base is not None and transfer is not None:
            base = layers.pop(0)
            counts = parameter_counts(base)
            rows.append(StackRow(-1, transfer.base, base.name, f"weights={transfer.weights}",
                                 _shape(base), counts["total"]))
        by_name = {layer.name: layer for layer in model.layers}
        position = 0
        for i, spec in enumerate(specs):
            if spec.type in INPUT_TYPES:
                shape = spec.kwargs.get("shape", input_shape)
                shape = (shape,) if isinstance(shape, int) else tuple(shape)
                rows.append(StackRow(i, "Input", spec.name or "", args_text(spec.kwargs), str((None, *shape)), 0))
                continue
            layer = by_name.get(spec.name) if spec.name else None
            if layer is None:
                layer = layers[position] if position < len(layers) else None
            position += 1
            rows.append(StackRow(i, spec.type, layer.name if layer is not None else "", args_text(spec.kwargs),
                                 _shape(layer) if layer is not None else "?",
                                 int(layer.count_params()) if layer is not None else None))
    return StackReport(rows, parameter_counts(model), summary=summary_text(model),
                       inputs=[tuple(t.shape[1:]) for t in getattr(model, "inputs", None) or []],
                       outputs=[tuple(t.shape[1:]) for t in getattr(model, "outputs", None) or []])


def failed_report(specs: list[LayerSpec], error: ModelError) -> StackReport:
    """The stack's rows as written, with the error and the index of the layer it names."""
    match = re.match(r"model\.layers\[(\d+)\]", str(error))
    index = int(match.group(1)) if match else None
    rows = [StackRow(i, s.type, s.name or "", args_text(s.kwargs), "", None) for i, s in enumerate(specs)]
    return StackReport(rows, None, str(error), index)


def check_input_matches(specs: list[LayerSpec], data_shape: tuple[int, ...]) -> None:
    """The editor's early word on a sequential stack's explicit Input: it must take the data's sample
    shape (``kerastui check`` and ``train`` build first, then compare by the run's own rule)."""
    inputs = [(i, s) for i, s in enumerate(specs) if s.type in INPUT_TYPES]
    if len(inputs) != 1 or "shape" not in inputs[0][1].kwargs:
        return
    index, spec = inputs[0]
    shape = spec.kwargs["shape"]
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape != tuple(data_shape):
        raise ModelError(f"model.layers[{index}] (Input): shape {list(shape)} does not match the data's sample "
                         f"shape {list(data_shape)}")


def _shape(layer: Any) -> str:
    try:
        out = layer.output
    except Exception:  # noqa: BLE001
        return "?"
    if isinstance(out, (list, tuple)):
        return ", ".join(str(tuple(t.shape)) for t in out)
    return str(tuple(out.shape))


# --------------------------------------------------------------------------- model → specs


def specs_from_model(model: Any) -> tuple[list[LayerSpec] | None, str | None]:
    """A loaded Sequential model's layers as editable specs: Keras class name plus the arguments
    that differ from the class's defaults, an ``Input`` first with the model's sample shape.

    Returns ``(None, why)`` when a layer does not map onto the catalogue (a custom or nested
    layer, a Functional or subclassed model): the model is then shown read-only.
    """
    keras = load_keras()
    known = catalogue.catalogue()
    if not isinstance(model, keras.Sequential):
        kind = "Functional" if type(model).__name__ == "Functional" else f"subclassed ({type(model).__name__})"
        return None, f"a {kind} model opens read-only; the layer editor maps Sequential models"
    try:
        shape = [None if d is None else int(d) for d in model.input_shape[1:]]
    except Exception:  # noqa: BLE001 - a Sequential that was never built has no input
        return None, "the model has no input shape (never built)"
    specs = [LayerSpec("Input", {"shape": shape})]
    for i, layer in enumerate(model.layers):
        name = type(layer).__name__
        if name not in known or not type(layer).__module__.startswith("keras."):
            return None, f"layer {i} ({layer.name}: {name}) is not one of Keras's own layers"
        try:
            specs.append(LayerSpec(name, _changed_arguments(layer)))
        except Exception as error:  # noqa: BLE001 - a config Keras cannot rebuild
            return None, f"layer {i} ({layer.name}: {name}): {one_line(error)}"
    return specs, None


def _changed_arguments(layer: Any) -> dict[str, Any]:
    """The layer's config minus what a fresh layer of the same class has by default."""
    config = layer.get_config()
    cls = type(layer)
    signature = inspect.signature(cls.__init__)
    required = {k: config[k] for k, p in signature.parameters.items()
                if k != "self" and p.default is inspect.Parameter.empty and k in config
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    reference = cls(**required).get_config()
    skip = {"name", "dtype", "trainable"}
    out = {}
    for key, value in config.items():
        if key in skip or (key in reference and reference[key] == value and key not in required):
            continue
        if key not in signature.parameters and not any(
                p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
            continue
        out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    """Tuples as lists (TOML has no tuples); everything else as Keras serialised it."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # a serialised initializer, regularizer…: TOML has no null
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value

"""The layer catalogue, read from Keras itself: every public layer class with its fields.

Nothing here is a hand-written list of layers: the classes come from ``keras.layers`` and the
fields from each class's ``__init__`` signature, so a new Keras release brings its new layers.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from dataclasses import dataclass
from typing import Any

from kerastui.core.errors import ModelError
from kerastui.core.tfenv import load_keras

# Keras's source folders → the group shown to the user.
GROUPS = {
    "core": "core",
    "convolutional": "convolution",
    "pooling": "pooling",
    "rnn": "recurrent",
    "normalization": "normalisation",
    "regularization": "regularisation",
    "reshaping": "reshaping",
    "merging": "merging",
    "activations": "activation",
    "attention": "attention",
    "preprocessing": "preprocessing",
}
GROUP_ORDER = ["core", "convolution", "pooling", "recurrent", "normalisation", "regularisation",
               "reshaping", "merging", "activation", "attention", "preprocessing", "other"]
# Arguments every layer inherits; shown in an "advanced" part of a form, never required.
COMMON_ARGS = {"name", "dtype", "trainable", "autocast", "input_dim", "input_shape", "batch_input_shape", "batch_size"}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    required: bool
    default: Any
    kind: str  # "int" | "float" | "bool" | "str" | "tuple" | "any"


@dataclass(frozen=True)
class LayerInfo:
    name: str
    group: str
    summary: str
    fields: tuple[FieldInfo, ...]

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


@functools.cache
def catalogue() -> dict[str, LayerInfo]:
    """Every public Keras layer class by name, grouped like Keras's source tree."""
    keras = load_keras()
    found: dict[str, LayerInfo] = {}
    for name in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, name)
        if not (inspect.isclass(obj) and issubclass(obj, keras.layers.Layer)) or name.startswith("_"):
            continue
        if name in ("Layer", "InputSpec", "InputLayer", "Wrapper", "RNN") or name.startswith("Base"):
            continue
        found[name] = LayerInfo(name, _group(obj), _summary(obj), tuple(_fields(obj)))
    # ``keras.Input`` is a function, but a model starts with one: give it a catalogue entry.
    found["Input"] = LayerInfo("Input", "core", "Start of a model: the shape of one sample (no batch axis).",
                               (FieldInfo("shape", True, None, "tuple"), FieldInfo("dtype", False, None, "str")))
    return found


def grouped() -> dict[str, list[LayerInfo]]:
    out: dict[str, list[LayerInfo]] = {g: [] for g in GROUP_ORDER}
    for info in catalogue().values():
        out.setdefault(info.group, []).append(info)
    return {g: v for g, v in out.items() if v}


def lookup(name: str) -> LayerInfo:
    layers = catalogue()
    if name in layers:
        return layers[name]
    folded = {k.lower(): k for k in layers}
    close = difflib.get_close_matches(name, list(layers), n=3, cutoff=0.5)
    if name.lower() in folded:
        close = [folded[name.lower()]]
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise ModelError(f"unknown layer type {name!r}{hint}")


def search(text: str) -> list[LayerInfo]:
    """Catalogue entries whose name or group contains ``text`` (case-insensitive), best first."""
    text = text.lower().strip()
    layers = list(catalogue().values())
    if not text:
        return layers
    hits = [i for i in layers if text in i.name.lower() or text in i.group]
    hits.sort(key=lambda i: (not i.name.lower().startswith(text), i.name.lower().find(text) < 0, i.name))
    return hits


def _group(cls: type) -> str:
    parts = cls.__module__.split(".")
    for part in parts:
        if part in GROUPS:
            return GROUPS[part]
    return "other"


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _fields(cls: type[Any]) -> list[FieldInfo]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):  # pragma: no cover
        return []
    fields = []
    for param in list(signature.parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is inspect.Parameter.empty
        default = None if required else param.default
        fields.append(FieldInfo(param.name, required, default, _kind(default)))
    return fields


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (tuple, list)):
        return "tuple"
    return "any"


def check_kwargs(layer_type: str, kwargs: dict[str, Any]) -> None:
    """Reject keyword arguments the class does not take, with the closest real names."""
    info = lookup(layer_type)
    known = {f.name for f in info.fields} | COMMON_ARGS | _inherited_args(layer_type)
    for key in kwargs:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ModelError(f"{layer_type} has no argument {key!r}{hint}")
    missing = [f.name for f in info.fields if f.required and f.name not in kwargs]
    if missing:
        raise ModelError(f"{layer_type} needs {', '.join(missing)}")


@functools.cache
def _inherited_args(layer_type: str) -> frozenset[str]:
    """Arguments a class takes through ``**kwargs`` from its Keras base classes."""
    keras = load_keras()
    cls = getattr(keras.layers, layer_type, None)
    names: set[str] = set()
    if cls is None or not inspect.isclass(cls):
        return frozenset()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # pragma: no cover
            continue
        names.update(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        if klass is keras.layers.Layer:
            break
    names.discard("self")
    return frozenset(names)

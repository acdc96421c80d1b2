"""The parts every model is assembled from, shared by the builder and by transfer learning: one Keras
layer made from its spec and called on a tensor (errors name the layer's place in the preset), the
``Input``, the :class:`BuiltModel` both return, and a model's parameter counts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from kerastui.core.errors import ModelError, one_line
from kerastui.core.model import layers as catalogue
from kerastui.core.model.specs import LayerSpec
from kerastui.core.tfenv import load_keras

INPUT_TYPES = ("Input", "InputLayer")


@dataclass
class BuiltModel:
    model: Any  # keras.Model
    input_shape: tuple[int, ...]
    custom_objects: dict[str, Any] = field(default_factory=dict)
    base: Any = None  # the keras.applications model inside a transfer model
    notices: list[str] = field(default_factory=list)


def keras_name(text: str | None) -> str | None:
    """A model's name as TensorFlow takes it for a root name scope (``my preset`` → ``my_preset``,
    ``données`` → ``donnees``); None where nothing is left (Keras then names it).  Preset files are
    named as users like: the name given to Keras is derived, as the run directory's is."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", plain).lstrip("_-") or None


def make_layer(spec: LayerSpec, where: str) -> Any:
    """Instantiate one Keras layer, with Keras's own validation, named by ``where``."""
    keras = load_keras()
    if spec.type in INPUT_TYPES:
        raise ModelError(f"{where}: Input must be the first layer")
    try:
        catalogue.check_kwargs(spec.type, spec.kwargs)
    except ModelError as error:
        raise ModelError(f"{where}: {error}") from None
    cls = getattr(keras.layers, spec.type)
    kwargs = {k: _tupled(k, v) for k, v in spec.kwargs.items()}
    if spec.name:
        kwargs["name"] = spec.name
    try:
        return cls(**kwargs)
    except Exception as error:  # noqa: BLE001 - Keras validates with ValueError/TypeError/…
        raise ModelError(f"{where} ({spec.type}): {one_line(error)}") from None


def _tupled(key: str, value: Any) -> Any:
    """TOML arrays become tuples where Keras wants shapes and sizes."""
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    return value


def make_input(spec: LayerSpec | None, shape: tuple[int, ...], where: str) -> Any:
    keras = load_keras()
    kwargs = dict(spec.kwargs) if spec else {}
    shape = kwargs.pop("shape", shape)
    shape = (shape,) if isinstance(shape, int) else tuple(shape or ())
    if "batch_shape" in kwargs:
        raise ModelError(f"{where}: use shape (without the batch axis), not batch_shape")
    unknown = set(kwargs) - {"dtype", "sparse"}
    if unknown:
        raise ModelError(f"{where}: Input has no argument {sorted(unknown)[0]!r}; it takes shape and dtype")
    try:
        return keras.Input(shape=shape, name=spec.name if spec else None, **kwargs)
    except Exception as error:  # noqa: BLE001
        raise ModelError(f"{where} (Input): {one_line(error)}") from None


def apply_layer(layer: Any, inputs: Any, where: str, spec: LayerSpec) -> Any:
    try:
        return layer(inputs)
    except Exception as error:  # noqa: BLE001
        shapes = [tuple(t.shape) for t in inputs] if isinstance(inputs, list) else tuple(inputs.shape)
        raise ModelError(f"{where} ({spec.type}) rejects its input of shape {shapes}: {one_line(error)}") from None


def parameter_counts(model: Any) -> dict[str, int]:
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}

"""The parts every model is assembled from, shared by the builder and by transfer learning: one Keras
layer made from its spec and called on a tensor (errors name the layer's place in the preset), the
``Input``, the :class:`BuiltModel` both return, and a model's parameter counts.

It is also the one home of what a preset may not run without the user's trust: a layer whose
arguments make Keras load and run code from a file (:data:`CODE_LAYERS`).  ``make_layer`` refuses
it unless the build is trusted, so ``kerastui check``, ``train``, ``resume`` and the TUI's editor
refuse it with one line; :func:`code_uses` finds such layers in a preset without building anything
(the TUI asks before starting the run).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import ModelError, one_line
from kerastui.core.model import layers as catalogue
from kerastui.core.model.specs import LayerSpec
from kerastui.core.tfenv import load_keras

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset

INPUT_TYPES = ("Input", "InputLayer")

# Layers whose arguments, as a preset writes them, make Keras load and run code from a file: the
# class name → (the argument naming the file, what building the layer does).  TFSMLayer's
# constructor loads the SavedModel (tf.saved_model.load) and its call runs the graph, whose ops
# can write files or start processes.  Lambda, JaxLayer, FlaxLayer and TorchModuleWrapper run
# Python too, but take a Python callable or module, which no TOML value is (Keras refuses a string
# for one); a layer's nested configs (activations, initializers, a dtype policy) are deserialized
# by Keras in its safe mode, which refuses lambdas, TFSMLayer and modules outside Keras.
CODE_LAYERS = {"TFSMLayer": ("filepath", "loads and runs a SavedModel's graph")}
TRUST_HINT = "pass --trust-model (the TUI asks when a run starts)"


@dataclass(frozen=True)
class CodeUse:
    """A layer of a preset that loads and runs code from a file when it is built."""

    where: str  # "model.layers[2]"
    type: str  # "TFSMLayer"
    path: str  # the file, as the layer reads it (relative to the working folder), made absolute
    what: str  # "loads and runs a SavedModel's graph"

    def line(self) -> str:
        """The one line that refuses it: key, layer, what it does, and how to trust it."""
        return f"{self.where}.type: {self.type} {self.what}; {TRUST_HINT} if you trust {self.path}"


class UntrustedCodeError(ModelError):
    """A layer that runs code from a file, in a model the user has not trusted."""

    def __init__(self, use: CodeUse) -> None:
        self.use = use
        super().__init__(use.line())


def code_use(spec: LayerSpec, where: str) -> CodeUse | None:
    """What ``spec`` runs from a file when it is built (None: nothing)."""
    found = CODE_LAYERS.get(spec.type)
    if found is None:
        return None
    argument, what = found
    value = spec.kwargs.get(argument)
    path = os.path.abspath(os.fspath(value)) if isinstance(value, (str, os.PathLike)) and value else repr(value)
    return CodeUse(where, spec.type, path, what)


def code_uses(preset: Preset) -> list[CodeUse]:
    """Every layer of ``preset`` that loads and runs code from a file, found without building (a
    transfer model's head is ``model.layers`` too; a subclass model's file is the user's own code)."""
    if preset.model.type == "subclass" and preset.transfer is None:
        return []
    uses = (code_use(spec, f"model.layers[{i}]") for i, spec in enumerate(preset.model.layers))
    return [use for use in uses if use is not None]


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


def make_layer(spec: LayerSpec, where: str, *, trusted: bool = False) -> Any:
    """Instantiate one Keras layer, with Keras's own validation, named by ``where``.

    A layer that runs code from a file (:data:`CODE_LAYERS`) is made only when ``trusted``: the
    user said so for this model (``--trust-model``, or y in the TUI); otherwise
    :class:`UntrustedCodeError`, before Keras opens the file."""
    keras = load_keras()
    if spec.type in INPUT_TYPES:
        raise ModelError(f"{where}: Input must be the first layer")
    try:
        catalogue.check_kwargs(spec.type, spec.kwargs)
    except ModelError as error:
        raise ModelError(f"{where}: {error}") from None
    use = code_use(spec, where)
    if use is not None and not trusted:
        raise UntrustedCodeError(use)
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

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
from pathlib import Path
from typing import Any, Callable

from kerastui.core.errors import TransferError, one_line
from kerastui.core.specs import Preset, TransferSpec
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
    fn = getattr(keras.applications, name, None)
    if fn is None or not name[:1].isupper():
        close = difflib.get_close_matches(name, application_names(), n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise TransferError(f"transfer.base: {name!r} is not a keras.applications model{hint}")
    return fn


def min_size(name: str) -> int:
    return KNOWN_BASES.get(name, (None, 32))[1]


def preprocess_function(name: str) -> Callable:
    keras = load_keras()
    module_name = KNOWN_BASES.get(name, (None,))[0]
    if module_name is not None:
        module = getattr(keras.applications, module_name)
    else:
        module = importlib.import_module(base_constructor(name).__module__)
    return module.preprocess_input


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
    import os

    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "models"


def load_base(spec: TransferSpec, input_shape: tuple[int, ...]) -> tuple[Any, list[str]]:
    """The base without its top, with weights resolved; notices say what was decided for the user."""
    constructor = base_constructor(spec.base)
    notices: list[str] = []
    weights: str | None = spec.weights
    if weights in ("none", "", "random"):
        weights = None
    elif weights not in ("imagenet",):
        path = Path(weights).expanduser()
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


def build_transfer_model(preset: Preset, input_shape: tuple[int, ...]):
    from kerastui.core.builder import BuiltModel, apply_layer, make_layer

    keras = load_keras()
    spec = preset.transfer
    assert spec is not None
    base, notices = load_base(spec, input_shape)
    base.trainable = not spec.freeze
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = base(inputs, training=False)
    for i, layer_spec in enumerate(preset.model.layers):
        where = f"model.layers[{i}]"
        layer = make_layer(layer_spec, where)
        x = apply_layer(layer, x, where, layer_spec)
    model = keras.Model(inputs, x, name=preset.model.name or f"{spec.base.lower()}_transfer")
    return BuiltModel(model, tuple(input_shape), base=base, notices=notices)


def freeze(base) -> None:
    base.trainable = False


def unfreeze_last(base, count: int) -> list[str]:
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


def stages(base) -> list[tuple[str, list[Any]]]:
    """Layers folded by stage name prefix (``conv1``, ``conv2`` … for ResNet), in order."""
    folded: list[tuple[str, list[Any]]] = []
    for layer in base.layers:
        stage = layer.name.split("_")[0]
        if not folded or folded[-1][0] != stage:
            folded.append((stage, []))
        folded[-1][1].append(layer)
    return folded

"""The layer catalogue is read from Keras itself: classes, groups, fields, lookups and kwarg checks."""

from __future__ import annotations

import pytest

from kerastui.core.errors import ModelError
from kerastui.core.model import layers

EXPECTED_GROUPS = {
    "Dense": "core",
    "Input": "core",
    "Conv2D": "convolution",
    "MaxPooling2D": "pooling",
    "Dropout": "regularisation",
    "LSTM": "recurrent",
    "GRU": "recurrent",
    "BatchNormalization": "normalisation",
    "Flatten": "reshaping",
    "Concatenate": "merging",
    "Add": "merging",
}


@pytest.fixture(scope="module")
def catalogue() -> dict[str, layers.LayerInfo]:
    return layers.catalogue()


def test_catalogue_contains_the_common_layers(catalogue):
    for name, group in EXPECTED_GROUPS.items():
        assert name in catalogue, name
        assert catalogue[name].name == name
        assert catalogue[name].group == group, name


def test_catalogue_is_introspected_from_keras(catalogue):
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    assert len(catalogue) > 60
    for name, info in catalogue.items():
        if name == "Input":
            continue
        cls = getattr(keras.layers, name)
        assert issubclass(cls, keras.layers.Layer), name
        assert info.group in layers.GROUP_ORDER
    assert "Layer" not in catalogue and "InputSpec" not in catalogue
    assert not any(name.startswith("_") for name in catalogue)
    # Summaries come from the docstrings.
    assert catalogue["Dense"].summary
    assert "\n" not in catalogue["Dense"].summary


def test_grouped(catalogue):
    groups = layers.grouped()
    for group in ("core", "convolution", "pooling", "regularisation", "recurrent", "normalisation",
                  "reshaping", "merging"):
        assert groups.get(group), group
    assert list(groups) == [g for g in layers.GROUP_ORDER if g in groups]
    names = {g: {i.name for i in infos} for g, infos in groups.items()}
    assert {"Dense", "Input"} <= names["core"]
    assert {"Conv1D", "Conv2D", "Conv3D"} <= names["convolution"]
    assert {"MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"} <= names["pooling"]
    assert {"LSTM", "GRU", "SimpleRNN"} <= names["recurrent"]
    assert {"Concatenate", "Add", "Multiply"} <= names["merging"]
    assert "Dropout" in names["regularisation"] and "Flatten" in names["reshaping"]
    assert "BatchNormalization" in names["normalisation"]
    # Every entry is in exactly one group.
    assert sum(len(v) for v in groups.values()) == len(catalogue)


def test_dense_fields(catalogue):
    dense = catalogue["Dense"]
    names = [f.name for f in dense.fields]
    assert names[0] == "units"
    units = dense.field("units")
    assert units is not None and units.required is True
    activation = dense.field("activation")
    assert activation is not None
    assert activation.required is False
    assert activation.default is None
    use_bias = dense.field("use_bias")
    assert use_bias is not None and use_bias.default is True and use_bias.kind == "bool"
    assert dense.field("no_such_field") is None
    assert "self" not in names and "kwargs" not in names


def test_field_kinds_follow_defaults(catalogue):
    conv = catalogue["Conv2D"]
    assert conv.field("filters").required
    assert conv.field("kernel_size").required
    assert conv.field("padding").default == "valid" and conv.field("padding").kind == "str"
    assert conv.field("strides").kind == "tuple"
    assert catalogue["Dropout"].field("rate").required
    assert catalogue["Input"].field("shape").required


def test_lookup(catalogue):
    assert layers.lookup("Dense") is catalogue["Dense"]
    with pytest.raises(ModelError) as info:
        layers.lookup("Conv2d")
    assert "'Conv2d'" in str(info.value)
    assert "Conv2D" in str(info.value)
    with pytest.raises(ModelError) as info:
        layers.lookup("Dense2")
    assert "closest" in str(info.value)
    assert "Dense" in str(info.value).split("closest")[1]
    with pytest.raises(ModelError) as info:
        layers.lookup("Zzzzqqqq")
    assert "closest" not in str(info.value)


def test_check_kwargs_suggests_the_real_name():
    with pytest.raises(ModelError) as info:
        layers.check_kwargs("Dense", {"unit": 3})
    text = str(info.value)
    assert "'unit'" in text
    assert "units" in text


def test_check_kwargs_accepts_real_and_common_arguments():
    layers.check_kwargs("Dense", {"units": 3, "name": "x"})
    layers.check_kwargs("Dense", {"units": 3, "activation": "relu", "dtype": "float32", "trainable": False})
    layers.check_kwargs("Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same"})


def test_check_kwargs_on_the_input_entry():
    layers.check_kwargs("Input", {"shape": [4]})
    with pytest.raises(ModelError, match="shap"):
        layers.check_kwargs("Input", {"shap": [4]})


def test_check_kwargs_rejects_missing_required_and_unknown_types():
    with pytest.raises(ModelError, match="needs units"):
        layers.check_kwargs("Dense", {"activation": "relu"})
    with pytest.raises(ModelError, match="Conv2D"):
        layers.check_kwargs("conv2d", {"filters": 8, "kernel_size": 3})


def test_search():
    hits = layers.search("conv")
    names = [h.name for h in hits]
    assert "Conv2D" in names[:5]
    assert all("conv" in h.name.lower() or "conv" in h.group for h in hits)
    # Names starting with the text come before names that merely contain it.
    starts = [n.lower().startswith("conv") for n in names]
    assert starts == sorted(starts, reverse=True)
    assert [h.name for h in layers.search("DENSE")][0] == "Dense"
    assert len(layers.search("")) == len(layers.catalogue())
    assert layers.search("no-such-layer-xyz") == []

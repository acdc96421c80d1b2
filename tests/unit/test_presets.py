"""Preset files: shipped presets, TOML round trips, strict validation, overrides and lookup."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerastui.core.errors import PresetError
from kerastui.core.model import presets
from kerastui.core.model.specs import (
    LAYER_RESERVED,
    SAVE_FORMATS,
    CallbacksSpec,
    CheckpointSpec,
    CompileSpec,
    DataSpec,
    EarlyStoppingSpec,
    FitSpec,
    LayerSpec,
    ModelSpec,
    Preset,
    ReduceLRSpec,
    SaveSpec,
    TensorBoardSpec,
    TransferSpec,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = ["ex1", "ex2", "ex3", "ex4", "ex5"]


# --------------------------------------------------------------------------- shipped presets


def test_available_lists_every_shipped_preset():
    infos = presets.available()
    names = [info.name for info in infos]
    assert set(SHIPPED) <= set(names)
    # Natural order, shipped first: ex1..ex5 in that order.
    assert [n for n in names if n in SHIPPED] == SHIPPED
    for info in infos:
        if info.name in SHIPPED:
            assert info.origin == "shipped"
            assert info.error is None, info.error
            assert info.path.is_file()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_loads_and_round_trips(name: str, tmp_path: Path):
    p = presets.load(name)
    assert isinstance(p, Preset)
    assert p.name == name
    assert p.path is not None and p.path.name == f"{name}.toml"
    assert p.title.strip()
    assert p.description.strip()
    assert p.data.source

    saved = presets.save(p, tmp_path / "x.toml")
    assert saved == tmp_path / "x.toml"
    again = presets.load(saved)
    assert again == p
    assert again.name == "x"  # transient fields come from the new file, not the TOML
    assert tomllib.loads(presets.dumps(p)) == p.to_dict()
    assert presets.loads(presets.dumps(p)) == p


def test_every_available_entry_matches_its_loaded_preset():
    for info in presets.available():
        p = presets.load(info.path)
        assert (info.title, info.description, info.source) == (p.title, p.description, p.data.source)


def test_shipped_preset_contents():
    ex1 = presets.load("ex1")
    assert ex1.data.source == "synthetic:classification"
    assert [layer.type for layer in ex1.model.layers] == ["Input", "Dense", "Dense"]
    assert ex1.model.layers[1].kwargs == {"units": 64, "activation": "relu"}
    assert ex1.fit.epochs == 5
    ex3 = presets.load("ex3")
    assert ex3.save.formats == ["h5", "savedmodel", "keras"]
    ex4 = presets.load("ex4")
    assert ex4.compile.custom_metrics == ["my_accuracy.py:MyAccuracy"]
    assert (ex4.base_dir / "my_accuracy.py").is_file()
    ex5 = presets.load("ex5")
    assert ex5.transfer is not None and ex5.transfer.base == "ResNet50"
    assert ex5.callbacks.tensorboard == TensorBoardSpec()
    assert ex5.data.classes == [0, 1, 2, 3, 4]


def test_save_does_not_leave_temporary_files(tmp_path: Path):
    p = presets.load("ex1")
    target = tmp_path / "sub" / "mine.toml"
    presets.save(p, target)
    presets.save(p, target)  # overwrite in place
    assert sorted(x.name for x in target.parent.iterdir()) == ["mine.toml"]


# --------------------------------------------------------------------------- property: loads(dumps(p)) == p

# "\r" is left out here: see test_crlf_in_a_string_round_trips below.
_text = st.text(st.characters(blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=30)
_ident = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_kwarg_key = _ident.filter(lambda k: k not in LAYER_RESERVED)
_kwarg_value = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.booleans(),
    st.lists(st.integers(min_value=-1000, max_value=1000), max_size=4),
)
_kwargs = st.dictionaries(_kwarg_key, _kwarg_value, max_size=4)
_layer_types = st.sampled_from(["Dense", "Conv2D", "Dropout", "Flatten", "LSTM", "MaxPooling2D", "BatchNormalization"])
_unit_float = st.floats(min_value=0.0, max_value=0.9, allow_nan=False)
_pos = st.integers(min_value=1, max_value=10_000)
_ref = st.builds(lambda f, c: f"{f}.py:{c.capitalize()}", _ident, _ident)


def _optional(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def _data_specs(draw) -> DataSpec:
    return DataSpec(
        source=draw(st.sampled_from(["synthetic:classification", "synthetic:regression", "synthetic:images",
                                     "sklearn:iris", "sklearn:digits", "keras:mnist", "npz:data.npz",
                                     "csv:data.csv", "images:pics"])),
        normalize=draw(st.booleans()),
        one_hot=draw(_optional(st.booleans())),
        validation_split=draw(_unit_float),
        test_split=draw(_unit_float),
        limit=draw(_optional(_pos)),
        seed=draw(st.integers(min_value=0, max_value=2**31)),
        classes=draw(_optional(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=5, unique=True))),
        resize=draw(_optional(st.lists(st.integers(min_value=1, max_value=512), min_size=2, max_size=2))),
        samples=draw(_optional(st.integers(min_value=2, max_value=10_000))),
        features=draw(_optional(_pos)),
        num_classes=draw(_optional(st.integers(min_value=2, max_value=100))),
        image_shape=draw(_optional(st.lists(st.integers(min_value=1, max_value=64), min_size=2, max_size=3))),
        noise=draw(_optional(st.floats(min_value=0.0, max_value=10.0))),
        label_column=draw(_optional(_ident)),
    )


@st.composite
def _model_and_transfer(draw) -> tuple[ModelSpec, TransferSpec | None]:
    kind = draw(st.sampled_from(["sequential", "functional", "subclass"]))
    summary = draw(st.booleans())
    model_kwargs = draw(_kwargs)
    if kind == "subclass":
        return ModelSpec(type="subclass", subclass=draw(_ref), kwargs=model_kwargs, summary=summary), None
    if kind == "functional":
        count = draw(st.integers(min_value=1, max_value=4))
        layers = [LayerSpec(type="Input", kwargs={"shape": draw(st.lists(_pos, min_size=1, max_size=3))}, name="l0")]
        for i in range(1, count):
            layers.append(LayerSpec(type=draw(_layer_types), kwargs=draw(_kwargs), name=f"l{i}",
                                    inputs=[f"l{draw(st.integers(min_value=0, max_value=i - 1))}"]))
        outputs = draw(_optional(st.just([layers[-1].name])))
        return ModelSpec(type="functional", name=draw(_optional(_ident)), layers=layers, outputs=outputs,
                         summary=summary), None
    transfer = draw(_optional(st.builds(
        TransferSpec,
        base=st.sampled_from(["ResNet50", "MobileNetV2", "EfficientNetB0"]),
        weights=st.sampled_from(["imagenet", "none", "weights/base.h5"]),
        allow_no_weights=st.booleans(),
        input_shape=_optional(st.lists(st.integers(min_value=1, max_value=256), min_size=3, max_size=3)),
        freeze=st.booleans(),
        fine_tune_last=st.integers(min_value=0, max_value=200),
        fine_tune_epochs=st.integers(min_value=0, max_value=50),
        fine_tune_learning_rate=st.floats(min_value=0.0, max_value=1.0, exclude_min=True),
    )))
    min_layers = 0 if transfer is not None else 1
    layers = draw(st.lists(
        st.builds(LayerSpec, type=_layer_types, kwargs=_kwargs, name=_optional(_ident)),
        min_size=min_layers, max_size=4))
    return ModelSpec(type="sequential", name=draw(_optional(_ident)), layers=layers, summary=summary), transfer


_callbacks = st.builds(
    CallbacksSpec,
    early_stopping=_optional(st.builds(EarlyStoppingSpec, monitor=st.sampled_from(["val_loss", "val_accuracy", "loss"]),
                                       patience=st.integers(0, 50), min_delta=st.floats(0.0, 1.0),
                                       restore_best_weights=st.booleans())),
    reduce_lr=_optional(st.builds(ReduceLRSpec, monitor=st.sampled_from(["val_loss", "loss"]),
                                  factor=st.floats(0.0, 0.99, exclude_min=True), patience=st.integers(0, 50),
                                  min_lr=st.floats(0.0, 1.0))),
    checkpoint=_optional(st.builds(CheckpointSpec, monitor=st.sampled_from(["val_loss", "val_accuracy"]),
                                   save_best_only=st.booleans(),
                                   filename=st.sampled_from(["checkpoint.keras", "best.h5"]))),
    tensorboard=_optional(st.builds(TensorBoardSpec, log_dir=_optional(st.sampled_from(["tb", "logs/tb"])),
                                    histogram_freq=st.integers(0, 10))),
)


@st.composite
def _presets(draw) -> Preset:
    model, transfer = draw(_model_and_transfer())
    return Preset(
        title=draw(_text),
        description=draw(_text),
        data=draw(_data_specs()),
        model=model,
        compile=CompileSpec(
            optimizer=draw(st.sampled_from(["adam", "sgd", "rmsprop", "adamw"])),
            learning_rate=draw(_optional(st.floats(min_value=0.0, max_value=1.0, exclude_min=True))),
            loss=draw(st.sampled_from(["categorical_crossentropy", "sparse_categorical_crossentropy", "mse",
                                       "binary_crossentropy"])),
            metrics=draw(st.lists(st.sampled_from(["accuracy", "mae", "precision", "auc"]), max_size=3, unique=True)),
            custom_metrics=draw(st.lists(_ref, max_size=2, unique=True)),
        ),
        fit=FitSpec(epochs=draw(st.integers(1, 1000)), batch_size=draw(st.integers(1, 4096)),
                    shuffle=draw(st.booleans()), seed=draw(st.integers(0, 2**31))),
        callbacks=draw(_callbacks),
        save=SaveSpec(formats=draw(st.lists(st.sampled_from(SAVE_FORMATS), max_size=3, unique=True)),
                      verify=draw(st.booleans())),
        transfer=transfer,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_presets())
def test_random_presets_round_trip_through_toml(p: Preset):
    # The generated preset must itself be valid: validating its own dict gives it back.
    assert Preset.from_dict(p.to_dict()) == p
    text = presets.dumps(p)
    assert tomllib.loads(text) == p.to_dict()
    assert presets.loads(text) == p


def test_crlf_in_a_string_round_trips():
    p = Preset(title="a\r\nb", description="line one\r\nline two",
               model=ModelSpec(layers=[LayerSpec("Dense", {"units": 3})]))
    assert presets.loads(presets.dumps(p)) == p


def test_round_trip_keeps_int_and_float_kwargs_apart():
    p = Preset(model=ModelSpec(layers=[LayerSpec("Dense", {"units": 3, "rate": 0.5, "flag": True,
                                                           "kernel_size": [3, 3], "activation": "relu"})]))
    back = presets.loads(presets.dumps(p))
    kwargs = back.model.layers[0].kwargs
    assert kwargs == {"units": 3, "rate": 0.5, "flag": True, "kernel_size": [3, 3], "activation": "relu"}
    assert type(kwargs["units"]) is int and type(kwargs["rate"]) is float and type(kwargs["flag"]) is bool


# --------------------------------------------------------------------------- strict validation

_MINIMAL: dict[str, Any] = {"model": {"layers": [{"type": "Dense", "units": 3}]}}


def _with(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(_MINIMAL)
    for section, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(section), dict):
            data[section].update(value)
        else:
            data[section] = value
    return data


BAD = [
    pytest.param(_with(colour="red"), "colour", "unknown key", id="unknown-top-level"),
    pytest.param(_with(data={"sourc": "sklearn:iris"}), "data.sourc", "did you mean 'source'", id="unknown-nested"),
    pytest.param(_with(fit={"epochs": "3"}), "fit.epochs", "must be an integer", id="wrong-type-str"),
    pytest.param(_with(fit={"batch_size": 2.5}), "fit.batch_size", "must be an integer", id="wrong-type-float"),
    pytest.param(_with(data={"normalize": 1}), "data.normalize", "true or false", id="wrong-type-bool"),
    pytest.param(_with(data={"validation_split": 1.5}), "data.validation_split", "1.5", id="out-of-range-split"),
    pytest.param(_with(fit={"epochs": 0}), "fit.epochs", "got 0", id="out-of-range-epochs"),
    pytest.param(_with(model={"type": "seqential"}), "model.type", "did you mean 'sequential'", id="bad-model-type"),
    pytest.param(_with(save={"formats": ["pb"]}), "save.formats[0]", "'pb' is not one of", id="bad-save-format"),
    pytest.param(
        {"model": {"type": "functional", "layers": [
            {"type": "Input", "name": "inp", "shape": [4]},
            {"type": "Dense", "name": "hidden", "units": 3, "inputs": ["nowhere"]},
        ]}},
        "model.layers[1].inputs", "'nowhere'", id="functional-unknown-input"),
    pytest.param(_with(compile={"custom_metrics": ["my_accuracy:MyAccuracy"]}), "compile.custom_metrics[0]",
                 "file.py:ClassName", id="custom-metric-ref"),
    pytest.param(_with(compile={"custom_metrics": ["my_accuracy.py"]}), "compile.custom_metrics[0]",
                 "file.py:ClassName", id="custom-metric-no-class"),
    pytest.param({"model": {"layers": []}}, "model.layers", "no layers", id="no-layers"),
    pytest.param(_with(model={"layers": [{"units": 3}]}), "model.layers[0]", "'type'", id="layer-without-type"),
    pytest.param(_with(data={"resize": [32]}), "data.resize", "[height, width]", id="bad-resize"),
    # Found by the reliability probe: each of these reached NumPy or Keras (or passed silently).
    pytest.param(_with(data={"seed": -1}), "data.seed", "in [0, 4,294,967,295], got -1", id="negative-seed"),
    pytest.param(_with(data={"seed": 2**32}), "data.seed", "got 4294967296", id="seed-too-big"),
    pytest.param(_with(fit={"seed": 2**40}), "fit.seed", "in [0, 4,294,967,295]", id="fit-seed-too-big"),
    pytest.param(_with(data={"test_split": math.nan}), "data.test_split", "finite number in [0, 1), got nan",
                 id="nan-test-split"),
    pytest.param(_with(data={"validation_split": math.nan}), "data.validation_split", "finite", id="nan-val-split"),
    pytest.param(_with(data={"noise": math.inf}), "data.noise", "finite number in [0, ∞), got inf", id="inf-noise"),
    pytest.param(_with(callbacks={"reduce_lr": {"factor": math.nan}}), "callbacks.reduce_lr.factor",
                 "finite number in (0, 1)", id="nan-factor"),
    pytest.param(_with(callbacks={"reduce_lr": {"factor": 0.0}}), "callbacks.reduce_lr.factor", "(0, 1), got 0.0",
                 id="zero-factor"),
    pytest.param(_with(compile={"learning_rate": -math.inf}), "compile.learning_rate", "finite", id="inf-lr"),
    pytest.param(_with(compile={"learning_rate": 0.0}), "compile.learning_rate", "in (0, ∞)", id="zero-lr"),
    pytest.param(_with(data={"classes": [0, 0, 1]}), "data.classes[1]", "0 is listed twice", id="duplicate-classes"),
    pytest.param(_with(data={"classes": [0, -2]}), "data.classes[1]", "got -2", id="negative-class"),
    pytest.param(_with(data={"classes": []}), "data.classes", "keeps no class", id="empty-classes"),
    pytest.param(_with(data={"image_shape": [28, -28, 1]}), "data.image_shape[1]", "got -28",
                 id="negative-image-shape"),
    pytest.param(_with(data={"image_shape": [28]}), "data.image_shape", "[height, width]", id="short-image-shape"),
    pytest.param(_with(compile={"metrics": ["accuracy", "accuracy"]}), "compile.metrics[1]", "listed twice",
                 id="duplicate-metric"),
    pytest.param(_with(save={"formats": ["keras", "keras"]}), "save.formats[1]", "listed twice",
                 id="duplicate-format"),
    pytest.param(_with(fit={"epochs": 2**40}), "fit.epochs", "in [1, 2,147,483,647]", id="huge-epochs"),
    pytest.param(_with(model={"layers": [{"type": "Dense", "units": 4}] * 10_000}), "model.layers",
                 "at most 500 layers", id="10000-layers"),
]


@pytest.mark.parametrize(("data", "key", "reason"), BAD)
def test_bad_values_are_preset_errors_naming_file_and_key(data: dict, key: str, reason: str, tmp_path: Path):
    text = tomli_w.dumps(data)
    with pytest.raises(PresetError) as info:
        presets.loads(text, where="my-preset.toml")
    error = info.value
    assert error.where == "my-preset.toml"
    assert error.key == key
    assert str(error).startswith(f"my-preset.toml: {key}: ")
    assert reason in str(error)
    assert "\n" not in str(error)

    # The same through a file: the path is the `where`.
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PresetError) as info:
        presets.load(path)
    assert str(path) in str(info.value)
    assert key in str(info.value)


def test_valid_minimal_preset_passes():
    p = presets.loads(tomli_w.dumps(_MINIMAL), where="ok.toml")
    assert p.model.layers == [LayerSpec("Dense", {"units": 3})]
    assert p.fit == FitSpec() and p.data == DataSpec()


def test_malformed_toml_names_the_line():
    with pytest.raises(PresetError) as info:
        presets.loads('title = "x"\n[fit\nepochs = 3\n', where="broken.toml")
    text = str(info.value)
    assert text.startswith("broken.toml")
    assert "invalid TOML" in text
    assert "line 2" in text


def test_malformed_toml_file(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("[data]\nsource = \n", encoding="utf-8")
    with pytest.raises(PresetError, match="line") as info:
        presets.load(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- overrides


def test_overrides_are_applied_before_validation():
    p = presets.load("ex1", {"fit.epochs": 2, "data.limit": 100, "model.layers[1].units": 32})
    assert p.fit.epochs == 2
    assert p.data.limit == 100
    assert p.model.layers[1].kwargs["units"] == 32
    assert p.model.layers[1].kwargs["activation"] == "relu"
    # The shipped file is untouched.
    fresh = presets.load("ex1")
    assert (fresh.fit.epochs, fresh.data.limit, fresh.model.layers[1].kwargs["units"]) == (5, None, 64)


def test_override_creates_missing_tables():
    p = presets.load("ex1", {"callbacks.early_stopping.patience": 7})
    assert p.callbacks.early_stopping == EarlyStoppingSpec(patience=7)


@pytest.mark.parametrize(("overrides", "key"), [
    ({"fit.epochs": -1}, "fit.epochs"),
    ({"fit.epochs": "many"}, "fit.epochs"),
    ({"data.validation_split": 1.0}, "data.validation_split"),
    ({"fit.epoch": 3}, "fit.epoch"),
    ({"model.layers[9].units": 3}, "model.layers[9].units"),
    ({"fit.epochs.x": 3}, "fit.epochs.x"),
])
def test_bad_override_is_a_preset_error(overrides: dict, key: str):
    with pytest.raises(PresetError) as info:
        presets.load("ex1", overrides)
    assert info.value.key == key
    assert "ex1.toml" in str(info.value)


def test_override_through_a_list_without_index_is_a_preset_error():
    with pytest.raises(PresetError):
        presets.load("ex1", {"model.layers.units.x": 3})


def test_parse_assignment():
    assert presets.parse_assignment("fit.epochs=3") == ("fit.epochs", 3)
    assert presets.parse_assignment(" data.validation_split = 0.25 ") == ("data.validation_split", 0.25)
    assert presets.parse_assignment("fit.shuffle=false") == ("fit.shuffle", False)
    assert presets.parse_assignment("data.resize=[16, 16]") == ("data.resize", [16, 16])
    assert presets.parse_assignment('data.source="sklearn:iris"') == ("data.source", "sklearn:iris")
    # Not a TOML value: the raw text as a string.
    assert presets.parse_assignment("data.source=sklearn:iris") == ("data.source", "sklearn:iris")
    assert presets.parse_assignment("compile.optimizer=adam") == ("compile.optimizer", "adam")
    with pytest.raises(PresetError):
        presets.parse_assignment("fit.epochs")
    with pytest.raises(PresetError):
        presets.parse_assignment("=3")


def test_parsed_assignments_feed_load():
    overrides = dict(presets.parse_assignment(a) for a in ["fit.epochs=1", "data.source=sklearn:iris"])
    p = presets.load("ex1", overrides)
    assert (p.fit.epochs, p.data.source) == (1, "sklearn:iris")


# --------------------------------------------------------------------------- resolve / user presets


def _user_preset(name: str, title: str) -> Path:
    folder = presets.user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    p = presets.load("ex1")
    p.title = title
    return presets.save(p, folder / f"{name}.toml")


def test_user_dir_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path / "mine"))
    assert presets.user_dir() == tmp_path / "mine"


def test_user_preset_is_found_by_name():
    path = _user_preset("mine", "My own preset")
    assert presets.resolve("mine") == path
    p = presets.load("mine")
    assert p.title == "My own preset"
    assert p.name == "mine"
    info = {i.name: i for i in presets.available()}["mine"]
    assert info.origin == "user" and info.title == "My own preset"


def test_user_preset_shadows_a_shipped_one():
    path = _user_preset("ex1", "Shadowed ex1")
    assert presets.resolve("ex1") == path
    assert presets.load("ex1").title == "Shadowed ex1"
    infos = [i for i in presets.available() if i.name == "ex1"]
    assert len(infos) == 1
    assert infos[0].origin == "user" and infos[0].path == path
    # Other shipped presets still resolve to the shipped folder.
    assert presets.resolve("ex2") == presets.shipped_dir() / "ex2.toml"


def test_broken_user_preset_is_listed_with_its_error():
    folder = presets.user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.toml").write_text("[fit]\nepochs = 0\n", encoding="utf-8")
    info = {i.name: i for i in presets.available()}["broken"]
    assert info.error is not None and "fit.epochs" in info.error


def test_unknown_name_suggests_close_names():
    with pytest.raises(PresetError) as info:
        presets.resolve("ex6")
    text = str(info.value)
    assert text.startswith("ex6")
    assert "did you mean" in text
    assert any(name in text for name in SHIPPED)


def test_unknown_name_without_close_match_lists_known_presets():
    with pytest.raises(PresetError) as info:
        presets.load("qqqqqqqqqq")
    assert "known presets" in str(info.value)
    assert "ex1" in str(info.value)


def test_missing_toml_path(tmp_path: Path):
    with pytest.raises(PresetError, match="no such preset file"):
        presets.resolve(tmp_path / "absent.toml")


def test_resolve_accepts_a_path(tmp_path: Path):
    path = presets.save(presets.load("ex2"), tmp_path / "copy.toml")
    assert presets.resolve(str(path)) == path
    assert presets.load(path) == presets.load("ex2")


def test_a_preset_with_a_byte_order_mark_loads_and_is_saved_without_one(tmp_path: Path):
    text = (presets.shipped_dir() / "ex1.toml").read_text(encoding="utf-8")
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # as some Windows editors save it
    preset = presets.load(path)
    assert preset == presets.load("ex1")
    saved = presets.save(preset, tmp_path / "saved.toml")
    assert not saved.read_bytes().startswith(b"\xef\xbb\xbf")
    assert presets.loads("\ufeff" + text) == preset


def test_shipped_name_is_a_shipped_preset_no_user_preset_shadows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """What the TUI may load after its first frame: only a shipped preset (its tests load it, so it
    cannot fail); a path, a user's preset of that name, or an unknown name is loaded before."""
    from kerastui.core.model.presetdirs import shipped_name

    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path / "mine"))
    monkeypatch.chdir(tmp_path)
    assert shipped_name("ex1") and shipped_name("ex5")
    assert not shipped_name("ex9") and not shipped_name("") and not shipped_name("ex1.toml")
    assert not shipped_name(str(presets.shipped_dir() / "ex1.toml"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "ex2.toml").write_text("[data]\n", encoding="utf-8")
    assert not shipped_name("ex2")  # the user's ex2 shadows the shipped one
    (tmp_path / "ex3").write_text("", encoding="utf-8")
    assert not shipped_name("ex3")  # a file of that name here is a path
    assert shipped_name("ex4")

"""Saving in every format, reloading, proving predictions match; and refusing bad files."""

from __future__ import annotations

import numpy as np
import pytest

from kerastui.core import presets
from kerastui.core.builder import build_model, compile_model, custom_metric_classes
from kerastui.core.errors import SaveError
from kerastui.core.saving import load_model, predict, save_and_verify, save_model
from kerastui.core.tfenv import load_keras


@pytest.fixture(scope="module")
def model():
    preset = presets.load("ex1")
    built = build_model(preset, (20,))
    compile_model(built.model, preset.compile, learning_rate=0.003)
    return built.model


def sample(n=16):
    return np.random.default_rng(0).normal(size=(n, 20)).astype("float32")


def test_every_format_round_trips_within_1e6(model, tmp_path):
    results = save_and_verify(model, tmp_path, ["savedmodel", "h5", "keras"], sample())
    assert [r.format for r in results] == ["keras", "h5", "savedmodel"]
    for r in results:
        assert r.max_abs_diff <= 1e-6 and r.same, r.format
        assert r.bytes > 0 and r.save_seconds >= 0 and r.load_seconds > 0
    assert results[2].tfsm_max_abs_diff <= 1e-6


def test_keras_saved_after_h5_keeps_the_optimizer(model, tmp_path):
    save_model(model, tmp_path / "m.h5")
    save_model(model, tmp_path / "m.keras")
    reloaded = load_model(tmp_path / "m.keras")
    assert type(reloaded.optimizer).__name__ == "Adam"
    assert float(np.asarray(reloaded.optimizer.learning_rate)) == pytest.approx(0.003)
    assert model.get_compile_config()["optimizer"]["class_name"] == "Adam"


def test_corrupt_files_give_clear_errors(tmp_path, model):
    good = save_model(model, tmp_path / "good.keras")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(SaveError, match=r"truncated\.keras: cannot load as keras"):
        load_model(truncated)
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5 at all")
    with pytest.raises(SaveError, match=r"fake\.h5: cannot load as h5"):
        load_model(fake)
    folder = tmp_path / "not_a_savedmodel"
    folder.mkdir()
    with pytest.raises(SaveError, match=r"not a SavedModel directory"):
        load_model(folder)
    with pytest.raises(SaveError, match="not found"):
        load_model(tmp_path / "missing.keras")


def test_failed_save_leaves_the_existing_file_byte_identical(tmp_path, model):
    keras = load_keras()
    target = save_model(model, tmp_path / "model.keras")
    before = target.read_bytes()

    class Unsaveable(keras.layers.Layer):
        def __init__(self, thing, **kwargs):
            super().__init__(**kwargs)
            self.thing = thing

        def call(self, x):
            return x

        def get_config(self):
            raise RuntimeError("cannot serialise this layer")

    bad = keras.Sequential([keras.Input((20,)), Unsaveable(object())])
    with pytest.raises(SaveError, match=r"model\.keras: could not save as keras"):
        save_model(bad, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"], "no temporary files left behind"


def test_savedmodel_overwrite_is_replaced_whole(tmp_path, model):
    path = tmp_path / "export"
    save_model(model, path, "savedmodel")
    save_model(model, path, "savedmodel")
    loaded = load_model(path)
    x = sample(4)
    assert np.max(np.abs(predict(loaded, x, "savedmodel") - model.predict(x, verbose=0))) <= 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_custom_metric_model_needs_its_class_to_reload(tmp_path):
    preset = presets.load("ex4")
    built = build_model(preset, (4,))
    compile_model(built.model, preset.compile, built.custom_objects)
    x = np.zeros((8, 4), "float32")
    built.model.evaluate(x, np.eye(3, dtype="float32")[np.zeros(8, int)], verbose=0)
    path = save_model(built.model, tmp_path / "m.keras")
    reloaded = load_model(path, custom_objects=custom_metric_classes(preset))
    assert np.allclose(reloaded.predict(x, verbose=0), built.model.predict(x, verbose=0), atol=1e-6)

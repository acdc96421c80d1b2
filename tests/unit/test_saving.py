"""Saving in every format, reloading, proving predictions match; and refusing bad files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from kerastui.core.errors import SaveError
from kerastui.core.model import presets
from kerastui.core.model.builder import build_model, compile_model, custom_metric_classes
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
    with pytest.raises(SaveError, match=r"truncated\.keras: not a valid \.keras file \(not a zi"):
        load_model(truncated)
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5 at all")
    with pytest.raises(SaveError, match=r"fake\.h5: not a valid \.h5 file \(no HDF5 signature"):
        load_model(fake)
    not_keras = tmp_path / "photos.keras"
    with zipfile.ZipFile(not_keras, "w") as archive:
        archive.writestr("cat.jpg", b"\xff\xd8")
    with pytest.raises(SaveError, match=r"photos\.keras: not a valid \.keras file \(a zip archive without config"):
        load_model(not_keras)
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
    loaded = load_model(path, safe_mode=False)  # the test's own export: trusted
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


# --------------------------------------------------------------------------- opening, read-only folders

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from kerastui.core.data.datasets import prepare  # noqa: E402
from kerastui.core.evaluation import evaluate, evaluate_predictions  # noqa: E402
from kerastui.core.model.builder import specs_from_model  # noqa: E402
from kerastui.core.saving import open_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m_savedmodel"])
def test_open_model_reads_every_format_with_counts_and_predictions(model, tmp_path, name):
    path = save_model(model, tmp_path / name)
    opened = open_model(path, safe_mode=False)  # the test's own file (a SavedModel opens only trusted)
    x = sample(8)
    assert np.max(np.abs(opened.predict(x) - model.predict(x, verbose=0))) <= 1e-6
    assert opened.counts["total"] == model.count_params()
    assert opened.input_shape == (20,)
    if opened.is_keras:
        assert opened.optimizer == "Adam" and len(opened.rows) == len(model.layers)
        assert [s.type for s in opened.specs][0] == "Input"
    else:
        assert opened.specs is None and "inference only" in opened.read_only_reason


def test_sequential_maps_onto_specs_that_rebuild_the_same_model(tmp_path):
    keras = load_keras()
    original = keras.Sequential([
        keras.Input((12, 12, 1)), keras.layers.Conv2D(4, (3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(), keras.layers.Dropout(0.25),
        keras.layers.Dense(6, activation="relu", kernel_regularizer="l2"), keras.layers.BatchNormalization(),
        keras.layers.Dense(3, activation="softmax")])
    specs, why = specs_from_model(original)
    assert why is None
    assert specs[0].to_dict() == {"type": "Input", "shape": [12, 12, 1]}
    assert specs[1].kwargs == {"filters": 4, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}
    assert specs[4].kwargs == {"rate": 0.25}
    # The specs go through a preset (TOML) and build a model with the same shapes and counts.
    preset = presets.load("ex1")
    preset.model.layers = specs
    text = presets.dumps(preset)
    again = build_model(presets.loads(text), (12, 12, 1)).model
    assert again.count_params() == original.count_params()
    assert [layer.output.shape for layer in again.layers] == [layer.output.shape for layer in original.layers]
    assert again.layers[4].kernel_regularizer is not None


def test_functional_and_custom_layers_open_read_only():
    keras = load_keras()
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    specs, why = specs_from_model(functional)
    assert specs is None and "Functional" in why

    class Twice(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    custom = keras.Sequential([keras.Input((4,)), Twice(), keras.layers.Dense(2)])
    specs, why = specs_from_model(custom)
    assert specs is None and "Twice" in why and "layer 0" in why


def _drop_dac_capabilities() -> None:
    """preexec_fn: as root, give up overriding file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH),
    so a read-only folder is read-only for the child process too."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


SAVE_INTO = """
import sys
from kerastui.core.tfenv import load_keras
from kerastui.core.saving import save_model
from kerastui.core.errors import SaveError
keras = load_keras()
m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
for fmt, name in [("keras", "model.keras"), ("h5", "model.h5"), ("savedmodel", "export")]:
    try:
        save_model(m, sys.argv[1] + "/" + name, fmt)
    except SaveError as error:
        print(error)
    else:
        print("SAVED", name)
"""


def test_saving_into_a_read_only_folder_fails_and_keeps_the_existing_file(tmp_path, model):
    """Run in a child process that cannot override permissions (root otherwise writes anywhere)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = save_model(model, folder / "model.keras")
    before = existing.read_bytes()
    folder.chmod(0o555)
    try:
        out = subprocess.run([sys.executable, "-c", SAVE_INTO, str(folder)], capture_output=True, text=True,
                             timeout=240, preexec_fn=_drop_dac_capabilities if os.geteuid() == 0 else None,
                             env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"})
    finally:
        folder.chmod(0o755)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3, out.stdout + out.stderr[-2000:]
    for line, (fmt, name) in zip(lines, [("keras", "model.keras"), ("h5", "model.h5"), ("savedmodel", "export")],
                                 strict=True):
        assert f"{name}: could not save as {fmt}" in line and "Permission denied" in line, line
    assert existing.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras"]


def test_a_fresh_process_without_the_metric_file_names_the_missing_class(tmp_path):
    preset = presets.load("ex4")
    built = build_model(preset, (4,))
    compile_model(built.model, preset.compile, built.custom_objects)
    path = save_model(built.model, tmp_path / "with_metric.keras")
    code = ("from kerastui.core.saving import open_model\n"
            "from kerastui.core.errors import SaveError\n"
            "try:\n"
            f"    open_model({str(path)!r})\n"
            "except SaveError as error:\n"
            "    print(error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert "MyAccuracy" in out.stdout and "with_metric.keras" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "Traceback" not in out.stdout + out.stderr
    # With the preset (which names my_accuracy.py) it opens.
    opened = open_model(path, preset)
    assert "MyAccuracy" in opened.custom_objects


def test_savedmodel_evaluation_matches_the_keras_evaluation(tmp_path):
    preset = presets.load("ex4")
    data = prepare(preset.data, loss=preset.compile.loss, base_dir=preset.base_dir)
    built = build_model(preset, data.input_shape)
    compile_model(built.model, preset.compile, built.custom_objects)
    built.model.fit(data.x_train, data.y_train, epochs=2, verbose=0)
    export = open_model(save_model(built.model, tmp_path / "exp", "savedmodel"), safe_mode=False)  # its own
    keras_report = evaluate(built.model, data)
    export_report = evaluate_predictions(export.predict(data.x_test), data, preset.compile.loss)
    for key in ("loss", "accuracy", "f1_macro"):
        assert export_report[key] == pytest.approx(keras_report[key], abs=1e-5), key


def test_a_typed_row_is_scaled_with_the_training_statistics():
    preset = presets.load("ex4")
    data = prepare(preset.data, loss=preset.compile.loss, base_dir=preset.base_dir)
    mean, std = data.feature_scale
    raw = data.x_test[3] * std + mean
    assert np.allclose(data.scale_row(raw.tolist())[0], data.x_test[3], atol=1e-5)
    from kerastui.core.errors import DatasetError

    with pytest.raises(DatasetError, match=r"has 4 values .*sepal length.*got 2"):
        data.scale_row([1.0, 2.0])


def test_write_script_is_atomic_and_names_the_folder(tmp_path):
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.script import write_script

    target = write_script(presets.load("ex1"), tmp_path / "train.py")
    assert "keras.Sequential" in target.read_text() or "keras.Model" in target.read_text()
    with pytest.raises(KerasTUIError, match="does not exist"):
        write_script(presets.load("ex1"), tmp_path / "missing" / "train.py")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


# --------------------------------------------------------------------------- Lambda layers: safe mode

def test_a_lambda_model_is_refused_by_default_and_opens_only_when_asked_each_time(tmp_path):
    keras = load_keras()
    from kerastui.core.saving import UnsafeModelError

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(2)])
    x = sample(4)[:, :3]
    for name in ("lambda.keras", "lambda.h5"):
        path = save_model(model, tmp_path / name)
        with pytest.raises(UnsafeModelError) as refused:
            open_model(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: contains a Lambda layer") and "Python code" in message, message
        assert "safe_mode=False" in message and refused.value.what == "a Lambda layer"
        opened = open_model(path, safe_mode=False)
        assert opened.safe_mode is False
        assert np.max(np.abs(opened.predict(x) - np.asarray(model(x)))) <= 1e-6
        # Never remembered: the same file, opened again without saying so, is refused again.
        with pytest.raises(UnsafeModelError):
            open_model(path)
        with pytest.raises(UnsafeModelError):
            load_model(path)
    # The opened model saves and verifies: the reload runs the code the user already chose to run.
    results = save_and_verify(opened.model, tmp_path / "again", ["keras"], x, safe_mode=False)
    assert results[0].same
    with pytest.raises(UnsafeModelError):
        save_and_verify(opened.model, tmp_path / "again", ["keras"], x)

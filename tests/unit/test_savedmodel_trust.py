"""A SavedModel folder's graph runs only with the user's trust (issue 25, part 4): its operations run
when it is loaded and called, and one can write any file (here ``tf.io.write_file`` to a marker).
Opening a stranger's export (``load_model``/``open_model``, the Save/Load workspace) is refused in
safe mode like a Lambda ``.keras``; ``kerastui train --model DIR`` refuses it in one line unless
``--trust-model``, and with it trains the export's variables.  ``save_and_verify`` reloads its own
export of a moment ago without asking: that graph is the model's own.

The SavedModels are real (``tf.saved_model.save`` of a ``tf.Module`` with a ``serve`` signature),
the runs real ``python -m kerastui`` processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kerastui.core.errors import SaveError
from kerastui.core.run.directory import RunDir
from kerastui.core.run.status import RunStatus
from kerastui.core.saving import (
    UnsafeModelError,
    UnsafeSavedModelError,
    load_for_training,
    load_model,
    open_model,
    save_and_verify,
    save_model,
)
from kerastui.core.tfenv import load_keras
from tests.conftest import run_cli

FEATURES, CLASSES = 4, 3  # Iris


def write_marking_export(folder: Path, marker: Path) -> Path:
    """A SavedModel (a softmax over ``x @ w + b``, Iris-shaped) whose ``serve`` graph writes ``marker``."""
    import tensorflow as tf

    class Marks(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal([FEATURES, CLASSES], seed=[1, 2]), name="w")
            self.b = tf.Variable(tf.zeros([CLASSES]), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32)])
        def serve(self, x):
            tf.io.write_file(str(marker), "the graph ran")
            return tf.nn.softmax(tf.matmul(x, self.w) + self.b)

    module = Marks()
    tf.saved_model.save(module, str(folder), signatures={"serve": module.serve})
    return folder


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path]:
    """(a stranger's SavedModel folder, the marker file its graph writes when it runs)."""
    marker = tmp_path / "marker.txt"
    return write_marking_export(tmp_path / "stranger_savedmodel", marker), marker


def x4(n: int = 5) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, FEATURES)).astype("float32")


# --------------------------------------------------------------------------- opening


def test_a_savedmodel_is_refused_in_safe_mode_and_its_graph_never_runs(export):
    folder, marker = export
    for opener in (load_model, open_model):
        with pytest.raises(UnsafeSavedModelError) as refused:
            opener(folder)
        error = refused.value
        assert isinstance(error, UnsafeModelError), "the same refusal as a Lambda file: the TUI asks the same way"
        assert str(error) == (f"{folder}: contains a SavedModel's graph, a graph of TensorFlow operations stored "
                              "in the folder that run when it is loaded and called; refused in safe mode: open it "
                              "only if you trust the file (safe_mode=False)")
        assert error.path == folder and "graph" in error.code
        assert not marker.exists(), opener.__name__
    # A folder that is no SavedModel is said to be none first: there is nothing to trust.
    with pytest.raises(SaveError, match="not a SavedModel directory") as empty:
        load_model(folder / "variables")  # a folder, no saved_model.pb in it
    assert not isinstance(empty.value, UnsafeModelError)


def test_the_refusal_comes_before_tensorflow_reads_the_folder(tmp_path):
    folder = tmp_path / "garbage_savedmodel"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x00not a protocol buffer")
    with pytest.raises(UnsafeSavedModelError):
        open_model(folder)
    # Trusted, TensorFlow reads it (and says it cannot): the refusal above came first.
    with pytest.raises(SaveError) as unreadable:
        open_model(folder, safe_mode=False)
    assert not isinstance(unreadable.value, UnsafeModelError) and "\n" not in str(unreadable.value)


def test_a_trusted_savedmodel_opens_predicts_and_its_graph_runs_each_time_asked(export):
    folder, marker = export
    opened = open_model(folder, safe_mode=False)
    assert opened.format == "savedmodel" and opened.safe_mode is False
    assert opened.input_shape == (FEATURES,)
    assert opened.trusted_code == "the SavedModel's graph (TensorFlow operations)"
    assert not marker.exists(), "loading a plain export runs no init op"
    predictions = opened.predict(x4())
    assert predictions.shape == (5, CLASSES) and np.allclose(predictions.sum(axis=1), 1.0, atol=1e-5)
    assert marker.read_text() == "the graph ran"
    # Never remembered: the same folder, opened again without saying so, is refused again.
    marker.unlink()
    with pytest.raises(UnsafeSavedModelError):
        open_model(folder)
    assert not marker.exists()


def test_save_and_verify_reloads_its_own_export_without_asking_and_a_strangers_still_asks(tmp_path):
    keras = load_keras()
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(CLASSES, activation="softmax")])
    [result] = save_and_verify(model, tmp_path / "mine", ["savedmodel"], x4(16))  # safe mode: the default
    assert result.format == "savedmodel" and result.same
    assert result.max_abs_diff <= 1e-6 and result.tfsm_max_abs_diff <= 1e-6
    # The very folder it wrote, opened later as a file like any other, is a file like any other.
    with pytest.raises(UnsafeSavedModelError):
        open_model(result.path)
    # Keras's safe mode still guards what it guards: a Lambda model's reload is refused in safe mode.
    lam = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Lambda(lambda t: t * 2.0)])
    with pytest.raises(UnsafeModelError) as refused:
        save_and_verify(lam, tmp_path / "lam", ["keras", "savedmodel"], x4(4))
    assert not isinstance(refused.value, UnsafeSavedModelError) and refused.value.what == "a Lambda layer"


# --------------------------------------------------------------------------- training further from one


def test_load_for_training_needs_trust_names_the_flag_and_then_trains_the_exports_variables(export, tmp_path):
    folder, marker = export
    with pytest.raises(UnsafeSavedModelError) as refused:
        load_for_training(folder)
    assert str(refused.value).endswith(f"refused in safe mode: pass --trust-model if you trust {folder}")
    assert not marker.exists()
    # A Lambda file says the same flag.
    keras = load_keras()
    lam = save_model(keras.Sequential([keras.Input((FEATURES,)), keras.layers.Lambda(lambda t: t + 1.0)]),
                     tmp_path / "lambda.keras")
    with pytest.raises(UnsafeModelError, match=f"pass --trust-model if you trust {lam}$"):
        load_for_training(lam)
    assert load_for_training(lam, trusted=True).count_params() == 0

    model = load_for_training(folder, trusted=True)
    assert tuple(model.input_shape[1:]) == (FEATURES,) and tuple(model.output_shape[1:]) == (CLASSES,)
    assert not marker.exists()
    before = [np.array(w) for w in model.trainable_weights]
    assert len(before) == 2
    model.compile("adam", "categorical_crossentropy")  # an optimizer with slots (their names refused ':')
    y = np.eye(CLASSES, dtype="float32")[np.arange(16) % CLASSES]
    model.fit(x4(16), y, epochs=2, batch_size=8, verbose=0)
    assert any(not np.allclose(b, np.array(w)) for b, w in zip(before, model.trainable_weights, strict=True))
    assert marker.read_text() == "the graph ran"
    # Saved as .keras (a TFSMLayer), it reloads only trusted, predicting what the trained model does.
    [result] = save_and_verify(model, tmp_path / "trained", ["keras"], x4(8), safe_mode=False)
    assert result.same
    with pytest.raises(UnsafeModelError):
        load_model(result.path)


PRESET = """title = "train further from a SavedModel"
[data]
source = "sklearn:iris"
normalize = true
validation_split = 0.2
test_split = 0.2
seed = 42
[model]
type = "sequential"
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
[compile]
optimizer = "adam"
loss = "categorical_crossentropy"
metrics = ["accuracy"]
[fit]
epochs = 1
batch_size = 16
[save]
formats = ["keras"]
"""


def test_train_model_dir_refuses_untrusted_in_one_line_and_trains_with_trust_model(export, tmp_path):
    folder, marker = export
    preset = tmp_path / "iris.toml"
    preset.write_text(PRESET, encoding="utf-8")
    runs = tmp_path / "runs"
    env = {**os.environ, "KERASTUI_RUNS": str(runs)}

    done = run_cli("train", str(preset), "--model", str(folder), "--runs-dir", str(runs), env=env)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("kerastui: error:")]
    assert lines == [f"kerastui: error: {preset}: {folder}: contains a SavedModel's graph, a graph of TensorFlow "
                     "operations stored in the folder that run when it is loaded and called; refused in safe mode: "
                     f"pass --trust-model if you trust {folder}"], done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert not marker.exists(), "the graph never ran"
    assert not any(runs.glob("*/status.json")), "no run was made"

    done = run_cli("train", str(preset), "--model", str(folder), "--trust-model", "--runs-dir", str(runs), "--json",
                   env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "completed" and result["epochs_run"] == 1
    assert result["model"]["total"] == FEATURES * CLASSES + CLASSES, "the export's variables, not the preset's layers"
    assert marker.read_text() == "the graph ran", "trusted: the SavedModel's graph ran in training"
    status = RunDir(Path(result["run_dir"])).status()
    assert status["state"] == RunStatus.COMPLETED and status["trusted"] is True
    assert result["saved"]["keras"]["same"] is True, "the run's .keras (a TFSMLayer) reloaded trusted and matched"

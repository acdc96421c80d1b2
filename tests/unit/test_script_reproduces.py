"""An exported script reproduces its preset: the same split sizes and sample indices, the same
history and test metrics as kerastui's own trainer with the same seeds (exercises 1–4, offline).

Both sides train the same few samples for 1–2 epochs; the script runs in its own process, kerastui's
trainer in this one.  What the script computed is read from its own variables (runpy), so nothing in
the script exists for the test's sake.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerastui.core.data import datasets
from kerastui.core.data.base import plan_splits
from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.run.trainer import Trainer
from kerastui.core.script import write_script
from tests.conftest import PRESETS, offline_env, run_cli

# Runs a script as `python script.py` would (runpy, __main__), then writes down what it computed.
RUNNER = """\
import json, runpy, sys
import numpy as np
g = runpy.run_path(sys.argv[1], run_name="__main__")
names = ["x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "train_index", "val_index", "test_index"]
np.savez(sys.argv[2], **{k: g[k] for k in names if g[k] is not None})
history = {k: [float(v) for v in values] for k, values in g["history"].history.items()}
with open(sys.argv[3], "w") as handle:
    json.dump({"history": history, "test": {k: float(v) for k, v in g["test"].items()}}, handle)
"""


def run_script(script: Path, cwd: Path) -> tuple[dict[str, np.ndarray], dict]:
    runner = cwd / "runner.py"
    runner.write_text(RUNNER)
    env = offline_env(cwd)
    env["PYTHONPATH"] = ""  # only the installed packages: keras, numpy, scikit-learn
    proc = subprocess.run([sys.executable, str(runner), str(script), str(cwd / "arrays.npz"), str(cwd / "out.json")],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(cwd / "arrays.npz") as arrays:
        return dict(arrays), json.loads((cwd / "out.json").read_text())


@pytest.mark.parametrize("name, overrides", [
    ("ex1", {"fit.epochs": 2}),
    ("ex2", {"data.source": "sklearn:digits", "fit.epochs": 1}),
    ("ex3", {"data.source": "sklearn:digits", "fit.epochs": 1, "data.limit": 400}),
    ("ex4", {"fit.epochs": 2}),
])
def test_the_script_trains_on_kerastuis_splits_to_kerastuis_history_and_test_metrics(name, overrides, tmp_path):
    preset = presets.load(name, overrides)
    write_script(preset, tmp_path / "train.py", validate=False)
    arrays, out = run_script(tmp_path / "train.py", tmp_path)

    trainer = Trainer(preset, record=False)
    result = trainer.run()
    data = trainer.data
    assert data is not None and result.status == "completed"
    # The same samples, in the same order, scaled and encoded alike (639/160/201 for ex1, not 640/160/200).
    assert (len(arrays["x_train"]), len(arrays["x_val"]), len(arrays["x_test"])) == (
        result.data["train"], result.data["val"], result.data["test"])
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(arrays[f"x_{split}"], getattr(data, f"x_{split}"))
        np.testing.assert_array_equal(arrays[f"y_{split}"], getattr(data, f"y_{split}"))
    # The same indices into the source as kerastui's split plan.
    raw = datasets.load_raw(preset.data, preset.base_dir)
    _, _, train, val, test = plan_splits(preset.data, raw.y_train, raw.y_test, len(raw.class_names), stratify=True)
    for split, planned in (("train", train), ("val", val), ("test", test)):
        np.testing.assert_array_equal(arrays[f"{split}_index"], planned)
    # The same training, epoch by epoch, and the same test metrics.
    for key, values in out["history"].items():
        np.testing.assert_allclose(values, result.history[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert set(out["history"]) == set(result.history) - {"learning_rate"}
    for key, value in out["test"].items():
        np.testing.assert_allclose(value, result.test[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert {"loss", "accuracy"} <= set(out["test"])


def test_the_custom_metric_script_runs_from_another_folder(tmp_path):
    """ex4's metric file is copied beside the script and loaded relative to it: the folder moved to
    another place (the preset's folder out of reach), run from a third folder, it still trains."""
    first = tmp_path / "exported"
    first.mkdir()
    proc = run_cli("export-script", "ex4", "--set", "fit.epochs=1", "-o", str(first / "iris.py"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"wrote {first / 'iris.py'}", f"wrote {first / 'my_accuracy.py'}"]
    text = (first / "iris.py").read_text()
    assert str(PRESETS) not in text and "load_class('my_accuracy.py', 'MyAccuracy')" in text
    moved = tmp_path / "elsewhere" / "job"
    shutil.move(first, moved)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = offline_env(cwd)
    env["PYTHONPATH"] = ""
    run = subprocess.run([sys.executable, str(moved / "iris.py")], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "'my_accuracy':" in run.stdout and (cwd / "model.keras").is_file()


def test_a_different_file_beside_the_script_is_not_overwritten(tmp_path):
    mine = tmp_path / "my_accuracy.py"
    mine.write_text("# my own file\n")
    preset = presets.load("ex4")
    with pytest.raises(KerasTUIError, match="exists and differs"):
        write_script(preset, tmp_path / "train.py", validate=False)
    assert mine.read_text() == "# my own file\n" and not (tmp_path / "train.py").exists()
    mine.write_bytes((PRESETS / "my_accuracy.py").read_bytes())  # the same file: kept, the script written
    assert write_script(preset, tmp_path / "train.py", validate=False) == tmp_path / "train.py"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_accuracy.py", "train.py"]


def test_a_transfer_script_reproduces_both_phases_and_the_run_keeps_no_copy_of_the_data(tmp_path, monkeypatch):
    """ex5 (frozen base, then fine-tuning; shuffled): the script makes each phase its own pipeline, as the
    run does, so the fine-tuning epoch sees the same order on both sides (a pipeline kept from the head
    phase would go on with its second pass).  And the run's pipelines are gone once it has run: each
    phase's copy of the splits is freed before the next phase freezes what is alive (gc.freeze)."""
    import gc

    import kerastui.core.data.feed as feed_module

    monkeypatch.chdir(tmp_path)  # (ex5 logs to TensorBoard; a run with no run directory writes it here)
    preset = presets.load("ex5", {"data.source": "synthetic:images", "data.limit": 64, "transfer.weights": "none",
                                  "fit.epochs": 1, "transfer.fine_tune_epochs": 1})
    assert preset.fit.shuffle
    write_script(preset, tmp_path / "train.py", validate=False)
    runner = RUNNER.replace('with open(sys.argv[3], "w")', 'if "fine_tuned" in g:\n'
                            '    for k, values in g["fine_tuned"].history.items():\n'
                            '        history[k] += [float(v) for v in values]\nwith open(sys.argv[3], "w")')
    assert runner != RUNNER
    (tmp_path / "runner.py").write_text(runner)
    env = offline_env(tmp_path)
    env["PYTHONPATH"] = ""
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "train.py"),
                           str(tmp_path / "arrays.npz"), str(tmp_path / "out.json")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())

    made = []  # the tensors each pipeline gathers from, watched without keeping them
    tensors = feed_module._tensors
    monkeypatch.setattr(feed_module, "_tensors", lambda x, y: _watched(tensors, made, x, y))
    result = Trainer(preset, record=False).run()
    assert result.status == "completed" and [p["name"] for p in result.phases] == ["head", "fine_tune"]
    for key, values in out["history"].items():
        assert len(values) == 2
        np.testing.assert_allclose(values, result.history[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert len(made) == 4  # train and validation, each phase
    gc.collect()
    assert [ref() for ref in made] == [None] * 4  # (not frozen alive: a collection frees them)


def _watched(tensors, made, x, y):
    import weakref

    out = tensors(x, y)
    made.append(weakref.ref(out[0]))
    return out

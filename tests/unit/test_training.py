"""The trainer: events to sinks, stop flag, NaN, callbacks, run directory, Ctrl-C."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time

import pytest

from kerastui.core.model import presets
from kerastui.core.run.directory import list_runs, read_metrics
from kerastui.core.run.events import BatchEnded, EpochEnded, Notice, TrainEnded, TrainStarted
from kerastui.core.run.trainer import Trainer


def tiny(epochs=3, **extra):
    return presets.load("ex1", {"fit.epochs": epochs, "data.samples": 300, **extra})


def test_events_arrive_in_order_and_run_dir_records_each_epoch(runs_dir):
    events = []
    result = Trainer(tiny(3), [events.append], runs_dir=runs_dir).run()
    kinds = [type(e) for e in events]
    assert kinds[0] is TrainStarted and kinds[-1] is TrainEnded
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [0, 1, 2]
    assert all(isinstance(v, float) for e in epochs for v in e.logs.values())
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(epochs[0].logs)
    batches = [e for e in events if isinstance(e, BatchEnded)]
    assert batches and batches[0].steps == events[0].steps_per_epoch
    assert events[-1].reason == "completed" and events[-1].epochs_run == 3
    run = runs_dir / result.run_dir.split("/")[-1]
    rows = read_metrics(run)
    assert len(rows) == 3 and rows[2]["epoch"] == 3
    assert rows[0]["loss"] == pytest.approx(result.history["loss"][0])
    assert (run / "preset.toml").is_file() and (run / "model.keras").is_file()
    assert presets.load(run / "preset.toml") == tiny(3)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_run"] == 3 and summary["status"] == "completed"
    listed = list_runs(runs_dir)
    assert len(listed) == 1 and listed[0].epochs == 3 and "val_accuracy" in listed[0].best_val


def test_stop_after_first_batch_keeps_history_and_a_usable_model(runs_dir):
    trainer = Trainer(tiny(20), runs_dir=runs_dir)

    def stop_on_first_batch(event):
        if isinstance(event, BatchEnded):
            trainer.request_stop()

    trainer.sinks.append(stop_on_first_batch)
    result = trainer.run()
    assert result.status == "stopped"
    assert result.epochs_run <= 1
    assert len(read_metrics(runs_dir / result.run_dir.split("/")[-1])) <= 1
    prediction = trainer.model.predict(trainer.data.x_test[:4], verbose=0)
    assert prediction.shape == (4, 3)
    assert "accuracy" in result.test


def test_nan_loss_stops_with_a_notice(runs_dir):
    events = []
    preset = tiny(5, **{"compile.learning_rate": 1e12, "compile.optimizer": "sgd"})
    result = Trainer(preset, [events.append], runs_dir=runs_dir).run()
    assert result.status == "nan"
    assert result.epochs_run < 5
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("NaN" in m or "nan" in m or "inf" in m for m in notices)
    assert "learning_rate" in result.error
    assert not result.test


def test_early_stopping_and_reduce_lr_and_checkpoint(runs_dir):
    preset = tiny(40, **{
        "callbacks.early_stopping": {"monitor": "val_loss", "patience": 1, "min_delta": 0.5},
        "callbacks.reduce_lr": {"monitor": "val_loss", "patience": 1, "factor": 0.5},
        "callbacks.checkpoint": {"monitor": "val_loss"},
    })
    result = Trainer(preset, runs_dir=runs_dir).run()
    assert result.status == "early_stopping"
    assert result.epochs_run < 40
    assert (runs_dir / result.run_dir.split("/")[-1] / "checkpoint.keras").is_file()


def test_same_seed_same_history(runs_dir):
    a = Trainer(tiny(2), runs_dir=runs_dir).run()
    b = Trainer(tiny(2), runs_dir=runs_dir).run()
    for key in a.history:
        assert a.history[key] == pytest.approx(b.history[key], abs=1e-5)


def test_regression_reports_mae_mse_rmse(runs_dir):
    preset = presets.loads("""
[data]
source = "synthetic:regression"
samples = 300
features = 5
[model]
layers = [{type = "Dense", units = 16, activation = "relu"}, {type = "Dense", units = 1}]
[compile]
loss = "mse"
metrics = ["mae"]
[fit]
epochs = 2
""", "regression.toml")
    result = Trainer(preset, runs_dir=runs_dir).run()
    assert {"mae", "mse", "rmse"} <= set(result.test)
    assert math.isclose(result.test["rmse"], math.sqrt(result.test["mse"]), rel_tol=1e-9)
    assert "confusion_matrix" not in result.evaluation


def test_ctrl_c_interrupts_with_a_checkpoint_to_resume_from(tmp_path):
    """Ctrl-C (SIGINT) ends a run as interrupted, not stopped: the batch finishes, the checkpoint of
    the last epoch stays, nothing is evaluated or saved, and the error line says how to resume."""
    runs = tmp_path / "runs"
    out_file, err_file = tmp_path / "stdout", tmp_path / "stderr"  # files: read without blocking
    with out_file.open("w") as out, err_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", "400", "--runs-dir", str(runs)],
            stdout=out, stderr=err, text=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("epoch 2") for line in err_file.read_text().splitlines()):
            assert proc.poll() is None, f"training ended before epoch 2: {err_file.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "training never reached epoch 2"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    out, err = out_file.read_text(), err_file.read_text()
    assert proc.returncode == 130
    assert "Traceback" not in err and "Traceback" not in out
    (run,) = list(runs.iterdir())
    errors = [e for e in err.splitlines() if e.startswith("kerastui: error:")]
    assert len(errors) == 1 and "interrupted by SIGINT" in errors[0], err
    assert f"kerastui resume {run.name}" in errors[0]
    rows = read_metrics(run)
    assert 2 <= len(rows) < 400
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "interrupted" and status["signal"] == "SIGINT"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_run"] == len(rows)
    state = json.loads((run / "checkpoints" / "train" / "state.json").read_text())
    assert state["epoch"] == len(rows) and (run / "checkpoints" / "train" / state["weights"]).is_file()
    assert not (run / "model.keras").exists(), "an interrupted run is not evaluated and saved"

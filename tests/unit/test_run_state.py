"""Run directories in-process: what a resume restores (optimizer state, ReduceLROnPlateau's reduced
learning rate, EarlyStopping's counters), RUN as the user types it, writes that fail naming the
file, the TUI's TensorFlow kept off GPUs, and a double Ctrl-C's true epoch count."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.run.checkpoint import read_arrays
from kerastui.core.run.directory import RunDir, find_run, read_json, read_metrics, write_atomic
from kerastui.core.run.events import BatchEnded
from kerastui.core.run.trainer import Trainer
from tests.conftest import REPO
from tests.unit.test_cli_errors import isolated_env

EPOCHS = 30


def plateau_preset():
    """ex1 whose learning rate halves after any epoch without a better validation accuracy (a 48-sample
    validation set plateaus within a few epochs), with EarlyStopping watching but never stopping."""
    return presets.load("ex1", {
        "fit.epochs": EPOCHS, "data.samples": 300,
        "callbacks.reduce_lr.monitor": "val_accuracy", "callbacks.reduce_lr.patience": 0,
        "callbacks.reduce_lr.factor": 0.5,
        "callbacks.early_stopping.monitor": "val_loss", "callbacks.early_stopping.patience": 1000,
    })


def test_resume_restores_the_optimizer_the_reduced_learning_rate_and_early_stopping(tmp_path) -> None:
    preset = plateau_preset()
    run = RunDir.create(tmp_path, "plateau")
    run.write_preset(preset)
    first = Trainer(preset, run_dir=run)
    rates: list[float] = []

    def interrupt_once_reduced(event) -> None:  # a signal as soon as the rate was halved once
        if isinstance(event, BatchEnded) and first.model is not None:
            rates.append(float(np.asarray(first.model.optimizer.learning_rate)))
            if rates[-1] < rates[0] and not first.stop_requested:
                first.request_stop("interrupted")

    first.sinks.append(interrupt_once_reduced)
    result = first.run()
    assert result.status == "interrupted" and 0 < result.epochs_run < EPOCHS
    state = read_json(run.checkpoint_dir("train") / "state.json")
    assert state["epoch"] == result.epochs_run
    stored = state["callbacks"]
    assert set(stored) == {"EarlyStopping", "ReduceLROnPlateau"}
    values, embedded = read_arrays(run.checkpoint_dir("train") / state["weights"])
    assert embedded is not None and embedded["epoch"] == state["epoch"]  # the file carries its own state
    assert [r["epoch"] for r in embedded["rows"]] == list(range(1, result.epochs_run + 1))
    weights = len(first.model.weights)
    iterations, learning_rate = int(values[weights]), float(values[weights + 1])
    assert learning_rate < rates[0]  # the checkpoint holds the reduced rate

    resumed = Trainer(presets.load(run.preset_path), run_dir=run, resume=True)
    seen = {}

    def first_batch(event) -> None:
        if isinstance(event, BatchEnded) and "lr" not in seen:
            seen["lr"] = float(np.asarray(resumed.model.optimizer.learning_rate))
            seen["iterations"] = int(np.asarray(resumed.model.optimizer.iterations))

    resumed.sinks.append(first_batch)
    final = resumed.run()
    assert final.status == "completed" and final.epochs_run == EPOCHS
    # Training went on from the checkpoint's optimizer: its step counter and its (reduced) rate.
    assert seen["lr"] <= learning_rate
    assert seen["iterations"] == iterations + 1
    rows = read_metrics(run.path)
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    # The first resumed epoch logs the rate the checkpoint held, not the preset's.
    assert rows[result.epochs_run]["learning_rate"] == pytest.approx(learning_rate)
    assert len(final.history["loss"]) == EPOCHS
    # EarlyStopping's and ReduceLROnPlateau's counters went on from the checkpoint's.
    after = read_json(run.checkpoint_dir("train") / "state.json")["callbacks"]
    assert after["EarlyStopping"]["best"] == pytest.approx(min(r["val_loss"] for r in rows), rel=1e-6)
    assert after["EarlyStopping"]["best"] <= stored["EarlyStopping"]["best"]


def test_run_is_found_by_name_prefix_last_or_path(tmp_path) -> None:
    for name in ("20260101-000000-ex1", "20260101-000001-ex1", "20260102-000000-ex2"):
        (tmp_path / name).mkdir()
    assert find_run("last", tmp_path).name == "20260102-000000-ex2"
    assert find_run("20260101-000000-ex1", tmp_path).name == "20260101-000000-ex1"
    assert find_run("20260102", tmp_path).name == "20260102-000000-ex2"
    assert find_run(str(tmp_path / "20260101-000001-ex1"), tmp_path).name == "20260101-000001-ex1"
    with pytest.raises(KerasTUIError, match=r"matches 2 runs .*type more"):
        find_run("20260101", tmp_path)
    with pytest.raises(KerasTUIError, match="no run of that name"):
        find_run("nope", tmp_path)
    with pytest.raises(KerasTUIError, match="no runs yet"):
        find_run("last", tmp_path / "empty")


def test_a_write_that_fails_names_the_file_and_leaves_nothing_behind(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "status.json"  # its folder is a file: the write fails as a full disk would
    with pytest.raises(KerasTUIError, match=f"{target}: cannot write"):
        write_atomic(target, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_status_that_says_running_with_nobody_holding_the_lock_reads_died(tmp_path) -> None:
    run = RunDir.create(tmp_path, "x")
    run.set_status(state="running", pid=os.getpid(), host=os.uname().nodename)
    assert run.status()["state"] == "died"  # nobody holds the lock (this pid is alive, but it is not the run)
    run.acquire()
    try:
        assert run.status()["state"] == "running" and run.locked()
        with pytest.raises(KerasTUIError, match="run is live"):
            RunDir(run.path).acquire()  # never two writers
    finally:
        run.release()
    assert not run.locked()


def test_the_tuis_tensorflow_keeps_off_gpus_and_the_run_environment_is_untouched() -> None:
    code = ("import os, json; from kerastui.ui.app import make_app; make_app(deterministic=True); "
            "from kerastui.core.tfenv import load_keras; load_keras(); import tensorflow as tf; "
            "print(json.dumps({'visible': [d.name for d in tf.config.get_visible_devices('GPU')], "
            "'cuda': os.environ.get('CUDA_VISIBLE_DEVICES')}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    # No GPU visible to the TUI's TensorFlow, and no variable set that a run process would inherit.
    assert seen == {"visible": [], "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


def test_a_second_ctrl_c_aborts_at_once_and_the_status_counts_the_epochs_that_ran(tmp_path) -> None:
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", "400", "--set",
                             "data.samples=300", "--set", "fit.batch_size=2", "--runs-dir", str(runs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=isolated_env(tmp_path))
    deadline = time.monotonic() + 180
    while not (runs.is_dir() and any(runs.iterdir()) and len(read_metrics(next(runs.iterdir()))) >= 3):
        assert time.monotonic() < deadline and proc.poll() is None, "training never reached epoch 3"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    (path,) = list(runs.iterdir())
    rows = read_metrics(path)
    status = read_json(path / "status.json")
    summary = read_json(path / "summary.json")
    assert status["state"] == "interrupted" and summary["status"] == "interrupted"
    assert status["epoch"] == summary["epochs_run"] == len(rows) >= 3
    assert re.search(rf"interrupted (by SIGINT )?after {len(rows)} epoch\(s\)", err) and "kerastui resume" in err
    assert "Traceback" not in err
    assert Path(path / "checkpoints" / "train" / "state.json").is_file()


def test_a_launched_run_whose_preset_fails_says_why_in_its_status_and_log(tmp_path) -> None:
    run = RunDir.create(tmp_path, "broken")
    run.preset_path.write_text("[fit]\nepochs = -3\n")
    with run.output_path.open("wb") as log:
        proc = subprocess.run([sys.executable, "-m", "kerastui", "train", str(run.preset_path), "--run-dir",
                               str(run.path)], stdout=log, stderr=log, timeout=120)
    assert proc.returncode == 1
    status = run.status()
    assert status["state"] == "failed" and "fit.epochs" in status["error"]
    from kerastui.core.run.client import last_error_line

    line = last_error_line(run.output_path)  # what the TUI shows for a run that never started
    assert line is not None and "fit.epochs" in line and str(run.preset_path) in line

"""Sweeps on Optuna with real processes (issue 27): ``python -m kerastui sweep …`` starts detached
workers, each trial an ordinary ``kerastui train`` run on ex1's offline synthetic data; real Optuna
(journal storage), real signals, real files.

- ex1 with a 3-key space, 8 trials, 2 at once: every trial ends (completed or pruned), trial 0 is
  the preset's own values, every trial is a run of its own tagged with its sweep and trial, never
  more than 2 run at once, and ``sweep best --preset`` writes a preset that trains to the best value;
- a deliberately bad range (learning rates of 1 to 10, after the preset's own): the median pruner
  prunes, and a pruned run ends ``pruned`` with its epochs, evaluation and model kept;
- ``kill -9`` of both workers and of a trial's run mid-sweep, then ``sweep resume``: exactly the
  sweep's trials, the killed trial continued from its checkpoint (its epochs 1..E each once).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from kerastui.core.run.directory import read_json, read_metrics
from kerastui.core.run.sweep import SweepClient
from tests.conftest import PRESETS, run_cli

EX1 = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
WAIT = 400.0  # a deadline for processes, not a claim about speed


def sweep_preset(tmp_path: Path, name: str, sweep: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(EX1 + sweep, encoding="utf-8")
    return path


def run_json(*args: str) -> dict[str, Any]:
    done = run_cli(*args, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    value = json.loads(done.stdout)
    assert isinstance(value, dict)
    return value


THREE_KEYS = """
[sweep]
trials = 8
parallel = 2
objective = "val_accuracy"
seed = 7
[sweep.space]
"compile.learning_rate" = { low = 1e-4, high = 1e-1, log = true }
"fit.batch_size" = { choices = [32, 64, 128] }
"model.layers[1].units" = { low = 8, high = 128, step = 8 }
"""


def test_ex1_sweep_of_eight_trials_two_at_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = sweep_preset(tmp_path, "ex1-sweep", THREE_KEYS)
    summary = run_json("sweep", "start", str(path), "--runs-dir", str(runs), "--name", "eight", "--set",
                       "fit.epochs=3", "--set", "data.samples=600", "--json")
    trials = summary["trials"]
    assert summary["state"] == "completed" and summary["trials_ended"] == 8 and summary["trials_planned"] == 8
    assert [t["number"] for t in trials] == list(range(8))
    assert {t["state"] for t in trials} <= {"completed", "pruned"}, [t["state"] for t in trials]
    assert summary["storage"] == str(runs / "sweeps" / "eight" / "journal.log")

    # Trial 0 is the preset as written (Adam's own learning rate, batch 32, 64 units).
    first = trials[0]
    assert first["origin"] == "preset" and first["state"] == "completed"
    assert first["params"] == {"compile.learning_rate": 0.001, "fit.batch_size": 32, "model.layers[1].units": 64}

    # Each trial is a run of its own, tagged, trained with its values.
    from kerastui.core.model import presets

    for trial in trials:
        run = Path(trial["run_dir"])
        status = read_json(run / "status.json")
        assert status["sweep"] == "eight" and status["trial"] == trial["number"]
        assert status["state"] == trial["state"] and status["preset"] == f"eight-t{trial['number']}"
        preset = presets.load(run / "preset.toml")
        assert preset.fit.batch_size == trial["params"]["fit.batch_size"]
        assert preset.model.layers[1].kwargs["units"] == trial["params"]["model.layers[1].units"]
        assert preset.compile.learning_rate == pytest.approx(trial["params"]["compile.learning_rate"])
        epochs = [row["epoch"] for row in read_metrics(run)]
        assert epochs == list(range(1, len(epochs) + 1)) and trial["epoch"] == len(epochs)
        assert sorted(int(k) for k in trial["objective"]) == epochs  # the objective of each epoch, in the study
    listed = json.loads(run_cli("runs", "--json", "--runs-dir", str(runs)).stdout)
    assert sorted(r["preset"] for r in listed) == sorted(f"eight-t{n}" for n in range(8))  # no sweeps/ "run"
    assert sorted((r["sweep"], r["trial"]) for r in listed) == [("eight", n) for n in range(8)]

    # Two slots, never more than two runs at once, each slot its own share of the CPUs.
    spans = sorted((read_json(Path(t["run_dir"]) / "status.json")["started"],
                    read_json(Path(t["run_dir"]) / "status.json")["ended"]) for t in trials)
    assert max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans) <= 2
    assert len({t["device"] for t in trials}) == 2

    # The best trial, and its preset: it trains to the best value (same seed).
    best = summary["best"]
    completed = [t for t in trials if t["state"] == "completed"]
    assert best["value"] == max(t["value"] for t in completed)
    out = tmp_path / "best.toml"
    told = run_json("sweep", "best", "eight", "--preset", str(out), "--json", "--runs-dir", str(runs))
    assert told["trial"]["number"] == best["number"] and Path(told["preset"]) == out
    written = presets.load(out)
    assert written.sweep is None and written.fit.batch_size == best["params"]["fit.batch_size"]
    again = run_json("train", str(out), "--json", "--runs-dir", str(tmp_path / "check-runs"))
    assert again["status"] == "completed"
    assert max(again["history"]["val_accuracy"]) == pytest.approx(best["value"], abs=0.03)


BAD_RANGE = """
[sweep]
trials = 3
parallel = 1
objective = "val_loss"
seed = 3
startup_trials = 1
[sweep.space]
"compile.learning_rate" = { low = 1.0, high = 10.0, log = true }
"""


def test_a_bad_range_is_pruned_and_a_pruned_run_keeps_what_it_did(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = sweep_preset(tmp_path, "bad-range", BAD_RANGE)
    summary = run_json("sweep", "start", str(path), "--runs-dir", str(runs), "--name", "bad", "--set",
                       "fit.epochs=3", "--set", "data.samples=600", "--json")
    states = [t["state"] for t in summary["trials"]]
    assert len(states) == 3 and summary["state"] == "completed"
    assert states[0] == "completed"  # the preset's own learning rate (Adam's 0.001): the good one
    pruned = [t for t in summary["trials"] if t["state"] == "pruned"]
    assert pruned, states
    for trial in pruned:
        run = Path(trial["run_dir"])
        status = read_json(run / "status.json")
        assert status["state"] == "pruned" and status["outcome"] == "pruned"
        epochs = [row["epoch"] for row in read_metrics(run)]
        assert epochs == list(range(1, len(epochs) + 1)) and 1 <= len(epochs) < 3  # whole epochs, then pruned
        summary_file = read_json(run / "summary.json")
        assert summary_file["status"] == "pruned" and summary_file["test"]  # evaluated like a stop
        assert (run / "model.keras").is_file()
        assert "pruned after epoch" in (run / "events.jsonl").read_text(encoding="utf-8")
    table = run_cli("runs", "--runs-dir", str(runs)).stdout
    assert "pruned" in table
    status = run_cli("sweep", "status", "bad", "--runs-dir", str(runs)).stdout
    assert status.startswith("sweep bad  completed  3/3 trials ended") and " pruned " in status


KILLED = """
[sweep]
trials = 3
parallel = 2
pruner = "none"
seed = 5
[sweep.space]
"model.layers[1].units" = { choices = [32, 48, 64] }
"""


def test_kill_9_of_the_workers_and_a_trial_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = sweep_preset(tmp_path, "killed", KILLED)
    done = run_cli("sweep", "start", str(path), "--runs-dir", str(runs), "--name", "killed", "--set",
                   "fit.epochs=8", "--set", "data.samples=12000", timeout=WAIT)
    assert done.returncode == 0, done.stderr
    client = SweepClient(runs)
    sweep = client.open("killed")

    deadline = time.monotonic() + WAIT
    victim = None
    while victim is None:  # a trial with epochs behind it and more to come
        assert time.monotonic() < deadline, "no trial reached its third epoch"
        for t in sweep.frozen_trials():
            run_dir = t.user_attrs.get("run_dir")
            if t.state.name == "RUNNING" and run_dir and 3 <= len(read_metrics(Path(run_dir))) <= 5:
                victim = t
                break
        time.sleep(0.1)
    run = Path(victim.user_attrs["run_dir"])
    workers = [read_json(p)["pid"] for p in (runs / "sweeps" / "killed" / "workers").glob("slot-*.json")]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    os.kill(read_json(run / "status.json")["pid"], signal.SIGKILL)
    epochs_at_kill = len(read_metrics(run))
    assert 3 <= epochs_at_kill < 8

    while any(w.live for w in sweep.dir.workers()):  # (they are gone: the kernel says so in a moment)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert sweep.state() == "died"
    summary = run_json("sweep", "resume", "killed", "--json", "--runs-dir", str(runs))

    trials = summary["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2] and summary["state"] == "completed"
    assert {t["state"] for t in trials} == {"completed"}
    assert len({t["run_dir"] for t in trials}) == 3
    assert len([p for p in runs.iterdir() if p.is_dir() and p.name != "sweeps"]) == 3  # no run started twice
    killed = next(t for t in trials if Path(t["run_dir"]) == run)
    raw = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert raw == list(range(1, 9))  # continuous: each epoch once, no gap
    status = read_json(run / "status.json")
    assert status["resumes"] >= 1 and status["state"] == "completed"
    events = (run / "events.jsonl").read_text(encoding="utf-8")
    resumed = [json.loads(line)["message"] for line in events.splitlines() if '"resumed after epoch' in line]
    assert resumed and int(resumed[-1].split()[3]) >= 1, resumed  # from its checkpoint, not from epoch 1
    assert sorted(int(k) for k in killed["objective"]) == list(range(1, 9))

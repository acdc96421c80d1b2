"""The runs table: columns from real run directories, sort, filter, and CSV that reads back equal
to the runs' own files (``kerastui runs --csv`` and the Runs workspace's export)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kerastui.cli import main
from kerastui.core.run.directory import list_runs, read_metrics
from kerastui.core.run.table import BY_KEY, duration_text, epochs_csv, export, filter_runs, sort_runs, table_csv


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """Three real runs of ex1 (headless, tiny): different optimizers, batch sizes and epochs."""
    folder = tmp_path_factory.mktemp("runs")
    for epochs, batch, optimizer in (("2", "16", "sgd"), ("3", "64", "adam"), ("1", "32", "rmsprop")):
        assert main(["train", "ex1", "--epochs", epochs, "--limit", "200", "--set", f"fit.batch_size={batch}",
                     "--set", f"compile.optimizer={optimizer}", "--runs-dir", str(folder)]) == 0
    return folder


def test_columns_come_from_the_runs_settings_and_results(runs_dir):
    runs = list_runs(runs_dir)
    assert len(runs) == 3
    by_optimizer = {r.optimizer: r for r in runs}
    assert set(by_optimizer) == {"sgd", "adam", "rmsprop"}
    assert by_optimizer["sgd"].batch_size == 16 and by_optimizer["sgd"].epochs == 2
    assert by_optimizer["adam"].batch_size == 64 and by_optimizer["adam"].epochs == 3
    for run in runs:
        assert run.params == 1539  # ex1: Dense(64) on 20 features, Dense(3)
        assert run.best["metric"] == "val_loss" and 1 <= run.best["epoch"] <= run.epochs  # one rule: TUI and CLI
        assert BY_KEY["test"].text(run).startswith("accuracy 0.")
        assert run.dataset == "synthetic:classification"


def test_sort_by_any_column_and_filter_by_text(runs_dir):
    runs = list_runs(runs_dir)
    assert [r.epochs for r in sort_runs(runs, "epochs")] == [1, 2, 3]
    assert [r.epochs for r in sort_runs(runs, "epochs", descending=True)] == [3, 2, 1]
    assert [r.batch_size for r in sort_runs(runs, "batch_size")] == [16, 32, 64]
    assert [r.optimizer for r in sort_runs(runs, "optimizer")] == ["adam", "rmsprop", "sgd"]
    for key in BY_KEY:  # every column sorts (mixed or missing values never raise)
        assert len(sort_runs(runs, key)) == 3
    assert [r.optimizer for r in filter_runs(runs, "SGD")] == ["sgd"]
    assert [r.optimizer for r in filter_runs(runs, "ex1 rms")] == ["rmsprop"]
    assert filter_runs(runs, "no-such-thing") == []
    assert len(filter_runs(runs, "  ")) == 3


def test_csv_export_reads_back_equal_to_the_runs_metrics(runs_dir, tmp_path):
    runs = list_runs(runs_dir)
    table_path, epochs_path = export(runs, runs, tmp_path, "t")
    table = list(csv.DictReader(table_path.open(encoding="utf-8")))
    assert [row["run"] for row in table] == [r.name for r in runs]
    for row, run in zip(table, runs, strict=True):
        assert row["optimizer"] == run.optimizer and int(row["batch_size"]) == run.batch_size
        assert int(row["epochs"]) == run.epochs and int(row["params"]) == run.params
        assert float(row["test_accuracy"]) == run.test["accuracy"]  # exactly: repr() round-trips
        assert float(row["best_value"]) == run.best["value"]
    rows = list(csv.DictReader(epochs_path.open(encoding="utf-8")))
    assert len(rows) == sum(r.epochs for r in runs)
    for run in runs:
        mine = [row for row in rows if row["run"] == run.name]
        for row, recorded in zip(mine, read_metrics(run.path), strict=True):
            assert int(row["epoch"]) == recorded["epoch"]
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                assert float(row[key]) == recorded[key]


def test_kerastui_runs_csv_headless(runs_dir):
    def run(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "kerastui", "runs", "--runs-dir", str(runs_dir), *args],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    runs = list_runs(runs_dir)
    assert run("--csv") == table_csv(runs)
    last = runs[0].name
    out = run("--csv", "--epochs", last)
    assert out == epochs_csv([runs[0]])
    assert {row["run"] for row in csv.DictReader(io.StringIO(out))} == {last}
    assert len(list(csv.DictReader(io.StringIO(run("--csv", "--epochs"))))) == sum(r.epochs for r in runs)
    proc = subprocess.run([sys.executable, "-m", "kerastui", "runs", "--runs-dir", str(runs_dir), "--epochs"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip() == "kerastui: error: runs: --epochs goes with --csv"
    assert json.loads(run("--json"))[0]["optimizer"] == runs[0].optimizer


def test_duration_text():
    assert duration_text(None) == "" and duration_text(0) == ""
    assert duration_text(4.25) == "4.2s"
    assert duration_text(187) == "3m07s"
    assert duration_text(7500) == "2h05m"

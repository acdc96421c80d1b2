"""Charts people can read and a runs table that scales (pilot, 80×24 and 120×40): the collapsed
Train layout gives each chart 10+ plot rows; the cursor shows the history's exact values; smoothing,
log-y (refused with a notice on values ≤ 0), last-N zoom and the per-step curve; the Runs table sorts,
filters and exports CSV.  Snapshots of the collapsed layout with the cursor, and of the runs table."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from kerastui.core.run.directory import read_metrics
from kerastui.core.run.events import BatchEnded, EpochEnded, TrainStarted
from kerastui.ui.app import make_app
from kerastui.ui.messages import TrainingEvents
from kerastui.ui.screens.runs import RunTable
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import MetricChart, StepChart
from tests.ui.helpers import settle, shown, started

EPOCHS = 30
SNAPSHOT_RUNS = Path("/tmp/kerastui-snapshot/runs")


def recorded() -> list:
    """A 30-epoch run: 20 batches an epoch; accuracy starts at exactly 0 (no log scale for it)."""
    events: list = [TrainStarted("train", EPOCHS, 0, 20, 640, 32)]
    for epoch in range(EPOCHS):
        events += [BatchEnded("train", epoch, b, 20, {"loss": 1.0 / (epoch + 1) + 0.01 * (b % 5)})
                   for b in range(0, 20, 4)]
        events.append(EpochEnded("train", epoch, {
            "loss": 1.0 / (epoch + 1), "accuracy": min(epoch / EPOCHS, 0.97),
            "val_loss": 1.1 / (epoch + 1) + 0.02 * (epoch % 3), "val_accuracy": min(epoch / EPOCHS + 0.01, 0.96)}))
    return events


async def shown_run(app, pilot) -> None:
    await started(app, pilot)
    await pilot.press("t")
    await settle(app, pilot)
    app.session.run_state = RunState(status="running", clock=lambda: 0.0)
    app.post_message(TrainingEvents(None, recorded()))
    await settle(app, pilot)
    app.session.run_state.status = "completed"
    app.redraw_training(full=True)
    await settle(app, pilot)


def plot_rows(app, selector: str) -> int:
    """Rows between the plot's top and bottom frame lines, as drawn."""
    lines = shown(app, selector).splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return bottom - top - 1


async def test_collapsed_train_layout_cursor_smoothing_log_zoom_and_per_step():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await shown_run(app, pilot)
        screen = app.screen
        history = app.session.run_state.history
        before = plot_rows(app, "#chart-loss")
        await pilot.press("c")
        await settle(app, pilot)
        assert screen.has_class("charts-only") and not screen.query_one("#train-side").display
        for selector in ("#chart-loss", "#chart-accuracy"):
            assert plot_rows(app, selector) >= 10, (selector, plot_rows(app, selector))
        assert plot_rows(app, "#chart-loss") > before
        assert isinstance(screen.focused, MetricChart)  # the chart keys work at once

        # Cursor: appears at the last epoch, ← steps back; values are the history's, exactly.
        await pilot.press("left", "left")
        await settle(app, pilot)
        assert screen.chart_view.cursor == EPOCHS - 1
        for chart in screen.query(MetricChart):
            values = chart.cursor_values()
            assert values == {"train": history[chart.metric][EPOCHS - 2],
                              "val": history[f"val_{chart.metric}"][EPOCHS - 2]}
        assert f"@{EPOCHS - 1}:" in shown(app, "#chart-loss")

        # Smoothing: TensorBoard's steps; the title says so where it fits.
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert screen.chart_view.smoothing == 0.8
        await pilot.press("escape")  # cursor hidden: room for the settings in the title
        await settle(app, pilot)
        assert "smooth 0.8" in shown(app, "#chart-loss")

        # Log-y: refused on the accuracy chart (a 0), with a notice; accepted on the loss chart.
        screen.query_one("#chart-accuracy").focus()
        await pilot.press("l")
        await settle(app, pilot)
        assert not screen.chart_view.log_y
        assert any("values ≤ 0" in n.message for n in app._notifications)
        screen.query_one("#chart-loss").focus()
        await pilot.press("l")
        await settle(app, pilot)
        assert screen.chart_view.log_y

        # Last N epochs.
        await pilot.press("z")
        await settle(app, pilot)
        assert screen.chart_view.last == 10 and screen.chart_view.first_epoch(EPOCHS) == 21

        # The per-step loss curve, from the batch events, beside the per-epoch charts.
        await pilot.press("b")
        await settle(app, pilot)
        steps = screen.query_one(StepChart)
        assert steps.points == app.session.run_state.step_loss and len(steps.points) == EPOCHS * 5
        assert steps.points[0] == pytest.approx((0.05, 1.0))  # epoch 0, batch 1 of 20
        await pilot.press("c")
        await settle(app, pilot)
        assert screen.query_one("#train-side").display


def test_snapshot_collapsed_train_with_cursor(snap_compare):
    app = make_app("ex1", deterministic=True)

    async def run_before(pilot):
        await shown_run(app, pilot)
        for key in ("c", "left", "left", "left"):
            await pilot.press(key)
            await settle(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def fake_runs(folder: Path) -> list[Path]:
    """Finished run directories as a run leaves them, with fixed values (a snapshot needs them)."""
    paths = []
    for i, (optimizer, rate, batch, epochs) in enumerate((("adam", None, 32, 5), ("sgd", 0.05, 16, 3),
                                                          ("rmsprop", 0.001, 64, 8))):
        run = folder / f"20261130-10{i:02d}00-ex1"
        run.mkdir(parents=True)
        rows = [{"phase": "train", "epoch": e + 1, "seconds": 0.5, "loss": 1 / (e + 2 + i),
                 "accuracy": 0.5 + e / 20, "val_loss": 1.1 / (e + 2 + i), "val_accuracy": 0.45 + e / 20 + i / 100}
                for e in range(epochs)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (run / "status.json").write_text(json.dumps({
            "state": "completed", "pid": 1, "host": "box", "started": 1.7e9, "started_at": f"2026-11-30T10:{i:02d}:00",
            "preset": "ex1", "dataset": "synthetic:classification", "epochs_planned": epochs, "epoch": epochs,
            "heartbeat": 1.7e9 + 60 * (i + 1), "outcome": "completed", "devices": ["CPU:0"],
            "settings": {"optimizer": optimizer, "learning_rate": rate, "batch_size": batch}}), encoding="utf-8")
        (run / "summary.json").write_text(json.dumps({
            "preset": "ex1", "status": "completed", "epochs_run": epochs, "seconds": 60.0 * (i + 1),
            "test": {"loss": 0.3 - i / 20, "accuracy": 0.85 + i / 50}, "started": f"2026-11-30T10:{i:02d}:00",
            "model": {"total": 1539 * (i + 1)}, "data": {"source": "synthetic:classification"}}), encoding="utf-8")
        (run / "preset.toml").write_text('title = "ex1"\n', encoding="utf-8")
        paths.append(run)
    return paths


async def test_runs_table_sorts_filters_and_exports(tmp_path, monkeypatch):
    paths = fake_runs(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(RunTable)
        assert table.row_count == 3 and isinstance(screen.focused, RunTable)
        for _ in range(6):  # state, run, preset, dataset, optimizer, lr
            await pilot.press("s")
        await settle(app, pilot)
        assert screen.sort == ("learning_rate", False)
        assert [r.learning_rate for r in screen.shown] == [0.001, 0.05, None]  # missing values last
        await pilot.press("S")
        await settle(app, pilot)
        assert [r.learning_rate for r in screen.shown] == [0.05, 0.001, None]
        assert {c.key: c.label for c in table.columns}["learning_rate"] == "lr ↓"  # (its page of columns shown)
        await pilot.press("slash", *"sgd")
        await settle(app, pilot)
        assert [r.optimizer for r in screen.shown] == ["sgd"] and table.row_count == 1
        await pilot.press("escape")
        await pilot.press("space", "e")
        await settle(app, pilot)
        exported = sorted(tmp_path.glob("kerastui-runs-*.csv"))
        assert len(exported) == 2
        epochs_file = next(p for p in exported if p.name.endswith("-epochs.csv"))
        rows = list(csv.DictReader(epochs_file.open(encoding="utf-8")))
        assert [float(r["val_loss"]) for r in rows] == [m["val_loss"] for m in read_metrics(paths[1])]
        table_rows = list(csv.DictReader(next(p for p in exported if p != epochs_file).open(encoding="utf-8")))
        assert [r["optimizer"] for r in table_rows] == ["sgd"]  # the table as shown (filtered)


def test_snapshot_runs_table(snap_compare):
    folder = SNAPSHOT_RUNS  # the title shows the folder: the same path on every machine
    shutil.rmtree(folder, ignore_errors=True)
    fake_runs(folder)
    app = make_app("ex1", deterministic=True, runs_dir=folder)

    async def run_before(pilot):
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        await pilot.press("s", "s", "s", "s", "s", "s", "s", "s")  # by epochs
        await settle(app, pilot)

    try:
        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)

"""While a run trains and keys come, an epoch's chart updates are drawn one per frame (a key pressed
as the first chart rebuilds waits for that chart only); a newer epoch replaces the rest; a finished
run, a full redraw, snapshots and a user who has pressed no key for a while (the run is watched)
draw them all at once, in one frame."""

from __future__ import annotations

import asyncio
import math
import time

from kerastui.core.run.events import EpochEnded, TrainStarted
from kerastui.ui.app import make_app
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import MetricChart
from tests.ui.helpers import settle, started

METRICS = {"loss": 0.9, "accuracy": 0.5, "val_loss": 0.8, "val_accuracy": 0.6}


def running_state(epochs: int) -> RunState:
    state = RunState(status="running", clock=lambda: 0.0)
    state.apply(TrainStarted("train", 10, 0, 20, 640, 32))
    for epoch in range(epochs):
        state.apply(EpochEnded("train", epoch, {k: v - 0.01 * epoch for k, v in METRICS.items()}))
    return state


async def train_workspace_with(app, pilot, epochs: int) -> RunState:
    """The Train workspace shown, drawing a running state of ``epochs`` epochs (its charts made)."""
    await started(app, pilot)
    await pilot.press("t")
    await settle(app, pilot)
    app.session.run_state = state = running_state(epochs)
    app.screen.redraw(full=True)  # the charts for these metrics
    await settle(app, pilot)
    return state


async def test_an_epoch_s_charts_are_drawn_one_per_frame_while_a_run_trains() -> None:
    app = make_app("ex1", load_tensorflow=False, prepare=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await train_workspace_with(app, pilot, 2)
        screen = app.screen
        charts = list(screen.query(MetricChart))
        assert len(charts) == 2
        assert all(len(chart.history["loss" if chart.metric == "loss" else "accuracy"]) == 2 for chart in charts)
        app.session.run_state = state = running_state(3)
        app.last_key_at = time.perf_counter()  # a key just came: the user is working, not watching
        screen.redraw(epoch=True)
        drawn = [len(next(iter(chart.history.values()))) for chart in charts]
        assert drawn == [3, 2]  # the first chart now, the second in the next frame
        await pilot.pause()
        await pilot.pause()
        assert [len(next(iter(chart.history.values()))) for chart in charts] == [3, 3]
        # A newer epoch replaces what is left of the last one's updates: nothing drawn twice or stale.
        state.apply(EpochEnded("train", 3, METRICS))
        app.last_key_at = time.perf_counter()
        screen.redraw(epoch=True)
        state.apply(EpochEnded("train", 4, METRICS))
        screen.redraw(epoch=True)
        await settle(app, pilot)
        assert [len(next(iter(chart.history.values()))) for chart in charts] == [5, 5]
        # The run's end is drawn at once.
        state.apply(EpochEnded("train", 5, METRICS))
        state.status = "completed"
        screen.redraw(epoch=True)
        assert [len(next(iter(chart.history.values()))) for chart in charts] == [6, 6]


async def test_a_chart_key_between_an_epoch_and_its_table_does_not_lose_the_table_s_row() -> None:
    """A chart key (or new charts) supersedes the epoch's one-per-frame chain: its table update is
    carried into the new chain, not dropped until the next epoch."""
    app = make_app("ex1", load_tensorflow=False, prepare=False)
    async with app.run_test(size=(120, 40)) as pilot:
        state = await train_workspace_with(app, pilot, 2)
        screen = app.screen
        table = screen.query_one("#epoch-table")
        assert table.row_count == 2
        state.apply(EpochEnded("train", 2, METRICS))
        await asyncio.sleep(0.6)  # (the table's live interval is up: this epoch's row is due)
        app.last_key_at = time.perf_counter()  # keys come: the epoch's chain is one update per frame
        screen.redraw(epoch=True)
        screen.charts_changed()  # a chart key before the chain reached the table
        await settle(app, pilot)
        assert table.row_count == 3


async def test_with_no_key_for_a_while_an_epoch_s_charts_and_table_are_drawn_in_one_frame() -> None:
    """A watched run (no key for QUIET seconds, as the CPU priority counts it): the epoch's charts
    and its table row are drawn together, at once: one frame an epoch, not one per chart (each
    repaints most of the screen, in CPU time the run trains without)."""
    from kerastui.core.run.priority import QUIET

    app = make_app("ex1", load_tensorflow=False, prepare=False)
    async with app.run_test(size=(120, 40)) as pilot:
        state = await train_workspace_with(app, pilot, 2)
        screen = app.screen
        charts = list(screen.query(MetricChart))
        table = screen.query_one("#epoch-table")
        app.last_key_at = time.perf_counter() - QUIET - 0.1
        state.apply(EpochEnded("train", 2, METRICS))
        await asyncio.sleep(0.6)  # (the table's live interval is up: this epoch's row is due)
        screen.redraw(epoch=True)
        assert [len(next(iter(chart.history.values()))) for chart in charts] == [3, 3]  # both, now
        assert table.row_count == 3
        app.last_key_at = -math.inf  # never a key: the same
        state.apply(EpochEnded("train", 3, METRICS))
        screen.redraw(epoch=True)
        assert [len(next(iter(chart.history.values()))) for chart in charts] == [4, 4]

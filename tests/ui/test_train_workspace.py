"""Pilot: training from the Train workspace — live events, charts, table, evaluation, stop, NaN,
the same history as `kerastui train`, the Runs view; and snapshots from a recorded event stream."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kerastui.core.model import presets
from kerastui.core.run.directory import RunDir, read_metrics
from kerastui.core.run.events import BatchEnded, EpochEnded, TrainEnded, TrainStarted
from kerastui.core.run.trainer import prepare_data
from kerastui.ui.app import make_app
from kerastui.ui.messages import TrainingEvents
from kerastui.ui.screens.train import EpochTable, TrainScreen
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import MetricChart
from tests.ui.helpers import settle, started


async def wait_for(pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def text_of(widget) -> str:
    """What a Static shows, as plain text (rich renderables included)."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.file.getvalue()


async def test_train_ex1_by_key_streams_epochs_into_charts_table_and_evaluation(tmp_path):
    app = make_app(presets.load("ex1", {"fit.epochs": 3}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TrainScreen)
        assert app.screen.form["opt-epochs"].value == "3"
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.result is not None)
        await settle(app, pilot)
        state = app.session.run_state
        # The run was a process of its own: its event log holds each epoch once, as the TUI drew them.
        seen = [e for e in RunDir(Path(state.run_dir)).events() if isinstance(e, EpochEnded)]
        assert [e.epoch for e in seen] == [0, 1, 2]
        assert [e.logs["val_loss"] for e in seen] == state.history["val_loss"]
        assert state.status == "completed" and RunDir(Path(state.run_dir)).status()["state"] == "completed"
        charts = list(app.screen.query(MetricChart))
        assert {c.metric for c in charts} == {"loss", "accuracy"}
        for chart in charts:
            assert set(chart.history) == {chart.metric, f"val_{chart.metric}"}
            assert all(len(values) == 3 for values in chart.history.values())
        assert app.screen.query_one(EpochTable).row_count == 3
        matrix = np.array(state.result.evaluation["confusion_matrix"])
        assert matrix.sum() == state.result.data["test"] == 201
        assert "confusion matrix" in text_of(app.screen.query_one("#evaluation-text"))
        rows = read_metrics(state.result.run_dir)
        assert len(rows) == 3
        assert rows[-1]["val_loss"] == state.history["val_loss"][-1]
        assert len(state.predictions) == 8 and all("confidence" in p for p in state.predictions)


async def test_stop_after_the_first_batch_keeps_the_model_and_the_app_responsive():
    # 40,000 samples: an epoch of ~800 batches lasts far longer than a key press takes.
    app = make_app(presets.load("ex1", {"fit.epochs": 50, "data.samples": 40000}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and bool(app.session.run_state.batch_logs))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.session.trained is not None)
        await settle(app, pilot)
        assert app.session.run_state.status == "stopped"
        assert app.session.run_state.epochs_done <= 1
        # The run process stopped within its epoch, evaluated and saved; its status says so.
        run = RunDir(Path(app.session.run_state.run_dir))
        assert run.status()["state"] == "stopped" and (run.path / "model.keras").is_file()
        x = prepare_data(app.session.current_preset()).x_test[:2]
        assert app.session.trained.model.predict(x, verbose=0).shape == (2, 3)
        await pilot.press("m")
        await settle(app, pilot)
        assert app.current_mode == "model"
        await pilot.press("t")
        await settle(app, pilot)
        assert app.current_mode == "train"


async def test_second_start_is_refused_and_ctrl_c_asks_while_training():
    app = make_app(presets.load("ex1", {"fit.epochs": 50, "data.samples": 4000}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.steps > 0)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert any("already running" in n.message for n in app._notifications)
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        from kerastui.ui.screens.dialogs import QuitDialog

        assert isinstance(app.screen, QuitDialog)  # leave the run going, stop it, or stay
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.is_running and app.session.run_state.running
        await pilot.press("x")
        await wait_for(pilot, lambda: app.session.run_state.result is not None)


async def test_nan_loss_stops_with_a_notice():
    preset = presets.load("ex1", {"compile.optimizer": "sgd", "compile.learning_rate": 1e12, "fit.epochs": 5})
    app = make_app(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.result is not None)
        await settle(app, pilot)
        assert app.session.run_state.status == "failed" and app.session.run_state.outcome == "nan"
        assert any("NaN" in n.message or "nan" in n.message for n in app._notifications)
        # Said once: when the run ends (the trainer's own notice of it is not shown as well).
        assert sum("compile.learning_rate" in n.message for n in app._notifications) == 1
        assert "learning_rate" in text_of(app.screen.query_one("#train-status"))


async def test_tui_and_headless_give_the_same_history(tmp_path, capsys):
    from kerastui.cli import main

    code = main(["train", "ex1", "--epochs", "3", "--json", "--runs-dir", str(tmp_path / "cli")])
    assert code == 0
    headless = json.loads(capsys.readouterr().out)
    app = make_app(presets.load("ex1", {"fit.epochs": 3}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.result is not None)
        tui = app.session.run_state.result.history
    assert set(tui) == set(headless["history"])
    for key, values in headless["history"].items():
        assert np.allclose(values, tui[key], atol=1e-5, rtol=0), key


async def test_runs_view_lists_compares_and_reopens(tmp_path):
    import os

    from kerastui.cli import main

    runs = os.environ["KERASTUI_RUNS"]
    for epochs in ("2", "3"):
        assert main(["train", "ex1", "--epochs", epochs, "--set", f"fit.batch_size={16 * int(epochs)}", "--json",
                     "--runs-dir", runs]) == 0
    app = make_app("ex1")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("h")
        await settle(app, pilot)
        table = app.screen.query_one("#runs-table")
        assert table.row_count == 2
        await pilot.press("space", "space", "c")
        await settle(app, pilot)
        overlay = app.screen.query_one("#overlay")
        assert sorted(len(values) for _, values in overlay.curves) == [2, 3]
        diff = text_of(app.screen.query_one("#runs-diff"))
        assert "fit.batch_size" in diff and "fit.epochs" in diff
        table.move_cursor(row=0)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.current_mode == "train"
        assert app.session.run_state.epochs_done in (2, 3)
        assert app.screen.query_one(EpochTable).row_count == app.session.run_state.epochs_done


RECORDED = [
    TrainStarted("train", 4, 0, 20, 639, 32),
    *[BatchEnded("train", 0, b, 20, {"loss": 1.0 - b * 0.01, "accuracy": 0.5}) for b in range(20)],
    EpochEnded("train", 0, {"loss": 0.95, "accuracy": 0.55, "val_loss": 0.66, "val_accuracy": 0.76,
                            "learning_rate": 1e-3}),
    *[BatchEnded("train", 1, b, 20, {"loss": 0.6, "accuracy": 0.8}) for b in range(20)],
    EpochEnded("train", 1, {"loss": 0.58, "accuracy": 0.82, "val_loss": 0.40, "val_accuracy": 0.92,
                            "learning_rate": 1e-3}),
    BatchEnded("train", 2, 9, 20, {"loss": 0.41, "accuracy": 0.9}),
]


def replay(app, events) -> None:
    app.session.run_state = RunState(status="running", clock=lambda: 0.0)
    for event in events:
        app.post_message(TrainingEvents(None, [event]))


def test_snapshot_mid_run_from_recorded_events(snap_compare):
    app = make_app("ex1", deterministic=True)

    async def run_before(pilot):
        await started(app, pilot, model_size=True)
        await pilot.press("t")
        await settle(app, pilot)
        replay(app, RECORDED)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_snapshot_after_run_from_recorded_events(snap_compare):
    app = make_app("ex1", deterministic=True)
    finished = [*RECORDED[:-1],
                EpochEnded("train", 2, {"loss": 0.40, "accuracy": 0.9, "val_loss": 0.30, "val_accuracy": 0.95,
                                        "learning_rate": 1e-3}),
                EpochEnded("train", 3, {"loss": 0.30, "accuracy": 0.94, "val_loss": 0.31, "val_accuracy": 0.94,
                                        "learning_rate": 1e-3}),
                TrainEnded("train", 4, "completed")]

    async def run_before(pilot):
        await started(app, pilot, model_size=True)
        await pilot.press("t")
        await settle(app, pilot)
        replay(app, finished)
        await settle(app, pilot)
        app.session.run_state.status = "completed"
        app.redraw_training(full=True)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


async def test_only_the_workspace_shown_redraws_as_a_run_goes_on_and_one_shown_again_is_whole():
    """A followed run's events redraw the workspace shown (also under a dialog), not the others at
    every epoch unseen; a workspace shown again draws the run as it is now."""
    from kerastui.ui.screens.dialogs import QuitDialog

    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        for key in ("v", "p", "t"):  # Save/Load and Experiments mounted, then back to Train
            await pilot.press(key)
            await settle(app, pilot)
        calls: dict[str, list[tuple[bool, bool]]] = {}

        def counted(name, redraw):
            def call(*, full=False, epoch=False):
                calls.setdefault(name, []).append((full, epoch))
                redraw(full=full, epoch=epoch)
            return call

        for workspace in app.workspaces:
            workspace.redraw = counted(type(workspace).__name__, workspace.redraw)
        assert {"TrainScreen", "SaveLoadScreen", "ExperimentsScreen"} <= {type(w).__name__ for w in app.workspaces}
        app.redraw_training(full=True)  # (as a run's start does)
        replay(app, RECORDED[:22])  # the start and the first epoch
        await settle(app, pilot)
        assert calls.get("TrainScreen"), "the workspace shown was not redrawn"
        assert "SaveLoadScreen" not in calls and "ExperimentsScreen" not in calls
        assert app.screen.query_one(EpochTable).row_count == 1

        app.push_screen(QuitDialog("a run"))  # a dialog over Train: its charts stay live
        await settle(app, pilot)
        before = len(calls["TrainScreen"])
        for event in RECORDED[22:]:
            app.post_message(TrainingEvents(None, [event]))
        await settle(app, pilot)
        assert len(calls["TrainScreen"]) > before
        app.pop_screen()
        await settle(app, pilot)

        await pilot.press("v")  # hidden while the run went on: shown again, it says so
        await settle(app, pilot)
        assert calls["SaveLoadScreen"] == [(True, False)]
        assert "training…" in app.screen.query_one("#working-model").render().plain

        app.post_message(TrainingEvents(None, [EpochEnded("train", 2, {"loss": 0.4, "accuracy": 0.9, "val_loss": 0.3,
                                                                        "val_accuracy": 0.95, "learning_rate": 1e-3})]))
        await settle(app, pilot)
        assert len(calls["TrainScreen"]) == before + len(RECORDED[22:]) + 1  # (its resume after the dialog)
        await pilot.press("p")  # Experiments missed epochs: shown again, it redraws them once
        await settle(app, pilot)
        assert calls["ExperimentsScreen"] == [(True, True)]  # (a new run while hidden: all of it)
        app.push_screen(QuitDialog("a run"))  # nothing missed under a dialog: not redrawn (cursors kept)
        await settle(app, pilot)
        app.pop_screen()
        await settle(app, pilot)
        assert calls["ExperimentsScreen"] == [(True, True)]

        await pilot.press("t")  # Train missed epoch 3: shown again, its table and charts have it
        await settle(app, pilot)
        assert calls["TrainScreen"][-1] == (True, False)
        assert app.screen.query_one(EpochTable).row_count == 3
        series = [s for chart in app.screen.query(MetricChart) for s in chart.series()]
        assert series and all(len(s.values) == 3 for s in series)


def test_a_hidden_workspace_redraws_what_it_missed_once_whichever_comes_first():
    """The redraws a hidden workspace missed are kept as the strongest of them (a new run's full
    redraw is not weakened by the epochs after it) and done once: on its resume, or with the first
    redraw it gets shown if that comes before its resume handler runs."""
    from kerastui.ui.screens.base import Workspace

    class Recorded(Workspace):
        def __init__(self):
            super().__init__()
            self.calls = []

        def redraw(self, *, full=False, epoch=False):
            self.calls.append((full, epoch))

    first = Recorded()
    first.on_screen_resume()  # first shown: all of it, though nothing was missed
    first.run_changed(shown=False, full=True)
    first.run_changed(shown=False, epoch=True)
    first.run_changed(shown=False)
    first.on_screen_resume()
    first.on_screen_resume()  # (a dialog closed over it: nothing missed since)
    assert first.calls == [(True, False), (True, True)]

    second = Recorded()
    second.on_screen_resume()
    second.run_changed(shown=False, epoch=True)
    second.run_changed(shown=True)  # shown before its resume handler ran
    second.on_screen_resume()
    assert second.calls == [(True, False), (False, True)]

"""Workspaces not shown yet are created in idle pauses once start-up work is done, without
changing what is on screen, and not while a dialog is open (in a terminal; headless apps such as
the other tests' only when asked)."""

from __future__ import annotations

from pathlib import Path

from kerastui.ui.app import make_app
from kerastui.ui.screens.data import DataScreen
from kerastui.ui.screens.runs import RunsScreen, RunTable
from kerastui.ui.workspaces import PREPARE_ORDER

from .helpers import started


async def _wait(pilot, predicate, seconds: float = 20.0) -> bool:
    for _ in range(int(seconds / 0.1)):
        if predicate():
            return True
        await pilot.pause(0.1)
    return predicate()


async def test_idle_pauses_prepare_every_workspace_behind_the_current_one(runs_dir: Path):
    run = runs_dir / "20260101-000000-ex1"
    run.mkdir(parents=True)
    (run / "status.json").write_text('{"state": "completed", "preset": "ex1", "epoch": 2, "epochs_planned": 2}')
    app = make_app("ex1", load_tensorflow=False, runs_dir=runs_dir, prepare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        screen, focused = app.screen, app.screen.focused
        names = {"RunsScreen", "TrainScreen", "ModelScreen", "SaveLoadScreen", "ExperimentsScreen"}
        # Each is created (mounted, its widgets composed) while the Data workspace stays current.
        assert await _wait(pilot, lambda: set(PREPARE_ORDER) <= app.preparer.shown_modes and not app.preparer.mounting
                           and {type(w).__name__ for w in app.workspaces} >= names), app.preparer.shown_modes
        assert app.current_mode == "data" and app.screen is screen and isinstance(screen, DataScreen)
        assert app.screen.focused is focused
        await pilot.press("h")  # the prepared Runs workspace, with the run read at start
        await _wait(pilot, lambda: app.screen.query_one(RunTable).row_count == 1)
        assert isinstance(app.screen, RunsScreen) and app.screen.query_one(RunTable).row_count == 1


async def test_no_workspace_is_prepared_behind_an_open_dialog(runs_dir: Path):
    app = make_app("ex1", load_tensorflow=False, runs_dir=runs_dir, prepare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")  # the presets dialog, before start-up work ends
        await started(app, pilot)
        await pilot.pause(2.5)  # idle, but a dialog is open
        assert len(app.screen_stack) == 2
        assert not set(PREPARE_ORDER) & app.preparer.shown_modes
        await pilot.press("escape")
        assert await _wait(pilot, lambda: set(PREPARE_ORDER) <= app.preparer.shown_modes)
        await pilot.press("ctrl+q")  # quitting while the last one may still be composed: waits for it
        assert await _wait(pilot, lambda: not app.preparer.mounting)
        assert app.current_mode == "data" and isinstance(app.screen, DataScreen)


async def test_headless_apps_prepare_nothing_unless_asked(runs_dir: Path):
    app = make_app("ex1", load_tensorflow=False, runs_dir=runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.pause(2.5)
        assert not set(PREPARE_ORDER) & app.preparer.shown_modes

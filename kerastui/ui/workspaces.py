"""The workspaces as Textual MODES, and their creation ahead of a first visit.

Only the first workspace (Data) is imported before the first frame; each other one when first
shown.  Creating one costs Textual ~0.3 s (its stylesheet is parsed again, the screen composed and
styled).  Once TensorFlow is loaded and nobody has typed for PREPARE_IDLE seconds, the ones not
shown yet are created in the background, one per idle pause (:class:`WorkspacePreparer`), so that
a first visit costs what a later one does.  Runs first: it is where people go back to.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from kerastui.ui.screens.data import DataScreen

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI

PREPARE_ORDER = ("runs", "model", "train", "saveload", "experiments", "sweeps")
PREPARE_IDLE = 1.0
PREPARE_EVERY = 0.5


def _model_screen() -> Screen[None]:
    from kerastui.ui.screens.model import ModelScreen

    return ModelScreen()


def _train_screen() -> Screen[None]:
    from kerastui.ui.screens.train import TrainScreen

    return TrainScreen()


def _saveload_screen() -> Screen[None]:
    from kerastui.ui.screens.saveload import SaveLoadScreen

    return SaveLoadScreen()


def _experiments_screen() -> Screen[None]:
    from kerastui.ui.screens.experiments import ExperimentsScreen

    return ExperimentsScreen()


def _runs_screen() -> Screen[None]:
    from kerastui.ui.screens.runs import RunsScreen

    return RunsScreen()


def _sweeps_screen() -> Screen[None]:
    from kerastui.ui.screens.sweeps import SweepsScreen

    return SweepsScreen()


MODES: dict[str, Any] = {"data": DataScreen, "model": _model_screen, "train": _train_screen,
                         "saveload": _saveload_screen, "experiments": _experiments_screen, "runs": _runs_screen,
                         "sweeps": _sweeps_screen}


class WorkspacePreparer:
    """Creates the workspaces not shown yet in the app's idle pauses (see PREPARE_ORDER).
    ``prepare``: None — in a terminal, not headless (nobody waits for a key in a pilot, and an app
    closed mid-preparation would close a half-composed screen)."""

    def __init__(self, app: KerasTUI, prepare: bool | None) -> None:
        self.app = app
        self.prepare = prepare
        self.shown_modes: set[str] = set()  # workspaces created (shown, or prepared in an idle pause)
        self.mounting = False  # a prepared workspace is still being composed (quitting waits for it)
        self.last_input = time.monotonic()
        self._timer: Any = None

    def shown(self, *modes: str) -> None:
        self.shown_modes.update(modes)

    def input_seen(self) -> None:
        self.last_input = time.monotonic()

    def start(self) -> None:
        app = self.app
        prepare = self.prepare if self.prepare is not None else not app.is_headless
        if prepare and not app.deterministic:
            self._timer = app.set_interval(PREPARE_EVERY, self._next)

    def _next(self) -> None:
        app = self.app
        if not app.is_running:  # shutting down: its screens are being closed
            return
        pending = [mode for mode in PREPARE_ORDER if mode not in self.shown_modes and mode != app.current_mode]
        if not pending:
            self._timer.stop()
            gc.freeze()  # the new screens join the rest of the long-lived heap
            return
        idle = time.monotonic() - self.last_input >= PREPARE_IDLE
        # Not while a modal is open or a run is followed (its charts come first), nor mid-switch.
        if (not idle or self.mounting or len(app.screen_stack) > 1 or app.session.training
                or not app.screen.is_mounted):
            return
        current = app.current_mode
        with app.batch_update():  # nothing of it reaches the terminal: the current screen stays
            mounted = app.switch_mode(pending[0])
            prepared = app.screen
            app.switch_mode(current)
        self.mounting = True
        app.run_worker(self._await_prepared(mounted, prepared), group="prepare", exit_on_error=False)

    async def _await_prepared(self, mounted: Any, screen: Screen[Any]) -> None:
        """Until the prepared screen is composed and has handled its resume and suspend."""
        try:
            await mounted
            handled = asyncio.Event()
            screen.call_later(handled.set)  # queued after them
            await handled.wait()
        finally:
            self.mounting = False

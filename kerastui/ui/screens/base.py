"""What every workspace screen shares."""

from __future__ import annotations

from textual import on
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker


class Workspace(Screen):
    """A workspace (one of the app's MODES): its workers' failures are reported by the app."""

    WORKSPACE = True

    # Textual repaints the whole screen when focus moves (Screen.focused repaints): every widget
    # composited again (a Tab in the Train form: 30 ms of compositing, 10 ms without) for a change
    # the widgets concerned redraw themselves (their :focus styles).  A focus move is the commonest
    # key press, also while training; tests/ui/test_terminal_output.py checks nothing goes stale.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: forward it to the one place that reports failures.
        self.app.report_worker_error(event)

"""What every workspace screen shares."""

from __future__ import annotations

from textual import on
from textual.screen import Screen
from textual.worker import Worker


class Workspace(Screen):
    """A workspace (one of the app's MODES): its workers' failures are reported by the app."""

    WORKSPACE = True

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: forward it to the one place that reports failures.
        self.app.report_worker_error(event)

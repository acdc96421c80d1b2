"""(being written) MetricPanel."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Static


class MetricPanel(Vertical):
    def compose(self):
        yield Static("MetricPanel")

    def preset_opened(self, preset) -> None:
        pass

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        pass

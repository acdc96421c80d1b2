"""The line under every workspace: preset, dataset, model size, TensorFlow and devices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import getters
from textual.widgets import Static

from kerastui.ui.safe import plain

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI


class StatusLine(Static):
    """Preset · dataset · model size · TensorFlow version and devices (or 'loading TensorFlow…')."""

    HELP = "The status line: the open preset, the loaded dataset, the model's size and TensorFlow's state."

    if TYPE_CHECKING:
        app = getters.app(KerasTUI)

    def on_mount(self) -> None:
        for attribute in ("preset_label", "data_label", "model_label", "tf_label"):
            self.watch(self.app, attribute, self._refresh_line, init=False)
        self._refresh_line()

    def _refresh_line(self, *_: object) -> None:
        app = self.app
        parts = [plain(app.preset_label, "bold"), *(plain(label) for label in (app.data_label, app.model_label,
                                                                               app.tf_label))]
        self.update(Text("  │  ").join(part for part in parts if part.plain))

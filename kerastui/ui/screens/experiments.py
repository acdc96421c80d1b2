"""Experiments workspace: a custom metric beside the built-in one, and transfer learning."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TabbedContent, TabPane

from kerastui.ui.panels.metric import MetricPanel
from kerastui.ui.panels.transfer import TransferPanel
from kerastui.ui.screens.base import Workspace
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tabs import WorkspaceTabs


class ExperimentsScreen(Workspace):
    """Two panels: the custom-metric comparison (exercise 4) and transfer learning (exercise 5)."""

    CSS_PATH = "experiments.tcss"

    HELP = ("## Experiments\n1: a custom keras.metrics.Metric trained beside the built-in metric it mirrors, "
            "epoch by epoch.\n2: transfer learning: a keras.applications base, the freeze boundary, a two-phase run.")
    AUTO_FOCUS = "#metric-table"  # the panel's keys work at once (not the tab strip)
    BINDINGS = [
        Binding("1", "panel('metric')", "Metric", tooltip="Custom metric beside the built-in one",
                id="experiments.metric"),
        Binding("2", "panel('transfer')", "Transfer", tooltip="Transfer learning: base, freeze, fine-tune",
                id="experiments.transfer"),
    ]

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("experiments")
        with TabbedContent(id="experiments-tabs", initial="metric"):
            with TabPane("Custom metric", id="metric"):
                yield MetricPanel(id="metric-panel")
            with TabPane("Transfer", id="transfer"):
                yield TransferPanel(id="transfer-panel")
        yield StatusLine(id="status")
        yield KeyFooter()

    def action_panel(self, name: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active == name:
            self._panel(name).first_focus.focus()
            return
        # Nothing keeps the focus across the switch: Textual hands the focus of a widget that the
        # switch hides to a sibling, one inside the hidden pane (the metric file field), where keys
        # went unseen. The pane's widget takes it once shown (_tab_activated). Focusing it before the
        # switch instead loses the pane's Show (no base is built).
        self.set_focus(None)
        tabs.active = name

    @on(TabbedContent.TabActivated, "#experiments-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A panel shown (1, 2, or its tab clicked): its keys work at once, after the layout that shows it."""
        if event.pane.id is not None:
            self.call_after_refresh(self._panel(event.pane.id).first_focus.focus)

    def _panel(self, name: str) -> MetricPanel | TransferPanel:
        return self.query_one(MetricPanel) if name == "metric" else self.query_one(TransferPanel)

    def preset_opened(self) -> None:
        """A new preset replaced the app's: each panel re-reads what it shows from it."""
        for panel in (self.query_one(MetricPanel), self.query_one(TransferPanel)):
            panel.preset_opened(self.app.session.preset)

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Training events from the app: both panels show the shared run."""
        for panel in (self.query_one(MetricPanel), self.query_one(TransferPanel)):
            if panel.is_mounted:
                panel.redraw(full=full, epoch=epoch)

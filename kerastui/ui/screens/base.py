"""What every workspace screen shares: the hooks the app calls, and failure reporting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import SystemCommand
from textual.binding import Binding
from textual.reactive import Reactive
from textual.widget import Widget
from textual.worker import Worker

from kerastui.ui.widgets.formscreen import FormScreen, types_text

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI
    from kerastui.ui.chartview import ChartView


class Workspace(FormScreen):
    """A workspace (one of the app's MODES).

    The app tells its mounted workspaces what changed by calling these hooks; each is a no-op here
    and a workspace overrides the ones it shows:

    - ``redraw(full=, epoch=)``: the current run changed (an event, its end, a run reopened).  Only
      the workspace shown redraws at once (:meth:`run_changed`); a hidden one redraws what it missed
      when shown again, in full when first shown (or always: ``REDRAW_WHEN_SHOWN``).
    - ``data_changed()``: the session's dataset was replaced.
    - ``preset_opened()``: the session's preset was replaced (opened, adopted from a run, resumed).
    - ``stack_changed()``: the session's layer stack was replaced (a model file opened).
    - ``system_commands()``: the workspace's own entries in the command palette.
    - ``input_seen()``: a key, click, wheel or paste came (while this workspace is shown).
    """

    # Textual repaints the whole screen when focus moves (Screen.focused repaints): every widget
    # composited again (a Tab in the Train form: 30 ms of compositing, 10 ms without) for a change
    # the widgets concerned redraw themselves (their :focus styles).  A focus move is the commonest
    # key press, also while training; tests/ui/test_terminal_output.py checks nothing goes stale.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    # Escape from a text field back to the workspace, where its keys (and d m t v p h) work again.
    # Shown in the footer only while a text field has the focus; a widget's own escape comes first.
    BINDINGS = [Binding("escape", "leave_field", "Leave field", id="workspace.leave_field",
                        tooltip="Leave the text field: the workspace's keys work again")]

    if TYPE_CHECKING:
        app: KerasTUI  # the app is this one (for the type checker only)

    @cached_property
    def chart_view(self) -> ChartView:
        """Smoothing, log scale, zoom, cursor: shared by the workspace's charts (made when a chart
        first asks: the Data workspace, the first frame's, has none)."""
        from kerastui.ui.chartview import ChartView

        return ChartView()

    def charts_changed(self) -> None:
        """A chart key changed ``chart_view``: every chart redraws (a workspace may add or drop charts)."""
        from kerastui.ui.widgets.charts import EpochChart

        with self.app.batch_update():
            for chart in self.query(EpochChart):
                chart.replot()

    # Shown again, redraw the run in full even when nothing of it was missed (Train: its form may have
    # changed elsewhere); otherwise only what was missed is redrawn, and a table keeps its cursor.
    REDRAW_WHEN_SHOWN: ClassVar[bool] = False
    _missed: tuple[bool, bool] | None = (True, False)  # (full, epoch) not redrawn while hidden; first: all

    def run_changed(self, *, shown: bool, full: bool = False, epoch: bool = False) -> None:
        """The current run changed (the app's call, for each mounted workspace): the one ``shown`` (the
        topmost, under any dialog) redraws now; a hidden one when it is shown again (a followed run's
        epochs cost no frames of workspaces nobody sees)."""
        was_full, was_epoch = self._missed or (False, False)
        if shown:  # (what it missed too, if shown before its resume handler ran: then that has nothing left)
            self._missed = None
            self.redraw(full=full or was_full, epoch=epoch or was_epoch)
            return
        self._missed = (was_full or full, was_epoch or epoch)

    def on_screen_resume(self) -> None:
        # (after a subclass's own handler: Textual calls each class's)
        missed, self._missed = self._missed, None
        if self.REDRAW_WHEN_SHOWN:
            self.redraw(full=True)
        elif missed is not None:
            self.redraw(full=missed[0], epoch=missed[1])

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """The current run changed: ``epoch`` when an epoch ended, ``full`` to redraw everything."""

    def data_changed(self) -> None:
        """The session's dataset was replaced."""

    def preset_opened(self) -> None:
        """The session's preset was replaced: show it."""

    def stack_changed(self) -> None:
        """The session's layer stack was replaced."""

    def input_seen(self) -> None:
        """The user pressed a key, clicked, scrolled or pasted (before it is handled)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":
            return types_text(self.focused)
        return True

    def action_leave_field(self) -> None:
        """Focus the workspace's own widget (its AUTO_FOCUS when shown), else the first widget in
        focus order that is not a text field."""
        chain = [widget for widget in self.focus_chain if not types_text(widget)]
        home = [widget for widget in self.query(self.AUTO_FOCUS) if widget in chain] if self.AUTO_FOCUS else []
        targets = home or chain
        if targets:
            targets[0].focus()
        else:
            self.set_focus(None)

    def arriving(self) -> None:
        """The user switched to this workspace (a key, a tab, the palette): once it has resumed, a focus
        left in a text field (or met there on its first showing) moves to the workspace's own widget, so
        the letter keys are the workspace's again — a workspace never opens inside a text field."""
        self.call_later(self._arrived)

    def _arrived(self) -> None:
        if types_text(self.focused):
            self.action_leave_field()

    def system_commands(self) -> Iterable[SystemCommand]:
        """This workspace's entries in the command palette."""
        return ()

    def binding_commands(self, title: str) -> Iterator[SystemCommand]:
        """A palette entry for each of this workspace's key bindings ("Model: Add", …)."""
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            yield SystemCommand(f"{title}: {binding.description}", binding.tooltip,
                                lambda action=binding.action: self.run_action(action))

    @on(events.Mount)
    def _register(self) -> None:
        self.app.workspace_mounted(self)

    @on(events.Unmount)
    def _unregister(self) -> None:
        self.app.workspace_unmounted(self)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: forward it to the one place that reports failures.
        self.app.report_worker_error(event)

"""TransferPanel: the settings, the stage table and the run of exercise 5, wired together.

The base is built once per choice of base and input size, in a thread worker, into a core
``BaseTable``: moving N afterwards is a sum over that table and a few changed cells, never a model
rebuild nor a table refill.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Input, Static

from kerastui.core.errors import KerasTUIError, one_line, plain_message
from kerastui.core.model.metricnames import accuracy_key
from kerastui.core.model.specs import LayerSpec, Preset, TensorBoardSpec, TransferSpec
from kerastui.core.text import visible
from kerastui.ui.latest import Requests
from kerastui.ui.panels.transfer.chart import PhaseChart, phase_table
from kerastui.ui.panels.transfer.settings import BN_WHY, DEFAULT_LAST, WEIGHTS, TransferSettings
from kerastui.ui.panels.transfer.stages import StageTable, counts_text
from kerastui.ui.safe import markup, plain
from kerastui.ui.safe import text as shown
from kerastui.ui.widgets.choice import Choice
from kerastui.ui.widgets.form import parse_number

if TYPE_CHECKING:
    from kerastui.core.model.transfer import BaseTable
    from kerastui.ui.app import KerasTUI


class TransferPanel(Vertical):
    """Transfer learning (exercise 5): base, weights, freeze boundary, two-phase run."""

    HELP = ("## Transfer learning\nPick a keras.applications base and its weights (imagenet, none, or a weights "
            "file); the head (GlobalAveragePooling2D → Dropout → Dense) comes from the preset. Phase 1 trains the "
            "head on the frozen base; phase 2 unfreezes the last N layers and fine-tunes at a lower learning rate. "
            "+/- move N by one layer, [/] by a stage, f toggles the freeze; the counts follow at once. "
            "Enter on a stage unfolds its layers. s runs both phases, x stops; the chart marks where fine-tuning "
            "began and the table sets the phases side by side (under 100 columns c switches between them). "
            + BN_WHY)
    BINDINGS = [
        Binding("plus,equals_sign", "last(1)", "N+1", tooltip="Unfreeze one more layer for fine-tuning",
                id="transfer.more"),
        Binding("minus", "last(-1)", "N-1", tooltip="Unfreeze one layer fewer for fine-tuning", id="transfer.less"),
        Binding("right_square_bracket", "stage(1)", "Stage+", tooltip="Unfreeze one more stage for fine-tuning",
                id="transfer.stage_more"),
        Binding("left_square_bracket", "stage(-1)", "Stage-", tooltip="Unfreeze one stage fewer for fine-tuning",
                id="transfer.stage_less"),
        Binding("f", "toggle_freeze", "Freeze", tooltip="Freeze the base while the head trains (phase 1), or not",
                id="transfer.freeze"),
        Binding("w", "cycle_weights", "Weights", tooltip="Weights: imagenet → none → a weights file",
                id="transfer.weights"),
        Binding("b", "inspect", "Rebuild", tooltip="Build the base again with the settings on the left",
                id="transfer.inspect"),
        Binding("c", "toggle_chart", "Chart", tooltip="Narrow terminals: the chart or the phase table",
                id="transfer.chart"),
        Binding("s", "start", "Run", tooltip="Train the head, then fine-tune the last N layers", id="transfer.start"),
        Binding("x", "stop", "Stop", tooltip="Stop at the end of the current batch", id="transfer.stop"),
    ]
    DEFAULT_CSS = """
    TransferPanel { height: 1fr; }
    TransferPanel #tl-body { height: 1fr; }
    TransferPanel #tl-side {
        dock: left; width: 28; min-width: 24; height: 1fr; padding: 0 1; border-right: tall $panel;
        scrollbar-size-vertical: 1;
    }
    TransferPanel .tl-field { height: 1; margin: 0; }
    TransferPanel .tl-name { width: 11; color: $text-muted; }
    TransferPanel .tl-field Input, TransferPanel .tl-field Choice { width: 1fr; }
    TransferPanel .tl-hint { color: $text-muted; height: auto; }
    TransferPanel .tl-heading { margin-top: 1; }
    TransferPanel #tl-main { width: 1fr; height: 1fr; padding: 0 1; }
    TransferPanel #tl-info, TransferPanel #tl-run { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    TransferPanel #tl-counts { height: 4; text-wrap: nowrap; text-overflow: ellipsis; }
    TransferPanel StageTable { height: 1fr; min-height: 4; scrollbar-size-vertical: 1; }
    TransferPanel #tl-results { height: 1fr; min-height: 9; display: none; }
    TransferPanel.-has-run #tl-results { display: block; }
    TransferPanel PhaseChart { width: 1fr; height: 1fr; }
    TransferPanel #tl-phases { width: auto; max-width: 50%; height: 1fr; padding: 0 0 0 1; }
    TransferPanel.-narrow PhaseChart { display: none; }
    TransferPanel.-narrow #tl-phases { width: 1fr; max-width: 100%; padding: 0; }
    TransferPanel.-narrow.-chart PhaseChart { display: block; }
    TransferPanel.-narrow.-chart #tl-phases { display: none; }
    """

    if TYPE_CHECKING:
        app = getters.app(KerasTUI)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table: BaseTable | None = None  # core BaseTable of the base on show, or None while building
        self.last_n = DEFAULT_LAST
        self.freeze = True
        self.weights_ok: bool | None = None
        self.weights_message = ""
        self.error: str | None = None
        self.builds = Requests()  # base builds: the latest wins
        self._head: list[LayerSpec] | None = None  # None: the default head for the data's classes
        self._building = False
        self.data_shape: tuple[int, ...] | None = None
        self.field_errors: dict[str, str] = {}  # what does not parse, and why (the session kept its value)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="tl-body"):
            # The layer table comes first in focus order (the side is docked left): the panel's keys
            # act on it as soon as the tab is shown.
            with Vertical(id="tl-main"):
                yield Static(id="tl-info")
                yield Static(id="tl-counts")
                yield StageTable(id="tl-layers", cursor_type="row", zebra_stripes=True)
                yield Static(id="tl-run")
                with Horizontal(id="tl-results"):
                    yield PhaseChart("accuracy", id="tl-chart")
                    yield Static(id="tl-phases")
            yield TransferSettings(id="tl-side")

    @property
    def settings(self) -> TransferSettings:
        return self.query_one(TransferSettings)

    @property
    def stages(self) -> StageTable:
        return self.query_one(StageTable)

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self._show_settings(self.app.session.preset)
        self._counts()
        self.redraw(full=True)
        self._keras_bases()

    @property
    def first_focus(self) -> StageTable:
        """What the workspace focuses when this panel's tab is picked: the panel's keys act on it."""
        return self.stages

    def _screen_changed(self, screen: Screen[object]) -> None:
        """Its workspace shown again: what other workspaces may have edited, as the session has it."""
        if screen is self.screen:
            self._show_shared()

    def on_show(self, event: events.Show) -> None:
        """Shown (its tab picked): the base is built once."""
        if self.table is None and not self._building and self.error is None:
            self.inspect()

    def on_resize(self, event: events.Resize) -> None:
        # Under 100 columns the chart and the phase table take turns (c) instead of squeezing both.
        narrow = event.size.width < 100
        if narrow and not self.has_class("-chart"):
            self._chart_hides()
        self.set_class(narrow, "-narrow")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_chart":
            return self.has_class("-narrow")  # wide: both are shown, the key is hidden
        return True

    def action_toggle_chart(self) -> None:
        if self.has_class("-chart"):
            self._chart_hides()
        self.toggle_class("-chart")

    def _chart_hides(self) -> None:
        """The chart is about to be hidden: a focus on it moves to the layer table first, or Textual
        would drop it (no focusable sibling) and the panel's keys would reach nothing."""
        if self.screen.focused is self.query_one(PhaseChart):
            self.screen.set_focus(self.stages, scroll_visible=False)

    @work(thread=True, exit_on_error=False, group="transfer-bases")
    def _keras_bases(self) -> None:
        from kerastui.core.model.transfer import application_names

        names = application_names()
        self.app.call_from_thread(self.settings.show_bases, names)

    # ------------------------------------------------------------------ the preset

    def preset_opened(self, preset: Preset) -> None:
        self._show_settings(preset)
        self.table = None
        self.error = None
        self.stages.show(None, self.last_n, self.freeze)
        self._counts()
        if self.display and self.is_mounted and self.region.area:
            self.inspect()

    def _show_settings(self, preset: Preset) -> None:
        self.field_errors.clear()
        spec = self.settings.show(preset)
        self._head = list(preset.model.layers) if preset.transfer is not None and preset.model.layers else None
        self.freeze = spec.freeze
        self.last_n = spec.fine_tune_last
        self.weights_ok, self.weights_message = None, ""

    def transfer_spec(self) -> TransferSpec:
        """The transfer section as the form has it; ValueError names the field."""
        transfer = self.app.session.preset.transfer
        return self.settings.spec(freeze=self.freeze, last_n=self.last_n,
                                  allow_no_weights=bool(transfer and transfer.allow_no_weights))

    @on(Input.Changed, "#tl-lr")
    @on(Input.Changed, "#tl-ft-epochs")
    @on(Input.Changed, "#tl-file")
    @on(Input.Changed, "#tl-input")
    def sync_preset(self) -> None:
        """Every edit goes to the session at once, so saving (ctrl+s) and s see what is set here: the
        transfer section (a preset without one gets it when s makes it a transfer preset).  A value
        that does not parse leaves the session's as it was; it is shown, and s refuses until mended."""
        try:
            spec = self.transfer_spec()
        except ValueError as error:
            self._unparsed("transfer", str(error))
            return
        self._unparsed("transfer", None)
        if self.app.session.preset.transfer is not None:
            self.app.session.edit(transfer=spec)

    @on(Input.Changed, "#tl-epochs")
    def _head_epochs_edited(self) -> None:
        """Phase 1's epochs are the preset's epochs (the Train workspace's too)."""
        session = self.app.session
        try:
            epochs = self.settings.head_epochs()
        except ValueError as error:
            self._unparsed("epochs", str(error))
            return
        self._unparsed("epochs", None)
        session.edit(fit=replace(session.preset.fit, epochs=epochs))

    @on(Checkbox.Changed, "#tl-tensorboard")
    def _tensorboard_edited(self) -> None:
        session = self.app.session
        callbacks = copy.deepcopy(session.preset.callbacks)
        if self.settings.tensorboard:
            callbacks.tensorboard = callbacks.tensorboard or TensorBoardSpec()
        else:
            callbacks.tensorboard = None
        session.edit(callbacks=callbacks)

    def _unparsed(self, part: str, error: str | None) -> None:
        """Why a part of the settings does not parse (None: it does now); shown under the weights."""
        if error is None:
            if self.field_errors.pop(part, None) is not None:
                self.settings.hint("")
            return
        self.field_errors[part] = error
        self.settings.hint(f"✗ {error}")

    def _show_shared(self) -> None:
        """What the panel shares with other workspaces (the preset's epochs and TensorBoard) as the
        session has it now, unless what is typed here does not parse yet."""
        preset = self.app.session.preset
        with self.settings.prevent(Input.Changed, Checkbox.Changed):
            if "epochs" not in self.field_errors:
                self.query_one("#tl-epochs", Input).value = str(preset.fit.epochs)
            self.query_one("#tl-tensorboard", Checkbox).value = preset.callbacks.tensorboard is not None

    def head_layers(self, classes: int) -> list[LayerSpec]:
        from kerastui.core.model.transfer import default_head

        if self._head is not None:
            return copy.deepcopy(self._head)
        return default_head(classes)

    # ------------------------------------------------------------------ building the base (worker)

    def inspect(self) -> None:
        """Build the base (and check its weights) off the UI thread; the answer fills the table."""
        try:
            spec = self.transfer_spec()
        except ValueError as error:
            self._show_error(str(error))
            return
        ticket = self.builds.new()
        self._building = True
        self.error = None
        self.query_one("#tl-info", Static).update(markup("[dim]building $base…[/dim]", base=spec.base))
        self._inspect(ticket, spec, copy.deepcopy(self.app.session.current_preset()))

    @work(thread=True, exit_on_error=False, group="transfer-base")
    def _inspect(self, ticket: int, spec: TransferSpec, preset: Preset) -> None:
        from kerastui.core.data import datasets
        from kerastui.core.model.transfer import check_weights, inspect_base, transfer_image_shape

        try:
            info = datasets.describe(preset.data, preset.base_dir)
            if info.kind != "image" and not spec.input_shape:
                raise KerasTUIError(f"transfer needs image data: data.source {preset.data.source} is {info.kind} "
                                    "(pick an image source in the Data workspace, or set an input size)")
            data_shape = info.shape if len(info.shape) == 3 else (*info.shape, 1)
            shape = transfer_image_shape(spec, data_shape)
            table = inspect_base(spec, shape, self.head_layers(info.num_classes or 2))
            self.app.call_from_thread(self._inspected, ticket, table, tuple(data_shape))
            ok, message = check_weights(spec, shape)
            self.app.call_from_thread(self._weights_checked, ticket, ok, message)
        except Exception as error:  # noqa: BLE001 - shown as one line, never a traceback
            self.app.call_from_thread(self._failed, ticket, plain_message(error))

    def _inspected(self, ticket: int, table: BaseTable, data_shape: tuple[int, ...]) -> None:
        if not self.builds.is_latest(ticket):
            return
        self.table = table
        self._building = False
        self.last_n = table.clamp(self.last_n)
        self.data_shape = data_shape
        self.stages.show(table, self.last_n, self.freeze)
        self._counts()
        self._info()

    def _weights_checked(self, ticket: int, ok: bool, message: str) -> None:
        if not self.builds.is_latest(ticket):
            return
        self.weights_ok, self.weights_message = ok, message
        self._info()

    def _failed(self, ticket: int, message: str) -> None:
        if not self.builds.is_latest(ticket):
            return
        self._building = False
        self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.error = message
        line = Text(visible("✗ " + message, one_line=True), style="red", no_wrap=True, overflow="ellipsis")
        self.query_one("#tl-info", Static).update(line)
        self.settings.hint(message)

    def _info(self) -> None:
        """One line: the base, its input (and the data's resize), the weights' state."""
        table = self.table
        if table is None:
            return
        h, w, c = table.input_shape
        size = f"{h}×{w}×{c}"
        data = self.data_shape
        if data and tuple(data) != tuple(table.input_shape):
            size = f"{'×'.join(map(str, data))}→{size}"
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{table.base}", style="bold")
        line.append(f" · {len(table.layers)} layers · {size} · ")
        if self.weights_ok is None:
            line.append("weights: checking…", style="dim")
            self.settings.hint("")
        elif self.weights_ok:
            line.append(self.weights_message.split(" (")[0], style="green")
            self.settings.hint(self.weights_message)
        else:
            message = self.weights_message
            if message.startswith("imagenet offline"):  # the way out first: it must fit 80 columns
                message = f"imagenet offline · w: none or a weights file · {table.base} weights not cached"
            line = Text("✗ " + message, style="red", no_wrap=True, overflow="ellipsis")
            self.settings.hint(self._offline_hint())
        self.query_one("#tl-info", Static).update(shown(line))  # (the base's name and a weights path)

    def _offline_hint(self) -> str:
        from kerastui.core.model.transfer import WEIGHT_FILES, keras_models_dir

        file = WEIGHT_FILES.get(self.settings.base)
        where = f"put {file} in {keras_models_dir()}/, " if file else ""
        return f"{self.weights_message}: {where}or press w for none or a weights file."

    # ------------------------------------------------------------------ the counts and N

    def _counts(self) -> None:
        """The trainable / non-trainable counts of both phases (sums over the table), and N in its field."""
        widget = self.query_one("#tl-counts", Static)
        table = self.table
        if table is None:
            widget.update("" if self.error else "[dim]the counts appear once the base is built[/dim]", layout=False)
            return
        widget.update(counts_text(table, self.last_n, self.freeze), layout=False)
        self.settings.show_last(self.last_n)

    def set_last(self, value: int) -> None:
        value = self.table.clamp(value) if self.table is not None else max(0, int(value))
        if value == self.last_n:
            return
        self.last_n = value
        self._counts()
        if self.table is not None:
            self.stages.update_marks(self.last_n)
        self.sync_preset()

    # ------------------------------------------------------------------ actions

    def action_last(self, step: int) -> None:
        self.set_last(self.last_n + step)

    def action_stage(self, direction: int) -> None:
        if self.table is not None:
            self.set_last(self.table.stage_step(self.last_n, direction))

    def action_toggle_freeze(self) -> None:
        self.query_one("#tl-freeze", Checkbox).toggle()

    def action_cycle_weights(self) -> None:
        select = self.query_one("#tl-weights", Choice)
        order = [v for _, v in WEIGHTS]
        select.value = order[(order.index(str(select.value)) + 1) % len(order)]
        if select.value == "file":
            self.query_one("#tl-file", Input).focus()

    def action_inspect(self) -> None:
        self.table = None
        self.inspect()

    def action_start(self) -> None:
        if self.weights_ok is False:
            self.notify(self.weights_message, title="transfer", severity="error", timeout=8)
            return
        unparsed = next(iter(self.field_errors.values()), None)
        if unparsed is not None:
            self.notify(unparsed, title="transfer", severity="error")
            return
        session = self.app.session
        if session.preset.transfer is None:  # made a transfer preset: the panel's base under the exercise's head
            try:
                self._make_transfer_preset()
            except Exception as error:  # noqa: BLE001 - e.g. the data's description failing: one line
                self.notify(one_line(error), title="transfer", severity="error")
                return
        self.app.runs.start(session.current_preset())

    def _make_transfer_preset(self) -> None:
        """The session's preset becomes a transfer preset with this panel's section and the head for
        its data's classes; the workspaces that show the layer stack show the head."""
        from kerastui.core.data.datasets import describe

        session = self.app.session
        preset = session.preset
        if session.training:
            return  # the start is refused (a run is going): the preset stays as it is
        head = self.head_layers(describe(preset.data, preset.base_dir).num_classes or 2)
        session.use_transfer(self.transfer_spec(), head)
        self._head = list(head)
        for workspace in self.app.workspaces:
            workspace.stack_changed()

    def action_stop(self) -> None:
        self.app.runs.stop()

    @on(Checkbox.Changed, "#tl-freeze")
    def _freeze_changed(self, event: Checkbox.Changed) -> None:
        self.freeze = event.value
        if self.table is not None:
            self.stages.set_freeze(self.freeze)
        self._counts()
        self.sync_preset()

    @on(Input.Changed, "#tl-n")
    def _n_typed(self, event: Input.Changed) -> None:
        try:
            value = parse_number(event.value, int, "N", minimum=0)
        except ValueError:
            return  # a half-typed N: the last one stays
        self.set_last(value)

    @on(Choice.Changed, "#tl-base")
    @on(Choice.Changed, "#tl-weights")
    @on(Input.Submitted, "#tl-input")
    @on(Input.Submitted, "#tl-file")
    def _rebuild(self) -> None:
        self.sync_preset()
        if self.settings.weights == "file" and not self.query_one("#tl-file", Input).value.strip():
            self.weights_ok, self.weights_message = None, ""
            self.settings.hint("enter a weights .h5 path above, then enter")
            return
        self.weights_ok, self.weights_message = None, ""
        self.inspect()

    @on(StageTable.RowSelected)
    def _fold(self, event: DataTable.RowSelected) -> None:
        if self.table is not None:
            self.stages.toggle_stage(str(event.row_key.value))

    # ------------------------------------------------------------------ the run

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Training events from the app: the run line always; chart and phase table per epoch."""
        state = self.app.session.run_state
        transfer_run = state is not None and (state.phase in ("head", "fine_tune") or bool(
            state.result is not None and state.result.phases))
        self.set_class(transfer_run, "-has-run")
        run = self.query_one("#tl-run", Static)
        if state is None or not transfer_run:
            run.update("[dim]s trains the head, then fine-tunes the last N layers[/dim]", layout=False)
            return
        # (the error and the TensorBoard path quote the run's files: plain text, shown)
        parts = [plain(state.label, "bold"), plain({"head": "phase 1 · head", "fine_tune": "phase 2 · fine-tune"}.get(
            state.phase, state.phase))]
        parts.append(plain(state.epoch_label))
        if state.error:
            parts.append(plain(state.error, "red"))
        result = state.result
        if result is not None and result.tensorboard:
            parts.append(plain(result.tensorboard))
        run.update(Text(" · ").join(parts), layout=False)
        if full or epoch:
            chart = self.query_one(PhaseChart)
            metric = accuracy_key(state.history) or "loss"
            chart.metric = metric
            chart.set_series(state.history, state.boundaries)
            self.query_one("#tl-phases", Static).update(phase_table(state))

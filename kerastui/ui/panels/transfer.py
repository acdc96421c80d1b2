"""The transfer panel of the Experiments workspace: a keras.applications base under a new head,
its layers folded by stage with their trainable marks, the freeze boundary moved by keys with the
parameter counts following live, and a two-phase run (head, then fine-tuning) charted as one.

The base is built once per choice of base and input size, in a thread worker, into a core
``BaseTable``: moving N afterwards is a sum over that table and a few changed cells, never a model
rebuild nor a table refill.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Input, Label, Select, Static

from kerastui.core.specs import LayerSpec, Preset, TensorBoardSpec, TransferSpec
from kerastui.ui.latest import Requests
from kerastui.ui.widgets.charts import MetricChart
from kerastui.ui.widgets.form import Form

# The bases offered first; the rest of keras.applications follows once Keras is loaded.
BASES = ["ResNet50", "MobileNetV2", "EfficientNetB0", "VGG16", "ResNet101", "ResNet50V2", "MobileNet",
         "EfficientNetV2B0", "VGG19", "DenseNet121", "Xception", "InceptionV3"]
WEIGHTS = [("imagenet", "imagenet"), ("none (random)", "none"), ("weights file", "file")]
DEFAULT_LAST = 10
BN_WHY = ("BatchNormalization layers stay frozen when fine-tuning: the base runs them in inference mode "
          "(training=False), and letting a small dataset move their learnt statistics and scales undoes what "
          "the base learnt (as in Keras's fine-tuning guide).")


def parse_size(text: str) -> list[int] | None:
    """``""`` → None (the data's size); ``64`` → [64, 64, 3]; ``64x48`` / ``64,48,3`` → a list."""
    text = text.strip().lower()
    if not text:
        return None
    parts = [p for p in re.split(r"[x×,\s]+", text) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers = [numbers[0], numbers[0], 3]
    elif len(numbers) == 2:
        numbers = [*numbers, 3]
    if len(numbers) != 3 or min(numbers) < 1:
        raise ValueError(f"input size: {text!r} is not H×W or H×W×C (e.g. 64x64 or 64x64x3)")
    return numbers


def _number(text: str, kind, name: str, minimum) -> Any:
    try:
        value = kind(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text.strip()!r} is not a valid {'whole number' if kind is int else 'number'}") from None
    if value < minimum or (kind is float and not math.isfinite(value)):
        raise ValueError(f"{name} must be ≥ {minimum:g}")
    return value


class PhaseChart(MetricChart):
    """One metric across both phases; the magenta line is where fine-tuning began."""

    HELP = ("The transfer chart: train (cyan) and validation (orange) of one metric across both phases; "
            "magenta marks where fine-tuning began, green the best validation epoch.")

    def replot(self) -> None:
        super().replot()
        if self.boundaries:
            self.plt.title(f"{self.metric} · head | fine-tune from epoch {self.boundaries[0] + 1}")


class StageTable(DataTable):
    """The base's layers folded by stage; enter unfolds a stage into its layers."""

    HELP = ("The base's layers folded by stage (conv1, conv2_x … conv5_x for ResNet50). 'phase 1' marks what "
            "trains with the head, 'phase 2' what fine-tuning unfreezes (k/n: k of the stage's n layers; BN: a "
            "BatchNormalization layer kept frozen). Enter folds or unfolds a stage.")


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
    TransferPanel .tl-field Input, TransferPanel .tl-field Select { width: 1fr; }
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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table = None  # core BaseTable of the base on show, or None while building
        self.last_n = DEFAULT_LAST
        self.freeze = True
        self.weights_ok: bool | None = None
        self.weights_message = ""
        self.error: str | None = None
        self.expanded: set[int] = set()  # stage indexes shown unfolded
        self._marks: dict[str, str] = {}  # row key → phase-2 mark on screen
        self.builds = Requests()  # base builds: the latest wins
        self._head: list[LayerSpec] | None = None  # None: the default head for the data's classes
        self._building = False
        self._bases = list(BASES)
        self.data_shape: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        def row(name: str, widget) -> Horizontal:
            return Horizontal(Label(name, classes="tl-name"), widget, classes="tl-field")

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
            with Form(id="tl-side"):
                yield Label("[b]Base[/b]")
                yield row("base", Select([(b, b) for b in BASES], value="ResNet50", allow_blank=False, id="tl-base",
                                         compact=True))
                yield row("weights", Select(WEIGHTS, value="imagenet", allow_blank=False, id="tl-weights",
                                            compact=True))
                yield row("file", Input(id="tl-file", placeholder="weights .h5", compact=True))
                yield row("input", Input(id="tl-input", placeholder="from data", compact=True))
                yield Static(id="tl-weights-hint", classes="tl-hint")
                yield Label("[b]Phase 1 · head[/b]", classes="tl-heading")
                yield row("epochs", Input(id="tl-epochs", type="integer", compact=True))
                yield Checkbox("freeze the base", value=True, id="tl-freeze", compact=True)
                yield Label("[b]Phase 2 · fine-tune[/b]", classes="tl-heading")
                yield row("last N", Input(id="tl-n", type="integer", compact=True))
                yield row("learn rate", Input(id="tl-lr", compact=True))
                yield row("epochs", Input(id="tl-ft-epochs", type="integer", compact=True))
                yield Checkbox("TensorBoard logs", id="tl-tensorboard", compact=True)
                yield Static(BN_WHY, classes="tl-hint tl-heading", id="tl-bn-why")

    def on_mount(self) -> None:
        self.query_one("#tl-side").can_focus = False  # tab goes to its fields; the keys stay on the table
        table = self.query_one(StageTable)
        for label, key, width in (("stage / layer", "name", 16), ("phase 1", "ph1", 7), ("phase 2", "ph2", 7),
                                  ("params", "params", 10)):
            table.add_column(label, key=key, width=width)
        self._show_settings(self.app.session.preset)
        self._counts()
        self.redraw(full=True)
        self._keras_bases()

    def on_show(self, event: events.Show) -> None:
        """Shown (its tab picked): the keys act on the layer table, and the base is built once."""
        # After the layout: hiding the other tab moves the focus to this one's first field meanwhile.
        self.call_after_refresh(self.query_one(StageTable).focus)
        if self.table is None and not self._building and self.error is None:
            self.inspect()

    def on_resize(self, event: events.Resize) -> None:
        # Under 100 columns the chart and the phase table take turns (c) instead of squeezing both.
        self.set_class(event.size.width < 100, "-narrow")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_chart":
            return self.has_class("-narrow")  # wide: both are shown, the key is hidden
        return True

    def action_toggle_chart(self) -> None:
        self.toggle_class("-chart")

    @work(thread=True, exit_on_error=False, group="transfer-bases")
    def _keras_bases(self) -> None:
        from kerastui.core.transfer import application_names

        names = application_names()
        self.app.call_from_thread(self._set_bases, names)

    def _set_bases(self, names: list[str]) -> None:
        select = self.query_one("#tl-base", Select)
        current = str(select.value)
        self._bases = list(dict.fromkeys([*BASES, *names, current]))
        with self.prevent(Select.Changed):
            select.set_options([(n, n) for n in self._bases])
            select.value = current

    # ------------------------------------------------------------------ the preset

    def preset_opened(self, preset: Preset) -> None:
        self._show_settings(preset)
        self.table = None
        self.error = None
        self.expanded.clear()
        self.query_one(StageTable).clear()
        self._marks.clear()
        self._counts()
        if self.display and self.is_mounted and self.region.area:
            self.inspect()

    def _show_settings(self, preset: Preset) -> None:
        spec = preset.transfer or TransferSpec(fine_tune_last=DEFAULT_LAST, fine_tune_epochs=preset.fit.epochs)
        self._head = list(preset.model.layers) if preset.transfer is not None and preset.model.layers else None
        with self.prevent(Select.Changed, Input.Changed, Checkbox.Changed):
            base = self.query_one("#tl-base", Select)
            if spec.base not in self._bases:
                self._bases.append(spec.base)
                base.set_options([(b, b) for b in self._bases])
            base.value = spec.base
            weights = spec.weights if spec.weights in ("imagenet", "none") else "file"
            self.query_one("#tl-weights", Select).value = weights
            self.query_one("#tl-file", Input).value = spec.weights if weights == "file" else ""
            shape = spec.input_shape
            self.query_one("#tl-input", Input).value = "x".join(str(d) for d in shape) if shape else ""
            self.query_one("#tl-epochs", Input).value = str(preset.fit.epochs)
            self.query_one("#tl-freeze", Checkbox).value = spec.freeze
            self.query_one("#tl-n", Input).value = str(spec.fine_tune_last)
            self.query_one("#tl-lr", Input).value = f"{spec.fine_tune_learning_rate:g}"
            self.query_one("#tl-ft-epochs", Input).value = str(spec.fine_tune_epochs)
            self.query_one("#tl-tensorboard", Checkbox).value = preset.callbacks.tensorboard is not None
        self.freeze = spec.freeze
        self.last_n = spec.fine_tune_last
        self.weights_ok, self.weights_message = None, ""

    def transfer_spec(self) -> TransferSpec:
        """The transfer section as the form has it; ValueError names the field."""
        weights = str(self.query_one("#tl-weights", Select).value)
        if weights == "file":
            weights = self.query_one("#tl-file", Input).value.strip()
            if not weights:
                raise ValueError("weights file: enter the path of a weights .h5 file (or choose imagenet or none)")
        lr = _number(self.query_one("#tl-lr", Input).value or "1e-5", float, "fine-tune learn rate", 0.0)
        return TransferSpec(
            base=str(self.query_one("#tl-base", Select).value), weights=weights,
            input_shape=parse_size(self.query_one("#tl-input", Input).value), freeze=self.freeze,
            fine_tune_last=self.last_n, fine_tune_learning_rate=lr,
            fine_tune_epochs=_number(self.query_one("#tl-ft-epochs", Input).value or "0", int, "fine-tune epochs", 0),
            allow_no_weights=bool(self.app.session.preset.transfer and self.app.session.preset.transfer.allow_no_weights))

    @on(Input.Changed, "#tl-lr")
    @on(Input.Changed, "#tl-ft-epochs")
    @on(Input.Changed, "#tl-file")
    @on(Input.Changed, "#tl-input")
    def sync_preset(self) -> None:
        """A transfer preset follows the panel, so saving it (ctrl+s) keeps what is set here."""
        if self.app.session.preset.transfer is None:
            return
        try:
            self.app.session.preset.transfer = self.transfer_spec()
        except ValueError:
            pass  # shown when the value is used (s, enter)

    def head_layers(self, classes: int) -> list[LayerSpec]:
        from kerastui.core.transfer import default_head

        if self._head is not None:
            return copy.deepcopy(self._head)
        return default_head(classes)

    def run_preset(self) -> Preset:
        """The app's preset with this panel's transfer section, head and epochs (what ``s`` trains)."""
        preset = self.app.session.current_preset()
        spec = self.transfer_spec()
        if self._head is None:  # a preset without a transfer section: the exercise's head
            from kerastui.core.datasets import describe

            preset.model = replace(preset.model, type="sequential",
                                   layers=self.head_layers(describe(preset.data, preset.base_dir).num_classes or 2))
        preset.transfer = spec
        preset.fit = replace(preset.fit, epochs=_number(self.query_one("#tl-epochs", Input).value, int,
                                                        "head epochs", 1))
        if self.query_one("#tl-tensorboard", Checkbox).value:
            preset.callbacks.tensorboard = preset.callbacks.tensorboard or TensorBoardSpec()
        else:
            preset.callbacks.tensorboard = None
        return preset

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
        self.query_one("#tl-info", Static).update(f"[dim]building {spec.base}…[/dim]")
        self._inspect(ticket, spec, copy.deepcopy(self.app.session.current_preset()))

    @work(thread=True, exit_on_error=False, group="transfer-base")
    def _inspect(self, ticket: int, spec: TransferSpec, preset: Preset) -> None:
        from kerastui.core import datasets
        from kerastui.core.errors import KerasTUIError, one_line
        from kerastui.core.transfer import check_weights, inspect_base, transfer_image_shape

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
        except KerasTUIError as error:
            self.app.call_from_thread(self._failed, ticket, str(error))
        except Exception as error:  # noqa: BLE001 - shown as one line, never a traceback
            self.app.call_from_thread(self._failed, ticket, f"{type(error).__name__}: {one_line(error)}")

    def _inspected(self, ticket: int, table, data_shape: tuple[int, ...]) -> None:
        if not self.builds.is_latest(ticket):
            return
        self.table = table
        self._building = False
        self.last_n = table.clamp(self.last_n)
        self.data_shape = data_shape
        self.expanded.clear()
        self._fill_table()
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
        line = Text("✗ " + message, style="red", no_wrap=True, overflow="ellipsis")
        self.query_one("#tl-info", Static).update(line)
        self.query_one("#tl-weights-hint", Static).update(message)

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
        hint = self.query_one("#tl-weights-hint", Static)
        if self.weights_ok is None:
            line.append("weights: checking…", style="dim")
            hint.update("")
        elif self.weights_ok:
            line.append(self.weights_message.split(" (")[0], style="green")
            hint.update(self.weights_message)
        else:
            message = self.weights_message
            if message.startswith("imagenet offline"):  # the way out first: it must fit 80 columns
                message = f"imagenet offline · w: none or a weights file · {table.base} weights not cached"
            line = Text("✗ " + message, style="red", no_wrap=True, overflow="ellipsis")
            hint.update(self._offline_hint())
        self.query_one("#tl-info", Static).update(line)

    def _offline_hint(self) -> str:
        from kerastui.core.transfer import WEIGHT_FILES, keras_models_dir

        file = WEIGHT_FILES.get(str(self.query_one("#tl-base", Select).value))
        where = f"put {file} in {keras_models_dir()}/, " if file else ""
        return f"{self.weights_message}: {where}or press w for none or a weights file."

    # ------------------------------------------------------------------ the table and counts

    def _fill_table(self) -> None:
        """All rows (stages, and the layers of unfolded stages): after a build or a fold only."""
        widget = self.query_one(StageTable)
        table = self.table
        cursor = widget.cursor_row
        widget.clear()
        self._marks.clear()
        if table is None:
            return
        ph1 = "·" if self.freeze else "✓"
        for s, (stage, start, stop) in enumerate(table.stages):
            params = sum(layer.params for layer in table.layers[start:stop])
            fold = "▾" if s in self.expanded else "▸"
            key = f"s{s}"
            mark = self._stage_mark(start, stop)
            widget.add_row(f"{fold} {stage} ({stop - start})", mark_cell(ph1), mark_cell(mark),
                           Text(f"{params:,}", justify="right"), key=key)
            self._marks[key] = mark
            if s in self.expanded:
                for layer in table.layers[start:stop]:
                    key = f"l{layer.index}"
                    mark = self._layer_mark(layer.index)
                    name = f"  {layer.name}"
                    widget.add_row(Text(name, style="dim" if layer.batch_norm else ""), mark_cell(ph1), mark_cell(mark),
                                   Text(f"{layer.params:,}", justify="right"), key=key)
                    self._marks[key] = mark
        if widget.row_count:
            widget.move_cursor(row=min(max(cursor, 0), widget.row_count - 1))

    def _stage_mark(self, start: int, stop: int) -> str:
        trained = sum(self.table.unfrozen(i, self.last_n) for i in range(start, stop))
        if trained == 0:
            return "·"
        return "✓" if trained == sum(not layer.batch_norm for layer in self.table.layers[start:stop]) and \
            trained == stop - start else f"{trained}/{stop - start}"

    def _layer_mark(self, index: int) -> str:
        if self.table.unfrozen(index, self.last_n):
            return "✓"
        cut = len(self.table.layers) - self.last_n
        return "BN ·" if index >= cut and self.table.layers[index].batch_norm else "·"

    def _update_marks(self) -> None:
        """Only the cells whose mark changed: a handful per key press, whatever the base's size."""
        widget = self.query_one(StageTable)
        table = self.table
        for s, (_, start, stop) in enumerate(table.stages):
            changed = {f"s{s}": self._stage_mark(start, stop)}
            if s in self.expanded:
                changed.update({f"l{i}": self._layer_mark(i) for i in range(start, stop)})
            for key, mark in changed.items():
                if self._marks.get(key) != mark:
                    self._marks[key] = mark
                    widget.update_cell(key, "ph2", mark_cell(mark))

    def _counts(self) -> None:
        """The trainable / non-trainable counts of both phases, from the table: sums only."""
        widget = self.query_one("#tl-counts", Static)
        table = self.table
        if table is None:
            widget.update("" if self.error else "[dim]the counts appear once the base is built[/dim]", layout=False)
            return
        p1, p2 = table.phase1(self.freeze), table.phase2(self.last_n)
        lines = Text(no_wrap=True, overflow="ellipsis")
        lines.append(f"{'parameters':<18}{'trainable':>11}{'non-trainable':>14}\n", style="bold")
        phase1 = "phase 1 (head)" if self.freeze else "phase 1 (+base)"
        lines.append(f"{phase1:<18}{p1.trainable:>11,}{p1.non_trainable:>14,}\n")
        lines.append(f"{f'phase 2 (last {self.last_n})':<18}{p2.trainable:>11,}{p2.non_trainable:>14,}\n")
        bn = table.batch_norm_kept(self.last_n)
        trained = sum(table.unfrozen(i, self.last_n) for i in range(len(table.layers)))
        lines.append(f"{trained} of last {self.last_n} train; {bn} BatchNorm kept frozen (F1)"
                     if self.last_n else "N = 0: no fine-tuning phase", style="dim")
        widget.update(lines, layout=False)
        n_input = self.query_one("#tl-n", Input)
        if n_input.value != str(self.last_n):
            with self.prevent(Input.Changed):
                n_input.value = str(self.last_n)

    def set_last(self, value: int) -> None:
        value = self.table.clamp(value) if self.table is not None else max(0, int(value))
        if value == self.last_n:
            return
        self.last_n = value
        self._counts()
        if self.table is not None:
            self._update_marks()
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
        select = self.query_one("#tl-weights", Select)
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
        try:
            preset = self.run_preset()
        except ValueError as error:
            self.notify(str(error), title="transfer", severity="error")
            return
        except Exception as error:  # noqa: BLE001 - e.g. the data's description failing: one line
            from kerastui.core.errors import one_line

            self.notify(one_line(error), title="transfer", severity="error")
            return
        self.app.start_training(preset)

    def action_stop(self) -> None:
        self.app.stop_training()

    @on(Checkbox.Changed, "#tl-freeze")
    def _freeze_changed(self, event: Checkbox.Changed) -> None:
        self.freeze = event.value
        if self.table is not None:
            ph1 = "·" if self.freeze else "✓"
            widget = self.query_one(StageTable)
            for key in self._marks:
                widget.update_cell(key, "ph1", mark_cell(ph1))
        self._counts()
        self.sync_preset()

    @on(Input.Changed, "#tl-n")
    def _n_typed(self, event: Input.Changed) -> None:
        try:
            value = int(event.value)
        except ValueError:
            return
        if value >= 0:
            self.set_last(value)

    @on(Select.Changed, "#tl-base")
    @on(Select.Changed, "#tl-weights")
    @on(Input.Submitted, "#tl-input")
    @on(Input.Submitted, "#tl-file")
    def _rebuild(self) -> None:
        self.sync_preset()
        if str(self.query_one("#tl-weights", Select).value) == "file" and not self.query_one("#tl-file", Input).value.strip():
            self.weights_ok, self.weights_message = None, ""
            self.query_one("#tl-weights-hint", Static).update("enter a weights .h5 path above, then enter")
            return
        self.weights_ok, self.weights_message = None, ""
        self.inspect()

    @on(StageTable.RowSelected)
    def _fold(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if self.table is None:
            return
        if key.startswith("s"):
            stage = int(key[1:])
        else:
            index = int(key[1:])
            stage = next(s for s, (_, a, b) in enumerate(self.table.stages) if a <= index < b)
        self.expanded ^= {stage}
        self._fill_table()
        widget = self.query_one(StageTable)
        widget.move_cursor(row=widget.get_row_index(f"s{stage}"))

    # ------------------------------------------------------------------ the run

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Training events from the app: the run line always; chart and phase table per epoch."""
        state = self.app.session.run_state
        transfer_run = state is not None and (state.phase in ("head", "fine_tune") or bool(
            state.result is not None and getattr(state.result, "phases", None)))
        self.set_class(transfer_run, "-has-run")
        run = self.query_one("#tl-run", Static)
        if not transfer_run:
            run.update("[dim]s trains the head, then fine-tunes the last N layers[/dim]", layout=False)
            return
        parts = [f"[b]{state.status}[/b]", {"head": "phase 1 · head", "fine_tune": "phase 2 · fine-tune"}.get(
            state.phase, state.phase)]
        current = state.epoch + 1 if state.running else state.epochs_done
        parts.append(f"epoch {min(current, state.epochs_planned)}/{state.epochs_planned}")
        if state.error:
            parts.append(f"[red]{state.error}[/red]")
        result = state.result
        if result is not None and getattr(result, "tensorboard", None):
            parts.append(result.tensorboard)
        run.update(" · ".join(parts), layout=False)
        if full or epoch:
            chart = self.query_one(PhaseChart)
            metric = next((k for k in ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")
                           if k in state.history), "loss")
            chart.metric = metric
            chart.set_series(state.history, state.boundaries)
            self.query_one("#tl-phases", Static).update(phase_table(state))


def mark_cell(mark: str) -> Text:
    """A trainable mark as drawn: ✓ trains, · frozen, k/n part of a stage, BN · kept frozen."""
    style = {"✓": "green", "·": "dim", "BN ·": "magenta"}.get(mark, "yellow")
    return Text(mark, style=style, justify="center")


def phase_table(state) -> Table:
    """Phase 1 against phase 2: accuracy and loss on train, validation and test, and Δ."""
    history = state.history
    cut = state.boundaries[0] if state.boundaries else state.epochs_done
    recorded = list(getattr(state.result, "phases", None) or []) if state.result is not None else []
    acc = next((k for k in ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")
                if k in history), None)

    def last(key: str, phase: int) -> float | None:
        values = history.get(key) or []
        span = values[:cut] if phase == 0 else values[cut:]
        clean = [v for v in span if v == v]
        return clean[-1] if clean else None

    grid = Table(box=None, pad_edge=False, padding=(0, 1), title="phase 1 vs phase 2", title_justify="left")
    for label, justify in (("", "left"), ("head", "right"), ("fine-tune", "right"), ("Δ", "right")):
        grid.add_column(label, justify=justify, no_wrap=True)
    metrics = [m for m in (acc, "loss") if m]
    for metric in metrics:
        for split, prefix in (("train", ""), ("val", "val_"), ("test", None)):
            if prefix is None:
                cells = [recorded[i].get("test", {}).get(metric) if i < len(recorded) else None for i in (0, 1)]
            else:
                cells = [last(prefix + metric, 0), last(prefix + metric, 1) if state.boundaries else None]
            name = "acc" if metric == acc else metric
            row = [f"{split} {name}", *(f"{v:.4f}" if v is not None else "–" for v in cells)]
            row.append(f"{cells[1] - cells[0]:+.4f}" if None not in cells else "")
            grid.add_row(*row)
    if recorded:
        grid.add_row("trainable", *(f"{p['trainable']:,}" for p in recorded[:2]), *([""] * (3 - min(len(recorded), 2))))
    return grid

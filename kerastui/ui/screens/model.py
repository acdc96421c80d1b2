"""Model workspace: the layer-stack editor with live output shapes and parameter counts."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from kerastui.core.errors import ModelError
from kerastui.core.model.specs import LayerSpec, Preset
from kerastui.ui.latest import Requests
from kerastui.ui.messages import StackChecked
from kerastui.ui.safe import markup, plain
from kerastui.ui.screens.base import Workspace
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tables import add_rows, set_columns
from kerastui.ui.widgets.tabs import WorkspaceTabs

if TYPE_CHECKING:
    from textual.content import Content

    from kerastui.core.model.builder import StackReport

READ_ONLY = "a subclass model is read-only here: edit its .py file"


class LayerTable(DataTable):
    """The layer stack: index, type, key arguments, output shape and parameters per row."""

    HELP = ("The layer table. a adds a layer after the cursor, enter edits, x deletes, "
            "shift+up/down moves, c duplicates, u undoes and r redoes. Shapes and counts come from Keras.")

    def show(self, layers: Sequence[LayerSpec], report: StackReport | None, *, functional: bool = False,
             read_only: bool = False, cursor: int | None = None) -> None:
        """The stack's layers, with Keras's shapes and counts from ``report`` (None: still checking, "…").

        A transfer base comes first (key "base"); each layer's row key is its index in the stack, and a
        layer Keras rejected is marked in red.  A read-only (subclass) model shows the report's rows
        only.  The cursor stays on its row, or moves to row ``cursor``."""
        from kerastui.core.model.builder import args_text

        keep = self.cursor_row if cursor is None else cursor
        columns = ["#", "type", *(["name", "inputs"] if functional else []), "arguments", "output shape", "params"]
        set_columns(self, columns)
        rows = report.rows if report is not None and report.error is None else None
        error_index = report.error_index if report is not None else None
        cells_list: list[list[object]] = []
        keys: list[str | None] = []
        if read_only and rows is not None:
            for row in rows:
                cells_list.append(["·", row.type, "", row.output_shape,
                                   f"{row.params:,}" if row.params is not None else ""])
                keys.append(None)
        else:
            extra = [r for r in rows if r.index < 0] if rows else []
            for row in extra:  # a transfer base
                cells_list.append(["base", Text(row.type, style="bold"), *(["", ""] if functional else []), row.args,
                                   row.output_shape, f"{row.params:,}"])
                keys.append("base")
            by_index = {r.index: r for r in rows or [] if r.index >= 0}
            for i, spec in enumerate(layers):
                stack_row = by_index.get(i)
                bad = error_index == i
                style = "bold red" if bad else ""
                cells: list[object] = [Text(str(i), style=style), Text(("✗ " if bad else "") + spec.type, style=style)]
                if functional:
                    cells += [spec.name or "", ", ".join(spec.inputs or [])]
                cells += [args_text(spec.kwargs),
                          stack_row.output_shape if stack_row else ("…" if report is None else ""),
                          f"{stack_row.params:,}" if stack_row and stack_row.params is not None else ""]
                cells_list.append(cells)
                keys.append(str(i))
        add_rows(self, cells_list, keys)
        if self.row_count:
            self.move_cursor(row=max(0, min(keep, self.row_count - 1)))


class ModelScreen(Workspace):
    """Model workspace: edit the stack; Keras rebuilds it off the UI thread after every change."""

    CSS_PATH = "model.tcss"

    HELP = "## Model workspace\nStack layers; every edit is checked by building the model with Keras."
    BINDINGS = [
        Binding("a", "add_layer", "Add", tooltip="Add a layer from Keras's catalogue after the cursor", id="layer.add"),
        Binding("enter,e", "edit_layer", "Edit", tooltip="Edit the layer under the cursor", id="layer.edit"),
        Binding("x,delete", "delete_layer", "Delete", tooltip="Delete the layer under the cursor", id="layer.delete"),
        Binding("shift+up", "move_layer(-1)", "Up", tooltip="Move the layer up", id="layer.up", show=False),
        Binding("shift+down", "move_layer(1)", "Down", tooltip="Move the layer down", id="layer.down", show=False),
        Binding("c", "duplicate_layer", "Copy", tooltip="Duplicate the layer under the cursor", id="layer.duplicate",
                show=False),
        Binding("u", "undo", "Undo", tooltip="Undo the last edit", id="stack.undo"),
        Binding("r", "redo", "Redo", tooltip="Redo the edit undone last", id="stack.redo", show=False),
        Binding("f", "toggle_functional", "Seq/Func",
                tooltip="Switch between Sequential and Functional (names and inputs)",
                id="model.kind"),
        Binding("s", "show_summary", "Summary", tooltip="model.summary() of the current stack", id="model.summary"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._checks = Requests()  # stack checks: the latest wins
        self._shown = -1  # the ticket of the check whose answer is on screen
        self.report = None
        self.last_valid = None
        self.input_shape: tuple[int, ...] | None = None

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("model")
        with Vertical(id="model-body"):
            yield Static(id="model-title")
            yield LayerTable(id="layers", cursor_type="row", zebra_stripes=True)
            yield Static(id="model-error")
            yield Static(id="model-totals")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(LayerTable).focus()
        self.refresh_stack()

    def data_changed(self) -> None:
        """The dataset changed: input shapes follow it."""
        self.refresh_stack()

    def stack_changed(self) -> None:
        """A model file was opened: its layers are the stack now."""
        self.refresh_stack()

    def preset_opened(self) -> None:
        self.last_valid = None
        self.refresh_stack()

    # ------------------------------------------------------------------ checking

    @property
    def preset(self) -> Preset:
        return self.app.session.current_preset()

    @property
    def checking(self) -> bool:
        """Keras has not yet answered for the stack on screen (shapes and counts show "…")."""
        return not self._checks.is_latest(self._shown)

    @property
    def read_only(self) -> bool:
        return self.app.session.preset.model.type == "subclass"

    def refresh_stack(self, cursor: int | None = None) -> None:
        """Show the specs at once, then ask Keras for shapes and counts in a worker."""
        ticket = self._checks.new()
        self._fill(self.app.session.stack.layers, None, cursor)
        self.query_one("#model-title", Static).update(self._title())
        self._check(ticket, self.preset)

    def _title(self) -> Content:
        preset = self.app.session.preset
        kind = preset.model.type
        if preset.transfer is not None:  # (the base's name and a weights file's path, from the preset)
            kind = f"transfer: {preset.transfer.base} base (weights {preset.transfer.weights}) + head"
        shape = f"input {list(self.input_shape)}" if self.input_shape else "input from the data"
        waiting = "" if self.app.tf_ready or self.app.deterministic else "  [dim](waiting for TensorFlow…)[/dim]"
        return markup(f"[b]$kind[/b] · $shape · {len(self.app.session.stack.layers)} layers{waiting}", kind=kind,
                      shape=shape)

    @work(thread=True, exclusive=True, group="stack", exit_on_error=False)
    def _check(self, ticket: int, preset: Preset) -> None:
        from kerastui.core.check import stack_check

        report = stack_check(preset)
        self.post_message(StackChecked(ticket, report))

    @on(StackChecked)
    def _checked(self, message: StackChecked) -> None:
        if not self._checks.is_latest(message.ticket):
            return  # a newer edit is being checked
        shape, report = message.report
        self._shown = message.ticket
        self.input_shape = shape
        self.report = report
        if report.error is None:
            self.last_valid = report
        self._fill(self.app.session.stack.layers, report, None)
        self.query_one("#model-title", Static).update(self._title())

    # ------------------------------------------------------------------ drawing

    def _fill(self, layers: list[LayerSpec], report: StackReport | None, cursor: int | None) -> None:
        functional = self.app.session.preset.model.type == "functional"
        self.query_one(LayerTable).show(layers, report, functional=functional, read_only=self.read_only,
                                        cursor=cursor)
        self._show_totals(report)

    def _show_totals(self, report) -> None:
        error = self.query_one("#model-error", Static)
        totals = self.query_one("#model-totals", Static)
        if report is not None and report.error:
            error.update(plain(f"✗ {report.error}", "red", one_line=False))  # (it quotes the preset)
            error.display = True
        else:
            error.update("")
            error.display = False
        shown = report if report is not None and report.error is None else self.last_valid
        if shown is None or shown.totals is None:
            totals.update("[dim]parameters: computing…[/dim]" if report is None else "[dim]no valid stack yet[/dim]")
            self.app.model_label = ""
            return
        t = shown.totals
        stale = "  [yellow](last valid stack)[/yellow]" if shown is not report else ""
        totals.update(f"Total params: [b]{t['total']:,}[/b] · Trainable: {t['trainable']:,} · "
                      f"Non-trainable: {t['non_trainable']:,}{stale}")
        self.app.model_label = f"{t['total']:,} params"

    # ------------------------------------------------------------------ editing

    def _cursor(self) -> int:
        table = self.query_one(LayerTable)
        if not table.row_count:
            return -1
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key and key.isdigit() else -1

    def _editable(self) -> bool:
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return False
        return True

    def validator(self, index: int, insert: bool):
        """For the form: build the stack with ``spec`` in place; Keras's reason, or None."""
        base = self.preset

        def validate(spec: LayerSpec) -> str | None:
            preset = copy.deepcopy(base)
            if insert:
                preset.model.layers.insert(index, spec)
            else:
                preset.model.layers[index] = spec
            try:
                preset_check = Preset.from_dict(preset.to_dict(), "layer")
            except Exception as error:  # noqa: BLE001 - PresetError: names, inputs
                return str(error).removeprefix("layer: ")
            preset_check.path, preset_check.name = base.path, base.name
            from kerastui.core.check import stack_check

            _, report = stack_check(preset_check)
            return report.error

        return validate

    def action_add_layer(self) -> None:
        if not self._editable():
            return
        from kerastui.ui.screens.dialogs import CatalogueDialog

        index = self._cursor() + 1

        def picked(name: str | None) -> None:
            if name:
                self._open_form(name, None, index, insert=True)

        self.app.push_screen(CatalogueDialog(), picked)

    @on(LayerTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit_layer()

    def action_edit_layer(self) -> None:
        index = self._cursor()
        if index < 0 or not self._editable():
            return
        spec = self.app.session.stack.layers[index]
        self._open_form(spec.type, spec, index, insert=False)

    def _open_form(self, layer_type: str, spec: LayerSpec | None, index: int, *, insert: bool) -> None:
        from kerastui.core.model.layers import lookup
        from kerastui.ui.screens.layer_form import LayerFormDialog

        try:
            info = lookup(layer_type)
        except ModelError as error:
            self.notify(str(error), severity="error")
            return
        functional = self.app.session.preset.model.type == "functional"
        if functional and spec is None:
            names = {layer.name for layer in self.app.session.stack.layers}
            base = layer_type.lower()
            n = 1
            while f"{base}_{n}" in names:
                n += 1
            spec = LayerSpec(type=layer_type, name=f"{base}_{n}")

        def done(result: LayerSpec | None) -> None:
            if result is None:
                return
            if insert:
                at = self.app.session.stack.insert(index, result)
            else:
                self.app.session.stack.replace(index, result)
                at = index
            self.refresh_stack(cursor=at + self._base_rows())

        self.app.push_screen(LayerFormDialog(info, spec, functional=functional,
                                             validate=self.validator(index, insert)), done)

    def _base_rows(self) -> int:
        return 1 if self.app.session.preset.transfer is not None else 0

    def action_delete_layer(self) -> None:
        index = self._cursor()
        if index < 0 or not self._editable():
            return
        at = self.app.session.stack.delete(index)
        self.refresh_stack(cursor=max(at, 0) + self._base_rows())

    def action_move_layer(self, delta: int) -> None:
        index = self._cursor()
        if index < 0 or not self._editable():
            return
        at = self.app.session.stack.move(index, delta)
        self.refresh_stack(cursor=at + self._base_rows())

    def action_duplicate_layer(self) -> None:
        index = self._cursor()
        if index < 0 or not self._editable():
            return
        at = self.app.session.stack.duplicate(index)
        self.refresh_stack(cursor=at + self._base_rows())

    def action_undo(self) -> None:
        if self.app.session.stack.undo():
            self.refresh_stack()
        else:
            self.notify("nothing to undo")

    def action_redo(self) -> None:
        if self.app.session.stack.redo():
            self.refresh_stack()
        else:
            self.notify("nothing to redo")

    def action_toggle_functional(self) -> None:
        if not self._editable() or self.app.session.preset.transfer is not None:
            return
        preset = self.app.session.preset
        layers = copy.deepcopy(self.app.session.stack.layers)
        if preset.model.type == "sequential":
            previous = None
            for i, spec in enumerate(layers):
                spec.name = spec.name or f"{spec.type.lower()}_{i}"
                if spec.type not in ("Input", "InputLayer"):
                    spec.inputs = [previous] if previous else None
                previous = spec.name
            preset.model.type = "functional"
        else:
            if any(spec.inputs and len(spec.inputs) > 1 for spec in layers):
                self.notify("this functional model merges branches: it cannot be sequential", severity="warning")
                return
            for spec in layers:
                spec.inputs = None
            preset.model.type = "sequential"
            preset.model.outputs = None
        self.app.session.stack.set(layers)
        self.refresh_stack()

    def action_show_summary(self) -> None:
        from kerastui.ui.screens.dialogs import TextDialog

        report = self.report if self.report is not None and self.report.error is None else self.last_valid
        if report is None or report.summary is None:
            self.notify("no valid model to summarise yet", severity="warning")
            return
        self.app.push_screen(TextDialog("model.summary()", report.summary))

    def system_commands(self) -> Iterator[SystemCommand]:
        return self.binding_commands("Model")


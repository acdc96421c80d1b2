"""Train workspace: compile and fit settings, live charts, progress, epoch table, evaluation."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Static

from kerastui.core.model.kerasobjects import COMPILE_HELP
from kerastui.core.model.specs import (
    PRECISIONS,
    CheckpointSpec,
    EarlyStoppingSpec,
    Preset,
    ReduceLRSpec,
    TensorBoardSpec,
)
from kerastui.core.resources import size_text
from kerastui.core.run.priority import QUIET
from kerastui.core.text import visible
from kerastui.ui.safe import plain, widget_id
from kerastui.ui.screens.base import Workspace
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import EpochChart, MetricChart, StepChart, family
from kerastui.ui.widgets.devices_line import DevicesLine
from kerastui.ui.widgets.entries import compile_entry, entry_fields, metrics_text, parse_arguments, parse_metrics
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.form import parse_number
from kerastui.ui.widgets.grid import LineTable, TableColumn
from kerastui.ui.widgets.predictions import predictions_view
from kerastui.ui.widgets.settings_grid import (
    ChoiceField,
    Heading,
    Hint,
    SettingsGrid,
    TextField,
    ToggleField,
)
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tables import cell_width
from kerastui.ui.widgets.tabs import WorkspaceTabs

OPTIMIZERS = ["adam", "adamw", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion"]
LOSSES = ["categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
          "mean_squared_error", "mean_absolute_error", "huber", "kl_divergence", "poisson"]


def suggested_loss(summary: dict | None) -> str | None:
    if not summary:
        return None
    if summary.get("task") == "regression":
        return "mean_squared_error"
    if summary.get("label_mode") == "categorical":
        return "categorical_crossentropy"
    return "sparse_categorical_crossentropy"


def gpus_text(gpus: object) -> str:
    """``devices.gpus`` as the form shows it: all, none, or "0, 2"."""
    return ", ".join(str(g) for g in gpus) if isinstance(gpus, list) else str(gpus)


def parse_gpus(text: str) -> str | list[int]:
    """The form's gpus field: blank or "all", "none", or GPU indices ("0, 2"); ValueError names the field."""
    text = text.strip().lower()
    if text in ("", "all", "none"):
        return text or "all"
    try:
        indices = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise ValueError(f"gpus: all, none, or GPU indices like 0, 2 (got {text!r})") from None
    if any(i < 0 for i in indices) or len(set(indices)) != len(indices):
        raise ValueError(f"gpus: GPU indices are distinct and ≥ 0 (got {text!r})")
    return indices


# The form's fields in groups, each the smallest part of the preset that parses on its own.  A
# change of a field applies its group to the session at once; a group that does not parse leaves
# the session's value as it was and says why in its error hint (``<group>-error``), and s refuses.
GROUPS: dict[str, tuple[str, ...]] = {
    "optimizer": ("opt-optimizer", "opt-optimizer-args", "opt-lr"),
    "loss": ("opt-loss", "opt-loss-args"),
    "metrics": ("opt-metrics",),
    "epochs": ("opt-epochs",),
    "batch": ("opt-batch",),
    "val": ("opt-val",),
    "seed": ("opt-fit-seed",),
    "shuffle": ("opt-shuffle",),
    "early": ("cb-early", "cb-early-monitor", "cb-early-patience", "cb-early-restore"),
    "reduce": ("cb-reduce", "cb-reduce-factor"),
    "checkpoint": ("cb-checkpoint",),
    "tensorboard": ("cb-tensorboard", "cb-tb-dir"),
    "gpus": ("dev-gpus",),
    "precision": ("dev-precision",),
    "jit": ("dev-jit",),
    "growth": ("dev-growth",),
}
GROUP_OF = {field_id: group for group, fields in GROUPS.items() for field_id in fields}


def error_hint(group: str) -> Hint:
    """Where the form says why a group does not parse (blank: no line)."""
    return Hint(f"{group}-error", error=True)


class EpochTable(LineTable):
    """Every epoch's metrics, learning rate and duration: one line each, drawn only when in sight
    (a DataTable rendered every cell of the rows in sight at each Tab into or out of it)."""

    HELP = "The epoch table: one row per finished epoch with every metric Keras logged."

    # Its size is the layout's (CSS), never its rows': a row added each epoch changes only what it
    # scrolls over, so it needs no layout pass of the whole screen (Widget's default asks for one,
    # which made each epoch of a followed run cost a full re-render).  A scroll bar appearing still
    # asks for its own layout.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
    # While a run trains it follows at most this often (the charts draw every epoch): a row added
    # repaints every row in sight, and a run of short epochs would keep the UI (and the cores the
    # run trains on) busy with it.  The epochs that came meanwhile are added together, with the first
    # epoch that ends once the interval is up (in that epoch's frame: a frame of its own costs the
    # whole screen's widgets again), or by a timer another interval later if no epoch ends by then.
    LIVE_INTERVAL = 0.5

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown_at = -self.LIVE_INTERVAL
        self._catch_up: Any = None  # the timer that adds the epochs held back

    def show(self, state: RunState, *, full: bool = False, deterministic: bool = False) -> None:
        """The run's finished epochs: the new ones are added; ``full`` (or new metrics) starts over.
        ``deterministic`` leaves the seconds column blank (snapshots) and shows every epoch at once."""
        wait = self._shown_at + self.LIVE_INTERVAL - time.perf_counter()
        if state.running and not (full or deterministic) and wait > 0:
            if self._catch_up is None:
                self._catch_up = self.set_timer(wait + self.LIVE_INTERVAL, lambda: self._held_back(state))
            return
        if self._catch_up is not None:
            self._catch_up.stop()
            self._catch_up = None
        self._shown_at = time.perf_counter()
        self._add_epochs(state, full=full, deterministic=deterministic)

    def _held_back(self, state: RunState) -> None:
        self._catch_up = None
        self._shown_at = time.perf_counter()
        self._add_epochs(state, full=False, deterministic=False)  # (held back: neither full nor a snapshot)

    def _add_epochs(self, state: RunState, *, full: bool, deterministic: bool) -> None:
        keys = list(state.history)
        memory = any(m is not None for m in state.peak_memory)  # a run on a GPU reports its peak
        labels = ["epoch", *keys, *(["peak mem"] if memory else []), "s"]
        if full or [c.key for c in self.columns] != labels:
            self.set_rows([TableColumn(label, label, cell_width(plain(label))) for label in labels], [])
        rows = []
        for row in range(self.row_count, state.epochs_done):
            cells = [str(row + 1)]
            for key in keys:
                values = state.history[key]
                value = values[row] if row < len(values) else float("nan")
                cells.append(f"{value:.3g}" if key == "learning_rate" else f"{value:.4f}")
            if memory:
                peak = state.peak_memory[row] if row < len(state.peak_memory) else None
                cells.append(size_text(peak) if peak is not None else "")
            seconds = state.epoch_seconds[row] if row < len(state.epoch_seconds) else 0.0
            cells.append("" if deterministic else f"{seconds:.1f}")
            rows.append((str(row + 1), cells))
        if not rows:
            return
        # Each column as wide as its widest cell (a loss of 1234.5678 widens it, the rows drawn again).
        widths = [max(column.width, *(len(cells[i]) for _, cells in rows)) for i, column in enumerate(self.columns)]
        if widths != [c.width for c in self.columns]:
            columns = [TableColumn(c.key, c.label, width) for c, width in zip(self.columns, widths, strict=True)]
            self.set_rows(columns, [*zip(self.keys, self.rows, strict=True), *rows])
        else:
            self.add_rows(rows)
        self.move_cursor(row=self.row_count - 1)


class TrainScreen(Workspace):
    """Train workspace."""

    REDRAW_WHEN_SHOWN = True  # (its form shows what other workspaces edited: charts and table with it)

    CSS_PATH = "train.tcss"
    # The layout's classes by the terminal's size (train.tcss): the settings column's width, and the
    # short layout that keeps 8+ plot rows per chart at 80×24.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (72, "-medium"), (110, "-wide"), (160, "-huge")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (22, "-short"), (34, "-tall")]

    HELP = ("## Train workspace\nSet compile and fit options on the left (Tab or ↑ ↓ from field to field; type in "
            "place; enter opens a choice, ← → step through it; space ticks a toggle); s starts, x stops at the end "
            "of the current batch. Charts redraw as each epoch ends (several epochs at once when they end faster "
            "than the charts draw), the progress line twice a second. The layout follows the terminal: at 80×24 "
            "the epoch table sits beside the evaluation under the charts; c gives the charts the whole screen.\n\n"
            + COMPILE_HELP)
    BINDINGS = [
        Binding("s", "start", "Start", tooltip="Train the workspace's model with these settings", id="train.start"),
        Binding("x", "stop", "Stop", tooltip="Stop at the end of the current batch, keeping history and model",
                id="train.stop"),
        Binding("e", "evaluate", "Evaluate", tooltip="Evaluate the trained model on the test split again",
                id="train.evaluate"),
        Binding("c", "charts_only", "Charts", tooltip="Hide or show the settings column and the evaluation: the "
                "charts take the room (at 80×24 each gets 11 plot rows, 9 without c)", id="train.charts_only"),
    ]

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("train")
        with Horizontal(id="train-body"):
            yield SettingsGrid(
                Heading("Compile"),
                ChoiceField("opt-optimizer", "optimizer", [(o, o) for o in OPTIMIZERS], "adam"),
                TextField("opt-optimizer-args", "  args", placeholder="momentum=0.9, nesterov=True",
                          check=lambda t: parse_arguments(t, "optimizer args"),
                          tooltip="The optimizer class's keyword arguments"),
                TextField("opt-lr", "learn rate", kind="number", placeholder="default"),
                error_hint("optimizer"),
                ChoiceField("opt-loss", "loss", [(name, name) for name in LOSSES], LOSSES[0]),
                TextField("opt-loss-args", "  args", placeholder="label_smoothing=0.1",
                          check=lambda t: parse_arguments(t, "loss args"),
                          tooltip="The loss class's keyword arguments"),
                error_hint("loss"),
                Hint("loss-hint"),
                TextField("opt-metrics", "metrics", placeholder="accuracy, TopKCategoricalAccuracy(k=2)",
                          check=parse_metrics, tooltip="Keras names or ClassName(arg=value); top_k_categorical_"
                                                       "accuracy is top-5: TopKCategoricalAccuracy(k=2) for k=2"),
                error_hint("metrics"),
                Hint("custom-metrics"),
                Heading("Fit"),
                TextField("opt-epochs", "epochs", kind="integer"),
                error_hint("epochs"),
                TextField("opt-batch", "batch size", kind="integer"),
                error_hint("batch"),
                TextField("opt-val", "val split", kind="number"),
                error_hint("val"),
                TextField("opt-fit-seed", "seed", kind="integer"),
                error_hint("seed"),
                ToggleField("opt-shuffle", "shuffle", True),
                Heading("Callbacks"),
                ToggleField("cb-early", "EarlyStopping"),
                TextField("cb-early-monitor", "monitor", "val_loss"),
                TextField("cb-early-patience", "patience", "3", kind="integer"),
                error_hint("early"),
                ToggleField("cb-early-restore", "restore best weights", True),
                ToggleField("cb-reduce", "ReduceLROnPlateau"),
                TextField("cb-reduce-factor", "factor", "0.1", kind="number"),
                error_hint("reduce"),
                ToggleField("cb-checkpoint", "ModelCheckpoint (best)"),
                ToggleField("cb-tensorboard", "TensorBoard"),
                TextField("cb-tb-dir", "log dir", placeholder="run dir/tensorboard"),
                Hint("tb-command"),
                Heading("Devices"),
                TextField("dev-gpus", "gpus", placeholder="all | none | 0, 2",
                          tooltip="The GPUs this run uses (numbered as nvidia-smi does); several: "
                                  "MirroredStrategy, batch size is the global batch"),
                error_hint("gpus"),
                ChoiceField("dev-precision", "precision", [(p, p) for p in PRECISIONS], "float32"),
                ChoiceField("dev-jit", "XLA", [("auto", "auto"), ("on", True), ("off", False)], "auto"),
                ToggleField("dev-growth", "GPU memory growth", True),
                id="train-side")
            with Vertical(id="train-main"):
                yield Static(id="train-status")
                yield Static(id="progress-text")
                yield DevicesLine(id="devices-line", classes="hint")
                yield Horizontal(id="charts")
                with Container(id="train-bottom"):
                    yield EpochTable(id="epoch-table")
                    with VerticalScroll(id="evaluation"):
                        yield Static(id="evaluation-text")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._rebuilding = False  # charts being replaced (a new set of metrics)
        self._updates = 0  # the latest epoch's chart updates (drawn one per frame while a run trains)
        self._chain_then: list[Callable[[], object]] = []  # what the latest chain draws after its charts
        self._unparsed: dict[str, str] = {}  # group → why its fields do not parse (the session kept its value)
        self.show_settings(self.app.session.preset)
        self.redraw(full=True)
        self._keras_optimizers()

    @work(thread=True, exit_on_error=False)
    def _keras_optimizers(self) -> None:
        """Replace the starter list with Keras's own optimizers once Keras is importable."""
        from kerastui.core.model.builder import optimizer_names

        names = optimizer_names()
        self.app.call_from_thread(self._set_optimizers, names)

    def _set_optimizers(self, names: list[str]) -> None:
        field = self.form.choice("opt-optimizer")
        current = str(field.value)
        field.set_options([(n, n) for n in dict.fromkeys([*names, current])])
        field.value = current

    def on_screen_resume(self) -> None:
        # Another workspace may have edited the session's preset (the Data workspace's validation
        # split, the Experiments workspace's epochs or metric): the form shows it, except what is
        # typed here and does not parse yet.
        self.show_settings(self.app.session.preset, keep_errors=True)  # (then Workspace's: a full redraw)

    def data_changed(self) -> None:
        """The dataset changed: the loss suggestion follows it."""
        self._loss_hint()

    def preset_opened(self) -> None:
        self.show_settings(self.app.session.preset)
        self.redraw(full=True)

    # ------------------------------------------------------------------ settings form

    @property
    def form(self) -> SettingsGrid:
        """The settings column (compile, fit, callbacks, devices)."""
        return self.query_one("#train-side", SettingsGrid)

    def show_settings(self, preset: Preset, *, keep_errors: bool = False) -> None:
        """The form shows ``preset`` (the session's: nothing is applied back).  ``keep_errors``: the
        groups that do not parse keep what was typed in them, and their errors."""
        form = self.form
        kept = {field_id: form[field_id].value for group in self._unparsed for field_id in GROUPS[group]}
        if not keep_errors:
            kept = {}
            for group in self._unparsed:
                form.set_hint(f"{group}-error", "")
            self._unparsed.clear()
        with form.prevent(SettingsGrid.Changed):
            self._show_settings(preset)
            for field_id, value in kept.items():
                form[field_id].value = value
        self._loss_hint()
        self._tensorboard_hint()

    def _show_settings(self, preset: Preset) -> None:
        c, f, cb = preset.compile, preset.fit, preset.callbacks
        form = self.form
        optimizer = form.choice("opt-optimizer")
        name, form.text("opt-optimizer-args").value = entry_fields(c.optimizer, "optimizer")
        if name not in OPTIMIZERS:
            optimizer.set_options([(o, o) for o in [*OPTIMIZERS, name]])
        optimizer.value = name
        form.text("opt-lr").value = "" if c.learning_rate is None else f"{c.learning_rate:g}"
        loss = form.choice("opt-loss")
        name, form.text("opt-loss-args").value = entry_fields(c.loss, "loss")
        if name not in LOSSES:
            loss.set_options([(n, n) for n in [*LOSSES, name]])
        loss.value = name
        form.text("opt-metrics").value = metrics_text(c.metrics)
        custom = ", ".join(ref.rpartition(":")[2] for ref in c.custom_metrics)
        form.set_hint("custom-metrics", visible(f"custom: {custom}", one_line=True) if custom else "")
        form.text("opt-epochs").value = str(f.epochs)
        form.text("opt-batch").value = str(f.batch_size)
        form.text("opt-val").value = f"{preset.data.validation_split:g}"
        form.text("opt-fit-seed").value = str(f.seed)
        form.toggle("opt-shuffle").value = f.shuffle
        form.toggle("cb-early").value = cb.early_stopping is not None
        if cb.early_stopping is not None:
            form.text("cb-early-monitor").value = cb.early_stopping.monitor
            form.text("cb-early-patience").value = str(cb.early_stopping.patience)
            form.toggle("cb-early-restore").value = cb.early_stopping.restore_best_weights
        form.toggle("cb-reduce").value = cb.reduce_lr is not None
        if cb.reduce_lr is not None:
            form.text("cb-reduce-factor").value = f"{cb.reduce_lr.factor:g}"
        form.toggle("cb-checkpoint").value = cb.checkpoint is not None
        form.toggle("cb-tensorboard").value = cb.tensorboard is not None
        form.text("cb-tb-dir").value = (cb.tensorboard.log_dir or "") if cb.tensorboard else ""
        d = preset.devices
        form.text("dev-gpus").value = gpus_text(d.gpus)
        form.choice("dev-precision").value = d.precision
        form.choice("dev-jit").value = d.jit_compile
        form.toggle("dev-growth").value = d.memory_growth

    def _loss_hint(self) -> None:
        preview = self.app.session.dataset_preview
        hint = suggested_loss(preview.summary if preview else None)
        loss = self.form.choice("opt-loss").value
        text = "" if hint is None else (f"suggested for this data: {hint}" if hint != loss else "✓ suits the data")
        self.form.set_hint("loss-hint", text)

    @on(SettingsGrid.Changed, "#train-side")
    def _setting_changed(self, event: SettingsGrid.Changed) -> None:
        group = GROUP_OF.get(event.field.id)
        if group is not None:
            self.apply_group(group)
        if event.field.id == "opt-loss":
            self._loss_hint()
        elif event.field.id in ("cb-tensorboard", "cb-tb-dir"):
            self._tensorboard_hint()

    def _tensorboard_hint(self) -> None:
        form = self.form
        enabled = form.toggle("cb-tensorboard").value
        typed = form.text("cb-tb-dir").value.strip()
        log_dir = typed or "<run dir>/tensorboard"
        run_dir = self.app.session.run_state.run_dir if self.app.session.run_state else None
        if enabled and not typed and run_dir:
            log_dir = f"{run_dir}/tensorboard"
        form.set_hint("tb-command", f"view: tensorboard --logdir {log_dir}" if enabled else "")

    def apply_group(self, group: str) -> None:
        """A field of ``group`` changed: the group goes to the session, or (when it does not parse)
        its error is shown and the session keeps its last good value."""
        try:
            sections = self._read_group(group)
        except ValueError as error:
            self._unparsed[group] = str(error)
            self.form.set_hint(f"{group}-error", visible(f"✗ {error}", one_line=True))
            return
        if self._unparsed.pop(group, None) is not None:
            self.form.set_hint(f"{group}-error", "")
        self.app.session.edit(**sections)

    @property
    def settings_error(self) -> str | None:
        """Why the form cannot be trained as it stands (the first field that does not parse, named), or None."""
        return next((self._unparsed[group] for group in GROUPS if group in self._unparsed), None)

    def _read_group(self, group: str) -> dict[str, Any]:
        """The preset sections a group of fields sets (the session's, with the group's fields read);
        ValueError names the field."""
        session_preset = self.app.session.preset
        c, f, d = session_preset.compile, session_preset.fit, session_preset.devices
        form = self.form

        def text(field_id: str) -> str:
            return form.text(field_id).value

        def ticked(field_id: str) -> bool:
            return form.toggle(field_id).value

        match group:
            case "optimizer":
                lr = parse_number(text("opt-lr"), float, "learning rate", minimum=0.0, blank=None)
                optimizer = compile_entry("optimizer", str(form.choice("opt-optimizer").value),
                                          text("opt-optimizer-args"), c.optimizer, "optimizer args")
                if lr is not None and not isinstance(optimizer, str) and "learning_rate" in optimizer.kwargs:
                    raise ValueError("learning rate: set in the field and in the optimizer's args; keep one")
                return {"compile": replace(c, optimizer=optimizer, learning_rate=lr)}
            case "loss":
                loss = compile_entry("loss", str(form.choice("opt-loss").value), text("opt-loss-args"), c.loss,
                                     "loss args")
                return {"compile": replace(c, loss=loss)}
            case "metrics":
                return {"compile": replace(c, metrics=parse_metrics(text("opt-metrics")))}
            case "epochs":
                return {"fit": replace(f, epochs=parse_number(text("opt-epochs"), int, "epochs", minimum=1))}
            case "batch":
                return {"fit": replace(f, batch_size=parse_number(text("opt-batch"), int, "batch size", minimum=1))}
            case "seed":
                return {"fit": replace(f, seed=parse_number(text("opt-fit-seed"), int, "seed"))}
            case "shuffle":
                return {"fit": replace(f, shuffle=ticked("opt-shuffle"))}
            case "val":
                val = parse_number(text("opt-val"), float, "val split", minimum=0.0, below=1)
                return {"data": replace(session_preset.data, validation_split=val)}
        cb = copy.deepcopy(session_preset.callbacks)
        match group:
            case "early":
                cb.early_stopping = EarlyStoppingSpec(
                    monitor=text("cb-early-monitor").strip() or "val_loss",
                    patience=parse_number(text("cb-early-patience"), int, "patience", minimum=0),
                    restore_best_weights=ticked("cb-early-restore")) if ticked("cb-early") else None
                return {"callbacks": cb}
            case "reduce":
                if ticked("cb-reduce"):
                    factor = parse_number(text("cb-reduce-factor"), float, "factor", minimum=0.0, below=1)
                    cb.reduce_lr = replace(cb.reduce_lr or ReduceLRSpec(), factor=factor)
                else:
                    cb.reduce_lr = None
                return {"callbacks": cb}
            case "checkpoint":
                cb.checkpoint = (cb.checkpoint or CheckpointSpec()) if ticked("cb-checkpoint") else None
                return {"callbacks": cb}
            case "tensorboard":
                log_dir = text("cb-tb-dir").strip() or None
                tensorboard = replace(cb.tensorboard or TensorBoardSpec(), log_dir=log_dir)
                cb.tensorboard = tensorboard if ticked("cb-tensorboard") else None
                return {"callbacks": cb}
            case "gpus":
                return {"devices": replace(d, gpus=parse_gpus(text("dev-gpus")))}
            case "precision":
                return {"devices": replace(d, precision=str(form.choice("dev-precision").value))}
            case "jit":
                return {"devices": replace(d, jit_compile=form.choice("dev-jit").value)}
            case "growth":
                return {"devices": replace(d, memory_growth=ticked("dev-growth"))}
        raise KeyError(f"no group {group!r} in the Train form")

    # ------------------------------------------------------------------ actions

    def action_start(self) -> None:
        """Train the session's preset: what Save writes is what runs."""
        error = self.settings_error
        if error is not None:
            self.notify(error, title="settings", severity="error")
            return
        self.app.runs.start(self.app.session.current_preset())

    def action_stop(self) -> None:
        self.app.runs.stop()

    def action_evaluate(self) -> None:
        self.app.runs.evaluate_again()

    # ------------------------------------------------------------------ drawing

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Progress always; charts and the epoch table when an epoch ended (or everything)."""
        state: RunState | None = self.app.session.run_state
        self._status(state)
        self._progress(state)
        self.query_one(DevicesLine).show(state, self.app.session.preset.devices)
        if state is None:
            self.add_class("no-evaluation")
            return
        if full or epoch:
            table = partial(self.query_one(EpochTable).show, state, full=full, deterministic=self.app.deterministic)
            self._charts(state, then=[table], at_once=full)
        if full or state.result is not None or state.status == "failed":
            self._evaluation(state)

    def _status(self, state: RunState | None) -> None:
        widget = self.query_one("#train-status", Static)
        if state is None:
            widget.update("[dim]ready — s starts training[/dim]", layout=False)
            return
        best = state.best()
        # (the metric's name, the notices and the error quote the run's preset and files: plain text)
        parts = [plain(state.label, "bold")]
        if state.phase and state.phase != "train":
            parts.append(plain(f"phase {state.phase}"))
        parts.append(plain(state.epoch_label))
        if best:
            parts.append(plain(f"best epoch {best['epoch']} ({best['metric']})"))
        if state.notices:
            parts.append(plain(state.notices[-1], "yellow"))
        if state.error:
            parts.append(plain(state.error, "red"))
        widget.update(Text(" · ").join(parts), layout=False)

    def _progress(self, state: RunState | None) -> None:
        """One line, repainted without a layout pass: bar, batch, loss, samples/s, ETA."""
        text = self.query_one("#progress-text", Static)
        if state is None or not state.steps:
            text.update("", layout=False)
            return
        done = state.batch + 1 if state.running else state.steps
        line = progress_bar(done / state.steps, 30)
        bits = [f"{100 * done // state.steps:>3}%", f"batch {done}/{state.steps}"]
        if state.running:
            loss = state.batch_logs.get("loss")
            if loss is not None:
                bits.append(f"loss {loss:.4f}")
            rate, eta = state.samples_per_second, state.eta_seconds
            if rate and not self.app.deterministic:
                bits.append(f"{rate:,.0f} samples/s")
            if eta is not None and not self.app.deterministic:
                bits.append(f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
        line.append("  " + " · ".join(bits))
        text.update(line, layout=False)

    def _charts(self, state: RunState, *, then: list[Callable[[], object]] | None = None,
                at_once: bool = False) -> None:
        """A chart per metric family (three at most), and the per-step loss when asked for; then the
        updates ``then`` (the epoch table).

        While a run trains and keys come they are drawn one per frame (:meth:`_one_per_frame`), unless
        ``at_once`` (a full redraw) or in snapshots.  With no key for ``QUIET`` seconds they are
        drawn together, in one frame: the epoch's frames halve (each repaints most of the screen),
        and that frame is CPU time the run trains without."""
        # A chart key (or new charts) between an epoch and its table's turn supersedes that epoch's
        # chain: its table update comes along, or the table would wait for the next epoch.
        then = then or self._chain_then
        families = []
        for key in state.history:
            name = family(key)
            if name not in families and name != "learning_rate":
                families.append(name)
        charts = self.query_one("#charts", Horizontal)
        existing = {chart.metric: chart for chart in charts.query(MetricChart)}
        steps = list(charts.query(StepChart))
        wanted = families[:3]
        per_step = self.chart_view.per_step and bool(state.step_loss)
        if list(existing) != wanted or bool(steps) != per_step:
            if not self._rebuilding:
                self._rebuilding = True
                self.call_later(self._rebuild_charts, wanted, per_step)
            self._updates += 1  # (a chain still running draws into charts about to go)
            self._chain_then = []
            for update in then:
                update()
            return
        updates: list[Callable[[], object]] = [partial(chart.set_series, state.history, state.boundaries)
                                               for chart in existing.values()]
        updates += [partial(step_chart.set_points, state.step_loss) for step_chart in steps]
        updates += then
        self._updates += 1
        watching = self.app.seconds_since_key() >= QUIET  # (as the CPU priority's watching state)
        if at_once or watching or self.app.deterministic or not state.running:
            self._chain_then = []
            with self.app.batch_update():
                for update in updates:
                    update()
        else:
            self._chain_then = list(then)
            self._one_per_frame(self._updates, updates)

    def _one_per_frame(self, ticket: int, updates: list[Callable[[], object]]) -> None:
        """An epoch's updates, one per frame: each chart's figure is rebuilt and painted in a frame of
        its own, then the table.  Drawn together they took one frame of ~10 ms, and a key pressed as
        it began waited for all of it; now it waits for one chart at most.  A newer epoch's updates
        replace the rest of these (``ticket``)."""
        if ticket != self._updates or not updates:
            return
        updates[0]()
        if len(updates) > 1:
            self.call_after_refresh(self._one_per_frame, ticket, updates[1:])
        else:
            self._chain_then = []

    async def _rebuild_charts(self, wanted: list[str], per_step: bool) -> None:
        """New charts for a new set of metrics (the old ones removed first: their ids come back)."""
        charts = self.query_one("#charts", Horizontal)
        focused = self.focused in charts.children
        try:
            await charts.remove_children()
            # A metric's name is the user's ("top2 acc"): the id is derived from it, never the name.
            new: list[EpochChart] = [MetricChart(name, id=widget_id("chart", name)) for name in wanted]
            if per_step:
                new.append(StepChart(id="chart-steps"))
            await charts.mount_all(new)
        finally:
            self._rebuilding = False
        if focused and new:
            new[0].focus()
        state = self.app.session.run_state
        if state is not None:
            self._charts(state)

    def charts_changed(self) -> None:
        state = self.app.session.run_state
        if state is not None:
            self._charts(state)
        else:
            super().charts_changed()

    def action_charts_only(self) -> None:
        """Hide the settings (and evaluation) so the charts get the screen; again to bring them back."""
        self.toggle_class("charts-only")  # (the epoch table keeps its last epoch in view: LineTable.on_resize)
        if self.has_class("charts-only") and not isinstance(self.focused, EpochChart):
            # At once, not a call later: the settings column must have lost the focus before the
            # layout hides it, or Textual hands it on to a widget of its own choosing.
            self.set_focus(next(iter(self.query(EpochChart)), None), scroll_visible=False)

    def _evaluation(self, state: RunState) -> None:
        widget = self.query_one("#evaluation-text", Static)
        result = state.result
        # (a short terminal gives the epoch table the whole row until there is an evaluation to show)
        self.set_class(result is None and not state.error, "no-evaluation")
        if result is None:
            widget.update(plain(state.error, "red", one_line=False) if state.error else "")
            return
        parts: list[RenderableType] = [Text("Evaluation on the test split", style="bold")]
        shown = {k: v for k, v in result.test.items() if isinstance(v, float)}
        parts.append(plain("  ".join(f"{k} {v:.4f}" for k, v in shown.items())))
        evaluation = result.evaluation
        if "per_class" in evaluation:
            table = Table(title="per class", title_justify="left", box=None, pad_edge=False)
            for column in ("class", "precision", "recall", "f1", "support"):
                table.add_column(column, justify="left" if column == "class" else "right", no_wrap=True)
            for row in evaluation["per_class"]:
                table.add_row(plain(row["class"])[:16], f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                              f"{row['f1']:.3f}", str(row["support"]))
            parts.append(table)
            parts.append(confusion_table(evaluation["confusion_matrix"], [r["class"] for r in evaluation["per_class"]]))
        if state.predictions:
            parts.append(predictions_view(state.predictions, images=self.app.session.prediction_images, brief=True))
        if result.saved:
            parts.append(Text("  ".join(f"{fmt}: max|Δ| {s['max_abs_diff']:.1e}" for fmt, s in result.saved.items()
                                        if s.get("max_abs_diff") is not None)))
        if result.run_dir:
            parts.append(plain(f"run directory: {result.run_dir}", "dim"))
        widget.update(Group(*parts))


def progress_bar(fraction: float, width: int) -> Text:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    bar = Text("━" * filled, style="green" if fraction >= 1 else "blue")
    bar.append("━" * (width - filled), style="grey37")
    return bar


def confusion_table(matrix: list[list[int]], names: list[str]) -> Table:
    """The confusion matrix, rows true and columns predicted, the diagonal green."""
    table = Table(title="confusion matrix (rows: true, columns: predicted)", title_justify="left", box=None,
                  pad_edge=False)
    table.add_column("")
    shown = [visible(n, one_line=True) for n in names]  # (class names from the data set)
    short = [n if len(n) <= 7 else f"{i}" for i, n in enumerate(shown)]
    for name in short:
        table.add_column(plain(name), justify="right", no_wrap=True)
    top = max((max(row) for row in matrix), default=1) or 1
    for i, row in enumerate(matrix):
        cells = []
        for j, value in enumerate(row):
            style = "bold green" if i == j else ("red" if value else "dim")
            if value and i != j and value / top > 0.2:
                style = "bold red"
            cells.append(Text(str(value), style=style))
        table.add_row(plain(short[i] if i < len(short) else i), *cells)
    return table


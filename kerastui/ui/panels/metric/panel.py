"""MetricPanel: the metric file, its check, the shared run, and the comparison it draws."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from kerastui.core.errors import KerasTUIError, user_message
from kerastui.core.model.metrics import Comparison, MetricReport, compare_history, format_diff, parse_ref
from kerastui.core.model.specs import ObjectSpec, Preset
from kerastui.ui.latest import Requests
from kerastui.ui.panels.metric.chart import MetricOverlay
from kerastui.ui.panels.metric.source import (
    MetricFileSuggester,
    MetricFileValidator,
    ref_problem,
    shipped_examples,
    split_ref,
)
from kerastui.ui.panels.metric.table import MetricTable
from kerastui.ui.safe import text as shown
from kerastui.ui.widgets.choice import Choice
from kerastui.ui.widgets.form import field_row

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI
    from kerastui.ui.state import RunState


class MetricPanel(Vertical):
    """The custom-metric comparison of the Experiments workspace."""

    HELP = ("## Custom metric\nA keras.metrics.Metric subclass from a .py file, trained beside the built-in "
            "metric it mirrors (its `mirrors` class attribute, else a guess from its name). A top-k metric with "
            "its own `k` is compared with TopKCategoricalAccuracy(k=…): the string top_k_categorical_accuracy "
            "is top-5.\n\n"
            "f: type a path (→ accepts the completion of a folder, a file or `file.py:Class`; enter checks it; "
            "escape leaves the field). e: pick a shipped example. The check wants update_state, result and "
            "reset_state, and warns when the class only has Keras 2's reset_states, which Keras 3 never calls.\n\n"
            "s trains the workspace's preset with it. The table shows per epoch, for train and validation, "
            "built-in, custom and |Δ|; the verdict names the largest difference. An exception inside the metric "
            "is shown with its file and line.")

    BINDINGS = [
        Binding("s", "train", "Train", tooltip="Train the preset with this metric beside the built-in it mirrors",
                id="metric.train"),
        Binding("x", "stop", "Stop", tooltip="Stop training at the end of the current batch", id="metric.stop"),
        Binding("c", "check", "Check", tooltip="Load and check the metric file again (after you edit it)",
                id="metric.check"),
        Binding("f", "edit_file", "File", tooltip="Type the metric file: path.py or path.py:ClassName",
                id="metric.file"),
        Binding("e", "examples", "Examples", tooltip="Pick one of the metric files shipped with kerastui",
                id="metric.examples"),
    ]

    DEFAULT_CSS = """
    MetricPanel {
        height: 1fr;
        min-height: 14;
        padding: 0 1;
    }
    MetricPanel #metric-source {
        height: auto;
    }
    MetricPanel #metric-source Label {
        width: auto;
        padding: 0 1 0 0;
        color: $text-muted;
    }
    MetricPanel #metric-file {
        width: 1fr;
    }
    MetricPanel #metric-example {
        width: 34;
        margin-left: 1;
    }
    MetricPanel #metric-check {
        height: auto;
        max-height: 5;
    }
    MetricPanel #metric-run {
        height: auto;
        max-height: 4;
    }
    MetricPanel #metric-body {
        height: 1fr;
        min-height: 6;
    }
    MetricPanel #metric-table {
        width: auto;
        max-width: 72;
        height: 1fr;
    }
    MetricPanel #metric-chart {
        width: 1fr;
        min-width: 20;
        height: 1fr;
    }
    MetricPanel #metric-verdict {
        height: auto;
    }
    """

    if TYPE_CHECKING:
        app = getters.app(KerasTUI)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: MetricReport | None = None  # the last check
        self.check_error: str | None = None  # a file that could not be loaded
        self.checking = False
        self.comparison: Comparison | None = None  # what the table and chart show
        self._checks = Requests()  # metric-file checks: the latest wins
        self._run: RunState | None = None  # the RunState of the run this panel started, and its (built-in, custom) pair
        self._run_pair: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield field_row(
            "metric file",
            Input(id="metric-file", placeholder="file.py or file.py:ClassName (→ completes, enter checks)",
                  suggester=MetricFileSuggester(self._base_dir), validators=[MetricFileValidator(self._base_dir)],
                  validate_on=["changed", "submitted"], compact=True,
                  tooltip="A .py file with a keras.metrics.Metric subclass; relative to the preset's folder"),
            Choice(shipped_examples(), value=None, prompt="shipped examples", id="metric-example",
                   tooltip="Metric files shipped with kerastui"),
            id="metric-source", classes=None, label_classes=None)
        yield Static(id="metric-check")
        yield Static(id="metric-run")
        with Horizontal(id="metric-body"):
            yield MetricTable(id="metric-table", zebra_stripes=True, cursor_type="row", header_height=2)
            yield MetricOverlay(id="metric-chart")
        yield Static(id="metric-verdict")

    def on_mount(self) -> None:
        self.preset_opened(self.app.session.preset)

    @property
    def first_focus(self) -> MetricTable:
        """What the workspace focuses when this panel's tab is picked: the panel's keys act on it."""
        return self.query_one(MetricTable)

    def _base_dir(self) -> Path:
        return self.app.session.preset.base_dir

    # ------------------------------------------------------------------ the metric file

    def preset_opened(self, preset: Preset) -> None:
        """Show (and check) the preset's first custom metric."""
        refs = preset.compile.custom_metrics
        value = refs[0] if refs else ""
        field = self.query_one("#metric-file", Input)
        with field.prevent(Input.Changed):
            field.value = value
        self._show_example(value)
        self.comparison = None
        if value:
            self.check(value)
        else:
            self.report, self.check_error = None, None
            self._show_check()
        self.redraw(full=True)

    @on(Input.Submitted, "#metric-file")
    def _submitted(self, event: Input.Submitted) -> None:
        self.check(event.value, chosen=True)

    @on(Input.Changed, "#metric-file")
    def _changed(self, event: Input.Changed) -> None:
        """Typing: the cheap problems (no such file, not .py) at once; the real check on enter."""
        self._checks.new()  # a check still running is for the old text
        self._show_example(event.value)
        self.checking = False
        self.report, self.check_error = None, ref_problem(event.value, self._base_dir())
        self._show_check(pending=self.check_error is None)

    @on(Choice.Changed, "#metric-example")
    def _example(self, event: Choice.Changed) -> None:
        if event.value is None:
            return
        field = self.query_one("#metric-file", Input)
        with field.prevent(Input.Changed):
            field.value = self._display_ref(str(event.value))
        self.check(field.value, chosen=True)
        self.query_one(MetricTable).focus()

    def _show_example(self, value: str) -> None:
        """The examples' choice shows the example the field names, or its prompt: its list opens on
        that example, or on the first."""
        refs = {self._display_ref(ref): ref for _label, ref in shipped_examples()}
        choice = self.query_one("#metric-example", Choice)
        with choice.prevent(Choice.Changed):
            choice.value = refs.get(value.strip())

    def _display_ref(self, ref: str) -> str:
        """A ref as short as it can be: relative to the preset's folder when inside it."""
        try:
            return str(Path(ref).relative_to(self._base_dir()))
        except ValueError:
            return ref

    def _short(self, text: str) -> str:
        """Messages name files relative to the preset's folder (as the field does)."""
        return text.replace(f"{self._base_dir()}{os.sep}", "")

    def check(self, value: str, *, chosen: bool = False) -> None:
        """Check the metric file ``value``; ``chosen`` (picked by the user, not shown from a preset):
        once it checks, it is the session's custom metric."""
        problem = ref_problem(value, self._base_dir())
        ticket = self._checks.new()
        if problem:
            self.report, self.check_error, self.checking = None, problem, False
            self._show_check()
            return
        self.checking = True
        self._show_check()
        metrics = self.app.session.preset.compile.metrics
        self._check(ticket, value.strip(), self._base_dir(), metrics[0] if metrics else "accuracy", chosen)

    @work(thread=True, group="metric-check", exit_on_error=False)
    def _check(self, ticket: int, value: str, base_dir: Path, default_mirror: str | ObjectSpec,
               chosen: bool) -> None:
        from kerastui.core.model.metrics import check_metric_file

        path, class_name = parse_ref(value, base_dir)
        report = error = None
        try:
            report = check_metric_file(path, class_name, default_mirror=default_mirror)
        except KerasTUIError as problem:
            error = str(problem)
        except Exception as problem:  # noqa: BLE001 - anything else the user's file does: one line
            error = f"{path}: {user_message(problem)}"
        self.app.call_from_thread(self._checked, ticket, report, error, chosen)

    def _checked(self, ticket: int, report: MetricReport | None, error: str | None, chosen: bool = False) -> None:
        if not self._checks.is_latest(ticket):  # a newer check supersedes this one
            return
        self.checking = False
        self.report, self.check_error = report, error
        if chosen and report is not None and report.ok:
            self.app.session.use_custom_metric(self._ref(report))  # the choice is the preset's at once
        self._show_check()
        self.redraw(full=True)

    def _show_check(self, *, pending: bool = False) -> None:
        widget = self.query_one("#metric-check", Static)
        text = Text()
        if self.check_error:
            text.append(f"✗ {self._short(self.check_error)}", style="bold red")
        elif self.checking:
            text.append("checking the metric file…", style="dim")
        elif self.report is None:
            hint = ("enter checks it" if pending else
                    "type a .py file with a keras.metrics.Metric subclass (f), or pick a shipped example (e)")
            text.append(hint, style="dim")
        else:
            report = self.report
            mark, style = ("✓", "bold green") if report.ok else ("✗", "bold red")
            text.append(f"{mark} {report.class_name}", style=style)
            text.append(f"  {self._short(report.where())}", style="dim")
            text.append("  keras.metrics.Metric " + ("✓" if report.is_metric else "✗"))
            for name, line in report.methods.items():
                text.append(f" · {name}")
                text.append(f":{line} ✓" if line else " (inherited)", style="green" if line else "dim")
            if report.mirrors:
                text.append(f" · mirrors {report.mirror_text}")
                if not report.mirrors_declared:
                    text.append(" (guessed; set mirrors = \"…\")", style="dim")
            for warning in report.warnings:
                text.append(f"\n⚠ {self._short(warning)}", style="yellow")
            for error in report.errors:
                text.append(f"\n✗ {self._short(error)}", style="red")
        widget.update(shown(text))  # (names and errors from the user's files)

    # ------------------------------------------------------------------ actions

    def action_train(self) -> None:
        report = self.report
        state = self.app.session.run_state
        if state is not None and state.running:
            self.app.notify("training is already running; x stops it", title="metric", severity="warning")
            return
        if report is None or not report.ok:
            why = self.check_error or (report.errors[0] if report else "check a metric file first (enter in the field)")
            if self.checking:
                why = "the metric file is still being checked"
            self.app.notify(self._short(why), title="metric", severity="error")
            return
        mirror = report.mirrors
        assert mirror is not None  # a metric that checked ok is compared with a built-in
        # The comparison's one change to the preset, made by the session: the metric is its custom
        # metric and the built-in joins its metrics (a top-2 metric's TopKCategoricalAccuracy(k=2)
        # beside a top-5 string gets a name of its own); the comparison reads the key it is logged under.
        mirror_key = self.app.session.use_custom_metric(self._ref(report), mirror)
        assert mirror_key is not None
        self._run_pair = (mirror_key, report.name or report.class_name)
        self._run = None
        self.app.runs.start(self.app.session.current_preset())
        self._run = self.app.session.run_state
        self.redraw(full=True)

    def _ref(self, report: MetricReport) -> str:
        """``file.py:Class`` of the checked metric, the file as the field has it."""
        file = split_ref(self.query_one("#metric-file", Input).value.strip())[0]
        return f"{file}:{report.class_name}"

    def action_stop(self) -> None:
        self.app.runs.stop()

    def action_check(self) -> None:
        self.check(self.query_one("#metric-file", Input).value, chosen=True)

    def action_edit_file(self) -> None:
        self.query_one("#metric-file", Input).focus()

    def action_examples(self) -> None:
        choice = self.query_one("#metric-example", Choice)
        choice.focus()
        choice.action_open()

    # ------------------------------------------------------------------ drawing

    def _pair(self) -> tuple[str, str] | None:
        """(built-in, custom) the shared run is compared on."""
        if self._run is not None and self.app.session.run_state is self._run and self._run_pair:
            return self._run_pair
        if self.report is not None and self.report.mirror_key and self.report.name:
            return self.report.mirror_key, self.report.name
        return None

    def compared_run(self) -> RunState | None:
        """The run this panel's comparison is of: the one it started, or a run followed (attached, or
        started in Train) that logs the custom metric. Any other run (Train's run of a preset without
        it) is not a comparison: the panel shows neither its rows nor its state."""
        state = self.app.session.run_state
        if state is None:
            return None
        if self._run is not None and state is self._run:
            return state
        pair = self._pair()
        if pair is not None and (pair[1] in state.history or f"val_{pair[1]}" in state.history):
            return state
        return None

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Training events from the app: status always; table, chart, verdict per epoch — of the
        comparison's own run only (:meth:`compared_run`)."""
        if not self.is_mounted:
            return
        state = self.compared_run()
        pair = self._pair()
        if full or epoch or self.comparison is None:
            self.comparison = compare_history(state.history, *pair) if pair and state is not None else None
            self.query_one(MetricTable).show(self.comparison.rows if self.comparison is not None else [], full=full)
            self.query_one(MetricOverlay).show(self.comparison)
            self._verdict()
        self._status()

    def _verdict(self) -> None:
        widget = self.query_one("#metric-verdict", Static)
        comparison = self.comparison
        if comparison is None or not comparison.rows:
            widget.update("")
            return
        agree = comparison.agree
        text = Text(comparison.verdict(), style="bold green" if agree else ("bold red" if agree is False else "dim"))
        state = self.compared_run()
        result = state.result if state is not None else None
        report = (result.custom_metrics or {}).get(comparison.custom) if result is not None else None
        if report and report.get("test_abs_diff") is not None:
            text.append(f" · test |Δ| {format_diff(report['test_abs_diff'])}", style="dim")
        widget.update(shown(text))  # (names and errors from the user's files)

    def _status(self) -> None:
        widget = self.query_one("#metric-run", Static)
        state = self.compared_run()
        pair = self._pair()
        text = Text()
        if state is None:  # no comparison yet (a run of another kind may be followed: not this panel's)
            if self.report is not None and self.report.ok:
                fit = self.app.session.preset.fit
                text.append(f"no comparison run yet: s trains {self.app.preset_label} with {self.report.class_name} "
                            f"beside {self.report.mirror_text} ({fit.epochs} epochs, batch {fit.batch_size})",
                            style="dim")
                other = self.app.session.run_state
                if other is not None and other.running:
                    text.append(" once the run training now ends (x stops it)", style="dim")
            widget.update(shown(text), layout=False)
            return
        text.append(state.label, style="bold")
        if state.epochs_planned:
            text.append(f" · {state.epoch_label}")
        if pair is not None:
            builtin, custom = pair
            text.append(f" · built-in {builtin} · custom {custom}")
            if state.history and custom not in state.history and not state.running:
                text.append(f" · this run logged no {custom}: s trains with it", style="yellow")
        if state.error:
            text.append(f"\n✗ {self._short(state.error)}", style="bold red")
        widget.update(shown(text))  # (names and errors from the user's files)

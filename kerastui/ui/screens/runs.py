"""Runs: every run directory (TUI or `kerastui train`), overlaid curves and config diffs."""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Select, Static

from kerastui.core import presets
from kerastui.core.errors import KerasTUIError
from kerastui.core.runs import ROW_FIELDS, RunInfo, default_runs_dir, list_runs, read_metrics
from kerastui.ui.screens.base import Workspace
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import EpochChart, Series
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tabs import WorkspaceTabs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COLORS = ["cyan", "orange", "green", "magenta", "yellow", "red", "blue", "white"]
MARKERS = ["braille", "hd", "dot", "x", "+", "•", "o", "*"]  # runs differ by marker too (monochrome)


def flatten(data, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def config_diff(paths: list[Path]) -> list[tuple[str, list[object]]]:
    """Keys whose values differ between the runs' resolved presets."""
    flat = []
    for path in paths:
        try:
            flat.append(flatten(tomllib.loads((path / "preset.toml").read_text(encoding="utf-8"))))
        except (OSError, tomllib.TOMLDecodeError):
            flat.append({})
    keys = sorted(set().union(*flat)) if flat else []
    return [(k, [f.get(k, "—") for f in flat]) for k in keys if len({repr(f.get(k, "—")) for f in flat}) > 1]


class RunTable(DataTable):
    """Runs on disk, live ones first, then newest first: space marks runs to compare, enter follows a
    live run or reopens a finished one, r resumes an interrupted one."""

    HELP = ("Runs: live runs first. enter follows a live run (or reopens a finished one), r resumes an "
            "interrupted or died run, x stops a live one; space marks runs, c overlays their curves and diffs "
            "their configs.")

    COLUMNS = (("", 1), ("state", 18), ("preset", 14), ("started", 19), ("epochs", 7), ("best val", 22),
               ("test", 8), ("time", 7))
    STATE_STYLES = {"running": "bold green", "starting": "green", "interrupted": "yellow", "died": "bold red",
                    "failed": "red", "stopped": "cyan"}

    def show(self, runs: Sequence[RunInfo], marked: Collection[str]) -> None:
        """One row per run (its key: the run's directory), ✓ in the first column when ``marked``."""
        cursor = self.cursor_row
        self.clear(columns=True)
        for label, width in self.COLUMNS:
            self.add_column(label, width=width)
        for run in runs:
            key = "val_loss" if "val_loss" in run.best_val else next(iter(sorted(run.best_val)), None)
            best = (key, run.best_val[key]) if key else None
            test = run.test.get("accuracy", run.test.get("loss"))
            state = run.status
            if run.live and run.heartbeat_age is not None:
                state += f" ·{run.heartbeat_age:.0f}s"
            epochs = f"{run.epochs}/{run.epochs_planned}" if run.live and run.epochs_planned else str(run.epochs)
            shown = Text(state, style=self.STATE_STYLES.get(run.status, ""))
            self.add_row("✓" if str(run.path) in marked else " ", shown, run.preset, run.started.replace("T", " "),
                         epochs, f"{best[0]} {best[1]:.4f}" if best else "",
                         f"{test:.4f}" if isinstance(test, float) else "", duration(run.seconds), key=str(run.path))
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    def mark(self, key: str, marked: bool) -> None:
        """Show the run with row ``key`` as marked, or not."""
        self.update_cell(key, self.ordered_columns[0].key, "✓" if marked else " ")


def duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{seconds:.1f}s"


class OverlayChart(EpochChart):
    """One metric of several runs on the same axes (colours and markers by run)."""

    HELP = "The compared runs' curves of one metric (pick it above). " + EpochChart.HELP.split(". ", 1)[1]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: list[tuple[str, list[float]]] = []
        self.metric = "val_loss"

    def show(self, metric: str, curves: list[tuple[str, list[float]]]) -> None:
        self.metric, self.curves = metric, curves
        self.chart_title = metric
        self.replot()

    def series(self) -> list[Series]:
        return [Series(label[-24:], values, COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)])
                for i, (label, values) in enumerate(self.curves)]


class RunsScreen(Workspace):
    """Runs workspace."""

    CSS_PATH = "runs.tcss"

    HELP = ("## Runs\nEvery run is a process and a directory; they are listed here, live runs first, then "
            "newest first. A live run goes on without kerastui: enter follows it, x stops it. An interrupted "
            "(signal) or died (killed) run resumes from its last checkpoint with r.")
    BINDINGS = [
        Binding("space", "mark", "Mark", tooltip="Mark or unmark the run under the cursor", id="runs.mark"),
        Binding("c", "compare", "Compare", tooltip="Overlay the marked runs' curves and diff their configs",
                id="runs.compare"),
        Binding("enter", "reopen", "Open", tooltip="Follow this live run, or open this finished run's preset and "
                "history in the Train workspace", id="runs.reopen"),
        Binding("r", "resume", "Resume", tooltip="Continue this interrupted or died run from its last checkpoint",
                id="runs.resume"),
        Binding("x", "stop", "Stop", tooltip="Ask this live run to finish its batch, evaluate, save and stop",
                id="runs.stop"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the runs directory again", id="runs.reload"),
    ]
    REFRESH_SECONDS = 2.0  # while a run is live, its row (epochs, heartbeat) is read again this often

    def __init__(self) -> None:
        super().__init__()
        self.histories: list[tuple[RunInfo, dict[str, list[float]]]] = []  # the compared runs' curves

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("runs")
        with Vertical(id="runs-body"):
            yield Static(id="runs-title")
            yield RunTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="runs-compare"):
                with Vertical(id="overlay-side"):
                    yield Select([("val_loss", "val_loss")], value="val_loss", allow_blank=False, id="overlay-metric",
                                 compact=True)
                    yield OverlayChart(id="overlay")
                yield Static(id="runs-diff")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.marked: set[str] = set()
        self.action_reload()
        self.set_interval(self.REFRESH_SECONDS, self._refresh_live)

    def on_screen_resume(self) -> None:
        self.action_reload()

    def _refresh_live(self) -> None:
        if self.is_current and any(run.live for run in self.runs):
            self.action_reload()

    def action_reload(self) -> None:
        folder = self.app.runs_dir or default_runs_dir()
        self.runs = list_runs(folder)
        live = sum(run.live for run in self.runs)
        self.query_one("#runs-title", Static).update(
            f"[b]{len(self.runs)} runs[/b]{f' ({live} live)' if live else ''} in {folder}  "
            "(enter follows/opens · r resumes · x stops · space marks · c compares)")
        self.query_one(RunTable).show(self.runs, self.marked)

    def _current(self):
        table = self.query_one(RunTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((run for run in self.runs if str(run.path) == key), None)

    def action_mark(self) -> None:
        run = self._current()
        if run is None:
            return
        key = str(run.path)
        self.marked.symmetric_difference_update({key})
        table = self.query_one(RunTable)
        table.mark(key, key in self.marked)
        table.action_cursor_down()

    def action_compare(self) -> None:
        chosen = [run for run in self.runs if str(run.path) in self.marked]
        if len(chosen) < 2:
            self.notify("mark two or more runs with space first", title="compare")
            return
        histories = []
        metrics: list[str] = []
        for run in chosen:
            rows = read_metrics(run.path)
            history: dict[str, list[float]] = {}
            for row in rows:
                for key, value in row.items():
                    if key not in ROW_FIELDS and isinstance(value, (int, float)):
                        history.setdefault(key, []).append(float(value))
            histories.append((run, history))
            metrics += [k for k in history if k not in metrics]
        select = self.query_one("#overlay-metric", Select)
        select.set_options([(m, m) for m in metrics])
        metric = "val_loss" if "val_loss" in metrics else (metrics[0] if metrics else "loss")
        select.value = metric
        self.histories = histories
        self._overlay(metric)
        diff = config_diff([run.path for run in chosen])
        text = Text("config differences\n", style="bold")
        if not diff:
            text.append("none: same preset\n", style="dim")
        for key, values in diff:
            text.append(f"{key}\n", style="cyan")
            for run, value in zip(chosen, values, strict=False):
                text.append(f"  {run.path.name[:28]}: {value!r}\n")
        self.query_one("#runs-diff", Static).update(text)

    @on(Select.Changed, "#overlay-metric")
    def _metric_changed(self, event: Select.Changed) -> None:
        if self.histories:
            self._overlay(str(event.value))

    def _overlay(self, metric: str) -> None:
        curves = [(run.path.name, history.get(metric, [])) for run, history in self.histories]
        self.query_one(OverlayChart).show(metric, curves)

    def action_resume(self) -> None:
        run = self._current()
        if run is None:
            return
        if not run.resumable:
            self.notify(f"{run.name} is {run.status}: only an interrupted, died or failed run resumes",
                        title="resume", severity="warning")
            return
        self.app.resume_run(run.path)

    def action_stop(self) -> None:
        run = self._current()
        if run is None or not run.live:
            self.notify("the run under the cursor is not running", title="stop")
            return
        from kerastui.core.runproc import stop
        from kerastui.core.runs import RunDir

        try:
            stop(RunDir(run.path))
        except KerasTUIError as error:
            self.notify(str(error), title="stop", severity="warning")
            return
        if self.app.session.run_dir == run.path and self.app.session.run_state is not None:
            self.app.session.run_state.status = "stopping"
        self.notify(f"asked {run.name} to stop after its batch", title="stop")

    @on(RunTable.RowSelected)
    def action_reopen(self) -> None:
        run = self._current()
        if run is None:
            return
        if run.live:
            if self.app.session.run_dir != run.path:
                self.app.attach(run.path, adopt=True)
            self.app.action_switch_workspace("train")
            return
        try:
            preset = presets.load(run.path / "preset.toml")
        except KerasTUIError as error:
            self.notify(str(error), title="reopen", severity="error")
            return
        preset.name = run.preset
        self.app.open_preset(preset)
        state = RunState.from_metrics(read_metrics(run.path), status=run.status)
        state.run_dir = str(run.path)
        self.app.show_run(state)

"""Runs: every run directory (TUI or `kerastui train`), overlaid curves and config diffs."""

from __future__ import annotations

import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.run.directory import RunDir, RunInfo, last_listed, read_metrics
from kerastui.core.run.history import ROW_FIELDS
from kerastui.core.run.status import RunStatus
from kerastui.core.run.table import BY_KEY, COLUMNS, export, filter_runs, sort_runs
from kerastui.core.text import visible
from kerastui.ui.pathtext import path_end
from kerastui.ui.safe import markup
from kerastui.ui.screens.base import Workspace
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import EpochChart, Series
from kerastui.ui.widgets.choice import Choice
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.grid import GAP, LineTable, TableColumn
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
            flat.append(flatten(tomllib.loads(RunDir(path).preset_path.read_text(encoding="utf-8"))))
        except (OSError, tomllib.TOMLDecodeError):
            flat.append({})
    keys = sorted(set().union(*flat)) if flat else []
    return [(k, [f.get(k, "—") for f in flat]) for k in keys if len({repr(f.get(k, "—")) for f in flat}) > 1]


class RunTable(LineTable):
    """Runs on disk, live ones first, then newest first (or sorted by a column): space marks runs to
    compare or export, enter follows a live run or reopens a finished one, r resumes an interrupted one.
    Only the rows on screen are drawn: hundreds of runs cost what a screenful does."""

    HELP = ("Runs: live runs first. enter follows a live run (or reopens a finished one), r resumes an "
            "interrupted or died run, x stops a live one; s sorts by the next column (S reverses; or click a "
            "header), / filters by text, space marks runs, c overlays their curves and diffs their configs, "
            "e exports the table and the marked runs' per-epoch metrics to CSV.")

    STATE_STYLES = {"running": "bold green", "starting": "green", "interrupted": "yellow", "died": "bold red",
                    "failed": "red", "stopped": "cyan", "damaged": "bold magenta", "stopping": "yellow"}
    PINNED = ("state", "run")  # on every page of columns
    RUN_WIDTH = 40  # the run column at most (a name longer than that is cut)

    class Paged(Message):
        """The table shows another page of columns (→ / ←), or has another number of them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = 0  # which page of columns is shown (→ / ←): the first has the most useful ones
        self.page_count = 1
        self._given: tuple[list[RunInfo], set[str], tuple[str, bool] | None] = ([], set(), None)
        self._room = 0  # the width the pages were cut for
        self._posted = (0, 1)  # the page and count the screen was last told of

    def show(self, runs: Sequence[RunInfo], marked: Collection[str], sort: tuple[str, bool] | None = None) -> None:
        """One row per run (its key: the run's directory), ✓ in the first column when ``marked``;
        the sorted column's header carries ↑ or ↓ (its page is shown when the sort changed)."""
        sorted_before = self._given[2]
        self._given = (list(runs), set(marked), sort)
        if sort is not None and (sorted_before is None or sorted_before[0] != sort[0]):
            pages = self.pages()
            self.page = next((i for i, page in enumerate(pages) if sort[0] in page), self.page)
        self._draw()

    def room(self) -> int:
        """Columns of cells the table has for its columns (less the scroll bar, when the rows need one)."""
        width = self.size.width
        if len(self._given[0]) + 1 > self.size.height:
            width -= self.styles.scrollbar_size_vertical
        return width

    def _widths(self) -> tuple[dict[str, str], dict[str, int]]:
        sort = self._given[2]
        labels = {c.key: c.label + ((" ↓" if sort[1] else " ↑") if sort is not None and sort[0] == c.key else "")
                  for c in COLUMNS}
        return labels, {c.key: max(c.width, len(labels[c.key])) for c in COLUMNS}

    def pages(self) -> list[list[str]]:
        """The columns after the pinned ones (state, run), cut into pages as wide as the table: the
        first has the lowest priority numbers that fit (best, value and test at 80 columns), in the
        table's order; the others the rest, in order.  Not laid out yet: one page of everything."""
        return self._cut(self._widths()[1])[0]

    def _cut(self, widths: dict[str, int]) -> tuple[list[list[str]], int]:
        """The pages, and the cells left over on the first one."""
        rest = [c for c in COLUMNS if c.key not in self.PINNED]
        room = self.room()
        if room <= 0:
            return [[c.key for c in rest]], 0
        left = room - 1 - sum(widths[k] + GAP for k in self.PINNED)  # (the mark column, then each after a gap)
        first: set[str] = set()
        used = 0
        for column in sorted(rest, key=lambda c: c.priority):
            if used + widths[column.key] + GAP <= left:
                first.add(column.key)
                used += widths[column.key] + GAP
        pages = [[c.key for c in rest if c.key in first]]
        spare = max(left - used, 0)
        page: list[str] = []
        used = 0
        for column in rest:
            if column.key in first:
                continue
            if page and used + widths[column.key] + GAP > left:
                pages.append(page)
                page, used = [], 0
            page.append(column.key)
            used += widths[column.key] + GAP
        if page:
            pages.append(page)
        return pages, spare

    def _draw(self) -> None:
        runs, marked, _ = self._given
        labels, widths = self._widths()
        # The run's name is the column people read a run by: as wide as the longest name (up to
        # RUN_WIDTH) where the most useful columns still fit beside it, else what they leave over.
        want = min(max((len(visible(run.name, one_line=True)) for run in runs), default=0), self.RUN_WIDTH)
        room = self.room()
        if room > 0 and want > widths["run"]:
            useful = sum(widths[c.key] + GAP for c in COLUMNS if c.priority == 1 and c.key not in self.PINNED)
            left = room - 1 - sum(widths[k] + GAP for k in self.PINNED) - useful
            widths["run"] += max(0, min(left, want - widths["run"]))
        pages, spare = self._cut(widths)
        widths["run"] += max(0, min(spare, want - widths["run"]))
        self._room = self.room()
        self.page_count = len(pages)
        self.page = max(0, min(self.page, len(pages) - 1))
        keys = [*self.PINNED, *pages[self.page]]
        columns = [TableColumn("mark", "", 1)] + [TableColumn(k, labels[k], widths[k]) for k in keys]
        shown = [BY_KEY[k] for k in keys]
        rows = []
        for run in runs:
            cells: list[str | Text] = ["✓" if str(run.path) in marked else " "]
            for column in shown:
                text = column.text(run)
                cells.append(Text(text, style=self.STATE_STYLES.get(run.status, "")) if column.key == "state" else text)
            rows.append((str(run.path), cells))
        self.set_rows(columns, rows)
        if (self.page, self.page_count) != self._posted:
            self._posted = (self.page, self.page_count)
            self.post_message(self.Paged())

    def on_resize(self) -> None:
        if self.room() != self._room:
            self._draw()

    def action_scroll_right(self) -> None:
        """The next page of columns (a screenful, the run's state and name kept)."""
        if self.page + 1 < self.page_count:
            self.page += 1
            self._draw()

    def action_scroll_left(self) -> None:
        """The previous page of columns."""
        if self.page > 0:
            self.page -= 1
            self._draw()

    def mark(self, key: str, marked: bool) -> None:
        """Show the run with row ``key`` as marked, or not."""
        if marked:
            self._given[1].add(key)
        else:
            self._given[1].discard(key)
        self.update_cell(key, "mark", "✓" if marked else " ")


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
    AUTO_FOCUS = "#runs-table"

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
        Binding("s", "sort(1)", "Sort", tooltip="Sort by the next column (the header shows which)",
                id="runs.sort"),
        Binding("S", "reverse", "Reverse", tooltip="Reverse the sort order", id="runs.reverse", show=False),
        Binding("slash", "filter", "Filter", tooltip="Filter runs by text (every word, any column)",
                id="runs.filter"),
        Binding("e", "export", "Export CSV", tooltip="Write the table (as shown) and the marked runs' per-epoch "
                "metrics (the run under the cursor when none is marked) to CSV files here", id="runs.export"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the runs directory again", id="runs.reload"),
    ]
    REFRESH_SECONDS = 2.0  # while a run is live, its row (epochs, heartbeat) is read again this often

    def __init__(self) -> None:
        super().__init__()
        self.histories: list[tuple[RunInfo, dict[str, list[float]]]] = []  # the compared runs' curves

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("runs")
        with Vertical(id="runs-body"):
            with Horizontal(id="runs-top"):
                yield Static(id="runs-title")
                yield Input(id="runs-filter", placeholder="/ filter", compact=True)
            yield RunTable(id="runs-table")
            with Horizontal(id="runs-compare"):
                with Vertical(id="overlay-side"):
                    yield Choice([("val_loss", "val_loss")], value="val_loss", id="overlay-metric")
                    yield OverlayChart(id="overlay")
                yield Static(id="runs-diff")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.marked: set[str] = set()
        self.sort: tuple[str, bool] | None = None  # (column key, descending); None: live first, newest first
        self.runs: list[RunInfo] = []
        self.shown: list[RunInfo] = []
        self.set_interval(self.REFRESH_SECONDS, self._refresh_live)

    def on_screen_resume(self) -> None:
        self.action_reload()  # also when first shown

    def _refresh_live(self) -> None:
        if self.is_current and (any(run.live for run in self.runs) or self.app.runs.runs_dir_changed()):
            self.action_reload()

    def action_reload(self) -> None:
        self.folder = self.app.runs.client.runs_dir
        known = last_listed(self.folder)
        if known is not None and not self.runs:  # first shown: the runs read at start, at once
            self._loaded(known)
        # Read again once the table is on screen: the reading thread would hold the GIL against
        # the first paint.
        self.call_after_refresh(self._read, self.folder)

    @work(thread=True, exclusive=True, group="read-runs", exit_on_error=False)
    def _read(self, folder: Path) -> None:
        """Read the runs directory off the UI thread (finished runs come from a cache; the app warms
        it at start), then show it."""
        runs = self.app.runs.client.runs()
        self.app.call_from_thread(self._loaded, runs)

    def _loaded(self, runs: list[RunInfo]) -> None:
        if runs == self.runs and self.shown:
            return  # read again, nothing changed (the first show draws what was read at start, then this)
        self.runs = runs
        self._show()

    def _show(self) -> None:
        """The table: the runs read, filtered and sorted as asked."""
        runs = filter_runs(self.runs, self.query_one("#runs-filter", Input).value)
        if self.sort is not None:
            runs = sort_runs(runs, self.sort[0], descending=self.sort[1])
        self.shown = runs
        self.query_one(RunTable).show(runs, self.marked, self.sort)
        self._title()

    def _title(self) -> None:
        """How many runs, where, and (when the columns take several pages) which page is shown."""
        live = sum(run.live for run in self.runs)
        shown = len(self.shown)
        counts = f"{shown} of {len(self.runs)}" if shown != len(self.runs) else f"{len(self.runs)}"
        table = self.query_one(RunTable)
        pages = f" · columns {table.page + 1}/{table.page_count} (← →)" if table.page_count > 1 else ""
        title = self.query_one("#runs-title", Static)
        live_text = f" ({live} live)" if live else ""
        room = title.size.width - len(f"{counts} runs{live_text}{pages} in ")
        folder = path_end(str(self.folder), room) if room > 8 else str(self.folder)  # (its end says which)
        title.update(markup("[b]$counts runs[/b]$live$pages in $folder", counts=counts, live=live_text,
                            folder=folder, pages=pages))

    @on(RunTable.Paged)
    def _paged(self) -> None:
        if getattr(self, "folder", None) is not None:  # (read once at least: the title has its folder)
            self._title()

    def action_sort(self, step: int) -> None:
        keys = [column.key for column in COLUMNS]
        at = keys.index(self.sort[0]) if self.sort is not None else -1
        self.sort = (keys[(at + step) % len(keys)], self.sort[1] if self.sort is not None else False)
        self._show()

    def action_reverse(self) -> None:
        self.sort = (self.sort[0], not self.sort[1]) if self.sort is not None else ("started", True)
        self._show()

    @on(RunTable.HeaderSelected, "#runs-table")
    def _header(self, event: RunTable.HeaderSelected) -> None:
        key = event.key
        if key in {column.key for column in COLUMNS}:
            self.sort = (key, not self.sort[1]) if self.sort is not None and self.sort[0] == key else (key, False)
            self._show()

    def action_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    @on(Input.Changed, "#runs-filter")
    def _filtered(self) -> None:
        self._show()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(RunTable).focus()

    def action_export(self) -> None:
        chosen = [run for run in self.shown if str(run.path) in self.marked]
        if not chosen:
            current = self._current()
            chosen = [current] if current is not None else []
        try:
            table, epochs = export(self.shown, chosen, Path.cwd(), time.strftime("%Y%m%d-%H%M%S"))
        except KerasTUIError as error:
            self.notify(str(error), title="export", severity="error")
            return
        self.notify(f"{len(self.shown)} runs → {table.name}; {len(chosen)} runs' epochs → {epochs.name} "
                    f"(in {table.parent})", title="export", timeout=8)

    def _current(self):
        table = self.query_one(RunTable)
        if not table.row_count:
            return None
        key = table.cursor_key
        return next((run for run in self.runs if str(run.path) == key), None)

    def action_mark(self) -> None:
        run = self._current()
        if run is None:
            return
        key = str(run.path)
        self.marked.symmetric_difference_update({key})
        table = self.query_one(RunTable)
        table.mark(key, key in self.marked)
        table.action_cursor(1)

    def action_compare(self) -> None:
        chosen = [run for run in self.shown if str(run.path) in self.marked]
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
        select = self.query_one("#overlay-metric", Choice)
        select.set_options([(m, m) for m in metrics] or [("loss", "loss")])
        metric = "val_loss" if "val_loss" in metrics else (metrics[0] if metrics else "loss")
        select.value = metric
        self.histories = histories
        self._overlay(metric)
        diff = config_diff([run.path for run in chosen])
        text = Text("config differences\n", style="bold")
        if not diff:
            text.append("none: same preset\n", style="dim")
        for key, values in diff:  # (keys, values and names from the runs' files: shown, never sent)
            text.append(f"{visible(key, one_line=True)}\n", style="cyan")
            for run, value in zip(chosen, values, strict=False):
                text.append(f"  {visible(run.path.name, one_line=True)[:28]}: {visible(repr(value), one_line=True)}\n")
        self.query_one("#runs-diff", Static).update(text)

    @on(Choice.Changed, "#overlay-metric")
    def _metric_changed(self, event: Choice.Changed) -> None:
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
            why = f" ({run.error})" if run.status == RunStatus.DAMAGED else ""
            self.notify(f"{run.name} is {run.status}{why}: only an interrupted, died or failed run resumes",
                        title="resume", severity="warning")
            return
        # Resuming opens the run's preset: over unsaved edits, once the user says so.
        self.app.unless_unsaved(f"Resume {run.name}", lambda: self.app.runs.resume(run.path))

    def action_stop(self) -> None:
        run = self._current()
        if run is None or not run.live:
            self.notify("the run under the cursor is not running", title="stop")
            return
        if self.app.runs.stop_run(run.path):
            self.notify(f"asked {run.name} to stop after its batch", title="stop")

    @on(RunTable.RowSelected)
    def action_reopen(self) -> None:
        run = self._current()
        if run is None:
            return
        if run.live:
            def follow() -> None:
                if self.app.session.run_dir != run.path:
                    self.app.runs.attach(run.path, adopt=True)
                self.app.action_switch_workspace("train")

            # Following another run opens its preset: over unsaved edits, once the user says so.
            if self.app.session.run_dir == run.path:
                follow()
            else:
                self.app.unless_unsaved(f"Follow {run.name}", follow)
            return
        if run.status == RunStatus.DAMAGED:
            self.notify(f"{run.name}: damaged: {run.error}", title="reopen", severity="error", timeout=8)
            return
        try:
            preset = presets.load(RunDir(run.path).preset_path)
        except KerasTUIError as error:
            self.notify(str(error), title="reopen", severity="error")
            return
        preset.name = run.preset

        def reopen() -> None:
            self.app.open_preset(preset)
            state = RunState.from_metrics(read_metrics(run.path), status=run.status, outcome=run.outcome)
            state.run_dir = str(run.path)
            self.app.show_run(state)

        self.app.unless_unsaved(f"Open run {run.name}", reopen)  # (its preset replaces the workspace's)

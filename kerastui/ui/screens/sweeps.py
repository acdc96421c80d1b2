"""Sweeps: a sweep's live trial table, its charts and parameter importances; follow a trial's run,
make the best trial the working model, start a sweep from the workspace's preset.

Everything about a sweep comes from the core's :class:`~kerastui.core.run.sweep.SweepClient` (the
CLI's too) and is read in worker threads — the sweep list and the trial table about every
REFRESH_SECONDS while the workspace is shown, the importances when more trials have completed — so
the storage (a journal file, or a database over the network) never holds up a key.  Trials run in
the sweep's detached worker processes: the TUI never runs one itself.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from kerastui.core.errors import KerasTUIError, PresetError, plain_message
from kerastui.core.model.specs import PRUNERS, SAMPLERS, Preset
from kerastui.core.run.status import RunStatus
from kerastui.core.run.sweep import TrialRow
from kerastui.ui.safe import markup, plain, widget_id
from kerastui.ui.screens.base import Workspace
from kerastui.ui.screens.dialogs import CLOSE, Dialog
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.settings_grid import ChoiceField, Heading, Hint, SettingsGrid, TextField
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.sweep_charts import CurvesChart, Importances, ObjectiveChart, ParamChart
from kerastui.ui.widgets.sweep_table import TrialColumn, TrialTable, columns, filter_trials, sort_trials
from kerastui.ui.widgets.tabs import WorkspaceTabs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from kerastui.core.run.sweep import Sweep, SweepClient

IMPORTANCE_EVERY = 5.0  # seconds between two importance evaluations (500 trials: ~1 s of fANOVA)
CHART_MODES = ("objective", "curves", "param")


@dataclass
class SweepView:
    """One reading of a sweep, made in a worker: what the workspace shows."""

    names: list[str]  # this machine's sweeps, newest first
    name: str | None = None
    rows: list[TrialRow] = field(default_factory=list)
    state: RunStatus | None = None
    objective: str = ""
    direction: str = ""
    target: int | None = None
    keys: list[str] = field(default_factory=list)  # the swept keys
    best: int | None = None  # the best trial's number
    error: str | None = None  # why the sweep could not be read (one line)

    @property
    def ended(self) -> int:
        return sum(1 for r in self.rows if r.state in (RunStatus.COMPLETED, RunStatus.PRUNED, RunStatus.FAILED))

    @property
    def completed(self) -> int:
        return sum(1 for r in self.rows if r.state == RunStatus.COMPLETED)


class SweepsScreen(Workspace):
    """Sweeps workspace."""

    CSS_PATH = "sweeps.tcss"
    AUTO_FOCUS = "#sweep-table"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide"), (160, "-huge")]

    HELP = ("## Sweeps\nA sweep is an Optuna study whose trials are ordinary runs, worked on by detached worker "
            "processes (it goes on when kerastui closes). The table lists every trial, live; enter follows a "
            "trial's run, b makes the best trial the working model and its preset the workspace's (ctrl+s saves "
            "it), n starts a sweep from the workspace's preset. w shows the next sweep, x stops it, r resumes it.")
    BINDINGS = [
        Binding("enter", "follow", "Follow", tooltip="Follow the trial's run (a live one live; an ended one's "
                "history and preset) in the Train workspace", id="sweeps.follow"),
        Binding("b", "best", "Best→model", tooltip="Make the best trial the working model and its preset the "
                "workspace's (ctrl+s saves it)", id="sweeps.best"),
        Binding("n", "new", "New sweep", tooltip="Start a sweep from the workspace's preset: pick the keys to vary "
                "and their ranges", id="sweeps.new"),
        Binding("s", "sort(1)", "Sort", tooltip="Sort by the next column (the header shows which)",
                id="sweeps.sort"),
        Binding("S", "reverse", "Reverse", tooltip="Reverse the sort order", id="sweeps.reverse", show=False),
        Binding("slash", "filter", "Filter", tooltip="Filter trials by text (every word, any column)",
                id="sweeps.filter"),
        Binding("a", "next_param", "Param", tooltip="The parameter drawn against the objective: the next one",
                id="sweeps.param"),
        Binding("c", "next_chart", "Chart", tooltip="The chart shown (objective per trial, the running trials' "
                "curves, a parameter against the objective) where they do not all fit", id="sweeps.chart"),
        Binding("w", "next_sweep", "Sweep", tooltip="Show the next sweep of this runs folder", id="sweeps.next"),
        Binding("x", "stop_sweep", "Stop", tooltip="Stop the sweep: no new trial; running trials are interrupted "
                "(checkpointed) and stay the sweep's", id="sweeps.stop", show=False),
        Binding("r", "resume_sweep", "Resume", tooltip="Resume the sweep here: its interrupted trials, then new "
                "ones up to its number", id="sweeps.resume", show=False),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the sweeps again", id="sweeps.reload", show=False),
    ]
    REFRESH_SECONDS = 1.5  # the trial table is read again this often while the workspace is shown

    def __init__(self) -> None:
        super().__init__()
        self.view = SweepView(names=[])
        self.shown: list[TrialRow] = []
        self.sort: tuple[str, bool] | None = None  # (column key, descending); None: by trial number
        self.chosen: str | None = None  # the sweep asked for (w, a sweep started here); None: the newest
        self.param_index = 0
        self.chart_mode = 0
        self.importances: dict[str, float] | None = None
        self.reads = 0  # readings shown so far (tests wait on it)
        self._reading = False
        self._lock = threading.Lock()  # the opened sweeps are read by one thread at a time
        self._opened: dict[str, Sweep] = {}
        self._importance_lock = threading.Lock()
        self._evaluated: dict[str, Sweep] = {}  # the same sweeps, opened again for the importances
        self._importance_at: tuple[str | None, int, float] = (None, -1, 0.0)  # (sweep, completed, when)
        self._client: SweepClient | None = None

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("sweeps")
        with Vertical(id="sweeps-body"):
            with Horizontal(id="sweeps-top"):
                yield Static(id="sweeps-title")
                yield Input(id="sweeps-filter", placeholder="/ filter", compact=True)
            yield TrialTable(id="sweep-table")
            with Horizontal(id="sweeps-charts"):
                yield ObjectiveChart(id="sweep-objective")
                yield CurvesChart(id="sweep-curves")
                yield ParamChart(id="sweep-param")
                yield Importances(id="sweep-importances")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_interval(self.REFRESH_SECONDS, self._tick)
        self._layout_charts()

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self.action_reload)  # also when first shown

    def on_resize(self) -> None:
        self._layout_charts()

    # ------------------------------------------------------------------ reading (workers)

    @property
    def client(self) -> SweepClient:
        if self._client is None:
            from kerastui.core.run.sweep import SweepClient

            self._client = SweepClient(self.app.runs.client.runs_dir)
        return self._client

    def _tick(self) -> None:
        if self.is_current and not self._reading:
            self.action_reload()

    def action_reload(self) -> None:
        self._reading = True
        self._read(self.chosen)

    @work(thread=True, exclusive=True, group="sweep-read", exit_on_error=False)
    def _read(self, chosen: str | None) -> None:
        try:
            view = self.read(chosen)
        finally:
            self._reading = False
        self.app.call_from_thread(self._loaded, view)

    def read(self, chosen: str | None) -> SweepView:
        """The sweeps of the runs folder and the one shown (``chosen``, else the newest), read now."""
        try:
            names = [folder.name for folder in self.client.sweeps()]
        except OSError as error:
            return SweepView(names=[], error=f"{self.client.folder}: {plain_message(error)}")
        name = chosen if chosen in names else (names[0] if names else None)
        view = SweepView(names=names, name=name)
        if name is None:
            return view
        try:
            with self._lock:
                sweep = self._opened.get(name)
                if sweep is None:
                    sweep = self._opened[name] = self.client.open(name)
                rows, state = sweep.snapshot()
                view.rows, view.state = rows, state
                view.objective, view.direction, view.target = sweep.objective, sweep.direction, sweep.target
                view.keys = [d.key for d in sweep.dimensions()]
                best = sweep.best_of(rows)
                view.best = best.number if best is not None else None
        except KerasTUIError as error:
            view.error = str(error)
        except Exception as error:  # noqa: BLE001 - a storage gone wrong: one line, the view stays up
            view.error = f"{name}: cannot read the sweep ({plain_message(error)})"
        return view

    def _loaded(self, view: SweepView) -> None:
        changed_sweep = view.name != self.view.name
        changed_rows = view.rows != self.view.rows
        self.view = view
        self.reads += 1
        if changed_sweep:
            self.importances = None
            self.param_index = 0
        self._show()
        if changed_sweep or changed_rows:  # (plotext's builds only when there is something new to draw)
            self._draw_charts()
        if view.name is not None and view.error is None:
            name, completed, when = self._importance_at
            if name != view.name or (completed != view.completed and time.monotonic() - when >= IMPORTANCE_EVERY):
                self._importance_at = (view.name, view.completed, time.monotonic())
                self._read_importances(view.name)

    @work(thread=True, exclusive=True, group="sweep-importances", exit_on_error=False)
    def _read_importances(self, name: str) -> None:
        """Optuna's evaluator over the completed trials (a second or more for hundreds): on a storage
        of its own, so the table's reading goes on meanwhile."""
        with self._importance_lock:
            try:
                sweep = self._evaluated.get(name)
                if sweep is None:
                    sweep = self._evaluated[name] = self.client.open(name)
                found = sweep.importances()
            except Exception:  # noqa: BLE001 - not computable now (too few distinct values): shown as none
                found = {}
        self.app.call_from_thread(self._importances_read, name, found)

    def _importances_read(self, name: str, found: dict[str, float]) -> None:
        if name == self.view.name:
            self.importances = found
            self.query_one(Importances).show(found, self.view.completed)

    # ------------------------------------------------------------------ what is shown

    def table_columns(self) -> list[TrialColumn]:
        return columns(self.view.keys, errors=any(r.error for r in self.view.rows))

    def _show(self) -> None:
        """The table: the trials read, filtered and sorted as asked; the title."""
        cols = self.table_columns()
        rows = filter_trials(self.view.rows, self.query_one("#sweeps-filter", Input).value, cols)
        if self.sort is not None:
            column = next((c for c in cols if c.key == self.sort[0]), None)
            if column is not None:
                rows = sort_trials(rows, column, descending=self.sort[1])
        table = self.query_one(TrialTable)
        key = table.cursor_trial
        self.shown = rows
        table.show(rows, cols, self.sort, self.view.best)
        if key is not None:
            table.move_to_trial(key)  # the cursor stays on its trial as rows come and go
        self._title()

    def _title(self) -> None:
        view = self.view
        title = self.query_one("#sweeps-title", Static)
        if view.error is not None:
            title.update(plain(view.error, "red"))
            return
        if view.name is None:
            title.update(markup("[b]no sweeps[/b] in $folder yet: n starts one from the workspace's preset",
                                folder=str(self.client.folder)))
            return
        planned = view.target if view.target is not None else "…"
        shown = f" ({len(self.shown)} shown)" if len(self.shown) != len(view.rows) else ""
        best = next((r for r in view.rows if r.number == view.best), None)
        best_text = f" · best {best.value:.4g} (t{best.number})" if best is not None and best.value is not None \
            else ""
        which = f" {view.names.index(view.name) + 1}/{len(view.names)}" if len(view.names) > 1 else ""
        arrow = "↓" if view.direction == "minimize" else "↑"
        title.update(markup("[b]$name[/b]$which · $state · $ended/$planned$shown$best · $objective $arrow",
                            name=view.name, which=which, state=str(view.state or ""), ended=str(view.ended),
                            planned=str(planned), shown=shown, best=best_text, objective=view.objective,
                            arrow=arrow))

    def _draw_charts(self) -> None:
        view = self.view
        with self.app.batch_update():
            self.query_one(ObjectiveChart).show(view.objective, view.rows)
            self.query_one(CurvesChart).show(view.objective, view.rows, view.best)
            keys = view.keys
            key = keys[self.param_index % len(keys)] if keys else None
            self.query_one(ParamChart).show(view.objective, key, view.rows)
            if self.importances is None:
                self.query_one(Importances).show(None, view.completed, pending=view.completed >= 2)

    def _layout_charts(self) -> None:
        """Where the width allows, every chart; else the objective and the one c picks (or only it)."""
        width = self.size.width
        shown = {"objective", "curves", "param"} if width >= 160 else (
            {"objective", CHART_MODES[1 + self.chart_mode % 2]} if width >= 110 else {CHART_MODES[self.chart_mode % 3]})
        for mode, chart in (("objective", "#sweep-objective"), ("curves", "#sweep-curves"), ("param", "#sweep-param")):
            self.query_one(chart).display = mode in shown

    # ------------------------------------------------------------------ keys

    def _current(self) -> TrialRow | None:
        number = self.query_one(TrialTable).cursor_trial
        return next((r for r in self.view.rows if r.number == number), None) if number is not None else None

    def action_sort(self, step: int) -> None:
        keys = [c.key for c in self.table_columns()]
        at = keys.index(self.sort[0]) if self.sort is not None and self.sort[0] in keys else 0
        self.sort = (keys[(at + step) % len(keys)], self.sort[1] if self.sort is not None else False)
        self._show()

    def action_reverse(self) -> None:
        self.sort = (self.sort[0], not self.sort[1]) if self.sort is not None else ("number", True)
        self._show()

    @on(TrialTable.HeaderSelected, "#sweep-table")
    def _header(self, event: TrialTable.HeaderSelected) -> None:
        key = event.key
        self.sort = (key, not self.sort[1]) if self.sort is not None and self.sort[0] == key else (key, False)
        self._show()

    def action_filter(self) -> None:
        self.query_one("#sweeps-filter", Input).focus()

    @on(Input.Changed, "#sweeps-filter")
    def _filtered(self) -> None:
        self._show()

    @on(Input.Submitted, "#sweeps-filter")
    def _filter_done(self) -> None:
        self.query_one(TrialTable).focus()

    def action_next_param(self) -> None:
        self.param_index += 1
        if not self.query_one(ParamChart).display:  # the chart the key changes comes into view
            self.chart_mode = 2 if self.size.width < 110 else 1
            self._layout_charts()
        self._draw_charts()

    def action_next_chart(self) -> None:
        self.chart_mode += 1
        self._layout_charts()

    def action_next_sweep(self) -> None:
        names = self.view.names
        if len(names) < 2:
            self.notify("this runs folder holds one sweep" if names else "no sweeps yet: n starts one",
                        title="sweeps")
            return
        at = names.index(self.view.name) if self.view.name in names else -1
        self.chosen = names[(at + 1) % len(names)]
        self.sort = None
        self.action_reload()

    # ------------------------------------------------------------------ a trial's run

    @on(TrialTable.RowSelected, "#sweep-table")
    def action_follow(self) -> None:
        """Follow the trial's run as the Runs workspace does: a live one live (its preset adopted), an
        ended one's history and preset shown in the Train workspace."""
        row = self._current()
        if row is None:
            return
        from kerastui.core.run.directory import hostname

        if row.run_dir is None:
            self.notify(f"trial {row.number} has no run yet ({row.state})", title="follow")
            return
        if row.host and row.host != hostname():
            self.notify(f"trial {row.number} runs on {row.host}: its run directory is there ({row.run_dir})",
                        title="follow", severity="warning", timeout=8)
            return
        path = Path(row.run_dir)
        if not path.is_dir():
            self.notify(f"trial {row.number}: its run directory {path} is gone", title="follow", severity="error")
            return
        self.app.unless_unsaved(f"Follow trial {row.number}'s run (its preset becomes the workspace's)",
                                lambda: self._follow(path))

    def _follow(self, path: Path) -> None:
        from kerastui.core.model import presets
        from kerastui.core.run.client import run_preset_name
        from kerastui.core.run.directory import RunDir, read_metrics
        from kerastui.ui.state import RunState

        app = self.app
        run = RunDir(path)
        status = run.status()
        state = status.get("state")
        if isinstance(state, RunStatus) and state.live:
            if app.session.run_dir != path:
                app.runs.attach(path, adopt=True)
            app.action_switch_workspace("train")
            return
        try:
            preset = presets.load(run.preset_path)
        except KerasTUIError as error:
            self.notify(str(error), title="follow", severity="error")
            return
        preset.name = run_preset_name(path) or preset.name
        app.open_preset(preset)
        shown = RunState.from_metrics(read_metrics(path), status=state if isinstance(state, RunStatus) else
                                      RunStatus.COMPLETED, outcome=str(status.get("outcome") or ""))
        shown.run_dir = str(path)
        app.show_run(shown)

    # ------------------------------------------------------------------ the best trial → the working model

    def action_best(self) -> None:
        view = self.view
        if view.name is None:
            self.notify("no sweep yet: n starts one", title="best")
            return
        if view.best is None:
            self.notify(f"{view.name}: no trial has completed yet", title="best")
            return
        self._best_preset(view.name)

    @work(thread=True, exclusive=True, group="sweep-best", exit_on_error=False)
    def _best_preset(self, name: str) -> None:
        with self._lock:
            sweep = self._opened.get(name) or self.client.open(name)
            row = sweep.best()
            preset = sweep.best_preset()
        self.app.call_from_thread(self._promote, preset, row)

    def _promote(self, preset: Preset, row: TrialRow | None) -> None:
        def proceed() -> None:
            self.app.open_preset(preset)
            where = f" (trial {row.number}, {self.view.objective} {row.value:.4g})" if row is not None and \
                row.value is not None else ""
            self.notify(f"{preset.name} is the workspace's preset{where}; ctrl+s saves it", title="best")
            if row is not None and row.run_dir:
                self._load_model(Path(row.run_dir), preset)

        self.app.unless_unsaved(f"Open {preset.name} (the sweep's best trial)", proceed)

    @work(thread=True, exclusive=True, group="sweep-model", exit_on_error=False)
    def _load_model(self, run_dir: Path, preset: Preset) -> None:
        """The best trial's saved model, loaded back (the working model): as a finished run's is."""
        from kerastui.core.model.builder import custom_metric_classes
        from kerastui.core.run.directory import RunDir
        from kerastui.core.saving import load_model
        from kerastui.ui.session import TrainedModel

        run = RunDir(run_dir)
        if not run.model_path.is_file():
            self.app.call_from_thread(self.notify, f"{run_dir.name} saved no model: its preset is the workspace's, "
                                      "train it (t, then s) for a working model", title="best", severity="warning")
            return
        custom = custom_metric_classes(preset)
        # Safe mode: a trial's run was started by a sweep worker, never trusted, and a status file's
        # "trusted" is no witness (anyone who can write the run directory could set it).
        model = load_model(run.model_path, custom_objects=custom, safe_mode=True)
        self.app.call_from_thread(self._model_loaded, TrainedModel(model, None, custom, str(run_dir)))

    def _model_loaded(self, trained: Any) -> None:
        self.app.session.run_model_adopted(trained)
        self.app.redraw_training(full=True)
        self.notify(f"the working model is the best trial's ({Path(trained.run_dir).name})", title="best")

    # ------------------------------------------------------------------ stopping, resuming, starting

    def action_stop_sweep(self) -> None:
        if self.view.name is not None:
            self._control(self.view.name, "stop")

    def action_resume_sweep(self) -> None:
        if self.view.name is not None:
            self._control(self.view.name, "resume")

    @work(thread=True, exclusive=True, group="sweep-control", exit_on_error=False)
    def _control(self, name: str, what: str) -> None:
        try:
            if what == "stop":
                self.client.stop(name, wait=0.0)
                text = f"{name}: stopping (its running trials are interrupted; r resumes it)"
            else:
                _, started = self.client.resume(name)
                text = f"{name}: {started} worker(s) started" if started else f"{name}: nothing to resume here"
        except KerasTUIError as error:
            self.app.call_from_thread(self.notify, str(error), title="sweep", severity="error", timeout=8)
            return
        self.app.call_from_thread(self.notify, text, title="sweep")
        self.app.call_from_thread(self.action_reload)

    def action_new(self) -> None:
        preset = self.app.session.current_preset()

        def answered(result: tuple[Preset, str | None] | None) -> None:
            if result is not None:
                self._start(*result)

        self.app.push_screen(SweepStartDialog(preset, self.client.folder), answered)

    @work(thread=True, exclusive=True, group="sweep-start", exit_on_error=False)
    def _start(self, preset: Preset, name: str | None) -> None:
        try:
            sweep = self.client.start(preset, name=name)
        except KerasTUIError as error:
            self.app.call_from_thread(self.notify, str(error), title="sweep", severity="error", timeout=10)
            return
        with self._lock:
            self._opened[sweep.name] = sweep
        self.chosen = sweep.name
        self.app.call_from_thread(self.notify, f"sweep {sweep.name} started: its workers run on if kerastui "
                                  "closes", title="sweep")
        self.app.call_from_thread(self.action_reload)


# --------------------------------------------------------------------------- the start form


@dataclass(frozen=True)
class Candidate:
    """A key of the preset the form offers to vary: its label, its value now, a suggested range."""

    key: str
    label: str
    value: Any
    example: str

    @property
    def field_id(self) -> str:
        return widget_id("vary", self.key)


def _example(value: Any) -> str:
    if isinstance(value, int):
        return f"{max(1, value // 2)}..{value * 2}"
    if isinstance(value, float) and 0 <= value < 1:
        return "0.0..0.5"
    return f"{value / 10:g}..{value * 10:g} log" if isinstance(value, float) and value > 0 else "a, b, c"


def candidates(preset: Preset) -> list[Candidate]:
    """The preset's numeric keys a sweep can vary: the learning rate, the batch size, and each hidden
    layer's numeric arguments (units, filters, rate…); and the keys of its own ``[sweep.space]``."""
    lr = preset.compile.learning_rate
    out = [Candidate("compile.learning_rate", "learn rate", lr if lr is not None else "the optimizer's",
                     "1e-4..1e-1 log"),
           Candidate("fit.batch_size", "batch size", preset.fit.batch_size, "16, 32, 64, 128")]
    layers = preset.model.layers
    for i, layer in enumerate(layers):
        if layer.type == "Input" or i == len(layers) - 1:
            continue  # (the last layer's units are the output's)
        for argument, value in layer.kwargs.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            out.append(Candidate(f"model.layers[{i}].{argument}", f"L{i} {argument}", value, _example(value)))
    known = {c.key for c in out}
    if preset.sweep is not None:
        out += [Candidate(key, key.rsplit(".", 1)[-1], "", "") for key in preset.sweep.space if key not in known]
    return out


def _scalar(text: str) -> Any:
    """A typed value: an integer, a number, true/false, else the word itself."""
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip("'\"")
    return value if isinstance(value, (int, float, bool, str)) else text


def parse_space(text: str, label: str) -> dict[str, Any] | None:
    """A "vary" field: blank (not varied), ``LOW..HIGH`` (``log``, ``step S``), or choices ``A, B, C``;
    a ValueError in one line says what is wrong."""
    text = text.strip()
    if not text:
        return None
    if ".." in text:
        ends, *words = text.split()
        low_text, _, high_text = ends.partition("..")
        entry: dict[str, Any] = {}
        for end, value in (("low", low_text), ("high", high_text)):
            number = _scalar(value) if value else None
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"{label}: {end} {value or '(missing)'!s} is not a number (LOW..HIGH, or A, B, C)")
            entry[end] = number
        rest = list(words)
        while rest:
            word = rest.pop(0)
            if word == "log":
                entry["log"] = True
            elif word == "step" and rest:
                step = _scalar(rest.pop(0))
                if isinstance(step, bool) or not isinstance(step, (int, float)):
                    raise ValueError(f"{label}: step must be a number")
                entry["step"] = step
            else:
                raise ValueError(f"{label}: {word!r}? after LOW..HIGH: log, or step S")
        if isinstance(entry["low"], int) != isinstance(entry["high"], int):
            entry["low"], entry["high"] = float(entry["low"]), float(entry["high"])
        return entry
    choices = [_scalar(part) for part in text.replace(";", ",").split(",") if part.strip()]
    if len(choices) < 2:
        raise ValueError(f"{label}: one value: write a range LOW..HIGH or choices A, B, C")
    return {"choices": choices}


def space_text(entry: Any) -> str:
    """A ``[sweep.space]`` entry as the form's field writes it (what :func:`parse_space` reads back)."""
    if not isinstance(entry, dict):
        return ""
    if "choices" in entry:
        return ", ".join(str(c) for c in entry["choices"])
    text = f"{entry.get('low')}..{entry.get('high')}"
    if entry.get("log"):
        text += " log"
    if entry.get("step") is not None:
        text += f" step {entry['step']}"
    return text


def objectives(preset: Preset) -> list[str]:
    from kerastui.core.model.sweepspace import logged_names

    names = logged_names(preset)
    if preset.data.validation_split > 0:
        return [f"val_{n}" for n in names] + names
    return names


class SweepStartDialog(Dialog):
    """A sweep of the workspace's preset: the keys to vary and their ranges, trials, parallel, objective,
    sampler, pruner.  Checked as ``kerastui sweep start`` checks a preset (each end of every range tried
    on the preset); a bad value is one line under its field, and nothing starts."""

    HELP = ("Start a sweep of the workspace's preset. For each key to vary write a range LOW..HIGH (add log for a "
            "log scale, step S for steps) or choices A, B, C; leave it blank to keep the preset's value. Trial 0 "
            "is the preset as it is. ctrl+r (or the Start button) starts the sweep's workers: they run on if "
            "kerastui closes.")
    BINDINGS = [CLOSE, Binding("ctrl+r", "start", "Start sweep", tooltip="Check the form and start the sweep",
                               id="sweep_form.start")]
    DEFAULT_CSS = """
    SweepStartDialog #sweep-form-body { height: 90%; }
    SweepStartDialog #sweep-form { height: 1fr; }
    SweepStartDialog #sweep-form-buttons { height: auto; margin-top: 1; }
    SweepStartDialog #sweep-form-buttons Button { margin-right: 2; }
    """

    def __init__(self, preset: Preset, folder: Path) -> None:
        super().__init__()
        self.preset = preset
        self.folder = folder  # where the sweeps of this runs folder are (a name taken is refused here)
        self.offered = candidates(preset)

    def compose(self) -> ComposeResult:
        spec = self.preset.sweep
        space = spec.space if spec is not None else {}
        objective_now = spec.objective if spec is not None and spec.objective else None
        names = objectives(self.preset)
        from kerastui.core.model.sweepspace import objective

        default_objective = objective_now or objective(self.preset)
        if default_objective not in names:
            names.insert(0, default_objective)
        rows: list[Any] = [Heading("Keys to vary (blank: as the preset has it)")]
        for c in self.offered:
            shown = (f"now {c.value}" if c.value != "" else "", f"e.g. {c.example}" if c.example else "")
            rows.append(TextField(c.field_id, c.label, space_text(space.get(c.key)),
                                  placeholder=" · ".join(p for p in shown if p),
                                  tooltip=f"{c.key}: LOW..HIGH [log] [step S], or A, B, C"))
            rows.append(Hint(f"hint-{c.field_id}", error=True))
        rows += [
            Heading("The sweep"),
            TextField("trials", "trials", str(spec.trials if spec is not None and spec.trials else 10), kind="integer",
                      tooltip="How many trials in all (trial 0 is the preset as it is)"),
            Hint("hint-trials", error=True),
            TextField("parallel", "parallel", str(spec.parallel if spec is not None else 1),
                      tooltip='Trials at once on this machine (each its share of the CPUs or its GPU), or "gpus"'),
            Hint("hint-parallel", error=True),
            ChoiceField("objective", "objective", [(n, n) for n in names], default_objective,
                        tooltip="The logged metric trials are judged by"),
            Hint("hint-objective", error=True),
            ChoiceField("sampler", "sampler", [(s, s) for s in SAMPLERS], spec.sampler if spec is not None else "tpe",
                        tooltip="How the next trial's values are chosen (Optuna's samplers)"),
            ChoiceField("pruner", "pruner", [(p, p) for p in PRUNERS], spec.pruner if spec is not None else "median",
                        tooltip="When a trial that does worse than the others stops early"),
            TextField("name", "name", "", placeholder=f"{self.preset.name or 'sweep'}-DATE-TIME",
                      tooltip="The sweep's name (letters, digits, _ . -); blank: the preset's name and the time"),
            Hint("hint-name", error=True),
            Hint("hint-form", error=True),
        ]
        with Vertical(classes="dialog", id="sweep-form-body"):
            yield Static(markup("[b]New sweep of $name[/b]  [dim]ctrl+r starts · esc closes[/dim]",
                                name=self.preset.name or "the workspace's preset"))
            yield SettingsGrid(*rows, id="sweep-form")
            with Horizontal(id="sweep-form-buttons"):
                yield Button("Start", variant="primary", id="sweep-form-start", compact=True)
                yield Button("Cancel", id="sweep-form-cancel", compact=True)

    @property
    def grid(self) -> SettingsGrid:
        return self.query_one("#sweep-form", SettingsGrid)

    @on(Button.Pressed, "#sweep-form-start")
    def action_start(self) -> None:
        made = self.checked()
        if made is not None:
            self.dismiss(made)

    @on(Button.Pressed, "#sweep-form-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(SettingsGrid.Changed, "#sweep-form")
    def _edited(self, event: SettingsGrid.Changed) -> None:
        hint = f"hint-{event.field.id}"
        if hint in self.grid._hints and self.grid.hint(hint):
            self.grid.set_hint(hint, "")  # the field changed: its old complaint goes

    def checked(self) -> tuple[Preset, str | None] | None:
        """The preset with its ``[sweep]`` from the form, checked as a preset file is (None, with a line
        under each bad field, when something is wrong)."""
        from kerastui.core.model import presets
        from kerastui.core.model.sweepspace import MAX_SLOTS, space_key
        from kerastui.core.run.directory import absolute_refs
        from kerastui.core.run.sweep import NAME

        grid = self.grid
        for hint in list(grid._hints):
            grid.set_hint(hint, "")
        errors: dict[str, str] = {}
        space: dict[str, Any] = {}
        for c in self.offered:
            try:
                entry = parse_space(grid.text(c.field_id).value, c.label)
            except ValueError as error:
                errors[c.field_id] = str(error)
                continue
            if entry is not None:
                space[c.key] = entry
        trials_text = grid.text("trials").value.strip()
        try:
            trials = int(trials_text)
            if trials < 1:
                raise ValueError
        except ValueError:
            errors["trials"] = f"trials: {trials_text!r} is not a whole number of trials (1 or more)"
            trials = 1
        parallel_text = grid.text("parallel").value.strip()
        parallel: int | str = parallel_text
        if parallel_text != "gpus":
            try:
                parallel = int(parallel_text)
                if not 1 <= parallel <= MAX_SLOTS:
                    raise ValueError
            except ValueError:
                errors["parallel"] = (f"parallel: {parallel_text!r}: a number of trials at once (1 to {MAX_SLOTS}) "
                                      'or "gpus"')
        name = grid.text("name").value.strip() or None
        if name is not None:
            if not NAME.fullmatch(name) or name == "last":
                errors["name"] = "name: letters, digits, '_', '.' and '-' (100 at most, not 'last')"
            elif (self.folder / name).exists():
                errors["name"] = f"name: {name} exists in {self.folder}"
        if not space and not errors:
            errors["hint-form"] = "vary at least one key: write a range (LOW..HIGH) or choices (A, B, C) in it"
        if errors:
            return self._complain(errors)
        preset = absolute_refs(self.preset)
        data = preset.to_dict()
        data["sweep"] = {"trials": trials, "parallel": parallel, "objective": grid.choice("objective").value,
                         "sampler": grid.choice("sampler").value, "pruner": grid.choice("pruner").value,
                         "space": space}
        import tomli_w

        try:
            made = presets.loads(tomli_w.dumps(data), where="sweep")
        except PresetError as error:
            key = error.key or ""
            chosen = next((c for c in self.offered if key.startswith(space_key(c.key))), None)
            if chosen is not None:
                inner = key.removeprefix(space_key(chosen.key)).lstrip(".")
                where = f"{chosen.label} {inner}" if inner else chosen.label
                return self._complain({chosen.field_id: f"{where}: {error.reason}"})
            target = next((f for f in ("trials", "parallel", "objective") if key == f"sweep.{f}"), None)
            if target is not None:
                return self._complain({target: f"{target}: {error.reason}"})
            return self._complain({"hint-form": str(error)})
        made.name, made.path = self.preset.name, None
        made.title, made.description = self.preset.title, self.preset.description
        return made, name

    def _complain(self, errors: dict[str, str]) -> tuple[Preset, str | None] | None:
        grid = self.grid
        first = None
        for target, text in errors.items():
            hint = target if target.startswith("hint-") else f"hint-{target}"
            grid.set_hint(hint, " ".join(text.split()))
            if first is None and not target.startswith("hint-"):
                first = target
        if first is not None:
            grid.move_to(first)
            grid.focus()
        return None

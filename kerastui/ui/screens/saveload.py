"""Save/Load workspace: save in every format and prove each file reloads with the same
predictions; open a model file to edit, evaluate, train further or predict; export a script."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Static

from kerastui.core.errors import KerasTUIError, plain_message
from kerastui.ui.safe import plain
from kerastui.ui.screens.base import Workspace
from kerastui.ui.screens.dialogs import ConfirmDialog, RiskDialog
from kerastui.ui.widgets.check import Check
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.form import Form, field_row
from kerastui.ui.widgets.path_suggester import PathSuggester
from kerastui.ui.widgets.predictions import predictions_view
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tables import AutoHeightTable, add_rows, set_columns
from kerastui.ui.widgets.tabs import WorkspaceTabs

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.widget import Widget

    from kerastui.core.data.datasets import Dataset
    from kerastui.core.model.builder import LayerRow
    from kerastui.core.saving import SaveResult

FORMATS = {"keras": ".keras", "h5": ".h5 (HDF5)", "savedmodel": "SavedModel"}
VERIFY_SAMPLES = 256  # the fixed batch of test inputs every reloaded file is run on
PREDICT_COUNT = 8
VERIFY_COLUMNS = ("format", "max |Δ|", "same", "file", "size", "save s", "load s", "check s")


def save_target(text: str) -> tuple[Path, str]:
    """"folder/stem" (a known suffix is dropped) → (folder, stem)."""
    path = Path(text.strip()).expanduser()
    stem = path.name
    for suffix in (".keras", ".h5", ".hdf5"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = stem.removesuffix("_savedmodel")
    return path.parent, stem or "model"


def parse_indices(text: str, limit: int) -> list[int]:
    """"0-7", "3, 9, 12" or "5" → test-sample indices (checked against the test split's size)."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                low, high = (int(p) for p in part.split("-", 1))
                out.extend(range(low, high + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise ValueError(f"samples: {part!r} is not an index or a range like 0-7") from None
    bad = [i for i in out if not 0 <= i < limit]
    if bad:
        raise ValueError(f"samples: {bad[0]} is outside the test split (0..{limit - 1})")
    return out[:64]


class VerifyTable(AutoHeightTable):
    """One row per saved file: size, save and load time, and the largest prediction difference."""

    HELP = ("The verification table: each saved file was reloaded from disk and run on the same test inputs; "
            "max |Δ| is the largest absolute difference from the in-memory model's predictions.")

    def on_mount(self) -> None:
        self.display = False  # columns and rows come with the first save

    def show(self, results: Sequence[SaveResult], *, verify: bool, deterministic: bool = False) -> None:
        """The files of one save (a SavedModel's TFSMLayer check on a row of its own under it);
        without ``verify`` the load and check columns stay blank.  ``deterministic``: no sizes or times."""
        set_columns(self, VERIFY_COLUMNS)

        def secs(value: float) -> str:
            return "…" if deterministic else f"{value:.3f}"

        rows = []
        for r in results:
            diff = "" if r.max_abs_diff is None else f"{r.max_abs_diff:.1e}"
            same = "" if r.same is None else ("✓" if r.max_abs_diff is not None and r.max_abs_diff <= 1e-6
                                              else "✗ differs")
            rows.append((r.format, diff, same, Path(r.path).name, "…" if deterministic else _size(r.bytes),
                         secs(r.save_seconds), secs(r.load_seconds) if verify else "",
                         secs(r.verify_seconds) if verify else ""))
            if r.tfsm_max_abs_diff is not None:
                ok = r.tfsm_max_abs_diff <= 1e-6
                rows.append(("└ TFSMLayer", f"{r.tfsm_max_abs_diff:.1e}", "✓" if ok else "✗ differs", "serve",
                             "", "", "", ""))
        add_rows(self, rows)
        self.display = True


class OpenedLayers(AutoHeightTable):
    """The opened model's layers: type, output shape, parameters, trainable."""

    HELP = "The layers of the opened model file (read-only here; a Sequential model is also in the Model workspace)."

    def on_mount(self) -> None:
        self.display = False  # shown with the first model file opened

    def show(self, rows: Sequence[LayerRow]) -> None:
        """The opened model's layers (none: the table is hidden)."""
        set_columns(self, ("#", "name", "type", "output shape", "params", "trainable"))
        add_rows(self, [(str(row.index), row.name, row.type, row.output_shape, f"{row.params:,}",
                         "✓" if row.trainable else "·") for row in rows])
        self.display = bool(rows)


class ResultsPane(VerticalScroll):
    """The workspace's results: a result just drawn stays scrolled into view while the layout settles
    (the pane resized, or its content's height changed: Textual sends no Resize for that alone)."""

    def on_resize(self) -> None:
        self._laid_out()

    def watch_virtual_size(self) -> None:
        self._laid_out()

    def _laid_out(self) -> None:
        screen = self.screen
        if isinstance(screen, SaveLoadScreen):
            self.call_after_refresh(screen.keep_in_view)


class SaveLoadScreen(Workspace):
    """Save/Load workspace."""

    REDRAW_WHEN_SHOWN = True  # (its working-model line: one line)

    CSS_PATH = "saveload.tcss"
    # The results pane (it scrolls by keys): the workspace opens on its actions, never inside a path field.
    AUTO_FOCUS = "#saveload-main"

    HELP = ("## Save/Load workspace\ns saves the working model in each ticked format (atomic writes, asks before "
            "overwriting), reloads every file and compares its predictions on a fixed test batch. r opens a .keras, "
            ".h5 or SavedModel folder (a file that stores code, a Lambda layer or a SavedModel's graph, asks "
            "first, every time; r goes to the 'open' path, enter opens it): "
            "a Sequential model's layers go to the Model workspace (t trains further from "
            "its weights). e evaluates, i predicts chosen test samples (enter in 'row' predicts a typed row), "
            "w exports a plain Keras script.")
    BINDINGS = [
        Binding("s", "save", "Save+verify", tooltip="Save in the ticked formats, reload each file, compare predictions",
                id="saveload.save"),
        Binding("r", "open_model", "Open…", tooltip="Go to the 'open' path (its text selected: typing replaces "
                "it): type a .keras or .h5 file or a SavedModel folder, enter opens it", id="saveload.open"),
        Binding("e", "evaluate", "Evaluate", tooltip="Evaluate the working model on the test split",
                id="saveload.evaluate"),
        Binding("i", "predict", "Predict", tooltip="Predict the test samples named in 'samples' (blank: the next 8)",
                id="saveload.predict"),
        Binding("w", "export_script", "Script", tooltip="Write a plain Keras script reproducing the preset",
                id="saveload.script"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: Dataset | None = None  # core Dataset for the preset's data (loaded on first need)
        self._data_key: tuple[str, str, str] | None = None
        self._next_sample = 0
        self.results: list[SaveResult] = []  # the last save's files, as the verify table shows them
        self._busy: tuple[str, float] | None = None  # the work under way (what, since when), shown with its seconds
        self._busy_timer: Timer | None = None
        self._in_view: Widget | None = None  # a result just drawn, kept in view until the user acts

    def compose(self) -> ComposeResult:
        yield WorkspaceTabs("saveload")
        with Horizontal(id="saveload-body"):
            with Form(id="saveload-side"):
                yield Label("[b]Save[/b]")
                yield field_row("path", Input(id="save-path", suggester=PathSuggester(), compact=True,
                                              placeholder="folder/name",
                                              tooltip="folder/name: writes name.keras, name.h5, name_savedmodel/"))
                for fmt, label in FORMATS.items():
                    yield Check(label, value=True, id=f"fmt-{fmt}", compact=True)
                yield Check("verify (reload and compare)", value=True, id="save-verify", compact=True)
                yield Label("[b]Open[/b]")
                yield field_row("path", Input(id="open-path", suggester=PathSuggester(), compact=True,
                                              placeholder="model.keras | .h5 | folder",
                                              tooltip="A .keras or .h5 file, or a SavedModel folder; enter opens"))
                yield Label("[b]Predict[/b]")
                yield field_row("samples", Input(id="predict-samples", compact=True, placeholder="0-7 or 3,9",
                                                 tooltip="Test-split indices; enter predicts them"))
                yield field_row("row", Input(id="predict-row", compact=True, placeholder="values, comma-separated",
                                             tooltip="A tabular sample typed as numbers (raw units); enter predicts"))
                yield Label("[b]Script[/b]")
                yield field_row("file", Input(id="script-path", suggester=PathSuggester(), compact=True,
                                              placeholder="train.py", tooltip="Where w writes the plain Keras script"))
            with Vertical(id="saveload-right"):
                # What is going on (saving…, evaluating… and for how long) and how it ended: always in view.
                yield Static(id="saveload-message")
                with ResultsPane(id="saveload-main"):
                    yield Static(id="working-model")
                    yield VerifyTable(id="verify-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="verify-verdict")
                    yield Static(id="opened-title")
                    yield OpenedLayers(id="opened-layers", cursor_type="row", zebra_stripes=True)
                    yield Static(id="saveload-evaluation")
                    yield Static(id="predictions")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._default_paths()
        self.redraw(full=True)

    def preset_opened(self) -> None:
        self._default_paths()
        self.data = None
        self._show_opened()
        self.redraw(full=True)

    def _default_paths(self) -> None:
        name = self.app.session.preset.name or "model"
        self.query_one("#save-path", Input).value = str(Path.cwd() / "models" / name)
        self.query_one("#script-path", Input).value = str(Path.cwd() / f"{name}_train.py")

    # ------------------------------------------------------------------ what is shown

    def redraw(self, *, full: bool = False, epoch: bool = False) -> None:
        """Training events: the working model line follows the run (a finished run is savable)."""
        working = self.app.session.working_model()
        line = self.query_one("#working-model", Static)
        if working is None:
            running = self.app.session.training
            line.update(Text.assemble(("working model  ", "bold"), ("training…", "") if running else
                                      ("none yet: train one (t, then s) or open a file (r)", "dim")), layout=False)
        else:
            line.update(Text.assemble(("working model  ", "bold"), plain(working.where),
                                      (f"  ({working.format})", "dim")), layout=False)

    def message(self, text: str, *, error: bool = False) -> None:
        """How something ended (or why it did not start): it replaces the work under way, if any."""
        self._busy = None
        if self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None
        style = "red" if error else "green"
        self.query_one("#saveload-message", Static).update(plain(text, style, one_line=False))  # (paths, errors)

    def working(self, text: str) -> None:
        """Work started in a worker ("evaluating on the test split"): shown at once, with the seconds it
        has taken (outside snapshots), until its result or failure replaces it (:meth:`message`)."""
        self.message("")
        self._busy = (text, time.monotonic())
        self._show_working()
        if not self.app.deterministic:
            self._busy_timer = self.set_interval(1.0, self._show_working)

    def _show_working(self) -> None:
        if self._busy is None:
            return
        text, since = self._busy
        seconds = "" if self.app.deterministic else f"  {time.monotonic() - since:.0f} s"
        self.query_one("#saveload-message", Static).update(
            Text.assemble(("⋯ ", "bold yellow"), plain(f"{text}…", "yellow", one_line=False), (seconds, "dim")))

    def into_view(self, selector: str) -> None:
        """A result just drawn (its height changes with it): scrolled into view once laid out, its top
        first — and again each time the pane is laid out anew (a scrollbar that appears narrows it and
        the text above rewraps a line taller; a line redrawn shorter for a moment clamps the scroll),
        until the user presses a key, clicks or scrolls."""
        self._in_view = self.query_one(selector)
        self.call_after_refresh(self.keep_in_view)

    def keep_in_view(self) -> None:
        """The result just drawn, scrolled to (the pane's size or content height changed meanwhile)."""
        if self._in_view is not None:
            self._in_view.scroll_visible(animate=False, top=True, immediate=True)

    def input_seen(self) -> None:
        self._in_view = None  # the user's now: the pane scrolls as they make it

    def _show_opened(self) -> None:
        opened = self.app.session.opened
        title = self.query_one("#opened-title", Static)
        table = self.query_one(OpenedLayers)
        if opened is None:
            title.update("")
            table.show([])
            return
        counts = opened.counts
        # The file's path, its optimizer's name and why it is read-only come from the file: plain text.
        lines = [Text.assemble(("opened", "bold"), "  ", plain(
                     f"{opened.path} · {opened.format} · {opened.bytes / 1024:,.0f} KiB · "
                     f"loaded in {opened.load_seconds:.2f} s" if not self.app.deterministic else
                     f"{Path(opened.path).name} · {opened.format}")),
                 plain(f"params {counts.get('total', 0):,} (trainable {counts.get('trainable', 0):,}) · input "
                       f"{list(opened.input_shape) if opened.input_shape else '?'}"
                       + (f" · optimizer {opened.optimizer}" if opened.optimizer else ""))]
        if opened.specs is not None:
            lines.append(Text(f"{len(opened.specs)} layers mapped onto the catalogue: editable in the Model "
                              "workspace (m); t trains further from these weights", style="green"))
        elif opened.read_only_reason:
            lines.append(plain(f"read-only: {opened.read_only_reason}", "yellow"))
        title.update(Text("\n").join(lines))
        table.show(opened.rows)

    # ------------------------------------------------------------------ data for verify/evaluate/predict

    def _dataset(self):
        """The preset's prepared data (worker thread): the last run's when it used the same preset data."""
        from kerastui.core.run.trainer import prepare_data

        preset = self.app.session.current_preset()
        key = (repr(preset.data), repr(preset.compile.loss), repr(preset.transfer))
        trained = self.app.session.trained_data()
        if trained is not None:
            return trained
        if self.data is None or self._data_key != key:
            self.data, self._data_key = prepare_data(preset), key
        return self.data

    def _failed(self, what: str, error: Exception) -> None:
        """From a worker: a failure as one line (our own errors already name what and where)."""
        if isinstance(error, (KerasTUIError, ValueError)):
            text = str(error)
        else:
            text = f"{what}: {plain_message(error)}"
        self.app.call_from_thread(self.message, text, error=True)

    def _working_or_say(self):
        working = self.app.session.working_model()
        if working is None:
            self.message("no working model: train one (t) or open a file (r)", error=True)
        return working

    # ------------------------------------------------------------------ save + verify

    def action_save(self) -> None:
        from kerastui.core.saving import target_paths

        working = self._working_or_say()
        if working is None:
            return
        model, fmt = working.model, working.format
        if fmt == "savedmodel":
            self.message("an opened SavedModel is a traced graph, not a Keras model: it cannot be saved again "
                         "as .keras/.h5; open the .keras file instead", error=True)
            return
        formats = [f for f in FORMATS if self.query_one(f"#fmt-{f}", Checkbox).value]
        if not formats:
            self.message("tick at least one format", error=True)
            return
        text = self.query_one("#save-path", Input).value
        if not text.strip():
            self.message("save: type a path (folder/name)", error=True)
            return
        folder, stem = save_target(text)
        verify = self.query_one("#save-verify", Checkbox).value
        if not folder.is_dir():
            self._in_new_folder(folder, lambda: self._start_save(model, folder, stem, formats, verify),
                                "not saved")
            return
        existing = [p for p in target_paths(folder, formats, stem) if p.exists()]
        if not existing:
            self._start_save(model, folder, stem, formats, verify)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_save(model, folder, stem, formats, verify)
            else:
                self.message("not saved: nothing was overwritten")

        names = ", ".join(p.name for p in existing)
        self.app.push_screen(ConfirmDialog(f"Overwrite {names} in {folder}?"), answered)

    def _in_new_folder(self, folder: Path, write: Callable[[], None], refused: str) -> None:
        """``write`` into ``folder``, which does not exist yet: it is created (with its parents) by the
        writer.  Inside the current directory or the run's directory at once; anywhere else only after
        the user says yes."""
        folder = folder.absolute()
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            self.message(f"{existing}: is a file, not a folder: {folder} cannot be created", error=True)
            return
        state = self.app.session.run_state
        homes = [Path.cwd(), *([Path(state.run_dir).absolute()] if state is not None and state.run_dir else [])]
        if any(folder.is_relative_to(home) for home in homes):
            write()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                write()
            else:
                self.message(f"{refused}: {folder} was not created")

        self.app.push_screen(ConfirmDialog(f"{folder} does not exist. Create it (outside the current "
                                           f"folder {Path.cwd()}) and write there?"), answered)

    def _start_save(self, model, folder: Path, stem: str, formats: list[str], verify: bool) -> None:
        self.working(f"saving {', '.join(formats)} to {folder}" + (", then reloading each" if verify else ""))
        self._save(model, folder, stem, formats, verify)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save(self, model, folder: Path, stem: str, formats: list[str], verify: bool) -> None:
        from kerastui.core.saving import save_and_verify

        try:
            data = self._dataset() if verify else None
            x = data.x_test[:VERIFY_SAMPLES] if data is not None else None
            custom = self.app.session.custom_objects()
            # The reload runs the stored code only when this is the very model the user chose to open
            # with safe mode off (its code already runs here); any other model reloads in safe mode.
            allowed = self.app.session.opened
            safe_mode = not (allowed is not None and not allowed.safe_mode and model is allowed.model)
            results = save_and_verify(model, folder, formats, x, custom_objects=custom, verify=verify, stem=stem,
                                      safe_mode=safe_mode)
        except Exception as error:  # noqa: BLE001 - one line in the workspace, never a traceback
            self._failed("save", error)
            return
        self.app.call_from_thread(self._saved, results, verify)

    def _saved(self, results, verify: bool) -> None:
        self.results = results
        self.query_one(VerifyTable).show(results, verify=verify, deterministic=self.app.deterministic)
        verdict = self.query_one("#verify-verdict", Static)
        if not verify:
            verdict.update("[dim]saved without verification[/dim]")
        else:
            worst = max((max(r.max_abs_diff or 0.0, r.tfsm_max_abs_diff or 0.0) for r in results), default=0.0)
            good = all(r.same for r in results)
            verdict.update(Text(f"{'✓' if good else '✗'} {len(results)} file(s) reloaded from disk: largest "
                                f"difference {worst:.2e} on {VERIFY_SAMPLES} test inputs "
                                f"({'identical predictions' if good else 'predictions DIFFER'})",
                                style="bold green" if good else "bold red"))
        self.message(f"saved {len(results)} file(s) in {Path(results[0].path).parent}" if results else "nothing saved")
        self.into_view("#verify-table")

    # ------------------------------------------------------------------ open

    def action_open_model(self) -> None:
        """r: to the 'open' path, its text selected (typing replaces it; → keeps it), whatever it holds —
        enter there opens it.  A key never opens what a field happens to hold."""
        field = self.query_one("#open-path", Input)
        field.focus()
        field.select_all()
        self.message("open: type a .keras or .h5 file or a SavedModel folder, enter opens it (escape leaves)")

    @on(Input.Submitted, "#open-path")
    def _open_submitted(self) -> None:
        """Enter in 'open': the file is opened and the focus goes back to the results (the letters are
        the workspace's keys again: the next one is a workspace key, not a path)."""
        self.query_one("#saveload-main").focus()
        text = self.query_one("#open-path", Input).value.strip()
        if not text:
            self.message("open: type the path of a .keras or .h5 file or a SavedModel folder (r)", error=True)
            return
        if self.app.session.run_state is not None and self.app.session.run_state.running:
            self.message("open: wait for training to finish (x stops it)", error=True)
            return
        self.working(f"opening {text}")
        self._open(Path(text).expanduser(), self.app.session.current_preset())

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open(self, path: Path, preset, safe_mode: bool = True) -> None:
        from kerastui.core.saving import UnsafeModelError, open_model

        try:
            opened = open_model(path, preset, safe_mode=safe_mode)
        except UnsafeModelError as error:
            self.app.call_from_thread(self._ask_unsafe, path, preset, error)
            return
        except KerasTUIError as error:
            self.app.call_from_thread(self.message, f"{error} — the current model is kept", error=True)
            return
        except Exception as error:  # noqa: BLE001 - any loader failure: one line, model kept
            self.app.call_from_thread(self.message, f"{path}: cannot open: {plain_message(error)} "
                                      "— the current model is kept", error=True)
            return
        self.app.call_from_thread(self._opened, opened)

    def _ask_unsafe(self, path: Path, preset, error) -> None:
        """Keras's safe mode refused the file: say why, and open it with safe mode off only if the
        user says y to a question naming the risk. Asked for this file, this once: never remembered."""
        self.message(f"{error} — the current model is kept", error=True)

        def answered(yes: bool | None) -> None:
            if yes:
                self.working(f"opening {path} with safe mode off")
                self._open(path, preset, safe_mode=False)
            else:
                self.message(f"not opened: {path} (safe mode) — the current model is kept")

        self.app.push_screen(RiskDialog(
            f"{path.name} contains {error.what}. Opening it runs {error.code} stored in {path}, with your "
            "permissions: it can read, change or delete your files. Only open files you trust.\n\n"
            "Open it with safe mode off, this once?"), answered)

    def _opened(self, opened) -> None:
        self.app.model_opened(opened)
        self._show_opened()
        self.redraw()
        self.message(f"opened {opened.path}" + ("" if opened.safe_mode else
                                                f" with safe mode off: {opened.trusted_code} stored in it runs"))
        self.into_view("#opened-title")

    # ------------------------------------------------------------------ evaluate

    def action_evaluate(self) -> None:
        working = self._working_or_say()
        if working is not None:
            self.working("evaluating on the test split")
            self._evaluate(working.model, working.format)

    @work(thread=True, exclusive=True, group="saveload-eval", exit_on_error=False)
    def _evaluate(self, model, fmt: str) -> None:
        from kerastui.core.evaluation import evaluate, evaluate_predictions, split_report
        from kerastui.core.saving import predict

        preset = self.app.session.current_preset()
        try:
            data = self._dataset()
            if fmt == "savedmodel" or getattr(model, "compiled", True) is False:
                report = evaluate_predictions(predict(model, data.x_test, fmt), data, preset.compile.loss)
                count = len(data.x_test)  # a streamed source: its first test samples
            else:
                report = evaluate(model, data)
                count = data.test_count
        except Exception as error:  # noqa: BLE001 - one line in the workspace, never a traceback
            self._failed("evaluate", error)
            return
        numbers, _ = split_report(report)
        self.app.call_from_thread(self._evaluated, numbers, count)

    def _evaluated(self, numbers: dict, count: int) -> None:
        title = f"test split ({count} samples)"
        table = Table(title=title, title_justify="left", box=None, pad_edge=False, min_width=len(title))
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in numbers.items():
            table.add_row(plain(key), "—" if value is None else f"{value:.4f}")  # (metric names: the preset's)
        self.query_one("#saveload-evaluation", Static).update(table)
        self.message(f"evaluated on {count} test samples: below")
        self.into_view("#saveload-evaluation")

    # ------------------------------------------------------------------ predict

    @on(Input.Submitted, "#predict-samples")
    def _samples_submitted(self) -> None:
        self.action_predict()

    def action_predict(self) -> None:
        working = self._working_or_say()
        if working is not None:
            text = self.query_one("#predict-samples", Input).value
            self.working(f"predicting test samples {text.strip()}" if text.strip() else "predicting the next samples")
            self._predict(working.model, working.format, text)

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def _predict(self, model, fmt: str, text: str) -> None:
        import numpy as np

        from kerastui.core.evaluation import display_images, sample_predictions
        from kerastui.core.saving import predict

        try:
            data = self._dataset()
            if text.strip():
                indices = parse_indices(text, len(data.x_test))
            else:
                start = self._next_sample % max(len(data.x_test), 1)
                indices = [i % len(data.x_test) for i in range(start, start + PREDICT_COUNT)]
                self._next_sample = start + PREDICT_COUNT
            predictions = sample_predictions(model, data, indices=indices, predict=lambda x: predict(model, x, fmt))
        except Exception as error:  # noqa: BLE001 - one line in the workspace, never a traceback
            self._failed("predict", error)
            return
        images = display_images(data.x_test[indices]) if data.kind == "image" else None
        rows = None
        if data.kind != "image":  # shown in the units the user would type
            rows = np.asarray(data.x_test[indices], dtype="float64").reshape(len(indices), -1)
            if data.feature_scale is not None:
                mean, std = data.feature_scale
                rows = rows * std.reshape(1, -1) + mean.reshape(1, -1)
        self.app.call_from_thread(self._predicted, predictions, images, rows, data.feature_names)

    @on(Input.Submitted, "#predict-row")
    def _row_submitted(self, event: Input.Submitted) -> None:
        working = self._working_or_say()
        if working is not None:
            self.working("predicting the typed row")
            self._predict_row(working.model, working.format, event.value)

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def _predict_row(self, model, fmt: str, text: str) -> None:
        from kerastui.core.evaluation import describe_prediction
        from kerastui.core.saving import predict

        try:
            data = self._dataset()
            if data.kind == "image":
                raise ValueError("row: the data are images; pick test samples by index instead")
            try:
                values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
            except ValueError:
                raise ValueError(f"row: {text!r} is not a list of numbers") from None
            x = data.scale_row(values)
            item = describe_prediction(predict(model, x, fmt), data)
        except Exception as error:  # noqa: BLE001 - one line in the workspace, never a traceback
            self._failed("predict", error)
            return
        item["index"] = "typed"
        self.app.call_from_thread(self._predicted, [item], None, [values], data.feature_names)

    def _predicted(self, predictions: list[dict], images, rows, features: list[str]) -> None:
        self.query_one("#predictions", Static).update(
            predictions_view(predictions, images=images, rows=rows, features=features))
        self.message(f"predicted {len(predictions)} sample(s): below")
        self.into_view("#predictions")

    # ------------------------------------------------------------------ script

    def action_export_script(self) -> None:
        text = self.query_one("#script-path", Input).value.strip()
        if not text:
            self.message("script: type a file name", error=True)
            return
        path = Path(text).expanduser()
        preset = self.app.session.current_preset()

        def write(yes: bool | None = True) -> None:
            if not yes:
                self.message(f"not written: {path} kept")
                return
            self.working(f"writing {path.name} (checking the preset builds first)")
            self._write_script(preset, path)

        if path.exists() and not path.is_dir():
            self.app.push_screen(ConfirmDialog(f"Overwrite {path}?"), write)
        elif not path.parent.is_dir():
            self._in_new_folder(path.parent, write, "not written")
        else:
            write()

    @work(thread=True, exclusive=True, group="script", exit_on_error=False)
    def _write_script(self, preset, path: Path) -> None:
        """export-script's writer (it checks the preset builds: seconds), off the UI thread."""
        from kerastui.core.script import write_script

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_script(preset, path)
        except KerasTUIError as error:
            self.app.call_from_thread(self.message, str(error), error=True)
            return
        except OSError as error:
            self.app.call_from_thread(self.message, f"{path}: cannot write: {plain_message(error)}", error=True)
            return
        except Exception as error:  # noqa: BLE001 - one line in the workspace, never a traceback
            self._failed("script", error)
            return
        self.app.call_from_thread(self.message, f"wrote {path}: python {path.name} trains the preset with plain Keras")

    def system_commands(self) -> Iterator[SystemCommand]:
        return self.binding_commands("Save/Load")


def _size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return str(size)


"""Modal dialogs: help, the preset browser, save-as-preset, the layer catalogue and yes/no questions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from kerastui.core.model import presets
from kerastui.core.model.presetdirs import user_dir
from kerastui.core.model.presets import PresetInfo, available
from kerastui.core.model.specs import Preset
from kerastui.core.text import visible
from kerastui.ui.safe import plain
from kerastui.ui.widgets.tables import AutoHeightTable

if TYPE_CHECKING:
    from kerastui.core.model.parts import CodeUse
    from kerastui.ui.app import KerasTUI

CLOSE = Binding("escape", "dismiss_dialog", "Close", tooltip="Close this dialog without changes", id="dialog.close")


class Dialog(ModalScreen):
    """Every modal of the app: closes with escape; its styles load with the first dialog shown."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [CLOSE]

    if TYPE_CHECKING:
        app = getters.app(KerasTUI)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        self.app.report_worker_error(event)

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class KeyRow:
    """One action in the help's key tables: its keys ("d / f2"), its name and what it does."""

    keys: tuple[str, ...]
    action: str
    tooltip: str


@dataclass(frozen=True)
class KeySection:
    """A heading and its keys: the workspace's, the app's (everywhere), or the focused widget's
    (moving around): ``where`` is "workspace", "app" or "widget"."""

    title: str
    rows: tuple[KeyRow, ...]
    where: str = "workspace"


def place_name(screen: Screen) -> str:
    """The workspace's name ("Save/Load") while ``screen`` is the app's screen, else the screen's class."""
    from kerastui.ui.widgets.tabs import WORKSPACES

    mode = getattr(screen.app, "current_mode", None)
    return WORKSPACES[mode][2] if mode in WORKSPACES and screen.app.screen is screen else type(screen).__name__


def key_sections(screen: Screen, focused: Widget | None = None) -> list[KeySection]:
    """Every key that works on ``screen`` now, in three sections: first the workspace's own (its
    footer keys and its panels'), then the app's global keys, then moving around (the focused
    widget's cursor and scroll keys, Tab).  An action bound to several keys is one row."""
    name = place_name(screen)
    app = screen.app
    what = type(focused).__name__ if focused is not None else "screen"
    titles = (f"Keys in {name}", "Keys everywhere", f"Moving around (the focused {what})")
    buckets: list[dict[tuple[str, str], KeyRow]] = [{}, {}, {}]
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        if active.node is app:
            bucket = buckets[1]
        elif binding.show or binding.id is not None:  # a workspace's (or panel's) own key
            bucket = buckets[0]
        else:  # a widget's cursor, scroll and focus keys
            bucket = buckets[2]
        row = bucket.get((binding.action, binding.description))
        keys = (*row.keys, key) if row is not None else (key,)
        bucket[(binding.action, binding.description)] = KeyRow(keys, binding.description, binding.tooltip or "")
    return [KeySection(title, tuple(rows.values()), where)
            for title, rows, where in zip(titles, buckets, ("workspace", "app", "widget"), strict=True) if rows]


def key_table(section: KeySection) -> Table:
    """A section's keys as a table that wraps its last column (the dialog is 72 columns at 80)."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=True, padding=(0, 1))
    table.add_column("key", no_wrap=True, style="bold", min_width=8)
    table.add_column("action", no_wrap=True)
    table.add_column("what it does", ratio=1, style="dim")
    for row in section.rows:
        tip = row.tooltip.removeprefix(f"{row.action} — ")  # ("Data — Data workspace: …")
        table.add_row(Text(" / ".join(row.keys)), Text(row.action), Text(tip))
    return table


class HelpDialog(Dialog):
    """F1: every key that works where it was opened — the workspace's first, then the app's, then
    moving around — and what the workspace and the focused widget are for.  It scrolls (up/down, page up/down,
    home/end, the mouse wheel); the close hint stays in view below it."""

    BINDINGS = [CLOSE, Binding("f1,q", "dismiss_dialog", "Close", show=False, id="help.close")]
    HINT = "↑↓ PgUp PgDn Home End scroll · escape closes"

    def __init__(self, focused: Widget | None, screen: Screen) -> None:
        super().__init__()
        self.focused_widget = focused
        self.for_screen = screen
        # Read now, while the workspace is the app's screen and its focus is the one asked about.
        self.sections = key_sections(screen, focused)
        self.place = place_name(screen)

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # (markdown-it: imported with the first help shown)

        widget = self.focused_widget
        about = []
        chain = [widget, *(widget.ancestors_with_self if widget else [])] if widget else []
        seen = set()
        for node in [self.for_screen, *chain]:  # the workspace's help, then the focused widget's
            text = getattr(node, "HELP", None)
            if text and text not in seen:
                seen.add(text)
                about.append(text.strip())
        with Vertical(id="help-body", classes="dialog"):
            yield Label(Text.assemble(("Help", "bold"), f" · {self.place}"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                # The workspace's keys, the app's, what the workspace and the focused widget are for,
                # and last the focused widget's own keys (moving around).
                for index, section in enumerate(self.sections):
                    if section.where == "widget":
                        yield Markdown("\n\n".join(about), id="help-text")
                    yield Label(f"[b]{section.title}[/b]", classes="help-heading")
                    yield Static(key_table(section), id=f"help-keys-{index}", classes="help-keys")
                if not any(section.where == "widget" for section in self.sections):
                    yield Markdown("\n\n".join(about), id="help-text")
                yield Static("ctrl+p opens the command palette: every action and every preset.", id="help-end")
            yield Label(self.HINT, id="help-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()


class PresetTable(AutoHeightTable):
    """Every preset found: name, shipped or yours, title (or why it does not load), data source."""

    COLUMNS = (("name", 12), ("origin", 7), ("title", 48), ("data", 24))

    def show(self, infos: list[PresetInfo]) -> None:
        self.clear(columns=True)
        for label, width in self.COLUMNS:
            self.add_column(label, width=width)
        for info in infos:
            self.add_row(plain(info.name), info.origin, plain(info.title) if info.title else plain(info.error, "red"),
                         plain(info.source), key=str(info.path))  # (a file's name and text: plain, shown)


class PresetsDialog(Dialog):
    """Browse presets: shipped (ex1…ex5) and yours; Enter opens the highlighted one."""

    HELP = "Presets: enter opens the highlighted preset, escape closes. Your presets live in the directory shown."

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="presets-body"):
            yield Label("[b]Presets[/b]  (enter opens · escape closes)")
            yield PresetTable(id="presets-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="preset-description")
            yield Label(f"your presets: {user_dir()}", classes="hint")

    def on_mount(self) -> None:
        self.infos = available()
        table = self.query_one(PresetTable)
        table.show(self.infos)
        table.focus()
        self._describe(0)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        if 0 <= row < len(self.infos):
            info = self.infos[row]
            text = info.error or " ".join(info.description.split())
            self.query_one("#preset-description", Static).update(plain(text))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(Path(str(event.row_key.value)))


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SavePresetDialog(Dialog):
    """Save the workspace as a preset in your presets directory; `kerastui NAME` reopens it."""

    HELP = "Type a name and press enter: the preset is written to your presets directory as NAME.toml."

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset
        self._confirm: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="save-body"):
            yield Label("[b]Save preset as[/b]")
            yield Input(value=self._suggested(), placeholder="name", id="preset-name")
            yield Static(id="save-message")

    def _suggested(self) -> str:
        name = self.preset.name or "my_preset"
        return name if not re.fullmatch(r"ex\d+", name) else f"my_{name}"

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._confirm = None
        target = f"→ {self._target(event.value)}" if NAME.match(event.value) else ""
        self.query_one("#save-message", Static).update(target)

    def _target(self, name: str) -> Path:
        return user_dir() / f"{name}.toml"

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        message = self.query_one("#save-message", Static)
        name = event.value.strip()
        if not NAME.match(name):
            message.update("[red]a name is letters, digits, '_', '-' or '.'[/red]")
            return
        target = self._target(name)
        if target.exists() and self._confirm != target:
            self._confirm = target
            message.update(f"[yellow]{target} exists: enter again to overwrite[/yellow]")
            return
        try:
            presets.save(self.preset, target)
        except OSError as error:
            message.update(f"[red]cannot write {target}: {error}[/red]")
            return
        self.dismiss(target)


class CatalogueDialog(Dialog):
    """Add a layer: type to search Keras's own layer catalogue, enter picks the highlighted one."""

    HELP = ("The layer catalogue comes from keras.layers itself, grouped like Keras's source tree. "
            "Type to filter, up/down to move, enter to pick.")
    BINDINGS = [CLOSE, Binding("down", "move(1)", "Next", show=False, id="catalogue.next"),
                Binding("up", "move(-1)", "Previous", show=False, id="catalogue.previous")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="catalogue-body"):
            yield Label("[b]Add a layer[/b]  (type to search · enter picks)")
            yield Input(placeholder="search layers, e.g. conv, dense, pool", id="catalogue-search")
            yield OptionList(id="catalogue-list")
            yield Static(id="catalogue-summary")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        from kerastui.core.model.layers import GROUP_ORDER, search

        options = self.query_one(OptionList)
        options.clear_options()
        hits = search(text)
        if not text.strip():
            hits.sort(key=lambda i: (GROUP_ORDER.index(i.group) if i.group in GROUP_ORDER else 99,
                                     i.name != "Input", i.name))
        self.hits = hits
        options.add_options([Option(f"{info.name:<28} [dim]{info.group}[/dim]", id=info.name) for info in hits])
        if hits:
            options.highlighted = 0
        self._summarise()

    def _summarise(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        text = self.hits[index].summary if index is not None and index < len(self.hits) else "no layer matches"
        self.query_one("#catalogue-summary", Static).update(text)

    @on(Input.Changed)
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._summarise()

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    @on(Input.Submitted)
    def _pick_highlighted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _pick(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class TextDialog(Dialog):
    """A read-only text, e.g. the model summary."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="text-body"):
            yield Label(f"[b]{self.title_text}[/b]  (escape closes)")
            yield Static(self.body, markup=False, id="text-content")


class ConfirmDialog(Dialog):
    """A yes/no question: y or enter says yes, n or escape says no.  The question quotes paths and
    names from files: shown as plain text (no markup), its control characters shown (``visible``)."""

    BINDINGS = [Binding("y,enter", "answer(True)", "Yes", tooltip="Yes", id="confirm.yes"),
                Binding("n,escape", "answer(False)", "No", tooltip="No", id="confirm.no")]

    HINT = "y: yes · n: no"
    BODY_CLASSES = "dialog"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes=self.BODY_CLASSES, id="confirm-body"):
            yield Label(visible(self.question), markup=False)
            yield Label(self.HINT, classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitDialog(Dialog):
    """Quitting while a run is live: leave it running (the default: it needs no terminal), stop it
    (it finishes its batch, evaluates and saves), or stay."""

    BINDINGS = [Binding("l,enter", "answer('leave')", "Leave it running", tooltip="Quit; the run goes on",
                        id="quit.leave"),
                Binding("s", "answer('stop')", "Stop it", tooltip="Ask the run to stop after its batch, then quit",
                        id="quit.stop"),
                Binding("escape,n", "answer(None)", "Stay", tooltip="Do not quit", id="quit.stay")]

    def __init__(self, run: str) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="quit-body"):
            yield Label(plain(f"{self.run} is running in its own process."))
            yield Label("It goes on without kerastui; `kerastui attach` follows it again.")
            yield Label("l/enter: quit, it goes on · s: stop it, quit · esc: stay", classes="hint")

    def action_answer(self, choice: str | None) -> None:
        self.dismiss(choice)


class RiskDialog(ConfirmDialog, inherit_bindings=False):
    """A yes/no question about a risk: only y says yes; n, enter and escape say no, so a stray enter
    (the one that opened a file, say) never accepts it."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", tooltip="Yes, knowing the risk", id="risk.yes"),
                Binding("n,enter,escape", "answer(False)", "No", tooltip="No: the safe answer", id="risk.no")]
    HINT = "y: yes · n, enter or escape: no"
    BODY_CLASSES = "dialog -risk"  # the question wraps: every word of the risk is on screen


class TrustDialog(RiskDialog):
    """Starting (or resuming) a run whose layers run code from files: each named with its file and
    what it does, and the risk; only y starts it trusted (``--trust-model``).  Asked each time."""

    def __init__(self, uses: list[CodeUse], action: str = "start") -> None:
        self.uses = list(uses)
        self.action = action
        places = "\n".join(f"  {use.where}: {use.type} {use.what} from {use.path}" for use in self.uses)
        super().__init__(
            f"This model runs code from files when it is built and trained:\n{places}\n"
            "That code runs with your permissions: it can read, change or delete your files. Only "
            f"{action} it if you trust these files.\n\n"
            f"{action.capitalize()} the run trusting this model to run that code, this once?")

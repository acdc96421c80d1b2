"""Keys that arrive in one burst (a paste, typing ahead, a slow SSH link) end as the same keys pressed
one by one, in every kind of text field (issue 26).

Textual 8.2.8 applied a burst out of order: printable keys were inserted as they reached an Input,
its editing keys (bindings) ran later, after bubbling up to the App; a binding that moves the focus
came after the keys behind it (``bench/textual_burst_repro.py``).  ``kerastui.ui.keyorder`` hands
the focused widget one key at a time.  Here random sequences are posted to the app as one burst
(every key event posted before any is handled) and the field is compared with the same keys applied
one by one to ``LineEditor`` — the settings grid's editing model, checked key for key against a
real Input in tests/ui/test_line_editor.py.
"""

from __future__ import annotations

import asyncio
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from textual import events, on
from textual.app import App, ComposeResult
from textual.widgets import Input
from textual.widgets._input import Selection

from kerastui.ui.app import make_app
from kerastui.ui.keyorder import KeysInOrder
from kerastui.ui.widgets.formscreen import FormScreen
from kerastui.ui.widgets.line_editor import LineEditor
from kerastui.ui.widgets.settings_grid import SettingsGrid, TextField
from tests.ui.helpers import settle, started

BENCH = Path(__file__).resolve().parents[2] / "bench"

EDITING = ["backspace", "delete", "left", "right", "home", "end"]
PRINTABLE = list("abcxyz0159_")
PASTES = ["ab", "x1", "12\n34", "é", "path/to"]


@dataclass(frozen=True)
class Paste:
    text: str


Item = str | Paste  # a key name (a printable key is its character) or a paste


def random_burst(rng: random.Random, extra: tuple[str, ...] = ()) -> list[Item]:
    """4 to 16 keys: letters and digits, editing keys (more of them: they are what went wrong), a paste."""
    pool = PRINTABLE + EDITING * 2 + list(extra)
    items: list[Item] = []
    for _ in range(rng.randint(4, 16)):
        items.append(Paste(rng.choice(PASTES)) if rng.random() < 0.06 else rng.choice(pool))
    return items


def event(item: Item) -> events.Key | events.Paste:
    if isinstance(item, Paste):
        return events.Paste(item.text)
    return events.Key(item, item if len(item) == 1 else None)


def apply(editor: LineEditor, item: Item) -> None:
    """One key (or paste) on the model, as a text field applies it."""
    if isinstance(item, Paste):
        editor.insert(item.text)
    elif not editor.key(item):
        editor.insert(item)


def one_by_one(editor: LineEditor, items: list[Item]) -> str:
    for item in items:
        apply(editor, item)
    return editor.value


async def burst(app: App, pilot, items: list[Item]) -> None:
    """Post every key at once, as the terminal driver does when one read holds them all, then wait
    until the app has handled them (and what they caused)."""
    for item in items:
        app.post_message(event(item))
    await keys_handled(app, pilot)


async def keys_handled(app: App, pilot) -> None:
    read = asyncio.Event()
    app.call_later(read.set)  # queued behind the keys: when it runs, the App has read every one of them
    await read.wait()
    assert isinstance(app, KeysInOrder)
    while app.keys_waiting:  # (0 once the last key and what it caused have been handled)
        await pilot.pause(0.005)


# --------------------------------------------------------------------------- Textual's own case


class OneInput(KeysInOrder[None]):
    def compose(self) -> ComposeResult:
        yield Input()


async def test_the_upstream_reproduction_ends_as_the_keys_pressed_one_by_one():
    """bench/textual_burst_repro.py's burst (q w e r t y, 6 × backspace, z x 9 k): a bare Textual App
    leaves 'qwer'; an App that keeps the keys in order leaves what pilot.press does, 'zx9k'."""
    sys.path.insert(0, str(BENCH))
    try:
        from textual_burst_repro import KEYS
    finally:
        sys.path.remove(str(BENCH))
    app = OneInput()
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, pilot, KEYS)
        assert app.query_one(Input).value == "zx9k"


# --------------------------------------------------------------------------- an Input: the runs filter


async def test_bursts_in_the_runs_filter_end_as_the_keys_one_by_one(tmp_path):
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        field = app.screen.query_one("#runs-filter", Input)
        assert app.focused is field
        rng = random.Random(26)
        wrong = []
        for _ in range(200):
            start = rng.choice(["", "ex1", "run 3", "abc def"])
            field.value = start
            field.selection = Selection.cursor(len(start))
            items = random_burst(rng)
            expected = one_by_one(LineEditor(start), items)
            await burst(app, pilot, items)
            if field.value != expected:
                wrong.append((start, items, expected, field.value))
        assert not wrong, wrong[:5]
        assert app.focused is field


async def test_keys_typed_ahead_into_a_dialog_that_opens_in_the_same_burst(tmp_path, monkeypatch):
    """ctrl+s, then the name: the keys after ctrl+s edit the Save preset dialog's name (its text
    selected on arrival, as an Input focused does), not the workspace behind it."""
    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path / "presets"))
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        base = app.screen
        rng = random.Random(2026)
        wrong = []
        for _ in range(25):
            items = random_burst(rng)
            editor = LineEditor()
            editor.start("my_ex1")
            expected = one_by_one(editor, items)
            await burst(app, pilot, ["ctrl+s", *items])
            field = app.screen.query_one("#preset-name", Input)
            if field.value != expected:
                wrong.append((items, expected, field.value))
            await burst(app, pilot, ["escape"])
            assert app.screen is base
        assert not wrong, wrong[:5]


async def test_a_path_completed_by_right_in_a_burst_ends_as_typed_one_by_one(tmp_path, monkeypatch):
    """The Save/Load open-path field completes file names (→ takes the completion): in a burst each →
    takes the completion of the text the keys before it typed, as it does one key at a time."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ex1.keras").write_bytes(b"")
    (tmp_path / "mnist.npz").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    sequences = [["m", "o", "right", "e", "right"], ["m", "right", "backspace", "o", "d", "right", "e", "x", "right"],
                 ["m", "n", "right", "left", "left", "backspace", "right"], ["home", "right", "m", "o", "d", "e"]]
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        field = app.screen.query_one("#open-path", Input)
        field.focus()
        await settle(app, pilot)
        ends: dict[str, list[str]] = {}
        for how in ("one by one", "burst"):
            ends[how] = []
            for keys in sequences:
                field.value = ""
                await settle(app, pilot)
                if how == "burst":
                    await burst(app, pilot, keys)
                else:
                    for key in keys:
                        await burst(app, pilot, [key])
                        await settle(app, pilot)  # (the completion is looked for in a worker)
                ends[how].append(field.value)
        assert ends["burst"] == ends["one by one"]
        assert ends["burst"][:3] == ["models/ex1.keras", "mnist.npodex", "mnist.pz"]


# --------------------------------------------------------------------------- the settings grid


async def test_bursts_in_a_train_settings_field_end_as_the_keys_one_by_one(tmp_path):
    app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        form = app.screen.form
        assert app.focused is form
        form.move_to("opt-metrics")
        rng = random.Random(11)
        wrong = []
        for _ in range(200):
            start = rng.choice(["accuracy", "", "mae, mse"])
            form["opt-metrics"].value = start
            form.move_to("opt-metrics")  # arriving in the field selects its text
            editor = LineEditor()
            editor.start(start)
            items = random_burst(rng)
            expected = one_by_one(editor, items)
            await burst(app, pilot, items)
            if form["opt-metrics"].value != expected:
                wrong.append((start, items, expected, form["opt-metrics"].value))
        assert not wrong, wrong[:5]
        assert form.current.id == "opt-metrics" and app.focused is form


async def test_a_down_arrow_in_a_burst_moves_to_the_next_field_before_the_keys_after_it(tmp_path):
    """80, down, 8 in one burst: epochs 80 and batch size 8 (808 and 32 before), in the form and in
    the session (what s starts and ctrl+s saves)."""
    app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        form = app.screen.form
        form.move_to("opt-epochs")
        await burst(app, pilot, ["8", "0", "down", "8"])
        assert (form["opt-epochs"].value, form["opt-batch"].value) == ("80", "8")
        assert form.current.id == "opt-batch"
        fit = app.session.preset.fit
        assert (fit.epochs, fit.batch_size) == (80, 8)
        await burst(app, pilot, ["up", "9", "tab", "1", "6", "enter", "0", "."])
        assert [form[f].value for f in ("opt-epochs", "opt-batch", "opt-val")] == ["9", "16", "0."]
        assert (app.session.preset.fit.epochs, app.session.preset.fit.batch_size) == (9, 16)


async def test_a_choice_list_opened_and_picked_in_a_burst_hands_the_keys_after_it_back_to_the_form(tmp_path):
    """enter (the optimizer's list opens and takes the focus), s g (jump to sgd), enter (picked: the
    focus is back on the form), down, x y: sgd, and xy typed into its arguments."""
    keys = ["enter", "s", "g", "enter", "down", "x", "y"]
    ends = {}
    for how in ("one by one", "burst"):
        app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path / "runs")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("t")
            await settle(app, pilot)
            form = app.screen.form
            if how == "burst":
                await burst(app, pilot, keys)
            else:
                for key in keys:
                    await burst(app, pilot, [key])
            ends[how] = (form["opt-optimizer"].value, form["opt-optimizer-args"].value, form.current.id,
                         app.focused is form, form.list_open)
    assert ends["burst"] == ends["one by one"] == ("sgd", "xy", "opt-optimizer-args", True, False)


async def test_a_dialog_opened_and_closed_in_a_burst_leaves_the_field_to_the_keys_after_it(tmp_path):
    """Keys, f1 (help), escape (closed: the Train workspace resumes and shows the session's settings),
    keys: the help is closed and epochs reads what the keys pressed one by one leave — the form's
    refill on resume never lands on a key typed before or after it."""
    sequences = [["4", "f1", "escape", "2"], ["f1", "escape", "9", "5"], ["1", "2", "f1", "escape", "backspace", "7"],
                 ["3", "f1", "escape", "home", "1"], ["f1", "escape", "down", "6", "4"]]
    app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        base = app.screen
        form = base.form
        ends = {}
        for how in ("one by one", "burst"):
            ends[how] = []
            for keys in sequences:
                form["opt-epochs"].value, form["opt-batch"].value = "10", "32"
                await settle(app, pilot)
                form.move_to("opt-epochs")  # its text selected: the first digit replaces it
                if how == "burst":
                    await burst(app, pilot, keys)
                else:
                    for key in keys:
                        await burst(app, pilot, [key])
                assert app.screen is base and app.focused is form
                fit = app.session.preset.fit
                ends[how].append((form.current.id, form["opt-epochs"].value, form["opt-batch"].value, fit.epochs,
                                  fit.batch_size))
        assert ends["burst"] == ends["one by one"]
        assert ends["burst"][0] == ("opt-epochs", "42", "32", 42, 32)
        assert ends["burst"][-1] == ("opt-batch", "10", "64", 10, 64)


class ThreeFields(FormScreen):
    def compose(self) -> ComposeResult:
        yield SettingsGrid(TextField("a", "a", "one"), TextField("b", "b"), TextField("c", "c", "x, y"), id="grid")


class GridHost(KeysInOrder[None]):
    def on_mount(self) -> None:
        self.push_screen(ThreeFields())


async def test_bursts_that_move_between_a_grids_fields_end_as_the_keys_one_by_one():
    """Random bursts with down, up and enter among the editing keys: each field ends as the keys
    pressed one by one leave it (arriving in a field selects its text, as an Input focused does)."""
    rng = random.Random(5)
    app = GridHost()
    async with app.run_test() as pilot:
        await pilot.pause()
        grid = app.screen.query_one(SettingsGrid)
        assert app.focused is grid
        wrong = []
        for _ in range(200):
            starts = {"a": rng.choice(["one", ""]), "b": rng.choice(["", "2"]), "c": "x, y"}
            for field_id, value in starts.items():
                grid[field_id].value = value
            grid.move_to("a")
            values, index, editor = dict(starts), 0, LineEditor()
            editor.start(values["a"])
            items = random_burst(rng, extra=("down", "up", "enter"))
            for item in items:  # the model: the three values, which one is current, its editor
                if item in ("down", "up", "enter"):
                    moved = max(0, min(2, index + (-1 if item == "up" else 1)))
                    if moved != index:  # (up in the first field, down in the last: no move)
                        index = moved
                        editor.start(values["abc"[index]])
                else:
                    apply(editor, item)
                    values["abc"[index]] = editor.value
            await burst(app, pilot, items)
            shown = {field_id: grid[field_id].value for field_id in "abc"}
            if (shown, grid.current.id) != (values, "abc"[index]):
                wrong.append((starts, items, (values, "abc"[index]), (shown, grid.current.id)))
        assert not wrong, wrong[:5]


# --------------------------------------------------------------------------- handlers that write back


class EchoingForm(KeysInOrder[None]):
    """A field whose Changed handler writes back the value it was told about, tidied (upper case), as
    a form refilled from the model it just updated does."""

    def compose(self) -> ComposeResult:
        yield Input(id="echo")

    @on(Input.Changed, "#echo")
    def _tidy(self, event: Input.Changed) -> None:
        tidy = event.value.upper()
        if event.input.value != tidy:
            event.input.value = tidy  # (stale when later keys were already typed)


async def test_a_handler_writing_the_value_back_never_undoes_keys_typed_after_it():
    rng = random.Random(3)
    sequences = [random_burst(rng) for _ in range(15)]
    pressed, burst_values = [], []
    for how in ("one by one", "burst"):
        app = EchoingForm()
        async with app.run_test() as pilot:
            await pilot.pause()
            field = app.query_one(Input)
            for items in sequences:
                field.value = ""
                await pilot.pause()
                if how == "burst":
                    await burst(app, pilot, items)
                    burst_values.append(field.value)
                else:
                    for item in items:
                        await burst(app, pilot, [item])
                    pressed.append(field.value)
    assert burst_values == pressed
    assert any(value != value.lower() for value in pressed)  # the handler did tidy the typed letters

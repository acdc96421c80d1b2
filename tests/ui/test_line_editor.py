"""The property grid's line editor: Input's editing keys without a widget, checked against a real Input."""

from __future__ import annotations

import random

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input
from textual.widgets._input import Selection

from kerastui.ui.widgets.line_editor import LineEditor

TEXT = "momentum=0.9, nesterov=True"

EDITING_KEYS = [
    "left", "shift+left", "ctrl+left", "ctrl+shift+left",
    "right", "shift+right", "ctrl+right", "ctrl+shift+right",
    "backspace", "ctrl+shift+a", "home", "ctrl+a", "end", "ctrl+e", "shift+home", "shift+end",
    "delete", "ctrl+d", "ctrl+w", "ctrl+u", "super+backspace", "ctrl+backspace", "alt+backspace", "ctrl+k",
]  # fmt: skip


def at(value: str, cursor: int, anchor: int | None = None) -> LineEditor:
    editor = LineEditor(value)
    editor.cursor, editor.anchor = cursor, anchor
    return editor


def state(editor: LineEditor) -> tuple[str, int, tuple[int, int] | None]:
    return editor.value, editor.cursor, editor.selection


def test_new_editor_has_the_cursor_at_the_end_and_nothing_selected():
    editor = LineEditor("abc")
    assert state(editor) == ("abc", 3, None) and editor.selected_text() == ""
    assert state(LineEditor()) == ("", 0, None)


def test_start_selects_everything_so_typing_replaces_it():
    editor = LineEditor("old")
    editor.start("0.001")
    assert state(editor) == ("0.001", 5, (0, 5)) and editor.selected_text() == "0.001"
    editor.insert("3")
    editor.insert("e")
    assert state(editor) == ("3e", 2, None)


def test_start_then_a_move_keeps_the_text():
    editor = LineEditor()
    editor.start("relu")
    assert editor.key("left")  # a selection collapses to its start
    assert state(editor) == ("relu", 0, None)
    editor.start("relu")
    assert editor.key("right")  # ... or its end
    assert state(editor) == ("relu", 4, None)


def test_paste_keeps_the_first_line_and_replaces_the_selection():
    editor = at("abcdef", 4, 1)
    editor.insert("XY\nsecond line\nthird")
    assert state(editor) == ("aXYef", 3, None)
    editor.insert("\r\nrest")  # the first line is empty: the selection (none here) is replaced by nothing
    assert state(editor) == ("aXYef", 3, None)
    editor = at("abc", 3, 0)
    editor.insert("")  # as Input's paste of nothing: no change, the selection stays
    assert state(editor) == ("abc", 3, (0, 3))


def test_moves_by_one_and_their_selections():
    editor = at("abc", 1)
    assert editor.key("left") and state(editor) == ("abc", 0, None)
    assert editor.key("left") and state(editor) == ("abc", 0, None)  # handled at the start too
    assert editor.key("right") and editor.key("shift+right") and editor.key("shift+right")
    assert state(editor) == ("abc", 3, (1, 3)) and editor.selected_text() == "bc"
    assert editor.key("shift+right") and state(editor) == ("abc", 3, (1, 3))  # clamped at the end
    assert editor.key("shift+left") and state(editor) == ("abc", 2, (1, 2))
    assert editor.key("left") and state(editor) == ("abc", 1, None)  # collapses to the start
    editor = at("abc", 1, 3)  # selected backwards
    assert editor.key("right") and state(editor) == ("abc", 3, None)  # collapses to the end


def test_home_end_and_their_selections():
    editor = at("abcd", 2)
    assert editor.key("home") and editor.cursor == 0
    assert editor.key("end") and editor.cursor == 4
    assert editor.key("ctrl+a") and editor.cursor == 0
    assert editor.key("ctrl+e") and editor.cursor == 4
    editor = at("abcd", 2)
    assert editor.key("shift+home") and state(editor) == ("abcd", 0, (0, 2))
    editor = at("abcd", 2)
    assert editor.key("shift+end") and state(editor) == ("abcd", 4, (2, 4))
    # As Input: shift+home/end anchors at the cursor, not at the old anchor.
    editor = at("abcd", 3, 1)
    assert editor.key("shift+home") and editor.anchor == 3 and state(editor) == ("abcd", 0, (0, 3))
    editor = at("abcd", 1)
    assert editor.key("ctrl+shift+a") and state(editor) == ("abcd", 4, (0, 4))


def test_word_moves_over_an_arguments_text():
    editor = LineEditor(TEXT)
    lefts = []
    while editor.cursor:
        assert editor.key("ctrl+left")
        lefts.append(editor.cursor)
    assert lefts == [23, 14, 11, 9, 0]
    rights = []
    while editor.cursor < len(TEXT):
        assert editor.key("ctrl+right")
        rights.append(editor.cursor)
    assert rights == [9, 11, 14, 23, 27]
    editor = at(TEXT, 14)
    assert editor.key("ctrl+shift+right") and editor.selected_text() == "nesterov="
    assert editor.key("ctrl+shift+left") and editor.selected_text() == ""
    assert editor.key("ctrl+shift+left") and editor.selected_text() == "9, "


def test_deletes_by_one():
    editor = at("abc", 1)
    assert editor.key("backspace") and state(editor) == ("bc", 0, None)
    assert editor.key("backspace") and state(editor) == ("bc", 0, None)  # nothing left of it: handled
    assert editor.key("delete") and state(editor) == ("c", 0, None)
    assert editor.key("ctrl+d") and state(editor) == ("", 0, None)
    assert editor.key("delete") and state(editor) == ("", 0, None)
    for key in ("backspace", "delete", "ctrl+d"):  # a selection is deleted whole
        editor = at("abcdef", 1, 4)
        assert editor.key(key) and state(editor) == ("aef", 1, None)


def test_word_and_line_deletes():
    editor = LineEditor(TEXT)
    assert editor.key("ctrl+w") and editor.value == "momentum=0.9, nesterov=" and editor.cursor == 23
    editor = at(TEXT, 14)
    assert editor.key("ctrl+backspace") and editor.value == "momentum=0.9, True" and editor.cursor == 14
    assert editor.key("alt+backspace") and editor.value == "momentum=0.9, " and editor.cursor == 14
    editor = at(TEXT, 14)
    assert editor.key("ctrl+u") and state(editor) == ("nesterov=True", 0, None)
    editor = at(TEXT, 14)
    assert editor.key("super+backspace") and state(editor) == ("nesterov=True", 0, None)
    editor = at(TEXT, 14)
    assert editor.key("ctrl+k") and state(editor) == ("momentum=0.9, ", 14, None)
    for key in ("ctrl+w", "ctrl+u", "super+backspace", "ctrl+backspace", "alt+backspace", "ctrl+k"):
        editor = at(TEXT, 12, 9)  # a selection ("0.9") is deleted whole, whatever the key's reach
        assert editor.key(key) and state(editor) == ("momentum=, nesterov=True", 9, None), key


def test_cut_removes_and_returns_the_selection():
    editor = at("abcdef", 1, 4)
    assert editor.cut() == "bcd" and state(editor) == ("aef", 1, None)
    assert editor.cut() == "" and state(editor) == ("aef", 1, None)


@pytest.mark.parametrize("key", ["tab", "shift+tab", "up", "down", "enter", "escape", "a", "space", "ctrl+x", "f1"])
def test_other_keys_are_let_through_unchanged(key):
    editor = at("abc", 2, 0)
    assert not editor.key(key)
    assert state(editor) == ("abc", 2, (0, 2))


def test_every_binding_is_handled():
    assert all(LineEditor("x").key(key) for key in EDITING_KEYS)


# --- the same keys on a real Input ---------------------------------------------------------------


class Host(App):
    def compose(self) -> ComposeResult:
        yield Input(id="input")


def input_state(field: Input) -> tuple[str, tuple[int, int]]:
    start, end = field.selection
    return field.value, (start, end)


def editor_state(editor: LineEditor) -> tuple[str, tuple[int, int]]:
    return editor.value, (editor.cursor if editor.anchor is None else editor.anchor, editor.cursor)


SEQUENCES = [  # (value, (anchor, cursor) or None for the cursor at the end, keys)
    (TEXT, None, ["ctrl+left", "ctrl+left", "shift+left", "x"]),
    (TEXT, (0, 0), ["ctrl+right", "ctrl+shift+right", "ctrl+w", "ctrl+backspace"]),
    (TEXT, (14, 14), ["alt+backspace", "ctrl+shift+left", "right", "shift+home", "delete"]),
    (TEXT, (0, len(TEXT)), ["7", "shift+home", "left", "shift+end", "backspace"]),
    (TEXT, (20, 5), ["ctrl+shift+left", "ctrl+u", "super+backspace", "ctrl+k"]),
    ("a  b", (2, 2), ["ctrl+right", "ctrl+left", "ctrl+d", "ctrl+a", "comma"]),
]


def expected(field: Input, editor: LineEditor) -> bool:
    return editor_state(editor) == input_state(field)


def start_both(field: Input, value: str, ends: tuple[int, int] | None) -> LineEditor:
    """The editor and the Input on ``value``, the cursor at the end or selecting ``ends`` (anchor, cursor)."""
    editor = LineEditor(value)
    field.value = value
    field.selection = Selection(len(value), len(value))
    if ends is not None:
        editor.anchor, editor.cursor = ends
        field.selection = Selection(*ends)
    assert editor_state(editor) == input_state(field)
    return editor


def press(editor: LineEditor, keys: list[str]) -> None:
    for key in keys:
        if not editor.key(key):
            editor.insert({"comma": ","}.get(key, key))


async def test_key_presses_do_what_they_do_on_an_input():
    """Pressed on an Input (the whole key path: its bindings, printable keys, paste), then on an editor."""
    mismatches = []
    app = Host()
    async with app.run_test() as pilot:
        field = app.query_one(Input)
        for value, ends, keys in SEQUENCES:
            editor = start_both(field, value, ends)
            await pilot.press(*keys)
            press(editor, keys)
            if editor_state(editor) != input_state(field):
                mismatches.append((value, ends, keys, editor_state(editor), input_state(field)))
        # A paste of several lines over a selection.
        editor = start_both(field, TEXT, (9, 12))
        field.post_message(events.Paste("0.95\nmore\n"))
        await pilot.pause()
        editor.insert("0.95\nmore\n")
        assert editor_state(editor) == input_state(field) == ("momentum=0.95, nesterov=True", (13, 13))
    assert not mismatches


async def test_random_keys_do_what_they_do_on_an_input():
    """Random sequences (a fixed seed): each key run as the focused Input's binding for it, without the event
    queue (fast), a printable key as Input's key handler does, and the ends compared after each key."""
    rng = random.Random(8)
    pool = EDITING_KEYS + ["x", "7", ","]
    values = [TEXT, "a  b", "x", "", "(28, 28, 1)", " relu_6 , tanh "]
    mismatches = []
    app = Host()
    async with app.run_test():
        field = app.query_one(Input)
        for _ in range(300):
            value = rng.choice(values)
            ends = (rng.randint(0, len(value)), rng.randint(0, len(value)))
            editor = start_both(field, value, ends)
            keys = []
            for _ in range(8):
                key = rng.choice(pool)
                keys.append(key)
                if len(key) == 1:
                    field.replace(key, *field.selection)  # Input._on_key on a printable key
                else:
                    bound = app.active_bindings[key]
                    assert bound.node is field, key
                    await app.run_action(bound.binding.action, bound.node)
                press(editor, [key])
                if editor_state(editor) != input_state(field):
                    mismatches.append((value, ends, keys, editor_state(editor), input_state(field)))
                    break
    assert not mismatches

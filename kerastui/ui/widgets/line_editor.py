"""One line of text being edited, without a widget: the editing model of a settings grid's text fields.

The settings grid (``settings_grid.SettingsGrid``) draws a whole settings form as one widget, so
its text fields are not Textual ``Input`` widgets; this class is what such a field edits.  It
mirrors ``Input``'s (Textual 8.2) editing behaviour key for key: the same key names
(``Input.BINDINGS``), the same actions (moves, shift-selections, word moves and deletes with
``Input``'s word-start pattern, delete to either end), typing or pasting over a selection replaces
it, a paste keeps only its first line, and ``start`` selects the whole value as ``Input``'s
``select_on_focus`` does, so that typing replaces it.

Printable characters are not keys here: the caller passes them to ``insert``.  Clipboard keys (cut,
copy, paste) are the caller's too: ``selected_text``, ``cut`` and ``insert`` are what they need.

Positions are character indices (the grid works out which of them fit its cells).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Input._WORD_START: a word character that follows a non-word character.  It is matched against the
# text on one side of the cursor only (a slice), as Input does, so the slice's first character never
# counts as a word start.
_WORD_START = re.compile(r"(?<=\W)\w")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


class LineEditor:
    """One line of text being edited: value, cursor (0..len), and an optional selection anchor."""

    value: str
    cursor: int
    anchor: int | None  # the other end of the selection; None or == cursor: nothing selected

    def __init__(self, value: str = "") -> None:
        self.value = value
        self.cursor = len(value)
        self.anchor = None
        self._keys: dict[str, Callable[[], None]] = {
            "left": lambda: self._cursor_left(False),
            "shift+left": lambda: self._cursor_left(True),
            "ctrl+left": lambda: self._cursor_left_word(False),
            "ctrl+shift+left": lambda: self._cursor_left_word(True),
            "right": lambda: self._cursor_right(False),
            "shift+right": lambda: self._cursor_right(True),
            "ctrl+right": lambda: self._cursor_right_word(False),
            "ctrl+shift+right": lambda: self._cursor_right_word(True),
            "backspace": self._delete_left,
            "ctrl+shift+a": self.select_all,
            "home": lambda: self._home(False),
            "ctrl+a": lambda: self._home(False),
            "end": lambda: self._end(False),
            "ctrl+e": lambda: self._end(False),
            "shift+home": lambda: self._home(True),
            "shift+end": lambda: self._end(True),
            "delete": self._delete_right,
            "ctrl+d": self._delete_right,
            "ctrl+w": self._delete_left_word,
            "ctrl+u": self._delete_left_all,
            "super+backspace": self._delete_left_all,
            "ctrl+backspace": self._delete_right_word,  # as Input's binding: delete_right_word
            "alt+backspace": self._delete_right_word,
            "ctrl+k": self._delete_right_all,
        }

    def __repr__(self) -> str:
        return f"LineEditor({self.value!r}, cursor={self.cursor}, anchor={self.anchor})"

    # --- state ---------------------------------------------------------------------------------

    def start(self, value: str) -> None:
        """Begin editing ``value``: everything selected, the cursor at the end (Input's select_on_focus)."""
        self.value = value
        self.anchor = 0
        self.cursor = len(value)

    @property
    def selection(self) -> tuple[int, int] | None:
        """The selected range as (start, end) with start < end, or None when nothing is selected."""
        if self.anchor is None or self.anchor == self.cursor:
            return None
        return (min(self.anchor, self.cursor), max(self.anchor, self.cursor))

    def selected_text(self) -> str:
        """The selected text ("" when nothing is selected)."""
        selection = self.selection
        return "" if selection is None else self.value[selection[0] : selection[1]]

    def select_all(self) -> None:
        """Select the whole value, the cursor at the end."""
        self._select(0, len(self.value))

    def _select(self, anchor: int, cursor: int) -> None:
        """Input's ``selection = Selection(anchor, cursor)``: both ends clamped to the value."""
        length = len(self.value)
        self.anchor = _clamp(anchor, 0, length)
        self.cursor = _clamp(cursor, 0, length)

    def _move(self, cursor: int) -> None:
        """Input's ``cursor_position = cursor``: clamped, and nothing selected."""
        self.cursor = _clamp(cursor, 0, len(self.value))
        self.anchor = None

    def _ends(self) -> tuple[int, int]:
        """Input's ``selection``: (anchor, cursor), the anchor being the cursor when nothing is selected."""
        return (self.cursor if self.anchor is None else self.anchor, self.cursor)

    # --- editing -------------------------------------------------------------------------------

    def _replace(self, text: str, start: int, end: int) -> None:
        """Input.replace: the text between start and end (either order, clamped) becomes ``text``."""
        start, end = sorted((max(0, start), min(len(self.value), end)))
        self.value = f"{self.value[:start]}{text}{self.value[end:]}"
        self._move(start + len(text))

    def _delete_selection(self) -> None:
        self._replace("", *self._ends())

    def insert(self, text: str) -> None:
        """Type or paste ``text`` over the selection (or at the cursor); only its first line is kept.

        As Input's paste: an empty text changes nothing (a selection stays selected).
        """
        if not text:
            return
        self._replace(text.splitlines()[0], *self._ends())  # nothing selected: both ends are the cursor

    def cut(self) -> str:
        """Remove the selection and return it ("" and no change when nothing is selected)."""
        text = self.selected_text()
        if text:
            self._delete_selection()
        return text

    def key(self, key: str) -> bool:
        """Apply the editing key ``key`` (a Textual key name, as Input's bindings name them).

        True when it is an editing key, whether or not it changed anything; False for any other key
        (tab, up, down, enter, escape, printable characters...), which the caller lets through.
        """
        action = self._keys.get(key)
        if action is None:
            return False
        action()
        return True

    # --- Input's actions -----------------------------------------------------------------------

    def _cursor_left(self, select: bool) -> None:
        start, end = self._ends()
        if select:
            self._select(start, end - 1)
        elif start == end:
            self._move(self.cursor - 1)
        else:
            self._move(min(start, end))

    def _cursor_right(self, select: bool) -> None:
        start, end = self._ends()
        if select:
            self._select(start, end + 1)
        elif start == end:
            self._move(self.cursor + 1)
        else:
            self._move(max(start, end))

    def _home(self, select: bool) -> None:
        if select:  # as Input: the selection runs from the cursor (not the old anchor) to the start
            self._select(self.cursor, 0)
        else:
            self._move(0)

    def _end(self, select: bool) -> None:
        if select:
            self._select(self.cursor, len(self.value))
        else:
            self._move(len(self.value))

    def _word_start_left(self) -> int:
        """The last word start before the cursor, or 0."""
        hits = list(_WORD_START.finditer(self.value[: self.cursor]))
        return hits[-1].start() if hits else 0

    def _cursor_left_word(self, select: bool) -> None:
        start, _ = self._ends()
        target = self._word_start_left()
        if select:
            self._select(start, target)
        else:
            self._move(target)

    def _cursor_right_word(self, select: bool) -> None:
        hit = _WORD_START.search(self.value[self.cursor :])
        start, end = self._ends()
        target = len(self.value) if hit is None else end + hit.start()
        if select:
            self._select(start, target)
        else:
            self._move(target)

    def _delete_left(self) -> None:
        if self.selection is None:
            self._replace("", self.cursor - 1, self.cursor)
        else:
            self._delete_selection()

    def _delete_right(self) -> None:
        if self.selection is None:
            self._replace("", self.cursor, self.cursor + 1)
        else:
            self._delete_selection()

    def _delete_left_word(self) -> None:
        if self.selection is not None:
            self._delete_selection()
        else:
            self._replace("", self._word_start_left(), self.cursor)

    def _delete_right_word(self) -> None:
        if self.selection is not None:
            self._delete_selection()
            return
        hit = _WORD_START.search(self.value[self.cursor :])
        if hit is None:
            self._delete_right_all()
        else:
            self._replace("", self.cursor, self.cursor + hit.end() - 1)

    def _delete_left_all(self) -> None:
        if self.selection is None:
            self._replace("", 0, self.cursor)
        else:
            self._delete_selection()

    def _delete_right_all(self) -> None:
        if self.selection is None:
            self._replace("", self.cursor, len(self.value))
        else:
            self._delete_selection()

"""A stranger wrote every string: the one sanitiser for text bound for a terminal, and the one
rule for CSV cells.

Text from a preset, a run directory, a file name or a data set may hold control characters: an
ESC starts a sequence that retitles the terminal or sets its clipboard (OSC 0, OSC 52), a C1
byte does the same on some terminals, a bidi override reorders what the eye reads.  ``visible``
shows each of them as an escape (``\\x1b``, ``\\u202e``) instead of sending it; the CLI and the
TUI pass every such string through it.  ``csv_cell`` neutralises a text cell a spreadsheet would
read as a formula, as OWASP describes (a leading ``'``); numbers stay numbers.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls; the line and paragraph separators (a new
# line to a terminal's eye); bidi embeddings, overrides and isolates, and the marks.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\t\n]")

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: Any, *, one_line: bool = False) -> str:
    """``text`` safe to write to a terminal: control characters shown, never sent.

    Tabs and newlines are kept, unless ``one_line`` (a table cell, a title, a one-line status)
    asks for them shown too."""
    return (_UNSAFE_LINE if one_line else _UNSAFE).sub(_escape, str(text))


def is_visible(text: str, *, one_line: bool = False) -> bool:
    """True when ``visible`` would leave ``text`` as it is (tab and newline allowed unless ``one_line``)."""
    return (_UNSAFE_LINE if one_line else _UNSAFE).search(text) is None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: numbers (and None) as they are; a text starting with
    ``= + - @``, tab or CR gets a leading ``'`` (OWASP's CSV injection advice), so ``-3`` written
    as text by a stranger reads as text; control characters are shown (``visible``)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return visible(text)

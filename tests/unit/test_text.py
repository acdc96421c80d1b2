"""The one terminal sanitiser and the CSV cell rule (kerastui.core.text)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from kerastui.core.text import csv_cell, is_visible, visible


def test_escape_sequences_are_shown_not_sent() -> None:
    shown = visible("out\x1b]0;evil\x07 and \x1b]52;c;ZXZpbA==\x07 \x9b31m \u202eevil")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown and "\u202e" not in shown
    assert shown == "out\\x1b]0;evil\\x07 and \\x1b]52;c;ZXZpbA==\\x07 \\x9b31m \\u202eevil"


def test_tab_and_newline_kept_unless_one_line() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("a\tb\nc\rd", one_line=True) == "a\\tb\\nc\\rd"
    assert visible("ok · naïve 日本 ✓") == "ok · naïve 日本 ✓"


@given(st.text())
def test_nothing_unsafe_survives(text: str) -> None:
    shown = visible(text, one_line=True)
    assert is_visible(shown)
    assert not any(unicodedata.category(c) == "Cc" for c in shown)
    assert "\u2028" not in shown and "\u2029" not in shown


def test_csv_cells_neutralised_numbers_kept() -> None:
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    for start in "=+-@\t\r":
        assert str(csv_cell(start + "x")).startswith("'")
    assert csv_cell(-3) == -3 and csv_cell(0.5) == 0.5 and csv_cell(None) is None
    assert csv_cell("model a") == "model a"
    assert csv_cell("a\x1b[2J") == "a\\x1b[2J"

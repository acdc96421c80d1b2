"""Snapshot failures that say what changed.

A mismatched snapshot otherwise only says ``assert False`` and points at an HTML report that a CI
log does not carry.  This wraps pytest-textual-snapshot's ``snap_compare``: on a mismatch it prints
the screen's text, baseline against actual, as a unified diff (or says that only the styles differ).
"""

from __future__ import annotations

import difflib
import html
import pickle
import re

import pytest

CELL_WIDTH = 12.2  # Textual's SVG export: one terminal cell, in SVG units
_SPAN = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                   r'clip-path="url\(#terminal-(?:\d+-)?line-(\d+)\)">([^<]*)</text>')


def svg_lines(svg: str) -> list[str]:
    """The text a Textual SVG screenshot shows, one string per terminal line."""
    rows: dict[int, dict[int, str]] = {}
    for x, line, text in _SPAN.findall(svg):
        rows.setdefault(int(line), {})[round(float(x) / CELL_WIDTH)] = html.unescape(text).replace("\xa0", " ")
    lines = []
    for number in range(max(rows, default=-1) + 1):
        chars: list[str] = []
        for column, text in sorted(rows.get(number, {}).items()):
            chars.extend(" " * (column - len(chars)))
            chars[column:column + len(text)] = text
        lines.append("".join(chars).rstrip())
    return lines


@pytest.fixture
def snap_compare(snap_compare, request):
    from pytest_textual_snapshot import node_to_report_path

    def compare(*args, **kwargs) -> bool:
        result = snap_compare(*args, **kwargs)
        if not result:
            data = pickle.loads(node_to_report_path(request.node).read_bytes())
            expected, actual = data[1], data[2]
            diff = list(difflib.unified_diff(svg_lines(expected), svg_lines(actual), "baseline", "actual",
                                             lineterm="", n=1))
            print("snapshot mismatch, screen text:\n" + ("\n".join(diff) if diff else
                                                         "(the same text: only styles or colours differ)"))
        return result

    return compare

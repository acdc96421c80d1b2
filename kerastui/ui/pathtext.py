"""A value shown in fewer cells than it takes: a path keeps its end ("…/models/ex2.keras": where it
goes is in its last parts), any other text its start ("momentum=0.9, nest…").  Plain Python (Rich's
cell widths only): fields of any form can call it."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

SEPARATORS = "/\\"


def looks_like_path(text: str) -> bool:
    """Whether ``text`` reads as a file or folder path (it has a separator and no spaces around it)."""
    return any(sep in text for sep in SEPARATORS) and "," not in text and "=" not in text


def path_end(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` cells keeping its end: cut at a separator where that keeps
    most of the room ("…/models/ex2.keras"), else the last characters ("…rd-logs/ex2")."""
    if cell_len(text) <= cells:
        return text
    if cells <= 1:
        return "…"[:cells]
    for at, char in enumerate(text):
        if char in SEPARATORS and at > 0 and cell_len(text[at:]) + 1 <= cells:
            if 3 * (cell_len(text[at:]) + 1) >= 2 * cells:
                return "…" + text[at:]
            break
    tail = text
    while tail and cell_len(tail) + 1 > cells:
        tail = tail[1:]
    return "…" + tail


def fit_value(text: str, cells: int) -> str:
    """``text`` in exactly ``cells`` cells: padded, or cut with "…" — at its start for a path (its end
    is kept), at its end otherwise."""
    if cell_len(text) > cells and looks_like_path(text):
        text = path_end(text, cells)
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    return set_cell_size(set_cell_size(text, max(cells - 1, 0)) + "…", cells)

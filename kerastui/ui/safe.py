"""A stranger wrote every string: how the TUI shows one.

Names, titles, paths, metrics, class names and error text come from presets, run directories,
file names and data sets.  In the TUI they are shown only through these helpers: control
characters become escapes (``kerastui.core.text.visible``, the one sanitiser), and the text is
never read as markup (``[b]``, ``[$accent]``, ``[@click=…]`` show as typed).  A widget id made
for a name is derived from it (``widget_id``), never the name itself: ``top2 acc`` is not a valid
id, and two names must never collide.
"""

from __future__ import annotations

import re

from rich.text import Span, Text
from textual.content import Content

from kerastui.core.text import is_visible, visible

_PLAIN_ID = re.compile(r"[A-Za-z0-9_]+")


def plain(text: object, style: str = "", *, one_line: bool = True) -> Text:
    """``text`` as a Rich ``Text`` (never parsed as markup), control characters shown; one line
    unless asked (a name, a title, a status)."""
    return Text(visible(text, one_line=one_line), style=style)


def escaped(text: object) -> str:
    """``text`` for a place that only takes a markup string (the command palette's help line): one
    line, control characters shown, every ``[`` escaped.  (``rich.markup.escape`` leaves Textual's
    ``[$variable]`` and ``[B]`` tags and a trailing backslash as they are; Textual reads ``\\[`` as a
    bracket and every other backslash as itself.)"""
    return visible(text, one_line=True).replace("[", "\\[")


def markup(template: str, **values: object) -> Content:
    """Our own markup ``template`` with each ``$name`` replaced by ``values[name]`` as plain text
    (Textual's variables: never parsed), its control characters shown."""
    return Content.from_markup(template, **{key: visible(value, one_line=True) for key, value in values.items()})


def text(value: str | Text, *, one_line: bool = False) -> Text:
    """A label, a cell or a built-up message as ``Text`` (a plain ``str`` would be read as markup by a
    DataTable, a Rich Table or a Static), control characters shown (newlines kept unless
    ``one_line``).  A ``Text`` that holds one is rebuilt piece by piece, each piece keeping its styles."""
    if not isinstance(value, Text):
        return Text(visible(value, one_line=one_line))
    if is_visible(value.plain, one_line=one_line):
        return value
    out = Text(style=value.style, justify=value.justify, overflow=value.overflow, no_wrap=value.no_wrap,
               end=value.end)
    cuts = sorted({offset for span in value.spans for offset in (span.start, span.end)})
    for piece in value.divide(cuts):  # each span now covers a piece whole, or none of it
        shown = visible(piece.plain, one_line=one_line)
        out.append_text(Text(shown, spans=[Span(0, len(shown), span.style) for span in piece.spans
                                           if span.end > span.start]))
    return out


def cell(value: object) -> object:
    """A table cell: text as ``text`` makes it, but a string that markup reads as itself (no control
    character, no ``[``, no ``:`` of an emoji code) stays the string it is; anything else (numbers,
    renderables) as it is."""
    if isinstance(value, str) and is_visible(value) and "[" not in value and ":" not in value:
        return value
    return text(value) if isinstance(value, (str, Text)) else value


def widget_id(prefix: str, name: str) -> str:
    """A valid, unique widget id for ``name``: ``prefix-name`` when the name is letters, digits and
    underscores (Keras's own metric names: ``chart-loss``), else ``prefix--`` and a hash of it (no
    plain name holds ``-``, so the two kinds never meet)."""
    if _PLAIN_ID.fullmatch(name):
        return f"{prefix}-{name}"
    import hashlib  # a name that is not an identifier: rare, and not before the first frame

    return f"{prefix}--{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"

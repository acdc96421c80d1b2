"""The form kit: a settings column, a labelled field on one line, and a field's text as a number.

- ``Form``: the scrolling column the settings live in.
- ``field_row(label, widget)``: a label and its widget side by side, with the classes the stylesheets
  give fields (``field`` / ``field-name`` in app.tcss, unless a panel styles its own).
- ``parse_number(text, int | float, name, ...)``: what a typed number means, or a ValueError naming
  the field.  It accepts exactly what Textual's own validator for the field accepts (``Integer()``
  for an ``Input(type="integer")``, ``Number()`` for ``type="number"``: the validators such an Input
  attaches itself, which mark it ``-invalid``), so a field that does not look wrong parses.
- ``Parses(parse)``: a Textual ``Validator`` that accepts what a parse function accepts.
- ``fitted(text, cells)``: a value in a field's width, cut with "…" (counted in terminal cells).
- (whether a widget types the letter keys is :func:`kerastui.ui.widgets.formscreen.types_text`:
  the workspaces need it before the first frame, and this module not until later)

Compile entries as typed (metrics, an optimizer's arguments) are read in
:mod:`kerastui.ui.widgets.entries`.

Bounds are checked when the value is used (start, load, apply), never as the user types: a field
is only marked for not being a number, as Textual does for every typed Input.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Final, Literal, TypeVar, overload

from rich.cells import cell_len, set_cell_size
from textual.containers import Horizontal, VerticalScroll
from textual.validation import Integer, Number, ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Label


class Form(VerticalScroll, can_focus=False):
    """A settings column.  Tab goes straight to its fields (the column scrolls to follow them):
    a focusable container would also restyle every field below it on each focus change."""

    HELP = "A settings column: Tab and shift+Tab move between its fields."


def fitted(text: str, cells: int) -> str:
    """``text`` in exactly ``cells`` terminal cells: padded, or cut with "…" (wide characters count two)."""
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    return set_cell_size(set_cell_size(text, max(cells - 1, 0)) + "…", cells)


class FieldRow(Horizontal):
    """A label and its widget on one line; styled here for the classes ``field`` and ``field-name``
    (a panel with classes of its own styles them in its stylesheet)."""

    DEFAULT_CSS = """
    FieldRow.field {
        height: auto;
        margin-bottom: 1;
        .field-name {
            width: 12;
            padding: 0 1 0 0;
            color: $text-muted;
        }
        Input, Choice {
            width: 1fr;
        }
    }
    """


def field_row(label: str, *widgets: Widget, id: str | None = None, classes: str | None = "field",
              label_classes: str | None = "field-name") -> Horizontal:
    """A label and its widget (or widgets) on one line.

    ``classes`` and ``label_classes`` are the ones the place's stylesheet gives a field: ``field``
    and ``field-name`` (:class:`FieldRow`'s) unless a panel has its own (None: no class)."""
    return FieldRow(Label(label, classes=label_classes), *widgets, id=id, classes=classes)


# --------------------------------------------------------------------------- numbers


class _Blank(Enum):
    REQUIRED = "required"


REQUIRED: Final = _Blank.REQUIRED
"""``parse_number(blank=REQUIRED)``: a blank field is not a number (the default)."""

# The messages, as str.format templates of name, text, noun, minimum and below.
NOT_A_NUMBER = "{name}: {text!r} is not a valid {noun}"
TOO_SMALL = "{name} must be ≥ {minimum}"
TOO_LARGE = "{name} must be < {below}"


def number_validator(kind: type[int] | type[float]) -> Number:
    """The validator Textual attaches to an ``Input(type="integer")`` (int) or ``type="number"`` (float)."""
    return Integer() if kind is int else Number()


N = TypeVar("N", int, float)
B = TypeVar("B")


@overload
def parse_number(text: str, kind: type[N], name: str, *, minimum: float | None = ..., below: float | None = ...,
                 blank: Literal[_Blank.REQUIRED] = ..., noun: str | None = ..., not_a_number: str = ...,
                 too_small: str = ..., too_large: str = ...) -> N: ...
@overload
def parse_number(text: str, kind: type[N], name: str, *, minimum: float | None = ..., below: float | None = ...,
                 blank: B, noun: str | None = ..., not_a_number: str = ..., too_small: str = ...,
                 too_large: str = ...) -> N | B: ...


def parse_number(text: str, kind: type[int] | type[float], name: str, *, minimum: float | None = None,
                 below: float | None = None, blank: object = REQUIRED, noun: str | None = None,
                 not_a_number: str = NOT_A_NUMBER, too_small: str = TOO_SMALL, too_large: str = TOO_LARGE) -> object:
    """A field's text (spaces around it ignored) as ``kind``, at least ``minimum`` and under ``below``.

    A blank field gives ``blank`` (REQUIRED: it is not a number).  Otherwise a ValueError says what
    is wrong, from the templates: ``not_a_number`` (``noun`` names the kind, by default ``int`` or
    ``float``), ``too_small``, ``too_large``; each may use ``{name}``, ``{text}``, ``{noun}``,
    ``{minimum}`` and ``{below}`` (the bounds as given: ``0.0`` reads "0.0", ``0`` reads "0")."""
    text = text.strip()
    if not text and blank is not REQUIRED:
        return blank
    words = {"name": name, "text": text, "noun": noun or kind.__name__, "minimum": minimum, "below": below}
    if not number_validator(kind).validate(text).is_valid:
        raise ValueError(not_a_number.format(**words))
    value = kind(text)
    if minimum is not None and value < minimum:
        raise ValueError(too_small.format(**words))
    if below is not None and value >= below:
        raise ValueError(too_large.format(**words))
    return value


class Parses(Validator):
    """Valid when ``parse(text)`` gives a value, invalid when it raises ValueError."""

    def __init__(self, parse: Callable[[str], object], failure_description: str | None = None) -> None:
        super().__init__(failure_description=failure_description)
        self.parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self.parse(value)
        except ValueError:
            return self.failure(value=value)
        return self.success()

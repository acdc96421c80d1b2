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
- ``types_text(widget)``: whether printable keys type into the widget now (an Input, or a
  ``SettingsGrid`` on a text field): the workspace's letter keys do not work there.
- ``parse_metrics`` / ``metrics_text``, ``compile_entry`` / ``entry_fields``: compile entries as
  typed — ``accuracy, TopKCategoricalAccuracy(k=2)`` in the metrics field, ``momentum=0.9,
  nesterov=True`` in an optimizer's or a loss's arguments field — and back, exactly.

Bounds are checked when the value is used (start, load, apply), never as the user types: a field
is only marked for not being a number, as Textual does for every typed Input.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from enum import Enum
from typing import Any, Final, Literal, TypeVar, overload

from rich.cells import cell_len, set_cell_size
from textual.containers import Horizontal, VerticalScroll
from textual.validation import Integer, Number, ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Label

from kerastui.core.model.kerasobjects import LOSS_CLASSES, class_name_for
from kerastui.core.model.specs import ObjectSpec, object_text


class Form(VerticalScroll, can_focus=False):
    """A settings column.  Tab goes straight to its fields (the column scrolls to follow them):
    a focusable container would also restyle every field below it on each focus change."""

    HELP = "A settings column: Tab and shift+Tab move between its fields."


def fitted(text: str, cells: int) -> str:
    """``text`` in exactly ``cells`` terminal cells: padded, or cut with "…" (wide characters count two)."""
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    return set_cell_size(set_cell_size(text, max(cells - 1, 0)) + "…", cells)


def types_text(widget: object) -> bool:
    """Whether the widget takes printable keys now (a text field, or a form drawn as one widget whose
    current field is one: its ``types_text``): there the letter keys type, not run their actions."""
    return isinstance(widget, Input) or bool(getattr(widget, "types_text", False))


def field_row(label: str, *widgets: Widget, id: str | None = None, classes: str | None = "field",
              label_classes: str | None = "field-name") -> Horizontal:
    """A label and its widget (or widgets) on one line.

    ``classes`` and ``label_classes`` are the ones the place's stylesheet gives a field: app.tcss's
    ``field`` and ``field-name`` unless a panel has its own (None: no class)."""
    return Horizontal(Label(label, classes=label_classes), *widgets, id=id, classes=classes)


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


# --------------------------------------------------------------------------- compile entries


def _literal(node: ast.expr, where: str) -> Any:
    """A keyword's value: a Python literal (also ``true``/``false``, as a preset writes them)."""
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        raise ValueError(f"{where}: {ast.unparse(node)!r} is not a value (a number, 'text', True, [1, 2])") from None


def _keywords(call: ast.Call, where: str) -> dict[str, Any]:
    if call.args:
        raise ValueError(f"{where}: give arguments by name, like k=2")
    out: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError(f"{where}: give arguments by name, like k=2")
        out[keyword.arg] = _literal(keyword.value, f"{where}: {keyword.arg}")
    return out


def _entry(node: ast.expr, where: str) -> str | ObjectSpec:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value.strip()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return ObjectSpec(node.func.id, _keywords(node, f"{where}: {node.func.id}"))
    raise ValueError(f"{where}: {ast.unparse(node)!r} is not a metric name or ClassName(arg=value, ...)")


def parse_metrics(text: str, name: str = "metrics") -> list[str | ObjectSpec]:
    """``accuracy, TopKCategoricalAccuracy(k=2), F1Score(average='macro')`` → names and ObjectSpecs;
    a ValueError names the field."""
    if not text.strip():
        return []
    try:
        tree = ast.parse(f"[{text.strip().rstrip(',')}\n]", mode="eval").body
    except SyntaxError:
        raise ValueError(f"{name}: cannot read {text.strip()!r}; write names or ClassName(arg=value), "
                         "separated by commas") from None
    assert isinstance(tree, ast.List)
    return [_entry(node, name) for node in tree.elts]


def metrics_text(metrics: list[str | ObjectSpec]) -> str:
    """The metrics field's text for ``metrics``: what :func:`parse_metrics` reads back equal."""
    return ", ".join(object_text(m) for m in metrics)


def parse_arguments(text: str, name: str) -> dict[str, Any]:
    """``momentum=0.9, nesterov=True`` → keyword arguments; a ValueError names the field."""
    if not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text.strip().rstrip(',')}\n)", mode="eval").body
    except SyntaxError:
        raise ValueError(f"{name}: cannot read {text.strip()!r}; write name=value, separated by commas") from None
    assert isinstance(call, ast.Call)
    return _keywords(call, name)


def arguments_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


_LOSS_NAMES = {cls: name for name, cls in LOSS_CLASSES.items()}


def entry_fields(value: str | ObjectSpec, kind: str) -> tuple[str, str]:
    """An optimizer or loss as the form shows it: (the name its list selects, its arguments' text)."""
    if isinstance(value, str):
        return (value.lower() if kind == "optimizer" else value), ""
    selected = value.type.lower() if kind == "optimizer" else _LOSS_NAMES.get(value.type, value.type)
    return selected, arguments_text(value.kwargs)


def compile_entry(kind: str, selected: str, arguments: str, current: str | ObjectSpec, name: str) -> str | ObjectSpec:
    """The optimizer or loss the form says: the selected name, or with arguments its class
    (``sgd`` + ``momentum=0.9`` → ``{type = "SGD", momentum = 0.9}``).  What the form shows for
    ``current`` gives ``current`` back unchanged, so a preset saved from the form loads back equal."""
    kwargs = parse_arguments(arguments, name)
    if entry_fields(current, kind) == (selected, arguments_text(kwargs)):
        return current
    if not kwargs:
        return selected
    return ObjectSpec(class_name_for(kind, selected), kwargs)

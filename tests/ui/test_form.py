"""The form kit: a field's text as a number (the messages the workspaces show), a parse function as a
Textual validator, and a field row with the classes its stylesheet expects."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label

from kerastui.ui.widgets.form import Parses, field_row, parse_number


@pytest.mark.parametrize(("text", "kind", "options", "expected"), [
    (" 12 ", int, {"minimum": 1}, 12),
    ("0.25", float, {"minimum": 0.0, "below": 1}, 0.25),
    ("", float, {"blank": None}, None),
    ("  ", int, {"blank": 0}, 0),
    ("1e-5", float, {"minimum": 0}, 1e-5),
])
def test_parse_number_reads_what_the_field_holds(text, kind, options, expected):
    value = parse_number(text, kind, "field", **options)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("text", "kind", "name", "options", "message"), [
    # Train's settings
    ("x", float, "learning rate", {"minimum": 0.0, "blank": None}, "learning rate: 'x' is not a valid float"),
    ("-1", float, "learning rate", {"minimum": 0.0}, "learning rate must be ≥ 0.0"),
    ("1", float, "val split", {"minimum": 0.0, "below": 1}, "val split must be < 1"),
    ("", int, "epochs", {"minimum": 1}, "epochs: '' is not a valid int"),
    ("2.5", int, "epochs", {"minimum": 1}, "epochs: '2.5' is not a valid int"),
    ("0.5", int, "epochs", {"minimum": 1}, "epochs: '0.5' is not a valid int"),  # not a whole number first
    ("0", int, "epochs", {"minimum": 1}, "epochs must be ≥ 1"),
    # the transfer panel's
    ("fast", float, "fine-tune learn rate", {"minimum": 0, "noun": "number"},
     "fine-tune learn rate: 'fast' is not a valid number"),
    ("-1e-5", float, "fine-tune learn rate", {"minimum": 0, "noun": "number"}, "fine-tune learn rate must be ≥ 0"),
    ("two", int, "head epochs", {"minimum": 1, "noun": "whole number"},
     "head epochs: 'two' is not a valid whole number"),
    # the Data workspace's own wording
    ("half", float, "val split", {"not_a_number": "{name} must be a number"}, "val split must be a number"),
    ("1.5", float, "val split", {"minimum": 0, "below": 1, "too_large": "{name} must be in [0, 1)"},
     "val split must be in [0, 1)"),
    # Textual's Number() rejects what is not finite; so does the kit
    ("nan", float, "learning rate", {}, "learning rate: 'nan' is not a valid float"),
    ("inf", float, "factor", {"minimum": 0.0}, "factor: 'inf' is not a valid float"),
])
def test_parse_number_says_what_is_wrong_with_the_field(text, kind, name, options, message):
    with pytest.raises(ValueError) as caught:
        parse_number(text, kind, name, **options)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["3", "-3", "+3", "1_000", "3.0", "1e3", "x", "", "nan", "inf", "0x10"])
@pytest.mark.parametrize(("kind", "field_type"), [(int, "integer"), (float, "number")])
def test_parse_number_accepts_exactly_what_the_input_marks_valid(text, kind, field_type):
    field = Input(type=field_type)  # Textual attaches Integer() / Number() itself
    try:
        parse_number(text, kind, "field")
    except ValueError:
        parsed = False
    else:
        parsed = True
    assert parsed is field.validate(text).is_valid


def test_parses_validates_by_the_parse_function():
    validator = Parses(int, "not a valid int")
    assert validator.validate("12").is_valid
    result = validator.validate("twelve")
    assert not result.is_valid and result.failure_descriptions == ["not a valid int"]


def test_field_row_gives_the_label_and_the_row_their_classes():
    row = field_row("epochs", Input(id="epochs"))
    label = row._pending_children[0]
    assert isinstance(label, Label) and label.has_class("field-name") and row.has_class("field")
    own = field_row("base", Input(), Input(), id="source", classes="tl-field", label_classes=None)
    assert own.id == "source" and own.classes == {"tl-field"} and not own._pending_children[0].classes
    assert len(own._pending_children) == 3

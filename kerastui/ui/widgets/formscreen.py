"""A screen whose Tab and shift+Tab enter a form drawn as one widget at its first or last field,
and ``types_text``: whether the focused widget types the letter keys.

Such a widget (``SettingsGrid``) has ``entered(forward=)``; this module does not import it, nor the
forms' module, so a workspace's base class costs nothing before the first frame (the grid and the
fields load with the screens that show them).
"""

from __future__ import annotations

from textual.css.query import QueryType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input


class FormScreen(Screen[None]):
    """Tab into a one-widget form starts at its first field, shift+Tab at its last."""

    def focus_next(self, selector: str | type[QueryType] = "*") -> Widget | None:
        widget = super().focus_next(selector)
        _enter(widget, forward=True)
        return widget

    def focus_previous(self, selector: str | type[QueryType] = "*") -> Widget | None:
        widget = super().focus_previous(selector)
        _enter(widget, forward=False)
        return widget


def _enter(widget: Widget | None, *, forward: bool) -> None:
    entered = getattr(widget, "entered", None)
    if callable(entered):
        entered(forward=forward)


def types_text(widget: object) -> bool:
    """Whether the widget takes printable keys now (a text field, or a form drawn as one widget whose
    current field is one: its ``types_text``): there the letter keys type, not run their actions."""
    return isinstance(widget, Input) or bool(getattr(widget, "types_text", False))

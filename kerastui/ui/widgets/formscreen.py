"""A screen whose Tab and shift+Tab enter a form drawn as one widget at its first or last field.

Such a widget (``SettingsGrid``) has ``entered(forward=)``; this module does not import it, so a
workspace's base class costs nothing before the first frame (the grid loads with the screens that
show one).
"""

from __future__ import annotations

from textual.css.query import QueryType
from textual.screen import Screen
from textual.widget import Widget


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

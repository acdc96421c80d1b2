"""A screen whose Tab and shift+Tab enter a form drawn as one widget at its first or last field,
``types_text``: whether the focused widget types the letter keys, and ``repaint_after_frame``: how
the footer and the tabs follow what a key changed.

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


def repaint_after_frame(widget: Widget) -> None:
    """Repaint a one-line bar (the footer, the tabs) after the frame being made.

    A frame repaints the box around everything changed in it: the footer's row at the bottom and
    the tabs' at the top, in the frame of a Tab that changed them, made it every widget on the
    screen (4 of a flip's 6 ms in the settings form, measured).  The key's own frame shows the
    move; the bars follow in the next (at most 1/``TEXTUAL_FPS`` later: what they draw is read
    then).  Asked again before then, the repaints are one (Textual's refresh coalesces)."""
    widget.call_after_refresh(widget.refresh)

"""A scrolling column of fields that is not itself a focus stop."""

from __future__ import annotations

from textual.containers import VerticalScroll


class Form(VerticalScroll, can_focus=False):
    """A settings column.  Tab goes straight to its fields (the column scrolls to follow them):
    a focusable container would also restyle every field below it on each focus change."""

    HELP = "A settings column: Tab and shift+Tab move between its fields."

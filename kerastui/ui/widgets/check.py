"""The one checkbox look: ``[x] label`` and ``[ ] label``, as the settings forms draw their toggles.

Textual's ``Checkbox`` draws ``▐X▌`` in both states and tells them apart by colour only; over SSH in
a 256-colour or monochrome terminal that is unreadable.  ``Check`` is that ``Checkbox`` (same keys,
messages, ``value`` and queries by ``Checkbox``) with the state in the glyph: the mark is coloured
too, but the x is what says it.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class Check(Checkbox):
    """A ``Checkbox`` drawn ``[x]`` when on and ``[ ]`` when off."""

    DEFAULT_CSS = """
    Check {
        & > .toggle--button {
            color: $foreground 40%;
            background: transparent;
        }
        &.-on > .toggle--button {
            color: $text-success;
            background: transparent;
            text-style: bold;
        }
        &:ansi > .toggle--button, &:ansi.-on > .toggle--button {
            background: transparent;
        }
    }
    """

    @property
    def _button(self) -> Content:
        """``[x]`` or ``[ ]``: the state readable without colour."""
        return Content.assemble("[", ("x" if self.value else " ", self.get_visual_style("toggle--button")), "]")

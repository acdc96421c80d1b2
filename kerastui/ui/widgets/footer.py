"""The footer: the keys that work here, drawn as one line of text."""

from __future__ import annotations

from itertools import groupby

from textual import events
from textual.content import Content
from textual.dom import DOMNode
from textual.style import Style
from textual.widget import Widget


def _key_range(keys: list) -> list:
    """A group's keys as shown: f2 f3 f4 f5 f6 f7 (the workspace keys from a text field) as "f2–f7",
    clicking it running the first; letters stay side by side ("dmtvph")."""
    displays = [k[0] for k in keys]
    numbers = [int(d[1:]) for d in displays if d[:1] == "f" and d[1:].isdigit()]
    if len(numbers) == len(displays) > 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        first = keys[0]
        return [(f"{displays[0]}–{displays[-1]}", first[1], first[2], all(k[3] for k in keys))]
    return keys


class KeyFooter(Widget):
    """The keys of the focused widget, the screen and the app, as Textual's Footer shows them
    (grouped bindings share one label; the command palette on the right; click runs the action).

    Textual's Footer is a row of widgets rebuilt on every focus change that changes the keys
    (Tab from an Input to a Select does): in a form that is most of a key press's cost.  This
    one redraws a line of text instead."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--disabled {
            text-style: dim;
        }
    }
    """
    HELP = "The keys that work here (click one to run it); F1 lists them all with what they do."

    def __init__(self) -> None:
        super().__init__()
        self._items: list[tuple[list[tuple[str, str, DOMNode, bool]], str]] = []
        self._spans: list[tuple[int, int, str, DOMNode]] = []  # (start, end, action, node) for clicks
        self._palette_keys: tuple[str, str] | None = None  # the command palette's key, on the right

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if screen is not self.screen:
            return
        by_action: dict[tuple[int, str], list] = {}
        active = screen.active_bindings
        for key, (node, binding, enabled, _tooltip) in active.items():
            if binding.show:
                by_action.setdefault((id(node), binding.action), []).append((key, node, binding, enabled))
        items = []
        for group, grouped in groupby(by_action.values(), lambda entries: entries[0][2].group):
            entries = list(grouped)
            keys = [(self.app.get_key_display(e[0][2]), e[0][2].action, e[0][1], e[0][3]) for e in entries]
            if group is not None and len(entries) > 1:
                items.append((_key_range(keys), group.description))
            else:
                items.extend(([k], e[0][2].description) for k, e in zip(keys, entries, strict=True))
        palette = self._palette(active)
        if items != self._items or palette != self._palette_keys:
            self._items, self._palette_keys = items, palette
            self.refresh()

    def render(self) -> Content:
        # Textual's own Content with Textual styles: drawn without converting rich Text and rich
        # styles span by span (this line is redrawn on each focus change that changes the keys).
        key_style = self.get_visual_style("key-footer--key")
        text_style = self.get_visual_style("key-footer--description")
        dim = self.get_visual_style("key-footer--disabled")
        parts: list[str | tuple[str, Style]] = []
        self._spans = []
        length = 0
        for keys, description in self._items:
            gap = "  " if length else " "
            parts.append(gap)
            length += len(gap)
            for display, action, node, enabled in keys:
                parts.append((display, key_style if enabled else key_style + dim))
                self._spans.append((length, length + len(display), action, node))
                length += len(display)
            if description:
                parts.append(" ")
                parts.append((description, text_style if all(k[3] for k in keys) else text_style + dim))
                length += 1 + len(description)
        line = Content.assemble(*parts)
        palette = self._palette_keys
        width = len(palette[0]) + len(palette[1]) if palette is not None else 0
        if palette is not None and self.size.width > width + 2:
            room = self.size.width - width
            line = line.truncate(room, ellipsis=True, pad=True)
            self._spans.append((room, room + width, "app.command_palette", self.app))
            return Content.assemble(line, (palette[0], key_style), (palette[1], text_style))
        return line.truncate(self.size.width, ellipsis=True)

    def _palette(self, active: dict) -> tuple[str, str] | None:
        """The command palette's key and name, given the screen's active bindings."""
        app = self.app
        if not app.ENABLE_COMMAND_PALETTE:
            return None
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        if palette is None:
            return None
        binding = palette[1]
        return "│" + app.get_key_display(binding), f" {binding.description} "

    async def _on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                if action == "app.command_palette":
                    self.app.action_command_palette()
                else:
                    await self.app.run_action(action, node)
                event.stop()
                return

"""The footer: the keys that work here, drawn as one line of text."""

from __future__ import annotations

from itertools import groupby

from rich.text import Text
from textual import events
from textual.dom import DOMNode
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

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if screen is not self.screen:
            return
        by_action: dict[tuple[int, str], list] = {}
        for key, (node, binding, enabled, _tooltip) in screen.active_bindings.items():
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
        if items != self._items:
            self._items = items
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        text_style = self.get_component_rich_style("key-footer--description")
        dim = self.get_component_rich_style("key-footer--disabled")
        line = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        for keys, description in self._items:
            line.append("  " if len(line) else " ")
            for display, action, node, enabled in keys:
                start = len(line)
                line.append(display, style=key_style + (dim if not enabled else None))
                self._spans.append((start, len(line), action, node))
            if description:
                line.append(" ")
                line.append(description, style=text_style + (dim if not all(k[3] for k in keys) else None))
        palette = self._palette()
        width = len(palette[0]) + len(palette[1]) if palette is not None else 0
        if palette is not None and self.size.width > width + 2:
            room = self.size.width - width
            line.truncate(room, overflow="ellipsis", pad=True)
            start = len(line)
            line.append(palette[0], style=key_style)
            line.append(palette[1], style=text_style)
            self._spans.append((start, len(line), "app.command_palette", self.app))
        return line

    def _palette(self) -> tuple[str, str] | None:
        app = self.app
        if not app.ENABLE_COMMAND_PALETTE:
            return None
        active = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        if active is None:
            return None
        binding = active[1]
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

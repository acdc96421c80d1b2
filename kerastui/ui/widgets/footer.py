"""The footer: the keys that work here, drawn as one line of text."""

from __future__ import annotations

from itertools import groupby

from textual import events
from textual.content import Content
from textual.dom import DOMNode
from textual.style import Style
from textual.widget import Widget

from kerastui.ui.widgets.formscreen import repaint_after_frame

QUIT_ID = "app.quit"  # the binding always shown on the right, before the command palette's
# What the footer keeps longest, first to last: help (and the F-keys to the workspaces while a text
# field types the letters); the keys of the focused widget and the screen (what works here); the
# workspace letters (the tabs above show them too); the app's others.
ESSENTIAL, HERE, WORKSPACES, ELSEWHERE = 0, 1, 2, 3

Key = tuple[str, str, DOMNode, bool]  # (key as shown, action, node, enabled)
QUIT, PALETTE = (-1, 0), (-2, 0)  # where a span's key is, for the two keys on the right


def _key_range(keys: list[Key]) -> list[Key]:
    """A group's keys as shown: f2 f3 f4 f5 f6 f7 (the workspace keys from a text field) as "f2–f7",
    clicking it running the first; letters stay side by side ("dmtvph")."""
    displays = [k[0] for k in keys]
    numbers = [int(d[1:]) for d in displays if d[:1] == "f" and d[1:].isdigit()]
    if len(numbers) == len(displays) > 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        first = keys[0]
        return [(f"{displays[0]}–{displays[-1]}", first[1], first[2], all(k[3] for k in keys))]
    return keys


def _width(keys: list[Key], description: str) -> int:
    """The cells an item takes, its leading gap not counted."""
    return sum(len(k[0]) for k in keys) + (1 + len(description) if description else 0)


def fitting(items: list[tuple[list[Key], str, int]], room: int) -> list[int]:
    """Which items (their indexes, in order) fit ``room`` cells: whole items only, never a label cut
    mid-word. The app's less needed keys go first, then the workspace keys (the tabs show them),
    then the screen's last ones; help goes last."""
    kept = list(range(len(items)))

    def width(indexes: list[int]) -> int:
        return sum(_width(items[i][0], items[i][1]) + 2 for i in indexes) - (1 if indexes else 0)

    dropped: list[int] = []
    for rank in (ELSEWHERE, WORKSPACES, HERE, ESSENTIAL):
        for index in reversed([i for i in kept if items[i][2] == rank]):
            if width(kept) <= room:
                break
            kept.remove(index)
            dropped.append(index)
    for index in reversed(dropped):  # a shorter key left out may fit in what the longer one left
        if width(sorted([*kept, index])) <= room:
            kept = sorted([*kept, index])
    return kept


def _shown(items: list[tuple[list[Key], str, int]], quit_key: Key | None) -> tuple[object, ...]:
    """What the footer draws of its keys: each key as shown, its action and whether it is enabled,
    the labels and ranks, the quit key (the widgets they are bound on left out)."""
    return (tuple((tuple((k[0], k[1], k[3]) for k in keys), description, rank) for keys, description, rank in items),
            None if quit_key is None else (quit_key[0], quit_key[1], quit_key[3]))


class KeyFooter(Widget):
    """The keys of the focused widget, the screen and the app, as Textual's Footer shows them
    (grouped bindings share one label; quit and the command palette on the right; click runs the
    action).  When they do not all fit, whole keys are left out (the app's less needed ones first):
    a label is never cut.

    Textual's Footer is a row of widgets rebuilt on every focus change that changes the keys
    (Tab from an Input to a Select does): in a form that is most of a key press's cost.  This
    one redraws a line of text instead."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;  /* one line: never wrapped (wrapping measures every character) */
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
    HELP = ("The keys that work here (click one to run it); F1 lists them all with what they do. "
            "When they do not all fit, the app's less needed keys are left out first.")

    def __init__(self) -> None:
        super().__init__()
        self._items: list[tuple[list[Key], str, int]] = []
        # For clicks: (start, end, action, where) — where the key is: (item, key) in _items, QUIT or PALETTE.
        self._spans: list[tuple[int, int, str, tuple[int, int]]] = []
        self._quit: Key | None = None  # the quit key (shown on the right)
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
        quit_key: Key | None = None
        for key, (node, binding, enabled, _tooltip) in active.items():
            if binding.id == QUIT_ID and quit_key is None:
                quit_key = (self.app.get_key_display(binding), binding.action, node, enabled)
            elif binding.show:
                by_action.setdefault((id(node), binding.action), []).append((key, node, binding, enabled))
        items: list[tuple[list[Key], str, int]] = []
        for group, grouped in groupby(by_action.values(), lambda entries: entries[0][2].group):
            entries = list(grouped)
            keys = [(self.app.get_key_display(e[0][2]), e[0][2].action, e[0][1], e[0][3]) for e in entries]
            if group is not None and len(entries) > 1:
                shown = _key_range(keys)
                rank = self._rank(entries[0][0][1], entries[0][0][2])
                if rank == WORKSPACES and len(shown) == 1 and shown[0][0].startswith("f"):
                    rank = ESSENTIAL  # F2–F8 from a text field (letters type there): kept with help
                items.append((shown, group.description, rank))
            else:
                items.extend(([k], e[0][2].description, self._rank(e[0][1], e[0][2]))
                             for k, e in zip(keys, entries, strict=True))
        palette = self._palette(active)
        if items == self._items and palette == self._palette_keys and quit_key == self._quit:
            return
        unchanged = palette == self._palette_keys and _shown(items, quit_key) == _shown(self._items, self._quit)
        self._items, self._palette_keys, self._quit = items, palette, quit_key
        if not unchanged:
            repaint_after_frame(self)
        # Else the same keys are now bound on other widgets (Tab from one chart to the next): the line
        # is the same, and a click finds the key's widget in the items when it comes (_spans say where).
        # Not repainted: the footer's row in the focus's frame made Textual redraw every widget between
        # it and the widgets whose focus changed (a frame redraws the box around all that changed).

    def _rank(self, node: DOMNode, binding) -> int:
        if node is not self.app:
            return HERE
        if binding.id == "app.help":
            return ESSENTIAL
        return WORKSPACES if (binding.id or "").startswith("workspace.") else ELSEWHERE

    def render(self) -> Content:
        # Textual's own Content with Textual styles: drawn without converting rich Text and rich
        # styles span by span (this line is redrawn on each focus change that changes the keys).
        key_style = self.get_visual_style("key-footer--key")
        text_style = self.get_visual_style("key-footer--description")
        dim = self.get_visual_style("key-footer--disabled")
        width = self.size.width
        # On the right: quit, then the command palette (dropped when the line is too narrow).
        right: list[tuple[str, str, str, tuple[int, int]]] = []  # (key, text, action, where)
        if self._quit is not None:
            right.append((self._quit[0], " Quit ", self._quit[1], QUIT))
        if self._palette_keys is not None:
            right.append((self._palette_keys[0], self._palette_keys[1], "app.command_palette", PALETTE))
        while right and sum(len(k) + len(t) for k, t, _, _ in right) + 2 > width:
            right.pop()
        right_width = sum(len(k) + len(t) for k, t, _, _ in right)
        room = width - right_width
        parts: list[str | tuple[str, Style]] = []
        self._spans = []
        length = 0
        for index in fitting(self._items, room - 1):
            keys, description, _rank = self._items[index]
            gap = "  " if length else " "
            parts.append(gap)
            length += len(gap)
            for number, (display, action, _node, enabled) in enumerate(keys):
                parts.append((display, key_style if enabled else key_style + dim))
                self._spans.append((length, length + len(display), action, (index, number)))
                length += len(display)
            if description:
                parts.append(" ")
                parts.append((description, text_style if all(k[3] for k in keys) else text_style + dim))
                length += 1 + len(description)
        line = Content.assemble(*parts)
        if not right:
            return line.truncate(width, ellipsis=True)
        line = line.truncate(room, pad=True)
        at = room
        for key, text, action, where in right:
            self._spans.append((at, at + len(key) + len(text), action, where))
            at += len(key) + len(text)
        return Content.assemble(line, *[piece for key, text, _, _ in right
                                        for piece in ((key, key_style), (text, text_style))])

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

    def key_node(self, where: tuple[int, int]) -> DOMNode | None:
        """The widget (or screen, or app) a key drawn in the footer is bound on now."""
        if where == PALETTE:
            return self.app
        if where == QUIT:
            return self._quit[2] if self._quit is not None else None
        item, number = where
        try:
            return self._items[item][0][number][2]
        except IndexError:  # (the keys changed since the line was drawn: it is being redrawn)
            return None

    async def _on_click(self, event: events.Click) -> None:
        for start, end, action, where in self._spans:
            if start <= event.x < end:
                node = self.key_node(where)
                if node is None:
                    return
                if action == "app.command_palette":
                    self.app.action_command_palette()
                else:
                    await self.app.run_action(action, node)
                event.stop()
                return

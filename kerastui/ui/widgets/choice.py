"""A value picked from a list, drawn on one line: the compact ``Select``'s look in a single widget.

Textual's ``Select`` is six widgets (the select, its current-value row with a label and two arrows,
and an option list kept mounted while closed).  Moving the focus onto or off one restyles all six
and redraws them, which made Tab onto a form's choice field about twice the cost of Tab onto a
text field.  ``Choice`` is one widget while closed; its list is mounted only while it is open.  A
long value ends in an ellipsis instead of wrapping onto a second line.

Keys as ``Select``'s: enter, space, up or down open the list; in it, typing jumps to the first
option that starts with what was typed, enter picks, escape (or leaving it) closes it unchanged.
The list opens on the current value, or on the first option when nothing is chosen yet (a choice
with a ``prompt``): never on a blank line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import OptionList

from kerastui.core.text import visible
from kerastui.ui.safe import plain
from kerastui.ui.widgets.form import fitted


def option_index(options: list[tuple[str, Any]], value: Any) -> int | None:
    """Where ``value`` is among (label, value) options; a value is equal and of the same type (XLA's
    True is not 1)."""
    for index, (_label, option) in enumerate(options):
        if option == value and type(option) is type(value):
            return index
    return None


def not_an_option(name: str, value: Any, options: list[tuple[str, Any]]) -> ValueError:
    return ValueError(f"{name}: {value!r} is not one of {', '.join(label for label, _ in options)}")


class ListOwner(Protocol):
    """What opened a ``ChoiceList``: told when a value is picked and when the list closes."""

    def pick_from_list(self, index: int) -> None: ...

    def close_list(self, *, refocus: bool) -> None: ...


class ChoiceList(OptionList):
    """The open list of a choice (a ``Choice``, or a choice field of a ``SettingsGrid``), drawn over
    what is below it."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    HELP = "Enter picks the highlighted value, escape closes the list; typing jumps to a matching value."

    def __init__(self, labels: list[str], highlighted: int | None, owner: ListOwner) -> None:
        # (labels may name metrics from a run directory: plain text, never markup)
        super().__init__(*(plain(label) for label in labels), compact=True)
        self._start = highlighted
        self._typed = ""
        self.owner = owner

    def on_mount(self) -> None:
        # On the current value, else on the first option: never nothing, so ↓ never lands on a blank.
        if self.option_count:
            self.highlighted = self._start if self._start is not None else 0

    def action_close(self) -> None:
        self.owner.close_list(refocus=True)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.owner.pick_from_list(event.option_index)

    def on_key(self, event: events.Key) -> None:
        if event.character is not None and event.is_printable and event.character != " ":
            event.stop()
            event.prevent_default()
            self._typed += event.character.lower()
            match = self._match(self._typed)
            if match is None:  # start over from this character
                self._typed = event.character.lower()
                match = self._match(self._typed)
            if match is not None:
                self.highlighted = match

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return character is not None and character.isprintable() and character != " "

    def _match(self, typed: str) -> int | None:
        for index in range(self.option_count):
            if str(self.get_option_at_index(index).prompt).lower().startswith(typed):
                return index
        return None

    def on_blur(self) -> None:
        self.owner.close_list(refocus=False)


class Choice(Widget, can_focus=True):
    """One value from a list of (label, value) options, shown as ``label ▼``.

    The API is the part of ``Select``'s the forms use: ``value`` (a ValueError names an unknown
    one), ``set_options``, and ``Choice.Changed`` (``value``, ``control``) when the value changes.
    With a ``prompt`` the value may be None (nothing chosen yet): the prompt is shown, dimmed, and
    is not a line of the list."""

    ALLOW_SELECT = False
    BINDINGS = [Binding("enter,space,down,up", "open", "Choose", show=False)]
    COMPONENT_CLASSES = {"choice--arrow", "choice--prompt"}
    DEFAULT_CSS = """
    Choice {
        height: 1;
        width: 1fr;
        padding: 0 1 0 0;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
        }
        &.-open {
            background-tint: $foreground 5%;
        }
        .choice--arrow {
            color: $foreground 50%;
        }
        .choice--prompt {
            color: $foreground 60%;
        }
        & > ChoiceList {
            width: auto;
            min-width: 100%;
            height: auto;
            max-height: 12;
            overlay: screen;
            constrain: none inside;
            offset-y: 1;
            border: tall $border-blurred;
            background: $surface;
            &:focus {
                border: tall $border;
            }
            & > .option-list--option {
                padding: 0 1;
            }
        }
    }
    """
    HELP = "A choice: enter, space or an arrow key opens its list; type to jump, enter picks, escape closes."

    value: var[Any] = var(None, init=False)

    class Changed(Message):
        """The value changed (by the user or by code)."""

        def __init__(self, choice: Choice, value: Any) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(self, options: Iterable[tuple[str, Any]], *, value: Any, id: str | None = None,
                 classes: str | None = None, tooltip: str | None = None, disabled: bool = False,
                 prompt: str | None = None) -> None:
        super().__init__(id=id, classes=classes, disabled=disabled)
        self._list: ChoiceList | None = None  # the open list
        self.prompt = prompt  # shown while the value is None (allowed only with a prompt)
        self._options = [(str(label), v) for label, v in options]
        if tooltip is not None:
            self.tooltip = tooltip
        self.set_reactive(Choice.value, self._checked(value))

    def set_options(self, options: Iterable[tuple[str, Any]]) -> None:
        """New options; the value stays if it is one of them, else becomes the first."""
        self._options = [(str(label), v) for label, v in options]
        if not self._options:
            raise ValueError(f"{self.id or 'choice'}: no options to choose from")
        if self._index(self.value) is None and not (self.value is None and self.prompt is not None):
            self.value = self._options[0][1]
        self.refresh()

    def _index(self, value: Any) -> int | None:
        return option_index(self._options, value)

    def _checked(self, value: Any) -> Any:
        if value is None and self.prompt is not None:
            return None
        if self._index(value) is None:
            raise not_an_option(self.id or "choice", value, self._options)
        return value

    def validate_value(self, value: Any) -> Any:
        return self._checked(value)

    def watch_value(self, value: Any) -> None:
        self.refresh()
        self.post_message(self.Changed(self, value))

    @property
    def label(self) -> str:
        index = self._index(self.value)
        return self._options[index][0] if index is not None else ""

    def render(self) -> Text:
        width = max(self.content_region.width, 2)
        prompted = self.value is None and self.prompt is not None
        shown = self.prompt if prompted and self.prompt is not None else self.label
        line = Text(fitted(visible(shown, one_line=True), width - 2), no_wrap=True, overflow="ellipsis",
                    style=self.get_component_rich_style("choice--prompt") if prompted else "")
        line.append(" ▼", style=self.get_component_rich_style("choice--arrow"))
        return line

    # ------------------------------------------------------------------ the list

    @property
    def is_open(self) -> bool:
        return self._list is not None

    def action_open(self) -> None:
        if self._list is not None or not self._options:
            return
        current = self._index(self.value) if self.value is not None else None
        # On the current value, or the first option: the first ↓ never lands on a blank line.
        self._list = ChoiceList([label for label, _ in self._options], 0 if current is None else current, self)
        self.add_class("-open")
        self.mount(self._list)
        self._list.focus()

    def close_list(self, *, refocus: bool) -> None:
        listing, self._list = self._list, None
        if listing is None:
            return
        self.remove_class("-open")
        if refocus:
            self.focus()
        listing.remove()

    def pick_from_list(self, index: int) -> None:
        self.value = self._options[index][1]
        self.close_list(refocus=True)

    async def _on_click(self, event: events.Click) -> None:
        if not self.is_open:
            self.focus()
            self.action_open()

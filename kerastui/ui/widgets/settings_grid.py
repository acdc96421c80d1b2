"""A settings form drawn as one widget: labelled text fields, choices and toggles, with headings and
hints between them, and one cursor that moves from field to field.

Why one widget: in a form of Textual widgets (an ``Input`` per text field, a ``Checkbox`` per
toggle) Tab moves Textual's focus, and each focus change walks the screen's focus chain, restyles
the two widgets, sends a few dozen focus messages through their ancestors and re-renders every
widget of the column.  That was most of the cost of a key press in the Train workspace while a run
draws its charts (issue 11).  Here Tab moves a cursor inside the widget and redraws two lines.

Keys (the ones Textual's widgets use for the same things):

- Tab / shift+Tab, down / up, enter on a text field: the next or previous field; Tab past the last
  field (shift+Tab before the first) leaves the form as it would leave any widget.
- A text field is edited in place as an ``Input`` is: arriving selects its text (typing replaces
  it); arrows, home/end, ctrl+←/→, backspace, delete, ctrl+w/u/k, shift+arrows select; paste.
- A choice: enter or space opens its list (type to jump, enter picks, escape closes); ← / → step
  through the values without opening it.
- A toggle: space or enter flips it.
- The mouse: a click moves the cursor there (and flips a toggle, opens a choice, places the text
  cursor); hovering a field shows its tooltip.

On a text field printable keys type (escape leaves the form, F2–F7 change workspace); on a choice
or a toggle the letters are the workspace's and the app's keys, as they are beside a text field.

Fields are read and set by id (``grid["opt-epochs"].value = "3"``); any change of a value, by the
user or by code, posts ``SettingsGrid.Changed``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kerastui.ui.pathtext import fit_value
from kerastui.ui.widgets.choice import ChoiceList, not_an_option, option_index
from kerastui.ui.widgets.form import fitted, number_validator
from kerastui.ui.widgets.grid import focus_changed_quietly
from kerastui.ui.widgets.line_editor import LineEditor

LABEL_WIDTH = 12  # as app.tcss's .field-name

# What an integer or number field lets be typed (Textual's Input(type=...) patterns): other keys are refused.
RESTRICT = {
    "integer": re.compile(r"[-+]?(?:\d*|\d+_)*"),
    "number": re.compile(r"[-+]?(?:\d*|\d+_)*\.?(?:\d*|\d+_)*(?:\d[eE]?[-+]?(?:\d*|\d+_)*)?"),
}

# --------------------------------------------------------------------------- rows


class Field:
    """A row with a value; ``value`` set by code redraws the row and posts ``Changed``."""

    def __init__(self, id: str, label: str, *, tooltip: str | None = None) -> None:
        self.id = id
        self.label = label
        self.tooltip = tooltip
        self.grid: SettingsGrid | None = None
        self._value: Any = None

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        value = self._checked(value)
        if value == self._value and type(value) is type(self._value):
            return
        self._value = value
        if self.grid is not None:
            self.grid._value_changed(self)

    def _checked(self, value: Any) -> Any:
        return value


class TextField(Field):
    """Free text; ``kind`` "integer" or "number" marks a value that is not one (as a typed Input
    does), ``check`` marks a value it raises ValueError for."""

    def __init__(self, id: str, label: str, value: str = "", *, placeholder: str = "",
                 kind: Literal["text", "integer", "number"] = "text", check: Callable[[str], object] | None = None,
                 tooltip: str | None = None) -> None:
        super().__init__(id, label, tooltip=tooltip)
        self.placeholder = placeholder
        self.kind = kind
        self.check = check
        self._value = str(value)

    def _checked(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{self.id}: a text field's value is text (got {value!r})")
        return value

    @property
    def valid(self) -> bool:
        """Whether the text looks right (a blank number field is left to the parse that reads it)."""
        text = self._value
        if self.kind != "text" and text.strip():
            if not number_validator(int if self.kind == "integer" else float).validate(text.strip()).is_valid:
                return False
        if self.check is not None:
            try:
                self.check(text)
            except ValueError:
                return False
        return True


class ChoiceField(Field):
    """One value of a list of (label, value) options; an unknown value is a ValueError naming the field."""

    def __init__(self, id: str, label: str, options: Iterable[tuple[str, Any]], value: Any, *,
                 tooltip: str | None = None) -> None:
        super().__init__(id, label, tooltip=tooltip)
        self.options = [(str(text), option) for text, option in options]
        self._value = self._checked(value)

    def index(self, value: Any) -> int | None:
        return option_index(self.options, value)

    def _checked(self, value: Any) -> Any:
        if self.index(value) is None:
            raise not_an_option(self.id, value, self.options)
        return value

    @property
    def text(self) -> str:
        index = self.index(self._value)
        return self.options[index][0] if index is not None else ""

    def set_options(self, options: Iterable[tuple[str, Any]]) -> None:
        """New options; the value stays if it is one of them, else becomes the first."""
        new = [(str(text), option) for text, option in options]
        if not new:
            raise ValueError(f"{self.id}: no options to choose from")
        self.options = new
        if self.grid is not None and self.grid.current is self:
            self.grid.close_list(refocus=True)  # its list shows the old options
        if self.index(self._value) is None:
            self.value = new[0][1]
        elif self.grid is not None:
            self.grid._redraw_field(self)


class ToggleField(Field):
    """On or off, drawn as ``[x] label``."""

    def __init__(self, id: str, label: str, value: bool = False, *, tooltip: str | None = None) -> None:
        super().__init__(id, label, tooltip=tooltip)
        self._value = bool(value)

    def _checked(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{self.id}: a toggle is True or False (got {value!r})")
        return value


class Heading:
    """A section title."""

    def __init__(self, text: str) -> None:
        self.text = text


class Hint:
    """Muted text under a field, set by code (``grid.set_hint``); blank takes no line.  An ``error``
    hint says why the field above does not parse, in the error colour."""

    def __init__(self, id: str, text: str = "", *, error: bool = False) -> None:
        self.id = id
        self.text = text
        self.error = error


Row = Field | Heading | Hint


class GridChoiceList(ChoiceList):
    """A choice field's open list, over the form under the field.  Tab and shift+Tab close it and
    go on to the next or previous field (the list is the screen's, not the field's, child)."""

    BINDINGS = [
        Binding("tab", "leave(1)", "Next field", show=False),
        Binding("shift+tab", "leave(-1)", "Previous field", show=False),
    ]

    def __init__(self, grid: SettingsGrid, field: ChoiceField) -> None:
        super().__init__([text for text, _ in field.options], field.index(field.value), grid)
        self.grid = grid

    def action_leave(self, step: int) -> None:
        self.grid.leave_list(step)

    DEFAULT_CSS = """
    GridChoiceList {
        position: absolute;
        overlay: screen;
        constrain: none inside;
        width: auto;
        height: auto;
        max-height: 12;
        border: tall $border;
        background: $surface;
        & > .option-list--option {
            padding: 0 1;
        }
    }
    """


# --------------------------------------------------------------------------- the widget


class SettingsGrid(ScrollView, can_focus=True):
    """A form of fields on lines of their own, one of them current (see the module's docstring)."""

    cursor: var[int] = var(0, init=False)
    """The current field's index in ``fields``."""

    ALLOW_SELECT = False
    BINDINGS = [
        Binding("tab", "next_field", "Next field", show=False),
        Binding("shift+tab", "previous_field", "Previous field", show=False),
        Binding("down", "next_field(False)", "Next field", show=False),
        Binding("up", "previous_field(False)", "Previous field", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("enter", "activate", "Choose / toggle / next field", show=False),
        Binding("space", "activate(True)", "Choose / toggle", show=False),
        Binding("left", "step(-1)", "Previous value", show=False),
        Binding("right", "step(1)", "Next value", show=False),
        Binding("ctrl+x", "cut", "Cut", show=False),
        Binding("ctrl+c,super+c", "copy", "Copy", show=False),
        Binding("ctrl+v", "paste", "Paste", show=False),
    ]
    COMPONENT_CLASSES = {
        "settings-grid--label", "settings-grid--label-current", "settings-grid--heading", "settings-grid--hint",
        "settings-grid--value", "settings-grid--value-current", "settings-grid--placeholder",
        "settings-grid--invalid", "settings-grid--caret", "settings-grid--selection", "settings-grid--arrow",
        "settings-grid--toggle-on", "settings-grid--toggle-off",
    }
    DEFAULT_CSS = """
    SettingsGrid {
        overflow-x: hidden;
        overflow-y: auto;
        .settings-grid--label { color: $text-muted; }
        .settings-grid--label-current { color: $text; text-style: bold; }
        .settings-grid--heading { text-style: bold; }
        .settings-grid--hint { color: $text-muted; }
        .settings-grid--value { background: $surface; color: $foreground; }
        .settings-grid--value-current { background: $surface-lighten-1; color: $foreground; }
        .settings-grid--placeholder { color: $text-disabled; }
        .settings-grid--invalid { color: $text-error; }
        .settings-grid--caret {
            background: $input-cursor-background;
            color: $input-cursor-foreground;
            text-style: $input-cursor-text-style;
        }
        .settings-grid--selection { background: $input-selection-background; }
        .settings-grid--arrow { color: $foreground 50%; }
        .settings-grid--toggle-on { color: $success; text-style: bold; }
        .settings-grid--toggle-off { color: $foreground 40%; }
    }
    """
    HELP = ("A settings form: Tab, shift+Tab or the arrows move between fields. Type in a text field (arriving "
            "selects its text); enter or space opens a choice (← → step through it), space flips a toggle.")

    class Changed(Message):
        """A field's value changed (by the user or by code)."""

        def __init__(self, grid: SettingsGrid, field: Field) -> None:
            super().__init__()
            self.grid = grid
            self.field = field
            self.value = field.value  # as it was then (typing posts one per key)

        @property
        def control(self) -> SettingsGrid:
            return self.grid

    def __init__(self, *rows: Row, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[Row] = list(rows)
        self._fields: dict[str, Field] = {}
        self._hints: dict[str, Hint] = {}
        for row in self._rows:
            if isinstance(row, Field):
                if row.id in self._fields:
                    raise ValueError(f"two fields with the id {row.id!r}")
                row.grid = self
                self._fields[row.id] = row
            elif isinstance(row, Hint):
                self._hints[row.id] = row
        self._order = list(self._fields.values())  # the fields, top to bottom
        self._editor = LineEditor()
        self._offset = 0  # the first character shown of the current text field (it scrolls sideways)
        self._lines: list[tuple[Row | None, str]] = []  # per line its row (None: a gap) and, for a hint, its text
        self._line_of: dict[str, int] = {}
        self._width = 0
        # Each line as last drawn (by line number): a scroll draws the lines it brings into view and
        # takes the others from here.  A line is drawn afresh when its field changes
        # (``_redraw_field``), the width changes, or the whole widget is refreshed (the lines laid out
        # again, the styles changed).
        self._strips: dict[int, Strip] = {}
        self._strips_width = 0  # the width they were drawn at
        self._list: GridChoiceList | None = None
        if self._order and isinstance(self._order[0], TextField):
            self._editor.start(self._order[0].value)

    # ------------------------------------------------------------------ fields

    def __getitem__(self, field_id: str) -> Field:
        try:
            return self._fields[field_id]
        except KeyError:
            raise KeyError(f"no field {field_id!r} in this form") from None

    def text(self, field_id: str) -> TextField:
        field = self[field_id]
        assert isinstance(field, TextField), field_id
        return field

    def choice(self, field_id: str) -> ChoiceField:
        field = self[field_id]
        assert isinstance(field, ChoiceField), field_id
        return field

    def toggle(self, field_id: str) -> ToggleField:
        field = self[field_id]
        assert isinstance(field, ToggleField), field_id
        return field

    @property
    def fields(self) -> list[Field]:
        return list(self._order)

    @property
    def current(self) -> Field | None:
        return self._order[self.cursor] if self._order else None

    def set_hint(self, hint_id: str, text: str) -> None:
        hint = self._hints[hint_id]
        if hint.text != text:
            hint.text = text
            self._lay_out()

    def hint(self, hint_id: str) -> str:
        return self._hints[hint_id].text

    def line_of(self, field_id: str) -> int:
        """The line a field is drawn on (0: the form's first line, scrolled or not)."""
        return self._line_of[self[field_id].id]

    def move_to(self, field_id: str) -> None:
        """Make a field the current one (and scroll to it)."""
        self._move(self._order.index(self[field_id]))

    # ------------------------------------------------------------------ lines

    def _lay_out(self) -> None:
        """Which row each line shows, for the width there is (hints wrap)."""
        width = self._content_width()
        self._width = width
        lines: list[tuple[Row | None, str]] = []
        line_of: dict[str, int] = {}
        for row in self._rows:
            if isinstance(row, Hint):
                lines.extend((row, text) for text in textwrap.wrap(row.text, max(width, 8)))
            elif isinstance(row, Heading):
                lines.append((row, ""))
            else:
                line_of[row.id] = len(lines)
                lines.append((row, ""))
                if not isinstance(row, ToggleField):
                    lines.append((None, ""))  # a gap under a text or choice field, as the old form had
        self._lines, self._line_of = lines, line_of
        self.virtual_size = Size(width, len(lines))
        self.refresh()  # (every line drawn afresh: see refresh)
        # A longer form may bring the scroll bar (the width shrinks, the widget's size does not):
        # wrap the hints again at the width there is then.
        self.call_after_refresh(self._check_width)

    def _check_width(self) -> None:
        if self.is_mounted and self._content_width() != self._width:
            self._lay_out()

    def _content_width(self) -> int:
        return max(self.scrollable_content_region.width, LABEL_WIDTH + 4)

    def on_mount(self) -> None:
        self._lay_out()

    def entered(self, *, forward: bool) -> None:
        """Tab brought the focus here: start at the first field (shift+Tab: the last), as in a form
        of widgets.  A click, or code that focuses the form, keeps the current field."""
        if self._order:
            self._move(0 if forward else len(self._order) - 1)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._list is not None and round(old_value) != round(new_value):
            self.close_list(refocus=True)  # it would no longer be under its field

    def on_resize(self) -> None:
        self.close_list(refocus=True)
        if self._content_width() != self._width:
            self._lay_out()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # (a theme, or a class changed: every line's colours may differ)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> SettingsGrid:
        # Textual repaints a widget whose styles changed with a refresh of all of it (an inline style,
        # an ancestor's colours, a class's component styles): every line is drawn afresh then.  A
        # scroll, or a line, names its regions.
        if repaint and not regions and hasattr(self, "_strips"):
            self._strips.clear()
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_lines(self, crop: Region) -> list[Strip]:
        width = self._content_width()
        if width != self._strips_width:  # (narrowed before the lines were laid out again)
            self._strips.clear()
            self._strips_width = width
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        number = y + self.scroll_offset.y
        strip = self._strips.get(number)
        if strip is None:
            strip = self._strips[number] = self._draw_line(number)
        return strip

    def _draw_line(self, number: int) -> Strip:
        width = self._content_width()
        if number >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        row, hint = self._lines[number]
        if row is None:
            return Strip.blank(width, self.rich_style)
        style = self.get_component_rich_style
        base = self.rich_style
        if isinstance(row, Heading):
            segments = [Segment(row.text, base + style("settings-grid--heading"))]
        elif isinstance(row, Hint):
            segments = [Segment(hint, base + style("settings-grid--invalid" if row.error else "settings-grid--hint"))]
        else:
            segments = list(self._field_segments(row, width))
        return Strip(segments).adjust_cell_length(width, base).simplify()

    def _field_segments(self, field: Field, width: int) -> Iterator[Segment]:
        style = self.get_component_rich_style
        base = self.rich_style
        current = field is self.current and self.has_focus
        label = style("settings-grid--label-current" if current else "settings-grid--label")
        if isinstance(field, ToggleField):
            mark = style("settings-grid--toggle-on" if field.value else "settings-grid--toggle-off")
            yield Segment("[", base + label)
            yield Segment("x" if field.value else " ", base + mark)
            yield Segment("] ", base + label)
            yield Segment(field.label[: max(width - 4, 0)], base + label)
            return
        name = field.label[: LABEL_WIDTH - 1]
        yield Segment(name.ljust(LABEL_WIDTH), base + label)
        room = max(width - LABEL_WIDTH, 2)
        value = base + style("settings-grid--value-current" if current else "settings-grid--value")
        if isinstance(field, ChoiceField):
            yield Segment(fitted(field.text, room - 2), value)
            yield Segment(" ▼", value + style("settings-grid--arrow"))
            return
        assert isinstance(field, TextField)
        if not field.valid:
            value += style("settings-grid--invalid")
        if current and (field.value or not field.placeholder):
            yield from self._editing_segments(room, value)
            return
        if current:  # an empty field being edited: the caret over its placeholder, as Input draws it
            placeholder = fitted(field.placeholder, room)
            yield Segment(placeholder[0], value + style("settings-grid--caret"))
            yield Segment(set_cell_size(placeholder[1:], room - cell_len(placeholder[0])),
                          value + style("settings-grid--placeholder"))
            return
        if not field.value:
            yield Segment(fitted(field.placeholder, room), value + style("settings-grid--placeholder"))
            return
        yield Segment(fit_value(field.value, room), value)  # (a path keeps its end: …/models/ex2.keras)

    def _window(self, room: int) -> int:
        """The first character shown of the field being edited: the caret stays in view (a wide
        character takes two of the ``room`` cells; the caret past the end takes one)."""
        editor = self._editor
        text, cursor = editor.value, editor.cursor
        if cell_len(text) + 1 <= room:
            return 0
        start = min(self._offset, cursor)
        while start < cursor and cell_len(text[start:cursor]) + 1 > room:
            start += 1
        return start

    def _editing_segments(self, room: int, value: Style) -> Iterator[Segment]:
        """The current text field as it is being edited: its visible window, selection and caret."""
        editor = self._editor
        self._offset = start = self._window(room)
        selection = editor.selection
        selected = self.get_component_rich_style("settings-grid--selection")
        caret_style = self.get_component_rich_style("settings-grid--caret")
        used = 0
        for index in range(start, len(editor.value) + 1):
            char = editor.value[index] if index < len(editor.value) else " "
            width = get_character_cell_size(char)
            if used + width > room:
                break
            used += width
            if index == editor.cursor:
                yield Segment(char, value + caret_style)
            elif selection is not None and selection[0] <= index < selection[1]:
                yield Segment(char, value + selected)
            else:
                yield Segment(char, value)
        if used < room:
            yield Segment(" " * (room - used), value)

    def _index_at(self, column: int) -> int:
        """The character of the field being edited under a cell of its value (0: the first shown)."""
        text, used = self._editor.value, 0
        for index in range(self._offset, len(text)):
            used += get_character_cell_size(text[index])
            if used > column:
                return index
        return len(text)

    def _redraw_field(self, field: Field) -> None:
        line = self._line_of.get(field.id)
        if line is not None:
            self._strips.pop(line, None)
            self.refresh_line(line)

    def _value_changed(self, field: Field) -> None:
        if field is self.current and isinstance(field, TextField) and field.value != self._editor.value:
            self._editor.start(field.value)  # set by code while current: the new text, selected
        self._redraw_field(field)
        self.post_message(self.Changed(self, field))

    # ------------------------------------------------------------------ the cursor

    def _move(self, index: int, *, clicked: bool = False) -> None:
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        old, was = self.current, self.cursor
        typed = self.types_text
        self.cursor = index
        field = self._order[index]
        if isinstance(field, TextField):
            self._editor.start(field.value)
            self._offset = 0
        if old is not None and old is not field:
            self._redraw_field(old)
        if self.types_text != typed and self.has_focus:
            self.refresh_bindings()  # the footer and the workspace tabs show what the letters do now
        self._redraw_field(field)
        line = self._line_of.get(field.id)
        if line is not None:
            self._show(line, forward=was <= index, ahead=not clicked)

    def _show(self, line: int, *, forward: bool, ahead: bool = True) -> None:
        """Scroll a field's line into view, with the heading just above a section's first field, and
        (when the form has to scroll, for a key) a third of the form's height of what comes next: Tab
        on through a long form scrolls every few fields, not at each (a scroll draws every line that
        comes into view, a move two).  A click scrolls no further than the field: the next click
        lands where it was aimed."""
        above = 1 if line and isinstance(self._lines[line - 1][0], Heading) else 0
        top, height = line - above, min(2 + above, len(self._lines) - line + above)
        window = self.scrollable_content_region.height
        if height > window:  # a window smaller than the field and its heading: the field
            top, height = line, 1
        first = self.scroll_offset.y
        if first <= top and top + height <= first + window:
            return  # in view already
        extra = max(0, min(window // 3, window - height - 1)) if ahead else 0
        if forward:
            height = min(height + extra, max(len(self._lines) - top, height))
        else:
            shift = min(extra, top)
            top, height = top - shift, height + shift
        self.scroll_to_region(Region(0, top, 1, height), animate=False, immediate=True)

    def action_next_field(self, leave: bool = True) -> None:
        if self.cursor < len(self._order) - 1:
            self._move(self.cursor + 1)
        elif leave:
            self.screen.focus_next()

    def action_previous_field(self, leave: bool = True) -> None:
        if self.cursor > 0:
            self._move(self.cursor - 1)
        elif leave:
            self.screen.focus_previous()

    def action_page(self, direction: int) -> None:
        line = self._line_of.get(self.current.id, 0) if self.current else 0
        target = line + direction * max(self.scrollable_content_region.height - 1, 1)
        lines = [self._line_of[f.id] for f in self._order]
        index = min(range(len(lines)), key=lambda i: abs(lines[i] - target)) if lines else 0
        self._move(index)

    def action_activate(self, space: bool = False) -> None:
        field = self.current
        if isinstance(field, ToggleField):
            field.value = not field.value
        elif isinstance(field, ChoiceField):
            self.open_list()
        elif isinstance(field, TextField) and not space:
            self.action_next_field(leave=False)

    def action_step(self, step: int) -> None:
        field = self.current
        if isinstance(field, ChoiceField):
            index = field.index(field.value) or 0
            field.value = field.options[(index + step) % len(field.options)][1]
        elif isinstance(field, TextField):
            self._edit(lambda editor: editor.key("left" if step < 0 else "right"))

    def action_cut(self) -> None:
        text = self._editor.selected_text()
        if isinstance(self.current, TextField) and text:
            self.app.copy_to_clipboard(text)
            self._edit(lambda editor: editor.cut())

    def action_copy(self) -> None:
        if isinstance(self.current, TextField) and self._editor.selected_text():
            self.app.copy_to_clipboard(self._editor.selected_text())

    def action_paste(self) -> None:
        if isinstance(self.current, TextField) and self.app.clipboard:
            self._type(self.app.clipboard)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cut", "copy", "paste"):
            return isinstance(self.current, TextField)  # elsewhere ctrl+c is the app's
        return True

    # ------------------------------------------------------------------ typing

    async def _on_key(self, event: events.Key) -> None:
        if not isinstance(self.current, TextField):
            return  # on a choice or a toggle the letters are the workspace's and the app's keys
        if not self._edit(lambda editor: editor.key(event.key)):
            if not (event.is_printable and event.character is not None):
                return
            character = event.character
            self._edit(lambda editor: editor.insert(character))
        event.stop()
        event.prevent_default()

    def _type(self, text: str) -> None:
        self._edit(lambda editor: editor.insert(text))

    def _edit(self, change: Callable[[LineEditor], object]) -> bool:
        """One editing step on the current text field (False from ``change``: not an editing key,
        nothing done).  The editor's text becomes the field's value, unless the field refuses it (a
        letter in a number field, as Input refuses it): then the step is undone and the bell rings."""
        field = self.current
        assert isinstance(field, TextField)
        editor = self._editor
        before = (editor.value, editor.cursor, editor.anchor)
        if change(editor) is False:
            return False
        pattern = RESTRICT.get(field.kind)
        if pattern is not None and not pattern.fullmatch(editor.value):
            editor.value, editor.cursor, editor.anchor = before
            self.app.bell()
            return True
        if field.value != editor.value:
            field._value = editor.value
            self.post_message(self.Changed(self, field))
        self._redraw_field(field)
        return True

    @property
    def types_text(self) -> bool:
        """Whether the current field is a text field: printable keys type there (elsewhere they are
        the workspace's and the app's keys, as beside a text field)."""
        return isinstance(self.current, TextField)

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return self.types_text and character is not None and character.isprintable()

    def _on_paste(self, event: events.Paste) -> None:
        if isinstance(self.current, TextField) and event.text:
            event.stop()
            self._type(event.text)

    # ------------------------------------------------------------------ focus and the mouse

    # Focus in or out changes only the current field's line (its label and value styles): that line is
    # repainted, not the form (Widget's own handlers repainted every line: 3 ms of each Tab into or out
    # of the Train form).

    def _on_focus(self, event: events.Focus) -> None:
        focus_changed_quietly(self, event)
        field = self.current
        if field is not None:
            if isinstance(field, TextField) and not event.from_app_focus:  # (the terminal's window came back)
                self._editor.start(field.value)
                self._offset = 0
            self._redraw_field(field)

    def _on_blur(self, event: events.Blur) -> None:
        focus_changed_quietly(self, event)
        if self.current is not None:
            self._redraw_field(self.current)

    def _line_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        return offset.y + self.scroll_offset.y

    async def _on_click(self, event: events.Click) -> None:
        line = self._line_at(event)
        if line is None or not 0 <= line < len(self._lines):
            return
        row = self._lines[line][0]
        if not isinstance(row, Field):
            return
        event.stop()
        self.focus()
        offset = self._offset if row is self.current else 0  # the current field keeps its horizontal scroll
        if row is not self.current:
            self._move(self._order.index(row), clicked=True)
        if isinstance(row, ToggleField):
            row.value = not row.value
        elif isinstance(row, ChoiceField):
            self.open_list()
        elif isinstance(row, TextField):
            where = event.get_content_offset(self)
            if where is not None and where.x >= LABEL_WIDTH:
                self._offset = offset
                self._editor.cursor = self._index_at(where.x - LABEL_WIDTH)
                self._editor.anchor = None
                self._redraw_field(row)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        line = self._line_at(event)
        row = self._lines[line][0] if line is not None and 0 <= line < len(self._lines) else None
        tooltip = row.tooltip if isinstance(row, Field) else None
        if tooltip != self.tooltip:
            self.tooltip = tooltip

    # ------------------------------------------------------------------ a choice's list

    @property
    def list_open(self) -> bool:
        return self._list is not None

    def open_list(self) -> None:
        field = self.current
        if not isinstance(field, ChoiceField) or self._list is not None:
            return
        line = self._line_of[field.id] - self.scroll_offset.y
        region = self.content_region
        listing = GridChoiceList(self, field)
        listing.styles.offset = (region.x + LABEL_WIDTH - 1, region.y + line + 1)
        listing.styles.min_width = max(region.width - LABEL_WIDTH + 1, 8)
        self._list = listing
        self.screen.mount(listing)
        listing.focus()

    def pick_from_list(self, index: int) -> None:
        field = self.current
        if isinstance(field, ChoiceField):
            field.value = field.options[index][1]
        self.close_list(refocus=True)

    def leave_list(self, step: int) -> None:
        """Tab (1) or shift+Tab (-1) in the open list: close it, and go to the next or previous field
        (past either end, the widget after or before the form)."""
        index = self.cursor + step
        if 0 <= index < len(self._order):
            self.close_list(refocus=True)
            self._move(index)
            return
        chain = [widget for widget in self.screen.focus_chain if widget is not self._list]
        self.close_list(refocus=False)
        if self in chain and len(chain) > 1:
            target = chain[(chain.index(self) + step) % len(chain)]
            target.focus()
            if isinstance(target, SettingsGrid):
                target.entered(forward=step > 0)
        else:
            self.focus()

    def close_list(self, *, refocus: bool) -> None:
        listing, self._list = self._list, None
        if listing is None:
            return
        if refocus:
            self.focus()
        listing.remove()

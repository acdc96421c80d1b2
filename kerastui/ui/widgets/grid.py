"""LineTable: a read-only table that draws only the rows on screen.

Textual's DataTable measures every cell of every row it is given (its idle ``_update_dimensions``):
500 runs × 17 columns took seconds to show.  Here each row is one line of text built once, with
fixed column widths, and ``render_line`` crops the lines in view — any number of rows costs the
same to draw.  The cursor, keys, clicks and messages follow DataTable's (``RowSelected`` on enter
or a click on the cursor row, ``HeaderSelected`` on a click on a column's header).  Cells quote
names from run directories: each is drawn as plain text with its control characters shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from kerastui.ui.safe import plain
from kerastui.ui.safe import text as safe_text

GAP = 2  # cells between columns


def focus_changed_quietly(widget: Widget, event: events.Focus | events.Blur) -> None:
    """What Textual's own focus handlers do, but the repaint of the whole widget: for a widget whose
    focus shows on one line (its cursor's), which the caller repaints.  A Tab into or out of a form
    or a table of many lines then costs that line, not every line (``event.prevent_default()``: the
    base class's handlers are not run).  Nor is the widget's CSS applied again (``has_focus`` set
    without its watcher): such a widget has no ``:focus`` rule (its focus is drawn by ``has_focus``),
    and the settings form's restyle, component classes and all, was ~1 ms of each Tab into or out."""
    event.prevent_default()
    focused = isinstance(event, events.Focus)
    widget.set_reactive(Widget.has_focus, focused)
    if widget.parent is not None:
        widget.parent.post_message(events.DescendantFocus(widget) if focused else events.DescendantBlur(widget))


@dataclass(frozen=True)
class TableColumn:
    key: str
    label: str
    width: int


class _Picked(Message):
    """Something of a LineTable picked by key (a row, a column)."""

    def __init__(self, table: LineTable, key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> LineTable:
        return self.table


class LineTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header line; one row is the cursor."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    # The focused cursor is a class of its own, chosen by ``has_focus`` when drawn (not a ``:focus``
    # rule: a focus change that changes component styles makes Textual repaint the whole table).
    COMPONENT_CLASSES = {"line-table--header", "line-table--cursor", "line-table--cursor-focused",
                         "line-table--odd"}
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        .line-table--header {
            text-style: bold;
            background: $panel;
            color: $text;
        }
        .line-table--cursor {
            background: $block-cursor-blurred-background;
        }
        .line-table--odd {
            background: $surface-lighten-1 40%;
        }
        .line-table--cursor-focused {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False, always_update=True)

    class RowSelected(_Picked):
        """Enter, or a click on the cursor row: ``key`` is the row's."""

    class HeaderSelected(_Picked):
        """A click on a column's header: ``key`` is the column's."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[TableColumn] = []
        self.keys: list[str] = []
        self.rows: list[list[str | Text]] = []  # as given: a plain cell becomes Text only when drawn
        self._lines: dict[int, Text] = {}  # row index → its line (built when first drawn)

    # ------------------------------------------------------------------ content

    def set_rows(self, columns: Sequence[TableColumn], rows: Sequence[tuple[str, Sequence[str | Text]]]) -> None:
        """Replace columns and rows (``(key, cells)`` each); the cursor stays on the same row index."""
        self.columns = list(columns)
        self.keys = [key for key, _ in rows]
        self.rows = [list(cells) for _, cells in rows]
        self._lines.clear()
        self._sized()
        self.cursor_row = min(self.cursor_row, max(len(self.rows) - 1, 0))
        self.refresh()

    def add_rows(self, rows: Sequence[tuple[str, Sequence[str | Text]]]) -> None:
        """Add rows (``(key, cells)`` each) after the others, under the columns as they are."""
        for key, cells in rows:
            self.keys.append(key)
            self.rows.append(list(cells))
        self._sized()
        self.refresh()

    def _sized(self) -> None:
        width = sum(c.width for c in self.columns) + GAP * max(len(self.columns) - 1, 0) + 1
        self.virtual_size = Size(width, len(self.rows) + 1)

    def update_cell(self, key: str, column: str, value: str | Text) -> None:
        index = self.keys.index(key)
        at = [c.key for c in self.columns].index(column)
        self.rows[index][at] = value
        self._lines.pop(index, None)
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def get_row_at(self, index: int) -> list[Text]:
        return [cell if isinstance(cell, Text) else Text(str(cell)) for cell in self.rows[index]]

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.rows else None

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = max(0, min(row, len(self.rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._cursor_in_view()
        self.refresh()

    # The cursor is kept in sight when the table is made shorter, and when the layout shows a scroll
    # bar: the vertical one (before it, Textual scrolls nothing), the horizontal one (a line less).

    def on_resize(self) -> None:
        self._cursor_in_view()

    def watch_show_vertical_scrollbar(self) -> None:
        self._cursor_in_view()

    def watch_show_horizontal_scrollbar(self) -> None:
        self._cursor_in_view()

    def _cursor_in_view(self) -> None:
        top, row, sight = round(self.scroll_offset.y), self.cursor_row, self.rows_in_sight
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + sight:
            self.scroll_to(y=row - sight + 1, animate=False, immediate=True)

    @property
    def rows_in_sight(self) -> int:
        """The rows the table shows at once: its height less the header and, when its columns are
        wider than the room beside a vertical scroll bar, the horizontal one (both counted before
        the layout that shows them)."""
        styles, size, virtual = self.styles, self.size, self.virtual_size
        tall = self.show_vertical_scrollbar or (styles.overflow_y != "hidden" and virtual.height > size.height)
        room = size.width - (styles.scrollbar_size_vertical if tall else 0)
        wide = self.show_horizontal_scrollbar or (styles.overflow_x != "hidden" and virtual.width > room)
        return max(size.height - 1 - (styles.scrollbar_size_horizontal if wide else 0), 1)

    # ------------------------------------------------------------------ drawing

    def _line(self, index: int) -> Text:
        line = self._lines.get(index)
        if line is None:
            line = self._join(self.rows[index])
            self._lines[index] = line
        return line

    def _join(self, cells: Sequence[str | Text]) -> Text:
        line = Text(no_wrap=True, end="")
        for i, (column, cell) in enumerate(zip(self.columns, cells, strict=False)):
            if i:
                line.append(" " * GAP)
            piece = safe_text(cell, one_line=True).copy() if isinstance(cell, Text) else plain(cell)
            piece.truncate(column.width, overflow="ellipsis", pad=True)
            line.append_text(piece)
        return line

    def render_line(self, y: int) -> Strip:
        width = self.size.width - self.scrollbar_size_vertical
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            header = self._join([c.label for c in self.columns])  # (names from presets: one line, shown)
            style = self.get_component_rich_style("line-table--header")
            return self._strip(header, style, scroll_x, width)
        index = round(scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        if index == self.cursor_row:
            style = self.get_component_rich_style("line-table--cursor-focused" if self.has_focus else
                                                  "line-table--cursor")
        elif index % 2:
            style = self.get_component_rich_style("line-table--odd")
        else:
            style = Style()
        return self._strip(self._line(index), style, scroll_x, width)

    def _strip(self, line: Text, style: Style, scroll_x: int, width: int) -> Strip:
        segments = list(line.render(self.app.console))
        strip = Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width)
        base = self.rich_style + style
        return Strip([Segment(text, base + seg_style if seg_style else base, control)
                      for text, seg_style, control in strip], strip.cell_length)

    # ------------------------------------------------------------------ focus

    # The focus shows on the cursor's line only (its style): that line is repainted, not the table.

    def _on_focus(self, event: events.Focus) -> None:
        focus_changed_quietly(self, event)
        self._refresh_cursor_line()

    def _on_blur(self, event: events.Blur) -> None:
        focus_changed_quietly(self, event)
        self._refresh_cursor_line()

    def _refresh_cursor_line(self) -> None:
        y = self.cursor_row - round(self.scroll_offset.y) + 1
        if 1 <= y <= self.rows_in_sight:
            self.refresh(Region(0, y, self.size.width, 1))

    # ------------------------------------------------------------------ keys and mouse

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step * max(self.rows_in_sight - 1, 1))

    def action_jump(self, where: int) -> None:
        self.move_cursor(row=where if where >= 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.RowSelected(self, self.keys[self.cursor_row]))

    async def _on_click(self, event: events.Click) -> None:
        scroll_x, scroll_y = self.scroll_offset
        if event.y == 0:
            x = event.x + round(scroll_x)
            for column in self.columns:
                if x < column.width + GAP:
                    self.post_message(self.HeaderSelected(self, column.key))
                    return
                x -= column.width + GAP
            return
        index = round(scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor_row:
                self.action_select()
            self.move_cursor(row=index)

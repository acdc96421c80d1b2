"""DataTable columns as wide as their widest cell, at once; a table as tall as its rows, always.

Textual's DataTable widens an auto-width column only when idle, and a line it drew before that stays
in its caches (keyed by a counter the widening does not bump): a table refilled while the app is
busy can keep showing header-wide columns ("Inpu", "shape=(20") until the next edit.  These
helpers give every column an explicit width, widened before the row that needs it is added, so what
is drawn is right the first time.  Labels and cells quote names from files and data sets: text goes
in as ``Text`` with its control characters shown (``safe.cell``), never read as markup.

A DataTable as tall as its rows (``height: auto``, its default CSS) has the same kind of trouble with its
height: ``AutoHeightTable``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable

from kerastui.ui.safe import cell as safe_cell
from kerastui.ui.safe import text as safe_text


def cell_width(cell: object) -> int:
    """Cells a value takes in a DataTable: its widest line."""
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in plain.splitlines()), default=0)


def set_columns(table: DataTable, labels: Iterable[str | Text]) -> None:
    """Replace the columns (the rows go too), each as wide as its label until rows widen it."""
    table.clear(columns=True)
    for label in labels:
        shown = safe_text(label)
        table.add_column(shown, width=cell_width(shown))


def add_rows(table: DataTable, rows: Iterable[Sequence[object]], keys: Iterable[str | None] | None = None) -> None:
    """Add rows, widening each column first to fit its cells."""
    columns = table.ordered_columns
    for cells, key in zip(rows, repeat(None) if keys is None else keys, strict=False):
        shown = [safe_cell(cell) for cell in cells]
        for column, cell in zip(columns, shown, strict=False):
            column.width = max(column.width, cell_width(cell))
        table.add_row(*shown, key=key)


class AutoHeightTable(DataTable):
    """A DataTable laid out as tall as its rows (CSS ``height: auto``), however busy the app is.

    DataTable learns its height (its ``virtual_size``) when idle.  A table shown (``display``) and
    filled in one go asks for a layout; when the screen lays out before the table's idle pass (a
    busy app: another widget's layout came first), the table is measured with no rows, 0 lines, and
    that box model is cached under the table's layout counter.  The new ``virtual_size`` then asks
    for a layout while the first request is still pending, which does not bump the counter: the next
    layout reads the cached 0 and the table stays invisible (one CI run in a few; every time with
    the screen laid out in between).  So a changed height asks for one more layout after the
    screen's refresh, when nothing is pending and the request counts."""

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        if new.height != old.height:
            self.call_after_refresh(self.refresh, layout=True)

"""The comparison table: per epoch, the built-in metric and the custom one, train and validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from kerastui.core.model.metrics import TOLERANCE, ComparisonRow, format_diff

# Table columns: key → (header line 1, header line 2); widths fit the headers and "0.9583" / "6.0e-08".
COLUMNS = {"epoch": ("", "epoch"), "tb": ("train", "built-in"), "tc": ("train", "custom"), "td": ("train", "|Δ|"),
           "vb": ("val", "built-in"), "vc": ("val", "custom"), "vd": ("val", "|Δ|")}
WIDTHS = {"epoch": 5, "tb": 8, "tc": 6, "td": 7, "vb": 8, "vc": 6, "vd": 7}


class MetricTable(DataTable):
    """Per epoch: train and validation values of the built-in metric and the custom one, and |Δ|."""

    HELP = ("The comparison table: one row per finished epoch; train and validation values of the built-in "
            "metric, the custom metric and their absolute difference (|Δ|, 0 when equal).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows_shown = 0  # the rows added so far (show adds only the new ones)

    def on_mount(self) -> None:
        self.clear(columns=True)
        for key, (top, bottom) in COLUMNS.items():
            width = WIDTHS[key]
            self.add_column(Text(f"{top:>{width}}\n{bottom:>{width}}"), key=key)
        self._rows_shown = 0

    def show(self, rows: Sequence[ComparisonRow], *, full: bool = False) -> None:
        """The compared epochs: those not yet shown are added; ``full`` (or fewer rows) starts over.
        The cursor goes to the last epoch."""
        if full or len(rows) < self._rows_shown:
            self.clear()
            self._rows_shown = 0
        for row in rows[self._rows_shown:]:
            self.add_row(Text(f"{row.epoch:>{WIDTHS['epoch']}}"), _value(row.train_builtin, "tb"),
                         _value(row.train_custom, "tc"), _diff(row.train_diff, "td"), _value(row.val_builtin, "vb"),
                         _value(row.val_custom, "vc"), _diff(row.val_diff, "vd"), key=str(row.epoch))
        self._rows_shown = len(rows)
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


# Right-aligned by padding (numbers line up; a DataTable cell is drawn from its left edge).
def _value(v: float | None, key: str) -> Text:
    return Text(f"{'—' if v is None else f'{v:.4f}':>{WIDTHS[key]}}")


def _diff(d: float | None, key: str) -> Text:
    style = "dim" if d is None else ("green" if d <= TOLERANCE else "bold red")
    return Text(f"{format_diff(d):>{WIDTHS[key]}}", style=style)

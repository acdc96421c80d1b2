"""The Sweeps workspace's trial table: one row per trial of a sweep (every machine's), its columns,
their sort and the text filter.

A row is the core's :class:`~kerastui.core.run.sweep.TrialRow`; the cells are made here from it
(numbers formatted, a parameter per column).  Hosts, devices, errors and parameter values come from
the study (another machine may have written them): the table draws every cell as plain text with
its control characters shown (:class:`~kerastui.ui.widgets.grid.LineTable`), and only the rows on
screen are drawn, so a sweep of hundreds of trials costs what a screenful does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from kerastui.core.run.sweep import TrialRow
from kerastui.core.run.table import duration_text
from kerastui.ui.widgets.grid import LineTable, TableColumn

STATE_STYLES = {"running": "bold green", "starting": "green", "stopping": "yellow", "completed": "",
                "pruned": "dim", "failed": "red", "interrupted": "yellow", "died": "bold red", "stopped": "cyan"}


def number(value: float | None) -> str:
    """A value as the table shows it: 4 significant digits, blank when unknown."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return f"{value:.4g}"


def param_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def param_label(key: str) -> str:
    """A swept key as a column's header: ``compile.learning_rate`` → ``learning_rate``,
    ``model.layers[1].units`` → ``L1.units``."""
    short = key.split(".", 1)[1] if key.split(".", 1)[0] in ("compile", "fit", "model", "data") and "." in key \
        else key
    if short.startswith("layers["):
        index, _, rest = short[len("layers["):].partition("]")
        short = f"L{index}{rest}"
    return short


@dataclass(frozen=True)
class TrialColumn:
    """A column: its key, header, width, the cell's text and the value it sorts by."""

    key: str
    label: str
    width: int
    text: Callable[[TrialRow], str]
    order: Callable[[TrialRow], Any]


def _epoch(row: TrialRow) -> str:
    if row.epoch is None:
        return ""
    return f"{row.epoch}/{row.epochs_planned}" if row.epochs_planned else str(row.epoch)


BASE_COLUMNS = [
    TrialColumn("number", "#", 4, lambda r: str(r.number), lambda r: r.number),
    TrialColumn("state", "state", 11, lambda r: str(r.state), lambda r: str(r.state)),
    TrialColumn("value", "value", 8, lambda r: number(r.value), lambda r: r.value),
    TrialColumn("best", "best", 8, lambda r: number(r.best_so_far), lambda r: r.best_so_far),
    TrialColumn("epoch", "epoch", 5, _epoch, lambda r: r.epoch),
]
TAIL_COLUMNS = [
    TrialColumn("seconds", "time", 7, lambda r: duration_text(r.seconds), lambda r: r.seconds),
    TrialColumn("host", "host", 12, lambda r: r.host, lambda r: r.host),
    TrialColumn("device", "device", 9, lambda r: r.device, lambda r: r.device),
    TrialColumn("error", "error", 40, lambda r: r.error or "", lambda r: r.error or ""),
]


def columns(keys: Sequence[str], *, errors: bool = False) -> list[TrialColumn]:
    """The table's columns for a sweep over ``keys``: number, state, value, best so far, epoch, one per
    swept key, then time, host, device (and the error, when a trial has one)."""
    tail = TAIL_COLUMNS if errors else [c for c in TAIL_COLUMNS if c.key != "error"]
    return [*BASE_COLUMNS, *(_param_column(key) for key in keys), *tail]


def _param_column(key: str) -> TrialColumn:
    def text(row: TrialRow) -> str:
        return param_text(row.params.get(key))

    def order(row: TrialRow) -> Any:
        return row.params.get(key)

    label = param_label(key)
    return TrialColumn(f"param:{key}", label, max(8, min(len(label), 16)), text, order)


def sort_trials(rows: Iterable[TrialRow], column: TrialColumn, *, descending: bool = False) -> list[TrialRow]:
    """Rows sorted by a column; unknown values (a trial without a value yet) last either way."""
    known: list[tuple[Any, TrialRow]] = []
    unknown: list[TrialRow] = []
    for row in rows:
        value = column.order(row)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            unknown.append(row)
        else:
            known.append((value, row))
    try:
        known.sort(key=lambda pair: pair[0], reverse=descending)
    except TypeError:  # mixed kinds (a choice of numbers and words): as text
        known.sort(key=lambda pair: str(pair[0]), reverse=descending)
    return [row for _, row in known] + unknown


def filter_trials(rows: Iterable[TrialRow], text: str, cols: Sequence[TrialColumn]) -> list[TrialRow]:
    """Rows whose cells hold every word of ``text`` (case-insensitive, any column)."""
    words = text.lower().split()
    rows = list(rows)
    if not words:
        return rows
    out = []
    for row in rows:
        line = " ".join(column.text(row) for column in cols).lower()
        if all(word in line for word in words):
            out.append(row)
    return out


class TrialTable(LineTable):
    """A sweep's trials: enter follows the trial's run; ← → scroll the columns (the swept values, then
    time, host and device)."""

    HELP = ("The sweep's trials, one row each (every machine's): state (pruned ones dimmed), the objective's "
            "value, the best so far, epochs, the trial's values, time, host and device. enter follows the "
            "trial's run; s sorts by the next column (S reverses; or click a header), / filters by text; "
            "← → scroll the columns.")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trial_numbers: list[int] = []

    def show(self, rows: Sequence[TrialRow], cols: Sequence[TrialColumn], sort: tuple[str, bool] | None,
             best: int | None) -> None:
        """One line per trial (its key: the trial's number); the best trial marked ★, the sorted column's
        header with ↑ or ↓."""
        table_columns = []
        for column in cols:
            label = column.label
            if sort is not None and sort[0] == column.key:
                label += " ↓" if sort[1] else " ↑"
            table_columns.append(TableColumn(column.key, label, max(column.width, len(label))))
        lines: list[tuple[str, list[str | Text]]] = []
        for row in rows:
            cells: list[str | Text] = []
            for column in cols:
                text = column.text(row)
                if column.key == "number":
                    cells.append(Text(f"{text}★" if row.number == best else text,
                                      style="bold" if row.number == best else ""))
                elif column.key == "state":
                    cells.append(Text(text, style=STATE_STYLES.get(str(row.state), "")))
                else:
                    cells.append(text)
            lines.append((str(row.number), cells))
        self.trial_numbers = [row.number for row in rows]
        self.set_rows(table_columns, lines)

    @property
    def cursor_trial(self) -> int | None:
        key = self.cursor_key
        return int(key) if key is not None else None

    def move_to_trial(self, number: int) -> None:
        if number in self.trial_numbers:
            self.move_cursor(row=self.trial_numbers.index(number))

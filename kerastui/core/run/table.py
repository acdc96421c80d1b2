"""The runs table: its columns (shown, sorted, filtered and exported the same way by the Runs
workspace and ``kerastui runs --csv``) and CSV export of runs and of their per-epoch metrics.

Run names, presets, datasets and metric names come from run directories: the text table shows
their control characters (``visible``), and every CSV cell and header goes through ``csv_cell``
(no cell a spreadsheet would run as a formula)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerastui.core.devices import describe
from kerastui.core.resources import size_text
from kerastui.core.run.directory import RunInfo, read_metrics, write_atomic
from kerastui.core.run.history import ROW_FIELDS
from kerastui.core.run.status import RunStatus, status_label
from kerastui.core.text import csv_cell, visible


def duration_text(seconds: float | None) -> str:
    """``4.2s``, ``3m07s``, ``2h05m``; blank when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return ""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{seconds:.1f}s"


def _test_value(run: RunInfo) -> tuple[str, float] | None:
    for key in ("accuracy", "loss", *sorted(run.test)):
        value = run.test.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return key, float(value)
    return None


def _test_text(run: RunInfo) -> str:
    found = _test_value(run)
    return "" if found is None else f"{found[0]} {found[1]:.4f}"


def _best(run: RunInfo) -> float | None:
    value = run.best.get("value")
    return float(value) if isinstance(value, (int, float)) else None


@dataclass(frozen=True)
class Column:
    key: str  # CSV header and sort name
    label: str  # table header
    width: int
    value: Callable[[RunInfo], Any]  # the raw value (CSV, sorting)
    text: Callable[[RunInfo], str]  # as the table shows it
    # 1 is shown first: a narrow table shows the columns of the lowest numbers that fit (in the
    # table's order) and the rest on the pages after it.
    priority: int = 5


def _state_text(run: RunInfo) -> str:
    """``running ·3s`` (a live run: its heartbeat's age), ``completed · early stopping``, ``damaged``."""
    if run.live and run.heartbeat_age is not None:
        return f"{run.status} ·{max(0.0, run.heartbeat_age):.0f}s"
    return status_label(run.status, run.outcome)


def text_table(runs: Sequence[RunInfo], keys: Sequence[str]) -> list[str]:
    """The runs as plain text lines (``kerastui runs``), the columns ``keys`` as the Runs workspace
    shows them; a damaged run's reason on a line of its own after the table."""
    columns = [BY_KEY[k] for k in keys]
    rows = [[c.label.upper() for c in columns]] + [[visible(c.text(r), one_line=True) for c in columns] for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += [visible(f"{r.name}: damaged: {r.error}", one_line=True) for r in runs if r.status == RunStatus.DAMAGED]
    return lines


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


COLUMNS: tuple[Column, ...] = (
    Column("state", "state", 12, lambda r: str(r.status), lambda r: _state_text(r), 1),
    Column("run", "run", 18, lambda r: r.name, lambda r: r.name, 1),
    Column("preset", "preset", 12, lambda r: r.preset, lambda r: r.preset, 4),
    Column("dataset", "dataset", 18, lambda r: r.dataset, lambda r: r.dataset, 5),
    Column("optimizer", "optimizer", 9, lambda r: r.optimizer, lambda r: r.optimizer, 6),
    Column("learning_rate", "lr", 8, lambda r: r.learning_rate, lambda r: _g(r.learning_rate), 6),
    Column("batch_size", "batch", 5, lambda r: r.batch_size, lambda r: _g(r.batch_size), 6),
    Column("epochs", "epochs", 7, lambda r: r.epochs,
           lambda r: f"{r.epochs}/{r.epochs_planned}" if r.live and r.epochs_planned else str(r.epochs), 3),
    Column("params", "params", 10, lambda r: r.params, lambda r: "" if r.params is None else f"{r.params:,}", 6),
    Column("best_metric", "best", 12, lambda r: r.best.get("metric", ""), lambda r: r.best.get("metric", ""), 1),
    Column("best_value", "value", 7, _best, lambda r: "" if _best(r) is None else f"{_best(r):.4f}", 1),
    Column("best_epoch", "@", 4, lambda r: r.best.get("epoch"), lambda r: _g(r.best.get("epoch")), 3),
    Column("test", "test", 15, lambda r: (_test_value(r) or (None, None))[1], lambda r: _test_text(r), 1),
    Column("seconds", "time", 7, lambda r: r.seconds, lambda r: duration_text(r.seconds), 3),
    Column("devices", "devices", 8, lambda r: " ".join(r.devices), lambda r: describe(r.devices), 5),
    Column("peak_memory", "peak mem", 8, lambda r: r.peak_memory,
           lambda r: "" if r.peak_memory is None else size_text(r.peak_memory), 6),
    Column("started", "started", 19, lambda r: r.started, lambda r: r.started.replace("T", " "), 4),
)
BY_KEY = {column.key: column for column in COLUMNS}
# What ``kerastui runs`` prints (every column goes to --csv and --json).
CLI_KEYS = ("run", "state", "epochs", "preset", "dataset", "devices", "peak_memory", "best_metric", "best_value",
            "best_epoch", "test", "seconds")


def sort_runs(runs: Sequence[RunInfo], key: str, *, descending: bool = False) -> list[RunInfo]:
    """Runs ordered by a column; runs without a value go last either way."""
    column = BY_KEY[key]
    have = [r for r in runs if column.value(r) not in (None, "")]
    missing = [r for r in runs if column.value(r) in (None, "")]

    def order(run: RunInfo) -> Any:
        value = column.value(run)
        return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value).lower())

    return sorted(have, key=order, reverse=descending) + missing


def filter_runs(runs: Iterable[RunInfo], text: str) -> list[RunInfo]:
    """Runs whose row contains every word of ``text`` (case-insensitive, in any column)."""
    words = text.lower().split()
    if not words:
        return list(runs)
    out = []
    for run in runs:
        row = " ".join(column.text(run) for column in COLUMNS).lower() + " " + " ".join(
            f"{k} {v}" for k, v in run.test.items()).lower()
        if all(word in row for word in words):
            out.append(run)
    return out


def table_csv(runs: Iterable[RunInfo]) -> str:
    """The table as CSV: one row per run, raw values (numbers unformatted), every test metric."""
    runs = list(runs)
    tests = sorted({k for r in runs for k, v in r.test.items() if isinstance(v, (int, float))})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_cell(c.key) for c in COLUMNS] + ["path"] + [_cell(f"test_{k}") for k in tests])
    for run in runs:
        writer.writerow([_cell(c.value(run)) for c in COLUMNS] + [_cell(str(run.path))]
                        + [_cell(run.test.get(k)) for k in tests])
    return out.getvalue()


def epochs_csv(runs: Iterable[RunInfo]) -> str:
    """Every run's per-epoch metrics as CSV: one row per (run, epoch), one column per metric any of
    them logged (blank where a run has none), values exactly as ``metrics.jsonl`` holds them."""
    rows: list[tuple[str, dict[str, Any]]] = [(run.name, row) for run in runs for row in read_metrics(run.path)]
    metrics: list[str] = []
    for _, row in rows:
        metrics += [k for k, v in row.items() if k not in ROW_FIELDS and k not in metrics
                    and isinstance(v, (int, float))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", "epoch", "phase", "seconds", *(_cell(m) for m in metrics)])
    for name, row in rows:
        writer.writerow([_cell(name), _cell(row.get("epoch")), _cell(row.get("phase", "")), _cell(row.get("seconds")),
                         *(_cell(row.get(m)) for m in metrics)])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell: blank for None, a float as ``repr`` (round-trips exactly), text through ``csv_cell``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(csv_cell(value))


def export(runs: Sequence[RunInfo], chosen: Sequence[RunInfo], folder: Path, stamp: str) -> tuple[Path, Path]:
    """Write ``kerastui-runs-STAMP.csv`` (the table) and ``kerastui-runs-STAMP-epochs.csv`` (the chosen
    runs' per-epoch metrics) into ``folder``, atomically; returns both paths."""
    table = folder / f"kerastui-runs-{stamp}.csv"
    epochs = folder / f"kerastui-runs-{stamp}-epochs.csv"
    write_atomic(table, table_csv(runs))
    write_atomic(epochs, epochs_csv(chosen))
    return table, epochs

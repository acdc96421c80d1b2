"""A run's history, folded once: the trainer, the run directory's ``metrics.jsonl`` and the TUI's
``RunState`` all use these functions, so an epoch means the same thing everywhere.

- an epoch is a *whole* epoch: one cut short by a stop or a signal is not logged, plotted or exported;
- a history is ``{metric: [value per epoch]}``, a metric missing in an epoch being NaN there;
- a ``metrics.jsonl`` row is ``{"phase", "epoch" (1-based), "seconds", ["peak_memory"], metrics…}``;
- the *best* epoch of a run is that of its headline metric (:func:`headline_metric`): one rule for
  the Train workspace, the Runs workspace and ``kerastui runs``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kerastui.core.model.metricnames import best_epoch
from kerastui.core.run.events import EpochEnded

# A metrics.jsonl row's fields that are not metrics.
ROW_FIELDS = ("phase", "epoch", "seconds", "batches", "peak_memory")
# The metric a run is judged by, first found: what users watch to pick a model.
HEADLINE = ("val_loss", "loss")


def fold(history: dict[str, list[float]], epoch: int, logs: Mapping[str, float]) -> None:
    """Add epoch ``epoch`` (0-based) to ``history``: every column padded with NaN up to it."""
    for key, value in logs.items():
        column = history.setdefault(key, [])
        column.extend([math.nan] * (epoch - len(column)))
        if len(column) > epoch:
            del column[epoch:]  # the same epoch again (a resumed run): the new values replace it
        column.append(float(value))


def row_of(event: EpochEnded) -> dict[str, Any]:
    """The ``metrics.jsonl`` row of an epoch."""
    return {"phase": event.phase, "epoch": event.epoch + 1, "seconds": round(event.seconds, 4),
            **({"peak_memory": event.peak_memory} if event.peak_memory is not None else {}), **event.logs}


def row_logs(row: Mapping[str, Any]) -> dict[str, float]:
    """A row's metrics (NaN written as null reads back NaN)."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if key in ROW_FIELDS or isinstance(value, bool):
            continue
        if value is None:
            out[key] = math.nan
        elif isinstance(value, (int, float)):
            out[key] = float(value)
    return out


def event_of(row: Mapping[str, Any]) -> EpochEnded:
    """The ``EpochEnded`` a row records (rows are checked by the reader first)."""
    peak = row.get("peak_memory")
    return EpochEnded(str(row.get("phase") or "train"), int(row["epoch"]) - 1, row_logs(row),
                      float(row.get("seconds") or 0.0), peak_memory=peak if isinstance(peak, int) else None)


def history_of(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    history: dict[str, list[float]] = {}
    for row in rows:
        fold(history, int(row["epoch"]) - 1, row_logs(row))
    return history


def headline_metric(names: Iterable[str]) -> str | None:
    """The metric a run is judged by: ``val_loss``, else ``loss`` (None before any epoch)."""
    present = set(names)
    return next((key for key in HEADLINE if key in present), None)


def best(history: Mapping[str, Sequence[float]], metric: str | None = None) -> dict[str, Any]:
    """``{"metric", "value", "epoch"}`` of the best epoch (1-based) by ``metric`` (default: the
    headline); {} when it has no finite value."""
    key = metric or headline_metric(history)
    values = list(history.get(key, ())) if key is not None else []
    epoch = best_epoch(values, key) if key is not None else None
    if epoch is None or key is None:
        return {}
    return {"metric": key, "value": values[epoch - 1], "epoch": epoch}


def spans(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``1–3, 7``."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("–")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('–')[0]}–{n}"
        else:
            out.append(str(n))
    return ", ".join(out)

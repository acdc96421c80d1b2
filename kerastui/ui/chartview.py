"""How a workspace's charts are drawn — smoothing, log scale, zoom, cursor, per-step curve — and the
curve arithmetic behind it.  Plain Python: no Textual, no plotext (imported before the first frame)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SMOOTHING = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)  # TensorBoard's slider, in the steps people use
ZOOMS = (None, 10, 25, 50, 100)  # "last N epochs"; None: all


@dataclass
class ChartView:
    """One workspace's chart settings: every chart on the screen draws with them."""

    smoothing: float = 0.0
    log_y: bool = False
    last: int | None = None  # show only the last N epochs
    cursor: int | None = None  # 1-based epoch whose exact values are shown
    per_step: bool = False  # the batch-level loss curve beside the per-epoch ones

    def smoother(self, step: int) -> None:
        """One step along SMOOTHING (clamped at both ends)."""
        at = min(range(len(SMOOTHING)), key=lambda i: abs(SMOOTHING[i] - self.smoothing))
        self.smoothing = SMOOTHING[max(0, min(len(SMOOTHING) - 1, at + step))]

    def zoom(self, epochs: int) -> None:
        """The next "last N" that shows fewer epochs than the run has; after the last one, all."""
        choices = [z for z in ZOOMS if z is None or z < epochs]
        at = choices.index(self.last) if self.last in choices else 0
        self.last = choices[(at + 1) % len(choices)]

    def move_cursor(self, step: int, epochs: int) -> None:
        """Cursor ``step`` epochs on; it appears at the last epoch, and stays within the run."""
        if epochs <= 0:
            self.cursor = None
            return
        if self.cursor is None:
            self.cursor = epochs
            return
        self.cursor = max(self.first_epoch(epochs), min(epochs, self.cursor + step))

    def first_epoch(self, epochs: int) -> int:
        """The first epoch shown (1-based) for a run of ``epochs`` epochs."""
        return max(1, epochs - self.last + 1) if self.last else 1

    def describe(self) -> str:
        """The settings that change what is drawn, for a chart's title ("" when none)."""
        bits = []
        if self.smoothing:
            bits.append(f"smooth {self.smoothing:g}")
        if self.log_y:
            bits.append("log")
        if self.last:
            bits.append(f"last {self.last}")
        return " · ".join(bits)


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average debiased for its zero start
    (``last = last·w + (1−w)·y; smoothed = last / (1 − w**n)``, n counting finite values).
    Non-finite values pass through untouched, and a constant series is returned as it is —
    both exactly as TensorBoard's scalar dashboard does."""
    if not weight or not values:
        return list(values)
    if all(v == values[0] for v in values):
        return list(values)
    out = []
    last = 0.0
    count = 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        debias = 1 - weight ** count if weight != 1 else 1.0
        out.append(last / debias)
    return out


def positive(values: Sequence[float]) -> bool:
    """Whether every finite value can go on a log scale."""
    return all(v > 0 for v in values if math.isfinite(v))

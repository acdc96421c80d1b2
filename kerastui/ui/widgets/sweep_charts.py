"""The Sweeps workspace's charts, drawn with the project's plotext charts (``EpochChart``):

- ``ObjectiveChart``: the objective of every trial (x: the trial's number), pruned ones grey, and the
  best-so-far line.
- ``CurvesChart``: the objective epoch by epoch of the running trials (the last trials' when none
  runs), the best trial's faint beside them; it follows the workspace's chart keys (smoothing, log,
  zoom, cursor).
- ``ParamChart``: one swept parameter against the objective (a choice of words: its values in order).
- ``Importances``: each parameter's importance (Optuna's evaluator) as a bar.

Names of parameters and values come from the study: titles and legends are drawn as plain text
(``EpochChart.header``), the importances through ``safe.plain``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from kerastui.core.run.status import RunStatus
from kerastui.core.run.sweep import TrialRow
from kerastui.core.text import visible
from kerastui.ui.chartview import ChartView
from kerastui.ui.safe import plain
from kerastui.ui.widgets.charts import XLABEL_ROWS, EpochChart, Series, epoch_ticks
from kerastui.ui.widgets.sweep_table import param_label

PALETTE = ["cyan", "orange", "green", "magenta", "yellow", "red", "blue", "white"]
MARKERS = ["braille", "hd", "dot", "x", "+", "•", "o", "*"]
CURVES_SHOWN = 8  # running trials drawn at once (the newest)


class _Everything(ChartView):
    """A chart view that shows every x (trial numbers start at 0, a rate at 0.0): no zoom, no smoothing."""

    def first_epoch(self, epochs: int) -> int:
        return -(10**9)


class XYChart(EpochChart):
    """A chart whose x is not an epoch (a trial's number, a parameter's value): its own view (the
    workspace's smoothing and zoom are for epochs), its own x label, not focusable."""

    can_focus = False
    x_label = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="metric-chart")
        self._own_view = _Everything()
        self.x_ticks: tuple[list[float], list[str]] | None = None

    @property
    def view(self) -> ChartView:
        return self._own_view

    def axes(self, plt: Any, cursor: Any, epochs: Any, limit: Any, first: Any) -> None:
        """Its own x axis: its label and ticks (no epoch cursor)."""
        if self.size.height >= XLABEL_ROWS and self.x_label:
            plt.xlabel(self.x_label)
        if self.x_ticks is not None:
            plt.xticks(*self.x_ticks)


class ObjectiveChart(XYChart):
    """Every trial's objective (completed: cyan; pruned: grey, at its last epoch) and the best so far."""

    HELP = ("The objective of each trial (x: the trial's number): completed trials in cyan, pruned ones in grey "
            "(their last reported value), failed ones absent; the green line is the best so far.")
    x_label = "trial"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[TrialRow] = []

    def show(self, objective: str, rows: Sequence[TrialRow]) -> None:
        self.chart_title = f"{objective} per trial"
        self.rows = list(rows)
        self.replot()

    def _apply(self) -> None:
        super()._apply()
        if self.rows:  # whole trial numbers, at a round step
            epoch_ticks(self.plt, max(r.number for r in self.rows), max(self.size.width - 8, 20), 0)

    def series(self) -> list[Series]:
        done = [(r.number, r.value) for r in self.rows if r.state == RunStatus.COMPLETED and r.value is not None]
        pruned = [(r.number, r.value) for r in self.rows if r.state == RunStatus.PRUNED and r.value is not None]
        best = [(r.number, r.best_so_far) for r in self.rows if r.best_so_far is not None]
        out = []
        if best:
            out.append(Series("best so far", [float(v) for _, v in best], "green", "braille",
                              xs=[float(n) for n, _ in best]))
        for label, points, color, marker in (("completed", done, "cyan", "hd"), ("pruned", pruned, "gray", "x")):
            if points:
                out.append(Series(label, [float(v) for _, v in points], color, marker, points=True,
                                  xs=[float(n) for n, _ in points]))
        return out


class CurvesChart(EpochChart):
    """The objective per epoch of the running trials (when none runs: the last ones), and the best
    trial's curve in grey."""

    HELP = ("The objective epoch by epoch of the running trials (when none runs, the last trials'), each in its "
            "colour, and the best trial's curve in grey. " + EpochChart.HELP.split(". ", 1)[1])

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="metric-chart")
        self.curves: list[tuple[str, list[float], str, str]] = []

    def show(self, objective: str, rows: Sequence[TrialRow], best: int | None) -> None:
        running = [r for r in rows if r.state.live]
        chosen = running[-CURVES_SHOWN:] if running else [r for r in rows if r.intermediate][-4:]
        self.chart_title = f"{objective} per epoch: {'running trials' if running else 'last trials'}"
        curves: list[tuple[str, list[float], str, str]] = []
        best_row = next((r for r in rows if r.number == best), None)
        if best_row is not None and best_row.intermediate and best_row not in chosen:
            curves.append((f"best t{best_row.number}", _per_epoch(best_row), "gray", "dot"))
        for i, row in enumerate(chosen):
            curves.append((f"t{row.number}", _per_epoch(row), PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]))
        self.curves = curves
        self.replot()

    def series(self) -> list[Series]:
        return [Series(label, values, color, marker) for label, values, color, marker in self.curves]


class ParamChart(XYChart):
    """One parameter against the objective, for the completed trials (a list of words: in its order)."""

    HELP = ("One swept parameter (a picks the next) against the objective: a dot per completed trial. A choice of "
            "words is drawn at its values' places, in order.")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[tuple[float, float]] = []

    def show(self, objective: str, key: str | None, rows: Sequence[TrialRow]) -> None:
        self.x_label = param_label(key) if key else ""
        self.chart_title = f"{param_label(key)} → {objective}" if key else "no parameter"
        done = [(r.params[key], float(r.value)) for r in rows if key is not None and key in r.params
                and r.state == RunStatus.COMPLETED and r.value is not None and math.isfinite(r.value)]
        self.x_ticks = None
        if done and not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in done):
            labels = sorted({str(x) for x, _ in done})
            self.points = [(float(labels.index(str(x))), y) for x, y in done]
            # (a stranger's words: plotext would send their control characters as they are)
            self.x_ticks = ([float(i) for i in range(len(labels))], [visible(label, one_line=True)[:10]
                                                                     for label in labels])
        else:
            self.points = [(float(x), y) for x, y in done]
        self.replot()

    def series(self) -> list[Series]:
        if not self.points:
            return []
        return [Series("completed", [p[1] for p in self.points], "cyan", "hd", points=True,
                       xs=[p[0] for p in self.points])]


class Importances(Static):
    """Each parameter's importance for the objective (Optuna's default evaluator), as bars."""

    HELP = ("Parameter importances: how much of the objective's variation each swept parameter explains "
            "(Optuna's default evaluator over the completed trials); read again as trials complete.")

    def show(self, importances: dict[str, float] | None, completed: int, *, pending: bool = False) -> None:
        """Bars for ``importances``; None while they are being evaluated (``pending``) or cannot be yet."""
        text = Text("importances\n", style="bold")
        if not importances:
            why = ("evaluating…" if pending else "after two trials complete") if importances is None or \
                completed < 2 else "not enough variation yet"
            text.append(why, style="dim")
            self.update(text)
            return
        width = max(self.size.width - 2, 12)
        name_width = min(max(len(param_label(k)) for k in importances), max(width // 2, 8))
        bar_width = max(width - name_width - 7, 3)
        for key, value in sorted(importances.items(), key=lambda kv: -kv[1]):
            text.append_text(plain(param_label(key)[:name_width].ljust(name_width)))
            bar = "█" * max(round(value * bar_width), 1 if value > 0 else 0)
            text.append(f" {bar.ljust(bar_width)}", style="cyan")
            text.append(f" {value:.2f}\n")
        self.update(text)


def _per_epoch(row: TrialRow) -> list[float]:
    if not row.intermediate:
        return []
    last = max(row.intermediate)
    return [float(row.intermediate.get(epoch, math.nan)) for epoch in range(1, last + 1)]

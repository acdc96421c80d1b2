"""The overlay chart: the built-in metric's curves with the custom metric's values on them."""

from __future__ import annotations

from kerastui.core.model.metrics import Comparison
from kerastui.ui.widgets.charts import TRAIN, VAL, EpochChart, Series


class MetricOverlay(EpochChart):
    """The built-in metric's curves (lines) with the custom metric's values on top (points)."""

    HELP = ("The overlay chart: built-in metric as lines (train cyan, validation orange), the custom metric "
            "as points on them; points off the lines are epochs where the two differ. "
            + EpochChart.HELP.split(". ", 1)[1])

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.comparison: Comparison | None = None
        self.chart_title = "built-in vs custom (no epochs yet)"

    def show(self, comparison: Comparison | None) -> None:
        self.comparison = comparison
        if comparison is not None and comparison.rows:
            self.chart_title = f"{comparison.builtin} vs {comparison.custom}"
        else:
            self.chart_title = "built-in vs custom (no epochs yet)"
        self.replot()

    def series(self) -> list[Series]:
        comparison = self.comparison
        if comparison is None or not comparison.rows:
            return []
        rows = sorted(comparison.rows, key=lambda row: row.epoch)
        out = []
        for attr, label, (color, marker), points in (
            ("train_builtin", "train built-in", TRAIN, False),
            ("val_builtin", "val built-in", VAL, False),
            ("train_custom", "train custom", ("blue+", "•"), True),
            ("val_custom", "val custom", ("red", "x"), True),
        ):
            values = [getattr(row, attr) for row in rows]
            if any(v is not None for v in values):
                out.append(Series(label, [float("nan") if v is None else v for v in values], color, marker,
                                  points=points, xs=[float(row.epoch) for row in rows] if points else None))
        return out

"""The overlay chart: the built-in metric's curves with the custom metric's values on them."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from kerastui.core.metrics import Comparison
from kerastui.ui.widgets.charts import epoch_ticks, thin


class MetricOverlay(PlotextPlot):
    """The built-in metric's curves (lines) with the custom metric's values on top (points)."""

    HELP = ("The overlay chart: built-in metric as lines (train cyan, validation orange), the custom metric "
            "as points on them; points off the lines are epochs where the two differ.")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.comparison: Comparison | None = None

    def show(self, comparison: Comparison | None) -> None:
        self.comparison = comparison
        self.replot()

    def on_resize(self) -> None:
        self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        comparison = self.comparison
        if comparison is None or not comparison.rows:
            plt.title("built-in vs custom (no epochs yet)")
            self.refresh()
            return
        plt.title(f"{comparison.builtin} vs {comparison.custom}")
        limit = max(self.size.width - 10, 10)
        series = [
            ("train_builtin", "train built-in", "cyan", "braille", False),
            ("val_builtin", "val built-in", "orange", "braille", False),
            ("train_custom", "train custom", "blue+", "•", True),
            ("val_custom", "val custom", "red", "x", True),
        ]
        for attr, label, color, marker, points in series:
            data = thin([(row.epoch, getattr(row, attr)) for row in comparison.rows
                         if getattr(row, attr) is not None], limit)
            if not data:
                continue
            draw = plt.scatter if points else plt.plot
            draw([p[0] for p in data], [p[1] for p in data], label=label, marker=marker, color=color)
        plt.xlabel("epoch")
        epoch_ticks(plt, len(comparison.rows), limit)
        self.refresh()

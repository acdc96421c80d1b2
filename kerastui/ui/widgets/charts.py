"""MetricChart: one metric family (loss, accuracy, …), train and validation lines together, the
best epoch marked.  It owns its series and re-renders from them on every resize."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from kerastui.core.metricnames import best_epoch


def thin(points: list, limit: int) -> list:
    """At most ``limit`` evenly spaced points (the first and last kept): one point per terminal
    column already draws the line; more only cost drawing time."""
    if len(points) <= limit or limit < 2:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def family(metric: str) -> str:
    return metric.removeprefix("val_")


class MetricChart(PlotextPlot):
    """Train vs validation curves of one metric; a vertical line at the best validation epoch."""

    HELP = "A live chart: train (solid) and validation lines of one metric; the marker is the best validation epoch."

    def __init__(self, metric: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="metric-chart")
        self.metric = metric
        self.series: dict[str, list[float]] = {}
        self.boundaries: list[int] = []  # epochs where a new phase starts (transfer: fine-tuning)

    def set_series(self, history: dict[str, list[float]], boundaries: list[int] | None = None) -> None:
        self.series = {k: list(v) for k, v in history.items() if family(k) == self.metric}
        self.boundaries = list(boundaries or [])
        self.replot()

    @property
    def best_epoch(self) -> int | None:
        values = self.series.get(f"val_{self.metric}") or self.series.get(self.metric)
        return best_epoch(values or [], self.metric)

    def replot(self) -> None:
        curves = []
        for name, values in sorted(self.series.items()):
            label = "val" if name.startswith("val_") else "train"
            curves.append((label, values, "orange" if label == "val" else "cyan"))
        plt = plot_epochs(self.plt, self.metric, curves, max(self.size.width - 8, 20))
        best = self.best_epoch
        if best is not None:
            plt.vline(best, "green")
        for boundary in self.boundaries:
            plt.vline(boundary + 0.5, "magenta")
        self.refresh()


def plot_epochs(plt, title: str, curves: list[tuple[str, list[float], str]], max_points: int):
    """Draw per-epoch curves (label, values, colour) on a cleared plot: NaN/inf skipped, long series
    thinned to ``max_points``, whole-epoch ticks when there are few epochs.  Returns ``plt``."""
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    for label, values, color in curves:
        points = thin([(i + 1, v) for i, v in enumerate(values) if v == v and abs(v) != float("inf")], max_points)
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], label=label, marker="braille", color=color)
    plt.xlabel("epoch")
    epoch_ticks(plt, max((len(values) for _, values, _ in curves), default=0), max_points)
    return plt


def epoch_ticks(plt, epochs: int, width: int) -> None:
    """Whole-epoch ticks, only as many as fit ``width`` columns (3 each).  Given more than fit,
    plotext drops colliding ticks in an order that varies between processes (hash seeds)."""
    if not 0 < epochs <= 12:
        return
    step = max(1, -(-3 * epochs // max(width, 1)))
    plt.xticks(list(range(1, epochs + 1, step)))

"""Epoch charts.  Every chart of a workspace draws with the workspace's ``ChartView``: smoothing
(TensorBoard's, the raw curve kept faint), log-y, "last N epochs", a cursor showing exact values,
and the per-step loss curve.  Series differ by marker as well as colour (monochrome terminals).

- ``MetricChart``: train vs validation of one metric, the best epoch marked (Train, transfer).
- ``StepChart``: the training loss batch by batch, for long epochs.
- Overlays (Runs, custom metric) subclass ``EpochChart`` with their own series.

The title and the legend are one line above the plot, drawn by the chart itself (never by plotext,
whose legend sits on the curves): the metric, each series' marker in its colour and its name (with
its exact value at the cursor), then the view's settings where they fit.  Titles and legends name
metrics and runs (from presets and run directories): they are drawn as plain text with their control
characters shown (``visible``), never read as markup or ANSI."""

from __future__ import annotations

import math
from functools import cache
from typing import Any, NamedTuple

from plotext._dict import all_markers, color_codes
from plotext._utility import colors_to_ansi
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, Visual
from textual_plotext import PlotextPlot

from kerastui.core.model.metricnames import best_epoch
from kerastui.core.text import visible
from kerastui.ui.chartview import ChartView, positive, smooth
from kerastui.ui.widgets import plotsteps

CHART_KEYS = Binding.Group("chart", compact=True)
FAINT, FAINT_MARKER = "gray", "dot"  # the raw curve under a smoothed one
TRAIN, VAL = ("cyan", "braille"), ("orange", "hd")  # colour and marker: braille dots vs block quadrants
XLABEL_ROWS = 16  # a chart this tall (or taller) names its x axis ("epoch") on a line of its own

plotsteps.install()  # four of plotext's steps in fewer operations, the same figures (charts build at every epoch)


def legend_style(color: str) -> str:
    """The Rich style of a plotext colour name (plotext draws its colours as the 16 ANSI ones)."""
    code = color_codes.get(color)
    return f"color({code})" if isinstance(code, int) else color


def legend_mark(marker: str) -> str:
    """Two cells of a series' marker, as plotext draws it on the curve."""
    mark = all_markers.get(marker, marker)
    return (mark * 2)[:2] if len(mark) == 1 else mark[:2]


Row = list[tuple[str, Style]]  # one row of a figure: runs of cells drawn alike, each with its Rich style


@cache
def _cell_style(fullground: Any, style: Any, background: Any) -> Style:
    """The Rich style of one of plotext's cell colourings (a handful per figure), read from the ANSI
    codes plotext would write for it."""
    spans = Text.from_ansi(colors_to_ansi(fullground, style, background) + "x").spans
    return Style.parse(str(spans[0].style)) if spans else Style.null()


_visual_style = cache(VisualStyle.from_rich_style)  # a cell's Rich style as Textual composes styles


def figure_rows(plt: Any) -> list[Row]:
    """plotext's figure, built, as rows of runs of cells from its matrix: what ``plt.build()`` writes
    as an ANSI string, without plotext writing that string cell by cell and Rich decoding it again
    (those two were half of a chart's drawing time, and charts redraw at every epoch of a run)."""
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    rows: list[Row] = []
    for row in reversed(matrix.Rows):
        markers, fullgrounds, styles, backgrounds = (matrix.marker[row], matrix.fullground[row], matrix.style[row],
                                                     matrix.background[row])
        runs: Row = []
        start, cols = 0, matrix.cols
        for col in range(1, cols + 1):
            if (col == cols or fullgrounds[col] != fullgrounds[start] or styles[col] != styles[start]
                    or backgrounds[col] != backgrounds[start]):
                runs.append(("".join(markers[start:col]),
                             _cell_style(fullgrounds[start], styles[start], backgrounds[start])))
                start = col
        rows.append(runs)
    return rows


def cleared(plt: Any) -> None:
    """plotext's figure as ``clear_figure`` leaves it, for a figure of one plot (a chart's): its plot
    (the monitor: data, axes, labels, colours) made anew, the figure kept.  ``clear_figure`` makes
    the whole figure again, and a spare copy of its plot (a deep copy): an eighth of a chart's redraw,
    paid by both charts at every epoch of a followed run.  The figure's size and theme are set again
    before every build (:meth:`EpochChart._render_plot`); the same figure either way (tested)."""
    if not plt._no_plots:  # (subplots: never made by a chart, but then the general way)
        plt.clear_figure()
        return
    plt.monitor.__init__()


def figure_text(plt: Any) -> Text:
    """The figure as Rich text: equal to ``Text.from_ansi(plt.build(), end="")`` (tested)."""
    text = Text(end="")
    for runs in figure_rows(plt):
        for run, style in runs:
            text.append(run, style)
        text.append("\n")
    return text


class ChartVisual(Visual):
    """What a chart draws: its header line over the figure's rows, made into strips directly.

    Textual lays out a Rich text line by line (spans, wrapping, alignment): for a figure of known
    rows that was as costly as plotext's build, and it was paid again at every repaint (the focus's
    tint, Tab passing by).  A row here is its runs, each in the widget's style plus its cell's."""

    def __init__(self, header: Text, rows: list[Row], width: int) -> None:
        self.header = header
        self.rows = rows
        self.width = width
        # The strips made last for each widget style (focused and not: Tab passing by repaints the
        # chart, and a strip is costly to make — each has seven caches of its own).
        self._strips: dict[tuple[int, int | None, VisualStyle], list[Strip]] = {}

    def render_strips(self, width: int, height: int | None, style: VisualStyle,
                      options: RenderOptions) -> list[Strip]:
        if options.selection is not None:  # (text selected in it: drawn afresh, selection and all)
            return self._make_strips(width, height, style, options)
        key = (width, height, style)
        made = self._strips.get(key)
        if made is None:
            if len(self._strips) >= 2:
                self._strips.clear()
            made = self._strips[key] = self._make_strips(width, height, style, options)
        return made

    def _make_strips(self, width: int, height: int | None, style: VisualStyle,
                     options: RenderOptions) -> list[Strip]:
        strips = Content.from_rich_text(self.header).render_strips(width, 1, style, options)[:1]
        on_base: dict[Style, Style] = {}  # a cell's style on the widget's, composed as Content composes it

        def composed(cell: Style) -> Style:
            found = on_base.get(cell)
            if found is None:
                found = on_base[cell] = (style + _visual_style(cell)).rich_style
            return found

        for runs in self.rows:
            strips.append(Strip([Segment(run, composed(cell)) for run, cell in runs], sum(len(run) for run, _ in runs)))
        return strips if height is None else strips[:height]

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 1 + len(self.rows)


class Series(NamedTuple):
    label: str
    values: list[float]  # y values; at epochs 1..n unless ``xs`` is given
    color: str
    marker: str = "braille"
    points: bool = False  # drawn as points (scatter), never smoothed
    xs: list[float] | None = None


def thin(points: list, limit: int) -> list:
    """At most ``limit`` evenly spaced points (the first and last kept): one point per terminal
    column already draws the line; more only cost drawing time."""
    if len(points) <= limit or limit < 2:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def family(metric: str) -> str:
    return metric.removeprefix("val_")


class EpochChart(PlotextPlot):
    """A chart of per-epoch series, drawn with its workspace's chart settings.  Focus it (Tab) for
    its keys: ←/→ cursor, < > smoothing, l log scale, z last N epochs, b per-step loss."""

    HELP = ("A chart. Keys while it has the focus: ←/→ move a cursor that shows every series' exact value at "
            "that epoch (esc hides it); < and > smooth less or more (TensorBoard's moving average; the raw "
            "curve stays faint); l toggles a log scale; z shows the last 10/25/50/100 epochs or all; b adds "
            "the per-step loss curve. Every chart of the workspace follows the same settings.")
    can_focus = True
    auto_links = False  # (a chart has no links: Textual would copy every strip at each repaint to style them)
    # One footer group ("←→<>lzb chart"): the workspace's own keys must still fit 80 columns.
    BINDINGS = [
        Binding("left", "cursor(-1)", "Cursor back", tooltip="Move the cursor one epoch back",
                id="chart.cursor_left", group=CHART_KEYS),
        Binding("right", "cursor(1)", "Cursor on", tooltip="Move the cursor one epoch on", id="chart.cursor_right",
                group=CHART_KEYS),
        Binding("escape", "hide_cursor", "Hide cursor", show=False, id="chart.hide_cursor"),
        Binding("less_than_sign", "smooth(-1)", "Smooth less", tooltip="Smooth less", id="chart.smooth_less",
                group=CHART_KEYS),
        Binding("greater_than_sign", "smooth(1)", "Smooth more", tooltip="Smooth more (TensorBoard's moving "
                "average; the raw curve stays faint)", id="chart.smooth_more", group=CHART_KEYS),
        Binding("l", "log_scale", "Log scale", tooltip="Toggle a logarithmic y axis", id="chart.log",
                group=CHART_KEYS),
        Binding("z", "zoom", "Last N", tooltip="Show the last 10, 25, 50, 100 epochs, or all", id="chart.zoom",
                group=CHART_KEYS),
        Binding("b", "per_step", "Per step", tooltip="Show or hide the per-step (batch) loss curve",
                id="chart.per_step", group=CHART_KEYS),
    ]
    DEFAULT_CSS = """
    EpochChart.metric-chart {
        width: 1fr;
        height: 1fr;
    }
    EpochChart:focus {
        background-tint: $foreground 6%;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._view = ChartView()  # used when the screen has none (a chart on its own)
        self._log_drawn = False
        self._built = False  # the figure was built (rendered) since the plan was put on it
        self._plan: tuple = ([], False, 1, None, "", 0, 20)
        # The line above the plot: the series in its legend, the values at the cursor, the cursor, the settings.
        self._header_parts: tuple[list[Series], dict[str, float], int | None, str] = ([], {}, None, "")
        self._drawn: tuple[object, ChartVisual] | None = None  # (size and theme, what render gave) to repaint as it was
        self._changed_plan = True  # a new plan since the figure was last built
        self.chart_title = ""

    # ------------------------------------------------------------------ what subclasses give

    def series(self) -> list[Series]:
        return []

    def marks(self, plt, first: int) -> None:
        """Extra vertical lines (best epoch, phase boundaries) at epochs >= ``first``."""

    # ------------------------------------------------------------------ drawing

    @property
    def view(self) -> ChartView:
        return getattr(self.screen, "chart_view", None) or self._view if self.is_mounted else self._view

    @property
    def epochs(self) -> int:
        return max((len(s.values) for s in self.series() if s.xs is None), default=0)

    def cursor_values(self) -> dict[str, float]:
        """The exact (unsmoothed) value of every per-epoch series at the cursor's epoch."""
        cursor = self.view.cursor
        if cursor is None:
            return {}
        values = {}
        for s in self.series():
            if s.xs is None:
                if 0 < cursor <= len(s.values):
                    values[s.label] = s.values[cursor - 1]
            elif s.points and cursor in s.xs:
                values[s.label] = s.values[s.xs.index(cursor)]
        return values

    def on_resize(self) -> None:
        self.replot()

    def replot(self) -> None:
        self.draw()
        self.refresh()

    def render(self):
        # plotext's build takes the logarithm of the figure's data in place: a second build of the
        # same figure (a repaint without new data) would take it again.  A log plot built once is
        # put on the figure again (from the plan: nothing recomputed) before the next build.
        # A repaint that changes nothing drawn (the focus's tint, a key press elsewhere, a scroll) reuses
        # the figure built last: plotext's build is most of a chart's cost (~10 ms), and Tab through
        # the workspace repaints each chart it passes.
        key = (self.size, self.app.theme)
        if self._drawn is not None and self._drawn[0] == key and not self._changed_plan:
            return self._drawn[1]
        if self._log_drawn and self._built:
            self._apply()
        self._built = True
        self._changed_plan = False
        drawn = self._render_plot()
        self._drawn = (key, drawn)
        return drawn

    def _render_plot(self) -> ChartVisual:
        """The header line, then plotext's figure in the rows below it (PlotextPlot.render's steps,
        one row shorter)."""
        width, height = self.size
        rows = max(height - 1, 1)
        self.plt.plotsize(width, rows)
        self.plt._set_size(width, rows)
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        header = self.header(*self._header_parts)
        header.truncate(width)
        return ChartVisual(header, figure_rows(self.plt), width)

    @property
    def plot_rows(self) -> int:
        """Rows the curves have: the widget's height less the header, the plot's frame lines, the
        x ticks and (on a tall chart) the x label."""
        return self.size.height - 4 - (1 if self.size.height >= XLABEL_ROWS else 0)

    def draw(self) -> None:
        """Work out what to plot with the workspace's chart settings, and put it on the figure."""
        view = self.view
        series = self.series()
        epochs = max((len(s.values) for s in series if s.xs is None), default=0)
        first = view.first_epoch(epochs)
        limit = max(self.size.width - 8, 20)
        shown: list[tuple[Series, list[tuple[float, float]]]] = []
        for s in series:
            xs = s.xs if s.xs is not None else list(range(1, len(s.values) + 1))
            points = [(x, v) for x, v in zip(xs, s.values, strict=False) if x > first - 1]
            shown.append((s, points))
        # An empty plot stays linear: plotext's default axis (0..1) has no logarithm.
        log = (view.log_y and any(points for _, points in shown)
               and all(positive([v for _, v in points]) for _, points in shown))
        calls: list[tuple[str, list[float], list[float], dict[str, str]]] = []
        legend: list[Series] = []
        for s, points in shown:
            if view.smoothing and not s.points and len(points) > 1:
                raw = thin([p for p in points if math.isfinite(p[1])], limit)
                if raw:
                    calls.append(("plot", [p[0] for p in raw], [p[1] for p in raw],
                                  {"marker": FAINT_MARKER, "color": FAINT}))
                ys = smooth([v for _, v in points], view.smoothing)
                points = list(zip([x for x, _ in points], ys, strict=True))
            clean = thin([p for p in points if math.isfinite(p[1])], limit)
            if clean:
                # (no label: plotext would draw its legend on the plot, over the curves)
                calls.append(("scatter" if s.points else "plot", [p[0] for p in clean], [p[1] for p in clean],
                              {"marker": s.marker, "color": s.color}))
                legend.append(s)
        values = self.cursor_values()
        cursor = view.cursor if values and view.cursor is not None and first <= view.cursor <= epochs else None
        settings = view.describe()
        if view.log_y and not log:
            settings = settings.replace("log", "linear: values ≤ 0")
        # (the header is laid out when drawn, at the width the chart has then)
        self._header_parts = (legend, values if cursor is not None else {}, cursor, settings)
        self._plan = (calls, bool(log), first, cursor, "", epochs, limit)
        self._log_drawn = bool(log)
        self._apply()

    def header(self, legend: list[Series], values: dict[str, float], cursor: int | None, settings: str) -> Text:
        """The line above the plot: the title (``@epoch`` with the cursor), each series' marker in its
        colour, its name and (at the cursor) its exact value, then the settings where they fit."""
        room = max(self.size.width - 1, 10)  # (a space before the next chart's header)
        line = Text(visible(self.chart_title, one_line=True), style="bold", no_wrap=True, end="")
        if cursor is not None:
            line.append(f" @{cursor}:")
        for s in legend:
            name = visible(s.label, one_line=True)
            line.append(" ")
            line.append(legend_mark(s.marker), style=legend_style(s.color))
            line.append(f" {name}")
            if s.label in values:
                line.append(f" {_number(values[s.label])}")
        if settings and line.cell_len + len(settings) + 3 <= room:
            line.append(f" · {settings}", style="dim")
        if line.cell_len > room:
            line.truncate(room - 1)
            line.append("…")
        return line

    def _apply(self) -> None:
        """Put the plan on a cleared plotext figure."""
        calls, log, first, cursor, title, epochs, limit = self._plan
        plt = self.plt
        cleared(plt)
        for kind, xs, ys, options in calls:
            getattr(plt, kind)(list(xs), list(ys), **options)
        if log:
            plt.yscale("log")
        self.marks(plt, first)
        self.axes(plt, cursor, epochs, limit, first)
        self._built = False
        self._changed_plan = True

    def axes(self, plt: Any, cursor: Any, epochs: Any, limit: Any, first: Any) -> None:
        """The x axis of the plan's figure: the cursor's line, the label, the epochs' ticks."""
        if cursor is not None:
            plt.vline(cursor, "white")
        if self.size.height >= XLABEL_ROWS:  # (a short chart keeps the row for its curves)
            plt.xlabel("epoch")
        epoch_ticks(plt, epochs, limit, first)

    # ------------------------------------------------------------------ keys

    def _changed(self) -> None:
        """Every chart of the workspace redraws (the screen may add or drop charts)."""
        changed = getattr(self.screen, "charts_changed", None)
        if changed is not None:
            changed()
        else:
            self.replot()

    def action_cursor(self, step: int) -> None:
        self.view.move_cursor(step, self.epochs)
        self._changed()

    def action_hide_cursor(self) -> None:
        self.view.cursor = None
        self._changed()

    def action_smooth(self, step: int) -> None:
        self.view.smoother(step)
        self._changed()

    def action_log_scale(self) -> None:
        view = self.view
        if not view.log_y:
            bad = next((s for s in self.series() if not positive(s.values)), None)
            if bad is not None:
                low = min(v for v in bad.values if math.isfinite(v))
                self.notify(f"{bad.label} has values ≤ 0 (lowest {_number(low)}): a log scale cannot show them",
                            title="log scale", severity="warning")
                return
        view.log_y = not view.log_y
        self._changed()

    def action_zoom(self) -> None:
        self.view.zoom(self.epochs)
        self._changed()

    def action_per_step(self) -> None:
        self.view.per_step = not self.view.per_step
        self._changed()


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"


class MetricChart(EpochChart):
    """Train vs validation curves of one metric; a vertical line at the best validation epoch."""

    HELP = ("A live chart: train (cyan, dots) and validation (orange, blocks) of one metric; the green line is "
            "the best validation epoch. " + EpochChart.HELP.split(". ", 1)[1])

    def __init__(self, metric: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="metric-chart")
        self.metric = metric
        self.chart_title = metric
        self.history: dict[str, list[float]] = {}
        self.boundaries: list[int] = []  # epochs where a new phase starts (transfer: fine-tuning)

    def set_series(self, history: dict[str, list[float]], boundaries: list[int] | None = None) -> None:
        self.history = {k: list(v) for k, v in history.items() if family(k) == self.metric}
        self.boundaries = list(boundaries or [])
        self.replot()

    def series(self) -> list[Series]:
        out = []
        for name, values in sorted(self.history.items()):
            val = name.startswith("val_")
            color, marker = VAL if val else TRAIN
            out.append(Series("val" if val else "train", values, color, marker))
        return out

    @property
    def best_epoch(self) -> int | None:
        values = self.history.get(f"val_{self.metric}") or self.history.get(self.metric)
        return best_epoch(values or [], self.metric)

    def marks(self, plt, first: int) -> None:
        best = self.best_epoch
        if best is not None and best >= first:
            plt.vline(best, "green")
        for boundary in self.boundaries:
            if boundary + 0.5 >= first:
                plt.vline(boundary + 0.5, "magenta")


class StepChart(EpochChart):
    """The training loss at each (throttled, thinned) batch, x in epochs: what happens inside long epochs."""

    HELP = ("The per-step chart: the training loss batch by batch (x in epochs, thinned to the chart's width). "
            + EpochChart.HELP.split(". ", 1)[1])

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="metric-chart")
        self.chart_title = "loss per step"
        self.points: list[tuple[float, float]] = []

    def set_points(self, points: list[tuple[float, float]]) -> None:
        self.points = points
        self.replot()

    @property
    def epochs(self) -> int:
        return math.ceil(self.points[-1][0]) if self.points else 0

    def series(self) -> list[Series]:
        if not self.points:
            return []
        return [Series("batch loss", [p[1] for p in self.points], *TRAIN, xs=[p[0] for p in self.points])]

    def _apply(self) -> None:
        super()._apply()
        epochs = self.epochs
        if epochs:
            epoch_ticks(self.plt, epochs, max(self.size.width - 8, 20), self.view.first_epoch(epochs))


def epoch_ticks(plt, epochs: int, width: int, first: int = 1) -> None:
    """Whole-epoch ticks at a round step (1, 2, 5, 10, 20, 50, …), as many as fit ``width`` columns
    (about 8 each; 3 for a dozen epochs or fewer).  Left to itself plotext puts ticks at fractions
    (8.2, 15.5), and given more than fit it drops colliding ones in an order that varies between
    processes (hash seeds)."""
    count = epochs - first + 1
    if count <= 0:
        return
    room = max(width // (3 if count <= 12 else 8), 1)
    step = 1
    while -(-count // step) > room:
        step = next(n * 10 ** k for k in range(8) for n in (1, 2, 5) if n * 10 ** k > step)
    start = first if step == 1 else max(first, -(-first // step) * step)
    ticks = list(range(start, epochs + 1, step))
    if first not in ticks and (not ticks or ticks[0] - first >= step / 2):
        ticks.insert(0, first)
    plt.xticks(ticks)

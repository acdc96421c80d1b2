"""Screens that fit the terminal (pilot at 80×24, 120×40 and 60×20): the Train charts keep 8+ plot
rows at 80×24 without a key, and their legends never cover the curves; the settings column follows
the width and a long path in it keeps its end; the Runs table keeps state, run, best and test in
view at 80 columns and pages by a screenful of columns."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App
from textual.geometry import Region

from kerastui.core.run.table import COLUMNS
from kerastui.ui.app import make_app
from kerastui.ui.screens.runs import RunTable
from kerastui.ui.widgets.charts import TRAIN, VAL, MetricChart, legend_mark
from kerastui.ui.widgets.settings_grid import SettingsGrid
from tests.ui.helpers import settle, shown, started
from tests.ui.test_charts_runs import fake_runs, plot_rows, shown_run


def chart_lines(chart) -> list[str]:
    return [strip.text for strip in chart.render_lines(Region(0, 0, chart.size.width, chart.size.height))]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (60, 20)])
async def test_train_charts_fit_the_terminal_without_a_key(size):
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=size) as pilot:
        await shown_run(app, pilot)
        screen = app.screen
        side = screen.query_one("#train-side")
        assert not screen.has_class("charts-only") and side.display  # the default layout, no key pressed
        width = size[0]
        charts = list(screen.query(MetricChart))
        assert [chart.metric for chart in charts] == ["loss", "accuracy"]
        for chart in charts:
            drawn = plot_rows(app, f"#chart-{chart.metric}")  # counted between the plot's frame lines
            assert drawn == chart.plot_rows, (chart.metric, drawn, chart.plot_rows)
            if width >= 80:  # the legend whole on the line above the plot (laid out at the chart's width)
                header = chart_lines(chart)[0]
                assert header.startswith(chart.metric) and "train" in header and header.rstrip().endswith("val"), header
            if size == (80, 24):
                assert drawn >= 8, (chart.metric, drawn)
            elif size == (120, 40):
                assert drawn >= 10, (chart.metric, drawn)
        charts_width = screen.query_one("#charts").size.width
        if width == 60:
            assert charts_width > width // 2, charts_width  # the charts keep most of the width
        if width == 120:
            assert side.size.width >= 40, side.size.width  # room for a typical path
        assert side.size.width < charts_width


async def test_at_80x24_the_evaluation_sits_beside_the_epoch_table_and_c_still_gives_the_charts_the_screen():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await shown_run(app, pilot)
        screen = app.screen
        table, evaluation = screen.query_one("#epoch-table"), screen.query_one("#evaluation")
        assert table.size.height >= 3 and table.size.width > 0
        before = plot_rows(app, "#chart-loss")
        await pilot.press("c")
        await settle(app, pilot)
        assert not evaluation.display and not screen.query_one("#train-side").display
        assert plot_rows(app, "#chart-loss") > before


class ChartHost(App):
    CSS = "MetricChart { width: 44; height: 14; }"

    def compose(self):
        yield MetricChart("loss", id="chart")


async def test_a_charts_legend_is_above_the_plot_and_never_covers_a_curve():
    app = ChartHost()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        # Falling curves start in the plot's top-left corner: where plotext puts its legend.
        chart.set_series({"loss": [2.0 / (i + 1) for i in range(40)], "val_loss": [2.2 / (i + 1) for i in range(40)]})
        await pilot.pause()
        lines = chart_lines(chart)
        header, plot = lines[0], lines[1:]
        assert header.startswith("loss") and "train" in header and "val" in header
        assert legend_mark(TRAIN[1]) in header and legend_mark(VAL[1]) in header
        # No legend text and no legend mark anywhere on the plot: its cells are the curves'.
        for line in plot:
            assert "train" not in line and "val" not in line, line
        top = next(i for i, line in enumerate(plot) if "┌" in line)
        first_row = plot[top + 1]
        corner = first_row.index("┤") + 1
        assert first_row[corner] != " ", first_row  # the first epoch's value is drawn in the corner
        # The marks in the header are in the series' colours.
        rendered = chart.render().header
        assert isinstance(rendered, Text)
        styles = {rendered.plain[span.start:span.end]: str(span.style) for span in rendered.spans
                  if span.end <= len(header)}
        assert styles[legend_mark(TRAIN[1])] == "color(6)" and styles[legend_mark(VAL[1])] == "color(3)"


async def test_a_long_path_in_the_settings_column_shows_its_end():
    app = make_app("ex1", deterministic=True)
    path = "/home/someone/projects/keras-experiments/tensorboard-logs/ex2"
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        grid = app.screen.query_one(SettingsGrid)
        grid.text("cb-tb-dir").value = path
        app.screen.set_focus(None)
        await settle(app, pilot)
        line = grid.line_of("cb-tb-dir")
        grid.scroll_to(y=line, animate=False)
        await settle(app, pilot)
        row = shown(app, "#train-side").splitlines()[line - round(grid.scroll_offset.y)].strip()
        assert row.startswith("log dir") and row.endswith("-logs/ex2") and "…" in row, row
        assert grid.text("cb-tb-dir").value == path  # only the drawing is shortened


async def test_runs_keeps_state_run_best_and_test_in_view_at_80_columns_and_pages_by_a_screenful(tmp_path):
    fake_runs(tmp_path / "runs")
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        table = app.screen.query_one(RunTable)
        assert table.size.width <= 80
        keys = [c.key for c in table.columns]
        assert {"state", "run", "best_metric", "best_value", "test"} <= set(keys), keys
        drawn = shown(app, "#runs-table").splitlines()
        assert all(len(line) <= table.size.width for line in drawn)
        assert {"state", "run", "best", "value", "test"} <= set(drawn[0].split()), drawn[0]  # headers whole
        for run, line in zip(app.screen.shown, drawn[1:], strict=False):
            assert run.name in line and "completed" in line, line
            assert f"{run.best['value']:.4f}" in line and f"accuracy {run.test['accuracy']:.4f}" in line, line
        # → pages by a screenful of columns, state and run kept; ← back.
        first = keys
        await pilot.press("right")
        await settle(app, pilot)
        second = [c.key for c in table.columns]
        assert second[:3] == ["mark", "state", "run"] and len(set(second) - set(first)) >= 2, second
        assert "columns 2/" in shown(app, "#runs-title")
        for _ in range(10):
            await pilot.press("right")
        await settle(app, pilot)
        assert table.page == table.page_count - 1 and "started" in [c.key for c in table.columns]
        for _ in range(10):
            await pilot.press("left")
        await settle(app, pilot)
        assert [c.key for c in table.columns] == first
        # Every column is on some page, once.
        flat = [key for page in table.pages() for key in page]
        assert sorted(flat) == sorted(c.key for c in COLUMNS if c.key not in table.PINNED)


async def test_runs_at_120_columns_show_best_and_test_on_the_first_page(tmp_path):
    fake_runs(tmp_path / "runs")
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        keys = [c.key for c in app.screen.query_one(RunTable).columns]
        assert {"state", "run", "best_metric", "best_value", "best_epoch", "test", "epochs"} <= set(keys), keys

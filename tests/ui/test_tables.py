"""Tables drawn right the first time: columns as wide as their widest cell before any idle pass."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from kerastui.ui.widgets.tables import AutoHeightTable, add_rows, cell_width, set_columns
from tests.ui.helpers import shown


class TableApp(App):
    CSS = "DataTable { height: 5; }"

    def compose(self) -> ComposeResult:
        yield DataTable(id="t")


def test_cell_width_is_the_widest_line():
    assert cell_width("units=64") == 8
    assert cell_width(Text("val\nloss_x")) == 6
    assert cell_width(1234) == 4
    assert cell_width("") == 0


async def test_rows_are_drawn_full_width_before_the_table_is_idle():
    app = TableApp()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(DataTable)
        set_columns(table, ["#", "type", "arguments"])
        add_rows(table, [["0", "…", "…"]], keys=["0"])
        await pilot.pause()
        assert "…" in shown(app, "#t")
        set_columns(table, ["#", "type", "arguments"])
        add_rows(table, [["0", "Input", "shape=(20)"], ["1", "Dense", "units=64, activation=relu"]], keys=["0", "1"])
        # No pause: what a busy app draws now (DataTable alone would draw "Inpu  shape=(20" here).
        text = shown(app, "#t")
        assert "Input  shape=(20)" in text
        assert "units=64, activation=relu" in text
        assert [c.width for c in table.ordered_columns] == [1, 5, 25]
        assert table.get_row("1")[1] == "Dense"


async def test_set_columns_starts_over_and_rows_only_widen():
    app = TableApp()
    async with app.run_test(size=(60, 6)):
        table = app.query_one(DataTable)
        set_columns(table, ["format", "max |Δ|"])
        add_rows(table, [["keras", "1.0e-07"]])
        add_rows(table, [["└ TFSMLayer", "0"]])
        assert [c.width for c in table.ordered_columns] == [11, 7]
        set_columns(table, ["format", "max |Δ|"])
        assert table.row_count == 0
        assert [c.width for c in table.ordered_columns] == [6, 7]


class AutoHeightApp(App):
    CSS = "#t { height: auto; max-height: 10; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("above")
            yield AutoHeightTable(id="t")
            yield Static("below")

    def on_mount(self) -> None:
        self.query_one(AutoHeightTable).display = False


async def test_a_table_shown_and_filled_while_the_screen_lays_out_is_as_tall_as_its_rows():
    """The screen laid out between the table's showing and its idle pass (what a busy app does: in
    one CI run in a few the opened model's layers table stayed 0 lines tall)."""
    app = AutoHeightApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        table = app.query_one(AutoHeightTable)
        set_columns(table, ["#", "type"])
        add_rows(table, [["0", "Dense"], ["1", "Dense"]])
        table.display = True
        app.screen._refresh_layout()  # the layout another widget asked for, before the table is idle
        assert table.size.height == 0, "the table was measured before its rows were counted"
        for _ in range(20):
            await pilot.pause(0.02)
        assert table.size.height == 3, table.size  # a header and two rows
        assert shown(app, "#t").count("Dense") == 2
        assert app.query_one("#t").region.bottom <= app.query("Static").last().region.y

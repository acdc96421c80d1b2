"""The epoch table follows a live run at most every LIVE_INTERVAL (the charts draw every epoch):
epochs that end sooner are added together with the first epoch after the interval (in its frame), or
by a timer when no epoch comes, never dropped; a finished run, a full redraw and snapshots show every
epoch at once."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App, ComposeResult

from kerastui.ui.screens.train import EpochTable
from kerastui.ui.state import RunState


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield EpochTable(id="table")


def grow(state: RunState, epochs: int) -> None:
    state.history = {"loss": [1.0 / (e + 1) for e in range(epochs)], "val_loss": [1.1 / (e + 1) for e in range(epochs)]}
    state.epoch_seconds = [0.1] * epochs
    state.peak_memory = [None] * epochs


def show(table: EpochTable, state: RunState, epochs: int, **options: bool) -> None:
    """The run has ``epochs`` epochs now, and the table is told."""
    grow(state, epochs)
    table.show(state, **options)


async def test_a_live_run_s_epochs_are_added_at_most_every_interval_and_none_is_lost() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="running")
        show(table, state, 1)
        assert table.row_count == 1  # the first epoch at once
        show(table, state, 2)
        show(table, state, 3)
        assert table.row_count == 1  # held back: the interval is not up
        await asyncio.sleep(2 * EpochTable.LIVE_INTERVAL + 0.2)
        await pilot.pause()
        assert table.row_count == 3  # both added by the timer, with no epoch after the interval
        assert str(table.get_row_at(2)[0]) == "3"


async def test_epochs_held_back_are_added_with_the_first_epoch_after_the_interval() -> None:
    """A run of short epochs: the rows held back come with the next epoch once the interval is up, in
    the call that draws that epoch (its frame), and the timer is not needed."""
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="running")
        show(table, state, 1)
        show(table, state, 2)
        assert table.row_count == 1
        await asyncio.sleep(EpochTable.LIVE_INTERVAL + 0.05)
        assert table.row_count == 1  # the timer waits another interval for an epoch to come
        show(table, state, 3)
        assert table.row_count == 3  # at once, with the epoch that ended after the interval
        assert table._catch_up is None
        await asyncio.sleep(EpochTable.LIVE_INTERVAL + 0.2)
        await pilot.pause()
        assert table.row_count == 3 and str(table.get_row_at(2)[0]) == "3"


async def test_a_finished_run_or_a_full_redraw_shows_every_epoch_at_once() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="running")
        show(table, state, 1)
        show(table, state, 2, full=True)
        assert table.row_count == 2
        grow(state, 4)
        state.status = "completed"
        table.show(state)
        assert table.row_count == 4
        await asyncio.sleep(2 * EpochTable.LIVE_INTERVAL + 0.2)
        await pilot.pause()
        assert table.row_count == 4  # the held-back timer was cancelled: nothing added twice


async def test_snapshots_show_every_epoch_at_once() -> None:
    app = Host()
    async with app.run_test():
        table = app.query_one(EpochTable)
        state = RunState(status="running")
        for epochs in (1, 2, 3):
            show(table, state, epochs, deterministic=True)
            assert table.row_count == epochs


async def test_the_focus_shows_on_the_cursor_line_and_goes_with_the_focus() -> None:
    """The table's focus shows on its cursor's line (the focused cursor's colours), which a Tab into
    or out of it repaints (that line only: the table no longer repaints every line in sight)."""
    from textual.geometry import Region
    from textual.widgets import Input

    drawn: set[int] = set()

    class Counted(EpochTable):
        def render_line(self, y: int) -> Any:
            drawn.add(y)
            return super().render_line(y)

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="before")
            yield Counted(id="table")

    app = Two()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="completed")
        show(table, state, 5)
        await pilot.pause()
        y = table.cursor_row - round(table.scroll_offset.y) + 1  # (the header is line 0)

        def line(at: int) -> str:
            (strip,) = table.render_lines(Region(0, at, table.size.width, 1))
            return "".join(f"{segment.text}{segment.style}" for segment in strip)

        blurred = line(y)
        drawn.clear()
        await pilot.press("tab")  # (from the field: Widget.focus() itself would repaint the whole widget)
        await pilot.pause()
        assert app.focused is table and drawn == {y}, drawn  # the cursor's line only
        focused, cursor = line(y), table.get_component_rich_style("line-table--cursor-focused")
        assert focused != blurred and f"on {cursor.bgcolor.name}" in focused
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is app.query_one("#before") and line(y) == blurred


def sized(width: int, height: int) -> App[None]:
    """An app holding one epoch table of this size."""

    class Sized(App[None]):
        CSS = f"EpochTable {{ width: {width}; height: {height}; }}"

        def compose(self) -> ComposeResult:
            yield EpochTable(id="table")

    return Sized()


def lines_in_sight(table: EpochTable) -> list[str]:
    """The text of the table's lines above any horizontal scroll bar (the header first)."""
    from textual.geometry import Region

    view = table.scrollable_content_region
    return [strip.text for strip in table.render_lines(Region(0, 0, view.width, view.height))]


async def test_the_last_epoch_shows_above_the_scroll_bar_of_a_table_narrower_than_its_columns() -> None:
    """At 80×24 the epoch table is narrower than its columns: a horizontal scroll bar takes its last
    line, and the cursor (the last epoch) is kept in view above it, not under it (seen in tmux)."""
    app = sized(24, 6)
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="completed")
        show(table, state, 12)
        await pilot.pause()
        await pilot.pause()
        assert table.show_horizontal_scrollbar and table.scrollable_content_region.height == table.size.height - 1
        lines = lines_in_sight(table)
        assert lines[-1].split()[0] == "12", lines


async def test_the_last_epoch_shows_when_both_scroll_bars_show() -> None:
    """Columns a little narrower than the table, but wider than the room beside its vertical scroll
    bar: both bars show, and the last epoch is above the horizontal one (found in review)."""
    app = sized(24, 8)
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="completed")
        state.history = {"val_loss_x": [0.5] * 30}  # epoch, val_loss_x, s: 5 + 2 + 10 + 2 + 3 + 1 = 23 columns
        state.epoch_seconds = [0.1] * 30
        state.peak_memory = [None] * 30
        table.show(state)
        await pilot.pause()
        await pilot.pause()
        assert table.size.width - 2 < table.virtual_size.width <= table.size.width, table.virtual_size
        assert table.show_vertical_scrollbar and table.show_horizontal_scrollbar
        lines = lines_in_sight(table)
        assert lines[-1].split()[0] == "30", lines


async def test_metric_names_from_a_stranger_reach_the_terminal_on_one_line() -> None:
    """A metric's name comes from a preset or another person's run directory: a newline or tab in
    it is shown, never sent (the header is one line)."""
    from textual.geometry import Region

    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(EpochTable)
        state = RunState(status="completed")
        state.history = {"lo\nss\tx\x1b[2J": [0.5, 0.4]}
        state.epoch_seconds = [0.1, 0.1]
        state.peak_memory = [None, None]
        table.show(state)
        await pilot.pause()
        (header,) = table.render_lines(Region(0, 0, table.size.width, 1))
        assert not any(c in header.text for c in "\n\t\x1b"), repr(header.text)
        assert "lo" in header.text and "ss" in header.text

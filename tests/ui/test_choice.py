"""The one-widget choice field (Train form): keys, list, value, and what it draws."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from kerastui.ui.widgets.choice import Choice, ChoiceList

LOSSES = ["categorical_crossentropy", "sparse_categorical_crossentropy", "mean_squared_error", "huber"]


class Host(App):
    CSS = "Choice { width: 20; }"

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[object] = []

    def compose(self) -> ComposeResult:
        yield Choice([(name, name) for name in LOSSES], value=LOSSES[0], id="loss")
        yield Choice([("auto", "auto"), ("on", True), ("off", False)], value="auto", id="jit")
        yield Input(id="after")

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.changes.append((event.control.id, event.value))


async def test_enter_opens_the_list_typing_jumps_and_enter_picks():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        choice = app.query_one("#loss", Choice)
        assert app.focused is choice and not choice.children  # closed: one widget
        await pilot.press("enter")
        listing = app.query_one(ChoiceList)
        assert app.focused is listing and listing.highlighted == 0
        await pilot.press("m", "e")  # mean_squared_error
        assert listing.highlighted == 2
        await pilot.press("h")  # no option starts with "meh": start over from "h"
        assert listing.highlighted == 3
        await pilot.press("enter")
        await pilot.pause()
        assert choice.value == "huber" and app.focused is choice
        assert not app.query(ChoiceList) and not choice.has_class("-open")
        assert app.changes == [("loss", "huber")]


async def test_escape_and_leaving_close_the_list_unchanged():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        choice = app.query_one("#loss", Choice)
        await pilot.press("down", "down")  # opens, then moves in the list
        assert app.query_one(ChoiceList).highlighted == 1
        await pilot.press("escape")
        await pilot.pause()
        assert choice.value == LOSSES[0] and app.focused is choice and not app.query(ChoiceList)
        await pilot.press("space")
        assert app.query(ChoiceList)
        await pilot.press("tab")  # leaving the list closes it
        await pilot.pause()
        assert not app.query(ChoiceList) and app.focused is app.query_one("#jit", Choice)
        assert app.changes == []


async def test_click_opens_and_picks_and_values_keep_their_type():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        jit = app.query_one("#jit", Choice)
        await pilot.click("#jit")
        listing = app.query_one(ChoiceList)
        assert app.focused is listing
        await pilot.press("down", "down", "enter")  # auto → on → off
        await pilot.pause()
        assert jit.value is False and jit.label == "off"
        jit.value = True
        assert jit.label == "on"
        with pytest.raises(ValueError, match=r"jit: 1 is not one of auto, on, off"):
            jit.value = 1  # equal to True, yet not one of the values


async def test_one_line_with_an_ellipsis_and_new_options():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        choice = app.query_one("#loss", Choice)
        choice.value = "sparse_categorical_crossentropy"
        await pilot.pause()
        assert choice.size.height == 1
        line = str(choice.render())
        assert len(line) == choice.content_region.width and line.endswith("… ▼")
        assert line.startswith("sparse_categoric")
        choice.set_options([("huber", "huber"), ("poisson", "poisson")])  # value not among them: the first
        assert choice.value == "huber"
        choice.set_options([("poisson", "poisson"), ("huber", "huber")])  # still among them: kept
        assert choice.value == "huber"
        with pytest.raises(ValueError, match="loss: no options"):
            choice.set_options([])

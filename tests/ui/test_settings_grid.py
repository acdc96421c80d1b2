"""The settings form drawn as one widget (SettingsGrid): keys, mouse, values by code, hints, the list
of a choice, and what the rest of the screen sees (the focus stays on it; the footer and the tabs
do not change from field to field)."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Button

from kerastui.ui.widgets.formscreen import FormScreen
from kerastui.ui.widgets.settings_grid import (
    ChoiceField,
    GridChoiceList,
    Heading,
    Hint,
    SettingsGrid,
    TextField,
    ToggleField,
)


def make_grid() -> SettingsGrid:
    return SettingsGrid(
        Heading("Section"),
        ChoiceField("kind", "kind", [("adam", "adam"), ("adamw", "adamw"), ("sgd", "sgd")], "adam",
                    tooltip="which one"),
        TextField("args", "  args", placeholder="k=v"),
        TextField("count", "count", "3", kind="integer"),
        Hint("note"),
        ToggleField("flag", "flag", True),
        ChoiceField("jit", "XLA", [("auto", "auto"), ("on", True), ("off", False)], "auto"),
        id="grid")


class Form(FormScreen):
    def compose(self) -> ComposeResult:
        yield Button("before", id="before")
        yield make_grid()
        yield Button("after", id="after")

    def on_settings_grid_changed(self, event: SettingsGrid.Changed) -> None:
        assert isinstance(self.app, Host)
        self.app.changes.append((event.field.id, event.value))


class Host(App):
    CSS = "SettingsGrid { width: 30; height: 12; }"

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[tuple[str, object]] = []

    def on_mount(self) -> None:
        self.push_screen(Form())


def line_text(grid: SettingsGrid, line: int) -> str:
    return grid.render_line(line - int(grid.scroll_y)).text


async def test_tab_moves_a_cursor_inside_the_form_and_leaves_it_at_either_end():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        await pilot.pause()
        assert grid.current.id == "kind"
        seen = []
        for _ in range(5):
            seen.append(grid.current.id)
            await pilot.press("tab")
            if app.focused is not grid:
                break
        assert seen == ["kind", "args", "count", "flag", "jit"]
        assert app.focused is app.screen.query_one("#after")  # Tab past the last field leaves the form
        await pilot.press("shift+tab")
        assert app.focused is grid and grid.current.id == "jit"  # shift+Tab in: the last field
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab", "shift+tab")
        assert app.focused is app.screen.query_one("#before")
        await pilot.press("tab")
        assert app.focused is grid and grid.current.id == "kind"  # Tab in: the first field
        grid.move_to("jit")
        await pilot.press("up", "up")
        assert grid.current.id == "count"
        grid.move_to("kind")
        await pilot.press("up")  # the arrows stay in the form
        assert app.focused is grid and grid.current.id == "kind"
        await pilot.press("shift+tab")
        assert app.focused is app.screen.query_one("#before")


async def test_a_text_field_is_edited_in_place_as_an_input_is():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        grid.move_to("count")
        await pilot.pause()
        await pilot.press("7", "5")  # arriving selected the text: typing replaces it
        assert grid["count"].value == "75"
        await pilot.press("left", "backspace", "9", "end", "0")
        assert grid["count"].value == "950"
        assert ("count", "950") in app.changes
        await pilot.press("x")  # refused, as Input(type="integer") refuses it
        assert grid["count"].value == "950"
        grid["count"].value = "1.5"
        assert not grid.text("count").valid  # set by code: marked as not an integer
        await pilot.press("ctrl+u")
        assert grid["count"].value == ""
        grid.move_to("args")
        await pilot.press("k", "=", "2", "space", "enter")  # space types; enter goes on to the next field
        assert grid["args"].value == "k=2 " and grid.current.id == "count"
        grid.move_to("args")
        grid.post_message(events.Paste("a=1\nb=2"))  # a terminal's paste arrives as one event
        await pilot.pause()
        assert grid["args"].value == "a=1"  # a paste over the selected text keeps its first line


async def test_letters_type_in_a_text_field_only_and_a_choice_steps_with_the_arrows():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        await pilot.pause()
        # On a choice or a toggle the letters are the app's keys (as beside a text field).
        assert not grid.types_text and not grid.check_consume_key("s", "s")
        await pilot.press("s")
        assert grid["kind"].value == "adam"
        await pilot.press("right")
        assert grid["kind"].value == "adamw"
        await pilot.press("left", "left")  # round the list
        assert grid["kind"].value == "sgd"
        grid.move_to("args")
        assert grid.types_text and grid.check_consume_key("s", "s") and not grid.check_consume_key("tab", None)
        grid.move_to("jit")
        await pilot.press("right")
        assert grid["jit"].value is True  # values keep their type
        grid.move_to("flag")
        await pilot.press("space")
        assert grid["flag"].value is False
        await pilot.press("enter")
        assert grid["flag"].value is True


async def test_a_choice_opens_its_list_under_the_field_and_enter_picks_escape_keeps():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        await pilot.pause()
        await pilot.press("enter")
        listing = app.screen.query_one(GridChoiceList)
        assert app.focused is listing and grid.list_open
        assert listing.region.y == grid.content_region.y + grid.line_of("kind") + 1  # just under the field
        await pilot.press("down", "down", "enter")
        assert grid["kind"].value == "sgd" and app.focused is grid and not grid.list_open
        assert grid.current.id == "kind"  # back from the list on the same field
        await pilot.press("space", "a", "d", "a", "m", "w")  # typing in the list jumps to a match
        assert app.screen.query_one(GridChoiceList).highlighted == 1
        await pilot.press("up", "escape")
        assert grid["kind"].value == "sgd" and app.focused is grid and grid.current.id == "kind"
        assert not app.screen.query(GridChoiceList)


async def test_the_mouse_moves_the_cursor_flips_toggles_opens_choices_and_shows_tooltips():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        await pilot.click(SettingsGrid, offset=(2, grid.line_of("flag")))
        assert app.focused is grid and grid.current.id == "flag" and grid["flag"].value is False
        await pilot.click(SettingsGrid, offset=(14, grid.line_of("count")))
        assert grid.current.id == "count"
        await pilot.press("1")  # a click places the text cursor (nothing selected): typing inserts
        assert grid["count"].value == "31"
        await pilot.hover(SettingsGrid, offset=(2, grid.line_of("kind")))
        assert grid.tooltip == "which one"
        await pilot.click(SettingsGrid, offset=(14, grid.line_of("kind")))
        assert grid.list_open
        await pilot.press("escape")


async def test_values_set_by_code_are_checked_drawn_and_announced():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid["count"].value = "12"
        grid["flag"].value = False
        await pilot.pause()
        assert ("count", "12") in app.changes and ("flag", False) in app.changes
        assert "12" in line_text(grid, grid.line_of("count"))
        assert line_text(grid, grid.line_of("flag")).startswith("[ ] flag")
        with pytest.raises(ValueError, match="^kind: 'nadam' is not one of adam, adamw, sgd"):
            grid["kind"].value = "nadam"
        with pytest.raises(ValueError, match="^flag: a toggle is True or False"):
            grid["flag"].value = 1
        grid.choice("kind").set_options([("nadam", "nadam"), ("lion", "lion")])
        assert grid["kind"].value == "nadam"  # the old value is gone: the first option
        with pytest.raises(KeyError, match="no field 'nope'"):
            grid["nope"]


async def test_a_hint_takes_lines_only_when_it_has_text_and_wraps_to_the_width():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        flag = grid.line_of("flag")
        grid.set_hint("note", "a hint long enough to need two lines here")
        await pilot.pause()
        assert grid.line_of("flag") == flag + 2
        first, second = line_text(grid, flag).strip(), line_text(grid, flag + 1).strip()
        assert f"{first} {second}" == "a hint long enough to need two lines here" and len(first) <= grid.size.width
        grid.set_hint("note", "")
        await pilot.pause()
        assert grid.line_of("flag") == flag


async def test_the_train_form_keeps_the_focus_and_shows_what_letters_do_on_each_field():
    """Tab through the Train workspace's settings never moves Textual's focus.  On a text field the
    letters type: the workspace tabs show F-keys and the footer "esc Leave field"; on a choice or a
    toggle the letters are the workspace's keys again, and the tabs and footer say so."""
    from kerastui.ui.app import make_app
    from kerastui.ui.widgets.settings_grid import TextField
    from tests.ui.helpers import settle, shown

    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        form = app.screen.form
        assert app.screen.focused is form and form.current.id == "opt-optimizer"
        visited = []
        while app.screen.focused is form:
            visited.append(form.current.id)
            await settle(app, pilot)
            tabs, footer = shown(app, "WorkspaceTabs"), shown(app, "KeyFooter")
            if isinstance(form.current, TextField):
                assert "F4 Train" in tabs and "esc Leave field" in footer and "Start" not in footer
            else:
                assert "t Train" in tabs and "s Start" in footer and "Leave field" not in footer
            await pilot.press("tab")
        assert visited == [field.id for field in form.fields] and len(visited) == 24
        form.focus()
        form.move_to("cb-early-monitor")
        await pilot.press("t")  # a letter in a text field types
        assert app.current_mode == "train" and form["cb-early-monitor"].value == "t"
        await pilot.press("escape")  # leaves the form; the letters are the workspace's again
        assert app.screen.focused is not form
        await pilot.press("d")
        assert app.current_mode == "data"


async def test_number_fields_refuse_letters_and_the_clipboard_keys_work_as_in_an_input():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        grid.move_to("count")
        await pilot.press("end", "a", "b", "-")  # an integer field takes what Input(type="integer") takes
        assert grid["count"].value == "3"
        await pilot.press("home", "-", "ctrl+shift+a", "ctrl+c")
        assert app.clipboard == "-3"
        grid.move_to("args")
        await pilot.press("ctrl+v", "ctrl+v")
        assert grid["args"].value == "-3-3"


async def test_tab_in_an_open_list_goes_on_and_a_list_never_outlives_its_place():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        grid.move_to("jit")
        await pilot.press("enter", "tab")  # the list closes; past the last field the form is left
        assert not grid.list_open and app.focused is app.screen.query_one("#after")
        grid.focus()
        grid.move_to("kind")
        await pilot.press("enter", "down", "tab")
        assert not grid.list_open and grid.current.id == "args" and grid["kind"].value == "adam"
        grid.move_to("kind")
        await pilot.press("enter")
        grid.choice("kind").set_options([("lion", "lion"), ("adam", "adam")])  # new options: the old list goes
        await pilot.pause()
        assert not grid.list_open and app.focused is grid and grid["kind"].value == "adam"
        grid.set_hint("note", "\n".join(["a line of the hint"] * 8))  # long enough to scroll
        await pilot.pause()
        await pilot.press("enter")
        assert grid.list_open
        grid.scroll_to(y=3, animate=False, immediate=True)
        await pilot.pause()
        assert not grid.list_open and app.focused is grid


async def test_the_terminal_window_coming_back_keeps_the_text_and_a_click_lands_on_its_character():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        grid.move_to("args")
        await pilot.press(*"hello")
        app.post_message(events.AppBlur())
        app.post_message(events.AppFocus())
        await pilot.pause()
        await pilot.press("x")  # not replaced: the window's focus is not arriving on the field
        assert grid["args"].value == "hellox"
        grid["args"].value = "abcdefghijklmnopqrstuvwxyz0123456789"
        await pilot.press("end")  # scrolled: the end is in view
        await pilot.click(SettingsGrid, offset=(12 + 3, grid.line_of("args")))
        await pilot.press("_")
        value = grid["args"].value
        assert value.index("_") > 20, value  # where the click was in the scrolled text, not at its start


async def test_wide_characters_take_two_cells_and_the_caret_stays_in_view():
    from rich.cells import cell_len

    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid["args"].value = "ログ/日本語のパス/ディレクトリ"  # 17 characters, 33 cells: more than the field's 16
        line = grid.line_of("args")
        shown = line_text(grid, line)
        # Cut to the field and marked; a path keeps its end (ui/pathtext.py: "…/ディレクトリ").
        assert cell_len(shown) == grid.size.width and shown[12:].startswith("…/ディレクトリ")
        grid.focus()
        grid.move_to("args")
        await pilot.press("end", "x")
        await pilot.pause()
        shown = line_text(grid, line)
        assert cell_len(shown) == grid.size.width and "リx" in shown  # the end, and the caret after it, in view
        await pilot.press("home")
        await pilot.pause()
        assert line_text(grid, line)[12:].startswith("ログ/日本")
        await pilot.click(SettingsGrid, offset=(12 + 7, line))  # 本: cells 7–8 (ロ 0–1, グ 2–3, / 4, 日 5–6)
        await pilot.press("_")
        assert grid["args"].value.startswith("ログ/日_本")


class LongForm(FormScreen):
    def compose(self) -> ComposeResult:
        rows: list = [Heading("First")]
        for i in range(20):
            if i == 10:
                rows.append(Heading("Second"))
            if i % 3 == 2:
                rows.append(ToggleField(f"t{i}", f"toggle {i}", bool(i % 2)))
            elif i % 3 == 1:
                rows.append(ChoiceField(f"c{i}", f"choice {i}", [("one", 1), ("two", 2)], 1))
            else:
                rows.append(TextField(f"f{i}", f"field {i}", f"value {i}"))
            if i == 4:
                rows.append(Hint("hint"))
        yield SettingsGrid(*rows, id="grid")
        yield Button("after", id="after")


class LongHost(App):
    CSS = "SettingsGrid { width: 40; height: 12; }"

    def on_mount(self) -> None:
        self.push_screen(LongForm())


def drawn_afresh(grid: SettingsGrid) -> list[list[tuple[str, object]]]:
    """Every line in view as the grid draws it now, without its cache of lines."""
    top = round(grid.scroll_offset.y)
    return [[(s.text, s.style) for s in grid._draw_line(top + y)] for y in range(grid.scrollable_content_region.height)]


def drawn(grid: SettingsGrid) -> list[list[tuple[str, object]]]:
    return [[(s.text, s.style) for s in grid.render_line(y)] for y in range(grid.scrollable_content_region.height)]


async def test_the_lines_a_scroll_takes_from_the_cache_are_those_drawn_afresh():
    """The form keeps each line as last drawn (a scroll redraws only what it brings into view); after
    moves, typing, values and hints set by code, the focus leaving and coming back, a narrower
    window and a new theme, every line in view is what drawing it afresh gives."""
    app = LongHost()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        await pilot.pause()
        steps = [
            lambda: pilot.press(*["tab"] * 12),
            lambda: pilot.press("x", "y", "backspace"),
            lambda: pilot.press(*["shift+tab"] * 9),
            lambda: pilot.press("end", "!", "left"),
        ]
        for step in steps:
            await step()
            await pilot.pause()
            assert drawn(grid) == drawn_afresh(grid)
        grid["f9"].value = "set by code"
        grid.toggle("t5").value = not grid.toggle("t5").value
        grid.set_hint("hint", "a hint that wraps onto a second line of the form")
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        grid.move_to("f18")
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        app.screen.query_one("#after").focus()  # the current field is drawn as not focused
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        grid.focus()
        app.theme = "textual-light"
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        grid.styles.width = 30
        await pilot.pause()
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        grid.styles.background = "darkred"  # an inline style: Textual repaints all of the widget
        await pilot.pause()
        assert drawn(grid) == drawn_afresh(grid)
        assert "set by code"[:5] in "".join(line_text(grid, n) for n in range(len(grid._lines)))
        # And the cache is what a scroll draws from: one line down draws the line it brings into view.
        grid.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        before = grid.scroll_offset.y
        assert before + grid.scrollable_content_region.height < len(grid._lines)
        drawn_lines: list[int] = []
        draw = grid._draw_line

        def counted(number: int):
            drawn_lines.append(number)
            return draw(number)

        grid._draw_line = counted  # type: ignore[method-assign]
        grid.scroll_to(y=before + 1, animate=False, immediate=True)
        await pilot.pause()
        assert set(drawn_lines) <= {before + grid.scrollable_content_region.height}  # at most the new line
        drawn_lines.clear()
        for y in (before, before + 1, before):  # and back and forth over lines drawn already: none again
            grid.scroll_to(y=y, animate=False, immediate=True)
            await pilot.pause()
        assert drawn_lines == [] and grid.scroll_offset.y == before


async def test_tab_through_a_long_form_scrolls_every_few_fields_with_what_comes_next_in_view():
    """A field below the window scrolls the form a third of its height further than the field, so
    Tab on through a long form scrolls every few fields, not at each (a scroll redraws every line);
    the current field is always whole in view, and so is the heading above a section's first field."""
    app = LongHost()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        grid.focus()
        await pilot.pause()
        window = grid.scrollable_content_region.height
        offsets, beyond = [], 0
        for _ in range(len(grid.fields) - 1):
            await pilot.press("tab")
            top = round(grid.scroll_offset.y)
            line = grid.line_of(grid.current.id)
            assert top <= line and line + 1 <= top + window, (grid.current.id, top, line)
            if grid.current.id == "f10":  # a section's first field: its heading too
                assert top <= line - 1
            beyond += line + 2 > window  # a move the form had to scroll for before
            offsets.append(top)
        scrolls = sum(1 for a, b in zip([0, *offsets[:-1]], offsets, strict=True) if a != b)
        assert offsets[-1] > 0 and scrolls <= beyond // 2, (scrolls, beyond, offsets)
        for _ in range(len(grid.fields) - 1):  # and back up, with what comes before in view
            await pilot.press("shift+tab")
            top, line = round(grid.scroll_offset.y), grid.line_of(grid.current.id)
            assert top <= line and line + 1 <= top + window
        assert round(grid.scroll_offset.y) <= 1 and grid.current.id == "f0"


async def test_a_bar_asked_to_repaint_after_the_frame_is_not_repainted_in_it_but_after():
    """The footer and the tabs repaint after the frame of the Tab that changed them (the key's own
    frame shows the move only).  (What they show after each Tab:
    test_the_train_form_keeps_the_focus_and_shows_what_letters_do_on_each_field.)"""
    from textual.widgets import Static

    from kerastui.ui.widgets.formscreen import repaint_after_frame

    class Counted(Static):
        renders = 0

        def render(self):
            Counted.renders += 1
            return super().render()

    class Bars(App):
        def compose(self) -> ComposeResult:
            yield Counted("bar")

    app = Bars()
    async with app.run_test(size=(40, 5)) as pilot:
        bar = app.query_one(Counted)
        await pilot.pause()
        before = Counted.renders
        repaint_after_frame(bar)
        assert Counted.renders == before and not bar._dirty_regions  # asked after the frame, not now
        await pilot.pause()
        await pilot.pause()
        assert Counted.renders == before + 1


async def test_a_click_on_a_field_at_the_bottom_edge_scrolls_no_further_than_the_field():
    """A key looks ahead when the form scrolls; a click does not: the field under the pointer moves
    by no more than its own lines, so a second click lands where it was aimed."""
    app = LongHost()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.screen.query_one(SettingsGrid)
        window = grid.scrollable_content_region.height
        # A text field on the window's last line (its gap line below, out of view).
        line = next(grid.line_of(f.id) for f in grid.fields
                    if isinstance(f, TextField) and grid.line_of(f.id) >= window - 1)
        top = line - window + 1
        grid.scroll_to(y=top, animate=False, immediate=True)
        await pilot.pause()
        await pilot.click(SettingsGrid, offset=(2, window - 1))
        await pilot.pause()
        assert grid.line_of(grid.current.id) == line and grid.scroll_offset.y == top + 1

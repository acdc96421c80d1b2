"""Pilot at 80×24: F1 help scrolls to its last line with the close hint in view, lists the keys of the
workspace it was opened from first, and every workspace opens on its own widget, never inside a
text field (also when it was left from one)."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Input, TextArea

from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import HelpDialog
from kerastui.ui.widgets.formscreen import types_text
from kerastui.ui.widgets.line_editor import LineEditor
from kerastui.ui.widgets.settings_grid import SettingsGrid, TextField
from kerastui.ui.widgets.tabs import WORKSPACES
from tests.ui.conftest import svg_lines
from tests.ui.helpers import settle

FKEYS = {mode: fkey for mode, (_, fkey, _, _) in WORKSPACES.items()}


def screen_text(app) -> list[str]:
    """What the terminal shows now, line by line."""
    return svg_lines(app.export_screenshot())


def not_a_text_field(widget) -> bool:
    return not isinstance(widget, (Input, TextArea, LineEditor)) and not types_text(widget)


async def test_help_scrolls_to_its_last_key_and_the_close_hint_stays_in_view():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpDialog)
        scroll = help_screen.query_one("#help-scroll", VerticalScroll)
        assert scroll.has_focus and scroll.max_scroll_y > 0, "the help is longer than 80×24 shows: it scrolls"
        assert any("escape closes" in line for line in screen_text(app))
        last = help_screen.sections[-1].rows[-1]
        assert not any(last.action in line for line in screen_text(app)), "the last key is below the fold"

        await pilot.press("pagedown")
        await settle(app, pilot)
        assert scroll.scroll_y > 0
        await pilot.press("end")
        await settle(app, pilot)
        assert scroll.scroll_y == scroll.max_scroll_y
        lines = screen_text(app)
        assert any(last.action in line and last.keys[0] in line for line in lines), "\n".join(lines)
        assert any("ctrl+p opens the command palette" in line for line in lines), "the help's last line"
        assert any("escape closes" in line for line in lines)

        await pilot.press("home")
        await settle(app, pilot)
        assert scroll.scroll_y == 0
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, HelpDialog)


async def test_help_from_each_workspace_lists_its_keys_first_then_the_apps():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for mode, (key, fkey, label, _) in WORKSPACES.items():
            await pilot.press(fkey)
            await settle(app, pilot)
            workspace = app.screen
            # Its footer keys that work now (a key the focused widget takes first is the widget's).
            own = {a.binding.description for a in workspace.active_bindings.values()
                   if a.node is workspace and a.binding.show}
            assert own, mode
            await pilot.press("f1")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, HelpDialog), mode
            first, everywhere = dialog.sections[0], dialog.sections[1]
            assert first.title == f"Keys in {label}", (mode, first.title)
            assert own <= {row.action for row in first.rows}, (mode, own)
            assert everywhere.title == "Keys everywhere"
            assert any(row.keys == (key, fkey) for row in everywhere.rows), (mode, everywhere.rows)
            # As drawn: the workspace's heading is the first thing in view, its first key under it.
            lines = screen_text(app)
            heading = next(i for i, line in enumerate(lines) if f"Keys in {label}" in line and "Help" not in line)
            assert first.rows[0].action in lines[heading + 1], (mode, lines)
            await pilot.press("escape")
            await settle(app, pilot)


async def test_every_workspace_opens_on_its_own_widget_never_in_a_text_field():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert not_a_text_field(app.screen.focused)
        for mode in WORKSPACES:  # the first visit: by its letter key
            await pilot.press(WORKSPACES[mode][0])
            await settle(app, pilot)
            assert app.current_mode == mode
            assert app.screen.focused is not None and not_a_text_field(app.screen.focused), (mode, app.screen.focused)
        for mode in WORKSPACES:  # left from inside a text field (by its function key), found outside it again
            await pilot.press(FKEYS[mode])
            await settle(app, pilot)
            fields = [w for w in app.screen.query(Input) if w.focusable]
            grids = [g for g in app.screen.query(SettingsGrid) if g.focusable]
            if fields:
                fields[0].focus()
            elif grids:  # a settings form drawn as one widget: its cursor on a text field
                grids[0].focus()
                grids[0].move_to(next(f.id for f in grids[0].fields if isinstance(f, TextField)))
            else:
                continue
            await settle(app, pilot)
            assert types_text(app.screen.focused)
            other = "runs" if mode != "runs" else "data"
            await pilot.press(FKEYS[other], FKEYS[mode])
            await settle(app, pilot)
            assert app.current_mode == mode
            assert not_a_text_field(app.screen.focused), (mode, app.screen.focused)

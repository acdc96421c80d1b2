"""Pilot at 80×24: the workspace tabs name every workspace and mark the current one; from every
focusable widget of every workspace every other workspace is reachable by keys (letters where they
are not typed, F2–F7 from text fields); escape leaves each text field, and the footer says so."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from kerastui.ui.app import make_app
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.tabs import WORKSPACES, WorkspaceTabs
from tests.ui.helpers import settle, started

LETTERS = {mode: letter for mode, (letter, _, _, _) in WORKSPACES.items()}
FKEYS = {mode: fkey for mode, (_, fkey, _, _) in WORKSPACES.items()}


def footer_text(app) -> str:
    return app.screen.query_one(KeyFooter).render().plain


def tabs_text(app) -> str:
    return app.screen.query_one(WorkspaceTabs).render().plain


async def visit(app, pilot, mode: str) -> None:
    await pilot.press(FKEYS[mode])
    await switched(app, pilot)
    assert app.current_mode == mode


async def switched(app, pilot) -> None:
    """A mode switch is done on the key's own message; a workspace shown the first time mounts then."""
    await pilot.pause()
    if not app.screen.is_mounted:
        await settle(app, pilot)


async def test_every_workspace_is_reachable_from_every_widget_by_keys():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        modes = list(WORKSPACES)
        widgets = 0
        for index, mode in enumerate(modes):
            await visit(app, pilot, mode)
            screen = app.screen
            tabs = screen.query_one(WorkspaceTabs)
            assert tabs.current == mode
            for _, _, label, _ in WORKSPACES.values():
                assert label in tabs_text(app), (mode, label)  # every tab fits 80 columns
            pressed: set[type] = set()
            for position, widget in enumerate(list(screen.focus_chain)):
                widget.focus()
                await pilot.pause()
                typed = isinstance(widget, Input)
                keys = FKEYS if typed else LETTERS
                # Every workspace key is the one that acts from here: not typed, not shadowed.
                active = screen.active_bindings
                for target, key in keys.items():
                    assert key in active, (mode, widget, key)
                    assert active[key][1].action == f"switch_workspace('{target}')", (mode, widget, key)
                # And one of them pressed for real, from one widget of each kind (a different target each).
                if type(widget) in pressed:
                    continue
                pressed.add(type(widget))
                target = modes[(index + position + 1) % len(modes)]
                if target == mode:
                    target = modes[(index + position + 2) % len(modes)]
                await pilot.press(keys[target])
                await switched(app, pilot)
                assert app.current_mode == target, (mode, widget, keys[target])
                assert app.screen.query_one(WorkspaceTabs).current == target
                await visit(app, pilot, mode)
            widgets += len(screen.focus_chain)
        assert widgets >= 40


async def test_escape_leaves_every_text_field_and_the_footer_says_how():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        left = 0
        for mode in WORKSPACES:
            await visit(app, pilot, mode)
            screen = app.screen
            for field in [w for w in screen.focus_chain if isinstance(w, Input)]:
                field.focus()
                await pilot.pause()
                footer = footer_text(app)
                assert "esc Leave field" in footer, (mode, field.id, footer)
                assert "f2–f7 workspaces" in footer, (mode, field.id, footer)
                assert "F2 Data" in tabs_text(app)  # the tabs show the keys that work in a field
                await pilot.press("escape")
                await pilot.pause()
                assert not isinstance(screen.focused, Input), (mode, field.id, screen.focused)
                assert "Leave field" not in footer_text(app)
                assert "d Data" in tabs_text(app)
                left += 1
        assert left >= 10  # Data, Train, Save/Load and the metric panel have text fields


async def test_clicking_a_tab_switches_workspace():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        text = tabs_text(app)
        await pilot.click(WorkspaceTabs, offset=(text.index("Runs"), 0))
        await settle(app, pilot)
        assert app.current_mode == "runs"


async def test_clicking_a_footer_key_runs_it_and_the_palette_key_opens_the_palette():
    from textual.command import CommandPalette

    from kerastui.ui.screens.dialogs import HelpDialog

    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        text = footer_text(app)
        await pilot.click(KeyFooter, offset=(text.index("f1"), 0))
        await settle(app, pilot)
        assert isinstance(app.screen, HelpDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, HelpDialog)
        await pilot.click(KeyFooter, offset=(text.index("^p"), 0))
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)


async def test_tab_below_the_fold_scrolls_the_form_at_once_unless_animations_are_asked_for(monkeypatch):
    """No animations by default (over SSH each frame of a scroll animation is sent): Tab to a field
    below the fold of the Train form scrolls it there in one frame.  TEXTUAL_ANIMATIONS wins."""
    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    app = make_app("ex1", deterministic=True)
    assert app.animation_level == "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await visit(app, pilot, "train")
        form = app.screen.query_one("#train-side")
        app.screen.query_one("#dev-gpus").focus()
        for _ in range(3):  # not pilot.pause(): it waits for animations to end too
            await asyncio.sleep(0.02)
        assert form.scroll_y > 0 and form.scroll_y == form.scroll_target_y
        assert not app.animator.is_being_animated(form, "scroll_y")
        assert app.screen.can_view_entire(app.screen.query_one("#dev-gpus"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "full")
    assert make_app("ex1", deterministic=True).animation_level != "none"

"""Pilot at 80×24: from every text field of every workspace, escape gives the workspace its keys
back (the footer says so while the field has the focus), and a workspace key then switches."""

from __future__ import annotations

from textual.widgets import Input

from kerastui.ui.app import WORKSPACES, make_app
from kerastui.ui.widgets.footer import KeyFooter
from tests.ui.helpers import settle, started


def footer_text(app) -> str:
    return app.screen.query_one(KeyFooter).render().plain


async def test_escape_leaves_every_text_field_and_the_workspace_keys_work_again():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        keys = {mode: key for mode, (key, _, _) in WORKSPACES.items()}
        left = 0
        for mode, key in keys.items():
            await pilot.press(key)
            await settle(app, pilot)
            assert app.current_mode == mode
            screen = app.screen
            fields = [w for w in screen.focus_chain if isinstance(w, Input)]
            for field in fields:
                field.focus()
                await pilot.pause()
                assert "esc" in footer_text(app) and "Leave field" in footer_text(app), (mode, field.id)
                await pilot.press("escape")
                await pilot.pause()
                assert not isinstance(screen.focused, Input), (mode, field.id, screen.focused)
                assert "Leave field" not in footer_text(app)
                left += 1
            # From wherever escape left the focus, the next workspace's key switches.
            other = next(m for m in keys if m != mode)
            await pilot.press(keys[other])
            await settle(app, pilot)
            assert app.current_mode == other, (mode, screen.focused)
            await pilot.press(key)
            await settle(app, pilot)
        assert left >= 10  # Data, Train, Save/Load and the metric panel have text fields

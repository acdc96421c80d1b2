"""What reaches the terminal is right after every key, not only after a full repaint.

Snapshots (``export_screenshot``) render the whole screen afresh, so they cannot see a region that
an incremental update forgot to repaint.  Here every update the app writes is replayed into a
terminal emulator (pyte), and after each key the emulator's cells (characters, colours, bold,
reverse…) must equal those of a full repaint drawn from scratch.  It guards the workspaces' skipped screen-wide
repaint on focus moves (``Workspace.focused``) and any other partial-update shortcut.
"""

from __future__ import annotations

import io

import pyte
import pytest
from rich.console import Console
from textual._compositor import CompositorUpdate
from textual.app import App

from kerastui.ui.app import make_app
from tests.ui.helpers import settle, started

W, H = 120, 40


def cells(screen: pyte.Screen) -> list[list[tuple]]:
    return [[(c.data, c.fg, c.bg, c.bold, c.reverse, c.underscore, c.italics)
             for c in (screen.buffer[y][x] for x in range(W))] for y in range(H)]


@pytest.fixture
def terminal(monkeypatch):
    """A terminal emulator fed every compositor update the app displays (headless included)."""
    console = Console(force_terminal=True, color_system="truecolor", width=W, height=H, file=io.StringIO(),
                      legacy_windows=False)
    screen = pyte.Screen(W, H)
    stream = pyte.Stream(screen)
    display = App._display

    def tee(app, app_screen, renderable):
        if isinstance(renderable, CompositorUpdate):
            stream.feed(renderable.render_segments(console))
        return display(app, app_screen, renderable)

    monkeypatch.setattr(App, "_display", tee)
    return screen, console


async def test_incremental_updates_equal_a_full_repaint_after_every_key(terminal, monkeypatch, tmp_path):
    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path / "presets"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    live, console = terminal
    app = make_app("ex1", deterministic=True)
    checked = []
    async with app.run_test(size=(W, H)) as pilot:
        await started(app, pilot, model_size=True)
        for mode in ["d", "m", "t", "v", "p", "h"]:
            app.screen.set_focus(None)  # a workspace key typed into a field would be text
            await settle(app, pilot)
            for key in [mode, "tab", "down", "shift+tab"]:
                await pilot.press(key)
                await settle(app, pilot)
                assert await app.screen.wait_for_refresh()  # whatever is dirty has been written
                for widget in app.screen.walk_children(with_self=True):
                    widget.refresh()  # no cached lines: the reference is drawn from scratch
                full = pyte.Screen(W, H)
                pyte.Stream(full).feed(app.screen._compositor.render_update(full=True).render_segments(console))
                stale = [(y, x) for y, (a, b) in enumerate(zip(cells(live), cells(full), strict=True))
                         for x in range(W) if a[x] != b[x]]
                assert not stale, (f"{app.current_mode}: after {key!r} ({type(app.focused).__name__} focused) "
                                   f"{len(stale)} cells differ from a full repaint, first at {stale[:3]}")
                checked.append((app.current_mode, type(app.focused).__name__))
                await settle(app, pilot)  # the refresh asked for above lands now, not with the next key
    assert {mode for mode, _ in checked} == {"data", "model", "train", "saveload", "experiments", "runs"}
    assert len({focused for _, focused in checked}) >= 4  # focus really moved between kinds of widget

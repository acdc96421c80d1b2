"""Pilot at 80×24: the workspace tabs name every workspace and mark the current one; from every
focusable widget of every workspace every other workspace is reachable by keys (letters where they
are not typed, F2–F8 from text fields); escape leaves each text field, and the footer says so."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from kerastui.ui.app import make_app
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.formscreen import types_text
from kerastui.ui.widgets.settings_grid import ChoiceField, SettingsGrid, TextField, ToggleField
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
            pressed: set[tuple[type, type | None]] = set()
            for position, widget in enumerate(list(screen.focus_chain)):
                # A settings form drawn as one widget: from a field of each kind (text, choice, toggle).
                spots: list[str | None] = [None]
                if isinstance(widget, SettingsGrid):
                    spots = [next(f.id for f in widget.fields if isinstance(f, kind))
                             for kind in (TextField, ChoiceField, ToggleField)]
                    widgets += len(widget.fields) - 1
                for spot in spots:
                    widget.focus()
                    if spot is not None:
                        widget.move_to(spot)
                    await pilot.pause()
                    typed = types_text(widget)
                    keys = FKEYS if typed else LETTERS
                    # Every workspace key is the one that acts from here: not typed, not shadowed.
                    active = screen.active_bindings
                    for target, key in keys.items():
                        assert key in active, (mode, widget, spot, key)
                        assert active[key][1].action == f"switch_workspace('{target}')", (mode, widget, spot, key)
                    # And one of them pressed for real, from one widget of each kind (a different target each).
                    kind = (type(widget), type(widget.current) if isinstance(widget, SettingsGrid) else None)
                    if kind in pressed:
                        continue
                    pressed.add(kind)
                    target = modes[(index + position + 1 + len(pressed)) % len(modes)]
                    if target == mode:
                        target = modes[(index + position + 2 + len(pressed)) % len(modes)]
                    await pilot.press(keys[target])
                    await switched(app, pilot)
                    assert app.current_mode == target, (mode, widget, spot, keys[target])
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
            # Every Input, and every text field of a settings form drawn as one widget.
            fields = [(w, None) for w in screen.focus_chain if isinstance(w, Input)]
            for grid in [w for w in screen.focus_chain if isinstance(w, SettingsGrid)]:
                fields += [(grid, f.id) for f in grid.fields if isinstance(f, TextField)]
            for field, spot in fields:
                field.focus()
                if isinstance(field, SettingsGrid) and spot is not None:
                    field.move_to(spot)
                await pilot.pause()
                footer = footer_text(app)
                assert "esc Leave field" in footer, (mode, field.id, spot, footer)
                assert "f2–f8 workspaces" in footer, (mode, field.id, spot, footer)
                assert "F2 Data" in tabs_text(app)  # the tabs show the keys that work in a field
                await pilot.press("escape")
                await pilot.pause()
                assert not types_text(screen.focused), (mode, field.id, spot, screen.focused)
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
        form = app.screen.form
        form.focus()
        while form.current is not None and form.current.id != "dev-gpus":
            await pilot.press("tab")
            assert app.screen.focused is form  # Tab moves inside the form
        for _ in range(3):  # not pilot.pause(): it waits for animations to end too
            await asyncio.sleep(0.02)
        assert form.scroll_y > 0 and form.scroll_y == form.scroll_target_y
        assert not app.animator.is_being_animated(form, "scroll_y")
        line = form.line_of("dev-gpus")
        assert form.scroll_y <= line < form.scroll_y + form.scrollable_content_region.height
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "full")
    assert make_app("ex1", deterministic=True).animation_level != "none"


def test_frames_are_capped_at_500_a_second_unless_textual_fps_says_otherwise():
    """A key's frame waits at most one frame period behind the last one (2–4 ms at 500, up to 33 ms
    at Textual's 60): kerastui sets TEXTUAL_FPS before Textual reads it, and the user's value wins."""
    import os
    import subprocess
    import sys

    code = "import kerastui.ui.app, textual.constants as c; print(c.MAX_FPS)"
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          timeout=120)
    assert ours.stdout.split() == ["500"]
    theirs = subprocess.run([sys.executable, "-c", code], env={**env, "TEXTUAL_FPS": "60"}, capture_output=True,
                            text=True, check=True, timeout=120)
    assert theirs.stdout.split() == ["60"]


async def test_tab_between_widgets_with_the_same_keys_leaves_the_footer_unpainted_and_its_clicks_follow():
    """Tab from one chart to the next: the footer shows the same keys, so it is not repainted (its row
    would make the focus's frame redraw everything between it and the charts), and a click on a key
    runs it on the chart that has the focus now."""
    from kerastui.ui.widgets.charts import MetricChart
    from tests.ui.test_epoch_frames import train_workspace_with

    app = make_app("ex1", load_tensorflow=False, prepare=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await train_workspace_with(app, pilot, 4)
        first, second = app.screen.query(MetricChart)
        first.focus()
        await settle(app, pilot)
        footer = app.screen.query_one(KeyFooter)
        line = footer_text(app)
        assert "lzb chart" in line, line
        repaints: list[object] = []
        refresh = footer.refresh
        footer.refresh = lambda *a, **k: (repaints.append(a), refresh(*a, **k))[1]  # type: ignore[method-assign]
        await pilot.press("tab")
        await settle(app, pilot)
        assert app.focused is second
        assert repaints == []
        # (before anything renders the line again: the spans drawn for the first chart)
        bound = [footer.key_node(where) for _, _, _, where in footer._spans]
        chart_keys = [node for node in bound if isinstance(node, MetricChart)]
        assert chart_keys and all(node is second for node in chart_keys), chart_keys
        assert footer_text(app) == line
        await pilot.press("tab")  # on to the epoch table: other keys, painted
        await settle(app, pilot)
        assert app.focused is not second and repaints and footer_text(app) != line

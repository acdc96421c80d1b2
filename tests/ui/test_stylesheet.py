"""The app's stylesheet parses each CSS source once per theme (issue 26: the first frame), and still
restyles everything when the theme changes."""

from __future__ import annotations

from kerastui.ui import stylesheet
from kerastui.ui.app import make_app
from kerastui.ui.widgets.status_line import StatusLine
from tests.ui.helpers import settle


def parsed() -> set[tuple]:
    return set(stylesheet._PARSED)


async def test_a_css_refresh_with_the_same_theme_parses_nothing_again_and_keeps_the_rules():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.stylesheet, stylesheet.SharedStylesheet)
        before, rules = parsed(), list(app.stylesheet.rules)
        assert any("app.tcss" in str(key[1]) for key in before), "the app's own CSS went through the cache"
        app.refresh_css()
        await settle(app, pilot)
        assert parsed() == before
        refreshed = app.stylesheet.rules
        assert len(refreshed) == len(rules) and all(new is old for new, old in zip(refreshed, rules, strict=True))


async def test_a_new_theme_parses_afresh_and_restyles_the_screen():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        status = app.screen.query_one(StatusLine)
        dark_background = status.styles.background
        dark = app.stylesheet.variables_key
        app.theme = "textual-light"
        await settle(app, pilot)
        light = app.stylesheet.variables_key
        assert light != dark
        assert any(key[-1] == light for key in parsed()), "parsed with the light theme's variables"
        assert status.styles.background != dark_background
        app.theme = "textual-dark"
        await settle(app, pilot)
        assert status.styles.background == dark_background

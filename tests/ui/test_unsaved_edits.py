"""Nothing is thrown away without asking: the session knows when its preset differs from the one last
opened or saved, and opening a preset over such edits asks first (n keeps them, y opens)."""

from __future__ import annotations

import copy

from kerastui.core.model import presets
from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import PresetsDialog, RiskDialog
from kerastui.ui.session import Session
from tests.ui.helpers import settle, started


def test_the_session_says_when_it_holds_unsaved_edits(tmp_path, monkeypatch):
    session = Session(presets.load("ex1"))
    assert not session.unsaved
    fit = copy.deepcopy(session.preset.fit)
    fit.epochs += 1
    session.edit(fit=fit)
    assert session.unsaved
    fit.epochs -= 1
    session.edit(fit=fit)
    assert not session.unsaved, "edited back to what was opened: nothing to lose"
    session.stack.layers.pop()
    assert session.unsaved, "a layer removed is an edit"
    session.open_preset(presets.load("ex2"))
    assert not session.unsaved
    session.stack.layers.pop()
    monkeypatch.setenv("HOME", str(tmp_path))
    target = tmp_path / "mine.toml"
    presets.save(session.current_preset(), target)
    session.preset_saved(target)
    assert not session.unsaved, "saved: nothing to lose"


async def test_opening_a_preset_over_edits_asks_first_n_keeps_them_y_opens(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no user presets: the dialog lists the shipped ones
    app = make_app("ex1")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        assert app.session.name == "ex1" and not app.session.unsaved, "a preset just opened holds no edits"
        await pilot.press("t")
        await settle(app, pilot)
        epochs = int(app.screen.form["opt-epochs"].value)
        app.screen.form["opt-epochs"].value = str(epochs + 5)
        await settle(app, pilot)
        assert app.session.preset.fit.epochs == epochs + 5 and app.session.unsaved

        async def choose_ex2() -> None:
            await pilot.press("o")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, PresetsDialog)
            row = next(i for i, info in enumerate(dialog.infos) if info.name == "ex2")
            dialog.query_one("#presets-table").move_cursor(row=row)
            await pilot.press("enter")
            await settle(app, pilot)

        await choose_ex2()
        assert isinstance(app.screen, RiskDialog), "opening over unsaved edits asks"
        assert "ex1" in app.screen.question and "ex2" in app.screen.question
        await pilot.press("n")
        await settle(app, pilot)
        assert app.session.name == "ex1" and app.session.preset.fit.epochs == epochs + 5, "n keeps the edits"

        await choose_ex2()
        assert isinstance(app.screen, RiskDialog)
        await pilot.press("enter")  # a stray enter is not a yes
        await settle(app, pilot)
        assert app.session.name == "ex1" and app.session.preset.fit.epochs == epochs + 5

        await choose_ex2()
        await pilot.press("y")
        await settle(app, pilot)
        assert app.session.name == "ex2" and not app.session.unsaved

        await choose_ex2()  # nothing edited since: it opens without a question
        assert not isinstance(app.screen, RiskDialog) and app.session.name == "ex2"


async def test_reopening_a_run_over_edits_asks_first(tmp_path, monkeypatch):
    from kerastui.core.run.directory import RunDir
    from tests.ui.test_charts_runs import fake_runs

    for run in fake_runs(tmp_path / "runs"):
        presets.save(presets.load("ex1"), RunDir(run).preset_path)  # the preset the run trained
    monkeypatch.chdir(tmp_path)
    app = make_app("ex2", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        app.session.stack.layers.pop()  # an edit (the Model workspace's delete)
        assert app.session.unsaved
        await pilot.press("h")
        await settle(app, pilot)
        await pilot.press("enter")  # reopen the finished run under the cursor: its preset would replace ex2's
        await settle(app, pilot)
        assert isinstance(app.screen, RiskDialog) and "Open run" in app.screen.question
        await pilot.press("n")
        await settle(app, pilot)
        assert app.session.name == "ex2" and app.session.unsaved and app.current_mode == "runs"
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.session.name == "ex1" and app.current_mode == "train", "y opens the run's preset and history"

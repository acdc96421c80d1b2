"""Pilot: opening a SavedModel folder in the Save/Load workspace asks first, naming the folder and
its graph (TensorFlow operations that run, with the user's permissions): n (and escape) opens
nothing and the graph never runs; y opens it, and evaluate runs its graph on the test split."""

from __future__ import annotations

from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import RiskDialog
from kerastui.ui.screens.saveload import SaveLoadScreen, VerifyTable
from tests.ui.helpers import settle, shown, started
from tests.ui.test_saveload_lambda import open_by_key
from tests.unit.test_savedmodel_trust import write_marking_export


async def test_a_savedmodel_opens_only_after_y_naming_its_graph_and_then_evaluates(tmp_path):
    marker = tmp_path / "marker.txt"
    folder = write_marking_export(tmp_path / "stranger_savedmodel", marker)
    app = make_app("ex4")  # Iris: four features, three classes, as the export takes and gives
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        assert isinstance(app.screen, SaveLoadScreen)

        for key in ("n", "escape"):
            await open_by_key(app, pilot, folder)
            assert isinstance(app.screen, RiskDialog), key
            question = app.screen.question
            assert "stranger_savedmodel contains a SavedModel's graph" in question, question
            assert f"runs the SavedModel's graph (TensorFlow operations) stored in {folder}" in question, question
            assert "it can read, change or delete your files" in question and "Only open files you trust" in question
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, SaveLoadScreen) and app.session.opened is None, key
            message = shown(app, "#saveload-message", joiner=" ")
            assert "not opened" in message and "current model is kept" in message, message
            assert not marker.exists(), f"{key}: the graph ran"

        await open_by_key(app, pilot, folder)
        assert isinstance(app.screen, RiskDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, SaveLoadScreen)
        opened = app.session.opened
        assert opened is not None and opened.path == str(folder) and opened.format == "savedmodel"
        assert opened.safe_mode is False
        message = shown(app, "#saveload-message", joiner=" ")
        assert "safe mode off" in message and "graph" in message, message

        app.screen.query_one(VerifyTable).focus()
        await pilot.press("e")
        await settle(app, pilot)
        evaluation = shown(app, "#saveload-evaluation", joiner=" ")
        assert "accuracy" in evaluation and "loss" in evaluation, evaluation
        assert marker.read_text() == "the graph ran", "trusted: evaluate ran the SavedModel's graph"

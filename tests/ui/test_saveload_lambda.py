"""Pilot: a model file with a Lambda layer (Python code that runs on load) is refused by default and
opens only after the user says y to a question that names the risk, for that file, each time."""

from __future__ import annotations

import numpy as np

from kerastui.core.saving import save_model
from kerastui.core.tfenv import load_keras
from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import RiskDialog
from kerastui.ui.screens.saveload import SaveLoadScreen, VerifyTable
from tests.ui.helpers import settle, shown, started


async def open_by_key(app, pilot, path) -> None:
    widget = app.screen.query_one("#open-path")
    widget.value = str(path)
    widget.focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_a_lambda_model_opens_only_after_an_explicit_yes_naming_the_risk_and_is_asked_every_time(tmp_path):
    keras = load_keras()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0),
                              keras.layers.Dense(3, activation="softmax")])
    path = save_model(model, tmp_path / "lambda.keras")
    plain = save_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]), tmp_path / "plain.keras")
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        assert isinstance(app.screen, SaveLoadScreen)

        # Refused by default: a question names the file, the Lambda layer and the risk.
        await open_by_key(app, pilot, path)
        assert isinstance(app.screen, RiskDialog)
        question = app.screen.question
        assert "lambda.keras contains a Lambda layer" in question and str(path) in question
        assert "runs the Python code stored in" in question and "Only open files you trust" in question
        # The question wraps inside the dialog (a one-line label cut the risk off at the dialog's edge).
        from textual.widgets import Label

        assert app.screen.query(Label).first().size.height >= 5
        assert app.session.opened is None
        # enter (the key that just opened the file) and escape say no; nothing is opened.
        for key in ("enter", "escape", "n"):
            if not isinstance(app.screen, RiskDialog):
                await open_by_key(app, pilot, path)
            assert isinstance(app.screen, RiskDialog)
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, SaveLoadScreen) and app.session.opened is None, key
            message = shown(app, "#saveload-message", joiner=" ")
            assert "not opened" in message and "current model is kept" in message, message

        # y opens that file with safe mode off.
        await open_by_key(app, pilot, path)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, SaveLoadScreen)
        opened = app.session.opened
        assert opened is not None and opened.path == str(path) and opened.safe_mode is False
        assert "safe mode off" in shown(app, "#saveload-message", joiner=" ")
        x = np.ones((2, 4), "float32")
        assert np.allclose(app.session.opened.predict(x), np.asarray(model(x)), atol=1e-6)
        # The model the user allowed saves and verifies (its reload runs the code already running here).
        app.screen.query_one("#save-path").value = str(tmp_path / "again" / "copy")
        (tmp_path / "again").mkdir()
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("s")
        await settle(app, pilot)
        assert [r.format for r in app.screen.results] == ["keras", "h5", "savedmodel"]
        assert all(r.same for r in app.screen.results), shown(app, "#saveload-message", joiner=" ")

        # Never remembered: the same file again asks again; a file without code opens without asking.
        await open_by_key(app, pilot, plain)
        assert not isinstance(app.screen, RiskDialog) and app.session.opened.path == str(plain)
        assert app.session.opened.safe_mode is True
        await open_by_key(app, pilot, path)
        assert isinstance(app.screen, RiskDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert app.session.opened.path == str(plain), "the model opened before is kept"

"""Pilot: the session owns the preset being edited (issue 24).  Every edit of the Train form, the
transfer panel and the metric panel is the session's at once, so ctrl+s saves what the forms show
and every start launches exactly ``session.current_preset()``; a value that does not parse is
shown, refused at start, and never reaches the session."""

from __future__ import annotations

import time

from kerastui.core.model import presets
from kerastui.core.model.specs import Preset
from kerastui.ui.app import make_app
from kerastui.ui.panels.metric import MetricPanel
from kerastui.ui.panels.transfer import TransferPanel
from kerastui.ui.screens.dialogs import SavePresetDialog
from kerastui.ui.screens.train import TrainScreen
from tests.ui.helpers import settle
from tests.ui.test_metric_panel import OLD_STYLE

# The panel's own old-style example, written as Keras 3 calls it (reset_state): a metric that checks ok.
GOOD_METRIC = (OLD_STYLE.replace("OldAccuracy", "HitRate").replace('"old_accuracy"', '"hit_rate"')
               .replace("def reset_states", "def reset_state"))


async def wait_for(pilot, condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def intercept_starts(app) -> list[Preset]:
    """Record the preset each start hands to the app's run link (our own method, wrapped; nothing launched)."""
    launched: list[Preset] = []
    app.runs.start = launched.append
    return launched


async def train_form(app, pilot):
    await pilot.press("t")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, TrainScreen)
    return screen, screen.form


async def type_into(pilot, form, field_id: str, *keys: str) -> None:
    """Put the form's cursor on a field (arriving selects its text) and type."""
    form.focus()
    form.move_to(field_id)
    await pilot.pause()
    await pilot.press(*keys)
    await pilot.pause()


async def save_by_keys(app, pilot, name: str) -> None:
    """ctrl+s (the palette's "Save preset…" runs the same action), the name, enter."""
    await pilot.press("ctrl+s")
    await settle(app, pilot)
    assert isinstance(app.screen, SavePresetDialog)
    field = app.screen.query_one("#preset-name")
    await pilot.press("end", *["backspace"] * len(field.value), *name, "enter")
    await settle(app, pilot)
    assert not isinstance(app.screen, SavePresetDialog)


async def test_epochs_typed_in_the_train_form_are_what_ctrl_s_saves(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path))
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        _, form = await train_form(app, pilot)
        assert form["opt-epochs"].value == "5"
        await type_into(pilot, form, "opt-epochs", "7")
        assert form["opt-epochs"].value == "7"
        assert app.session.current_preset().fit.epochs == 7  # at once, nothing pressed after the key
        await save_by_keys(app, pilot, "mine")
    saved = presets.load(tmp_path / "mine.toml")
    assert saved.fit.epochs == 7
    assert saved.compile == presets.load("ex1").compile  # the other settings as they were


async def test_a_value_that_does_not_parse_is_shown_refused_at_start_and_the_session_keeps_the_last_good(
        tmp_path, monkeypatch):
    monkeypatch.setenv("KERASTUI_PRESETS", str(tmp_path))
    app = make_app("ex1", load_tensorflow=False)
    launched = intercept_starts(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, form = await train_form(app, pilot)
        await type_into(pilot, form, "opt-epochs", "7")
        await pilot.press("backspace")  # blank: not a number of epochs
        await pilot.pause()
        assert form["opt-epochs"].value == ""
        assert form.hint("epochs-error").startswith("✗ epochs")
        assert app.session.current_preset().fit.epochs == 7
        form["opt-epochs"].value = "abc"  # (keys cannot type letters there; code can)
        await pilot.pause()
        assert screen.settings_error.startswith("epochs") and app.session.preset.fit.epochs == 7
        # Other fields still reach the session while epochs does not parse.
        await type_into(pilot, form, "opt-batch", "1", "6")
        assert app.session.preset.fit.batch_size == 16
        await pilot.press("escape", "s")  # leave the field; s starts: refused, naming the field, in one line
        await pilot.pause()
        assert launched == [] and app.session.run_state is None
        refusal = [n for n in app._notifications if n.title == "settings"]
        assert refusal and refusal[-1].message.startswith("epochs") and "\n" not in refusal[-1].message
        await save_by_keys(app, pilot, "kept")  # saving meanwhile writes the last good value
        assert presets.load(tmp_path / "kept.toml").fit.epochs == 7
        # Another workspace and back: what is typed and does not parse stays, with its error.
        await pilot.press("escape", "m")
        await settle(app, pilot)
        screen, form = await train_form(app, pilot)
        assert form["opt-epochs"].value == "abc" and form.hint("epochs-error").startswith("✗ epochs")
        # Mended: the error goes, the session has it, s launches exactly the session's preset.
        await type_into(pilot, form, "opt-epochs", "3")
        assert form.hint("epochs-error") == "" and screen.settings_error is None
        await pilot.press("escape", "s")
        await pilot.pause()
        assert len(launched) == 1
        assert launched[0] == app.session.current_preset() and launched[0].fit.epochs == 3
        # A preset opened refills the form from the session (and no edit of it reaches the session).
        form["opt-epochs"].value = "abc"
        await pilot.pause()
        app.open_preset(presets.load("ex1", {"fit.epochs": 2, "data.samples": 300}))
        await settle(app, pilot)
        assert form["opt-epochs"].value == "2" and form.hint("epochs-error") == ""
        assert screen.settings_error is None
        assert app.session.current_preset() == presets.load("ex1", {"fit.epochs": 2, "data.samples": 300})


async def test_transfer_panel_edits_are_the_sessions_and_its_start_launches_the_sessions_preset():
    preset = presets.load("ex5", {"transfer.weights": "none", "transfer.base": "MobileNet",
                                  "data.source": "synthetic:images", "data.image_shape": [32, 32, 3],
                                  "data.limit": 64, "transfer.fine_tune_last": 4})
    app = make_app(preset, load_tensorflow=False)
    launched = intercept_starts(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p", "2")
        panel = app.screen.query_one(TransferPanel)
        await wait_for(pilot, lambda: panel.error is not None or (panel.table is not None
                                                                  and panel.weights_ok is not None))
        await settle(app, pilot)
        assert panel.error is None, panel.error
        await pilot.press("plus", "plus", "f")
        await pilot.pause()
        transfer = app.session.current_preset().transfer
        assert (transfer.fine_tune_last, transfer.freeze) == (6, False)
        app.screen.query_one("#tl-epochs").value = "3"
        app.screen.query_one("#tl-lr").value = "0.0002"
        app.screen.query_one("#tl-tensorboard").value = True
        await pilot.pause()
        current = app.session.current_preset()
        assert current.fit.epochs == 3 and current.transfer.fine_tune_learning_rate == 0.0002
        assert current.callbacks.tensorboard is not None
        # A learning rate that is not one: shown, the session keeps 0.0002, s refuses naming the field.
        app.screen.query_one("#tl-lr").value = "fast"
        await pilot.pause()
        assert app.session.current_preset().transfer.fine_tune_learning_rate == 0.0002
        assert "fine-tune learn rate" in str(app.screen.query_one("#tl-weights-hint").content)
        app.screen.query_one(TransferPanel).action_start()
        await pilot.pause()
        assert launched == []
        assert any(n.title == "transfer" and "fine-tune learn rate" in n.message for n in app._notifications)
        app.screen.query_one("#tl-lr").value = "1e-4"
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert len(launched) == 1 and launched[0] == app.session.current_preset()
        assert launched[0].transfer.fine_tune_learning_rate == 1e-4 and launched[0].fit.epochs == 3
        # The Train workspace shows the epochs the panel set (one preset, two forms).
        _, form = await train_form(app, pilot)
        assert form["opt-epochs"].value == "3"
        await type_into(pilot, form, "opt-epochs", "4")
        await pilot.press("escape", "p")
        await settle(app, pilot)
        assert app.screen.query_one("#tl-epochs").value == "4"


async def test_the_metric_panels_choice_is_the_sessions_and_its_start_launches_the_sessions_preset(tmp_path):
    path = tmp_path / "hit_rate.py"
    path.write_text(GOOD_METRIC)
    app = make_app(presets.load("ex4", {"compile.metrics": ["mae"]}), load_tensorflow=False)
    launched = intercept_starts(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await settle(app, pilot)
        panel = app.screen.query_one(MetricPanel)
        await wait_for(pilot, lambda: not panel.checking)
        await settle(app, pilot)
        assert app.session.preset.compile.custom_metrics == ["my_accuracy.py:MyAccuracy"]  # shown, not changed
        await pilot.press("f")
        field = app.screen.query_one("#metric-file")
        field.value = str(path)
        await pilot.press("enter")
        await pilot.pause(0.05)
        await wait_for(pilot, lambda: not panel.checking)
        await settle(app, pilot)
        assert panel.report is not None and panel.report.ok, panel.check_error
        assert app.session.current_preset().compile.custom_metrics == [f"{path}:HitRate"]
        assert app.session.current_preset().compile.metrics == ["mae"]
        await pilot.press("escape", "s")
        await pilot.pause()
        assert len(launched) == 1 and launched[0] == app.session.current_preset()
        # The comparison's one change, made by the session: the built-in it mirrors joins the metrics.
        assert launched[0].compile.metrics == ["mae", "accuracy"]
        assert launched[0].compile.custom_metrics == [f"{path}:HitRate"]

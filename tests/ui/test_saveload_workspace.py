"""Pilot: the Save/Load workspace by keys — save in every format and prove the reloads predict the
same, refuse corrupt files keeping the current model, open a model into the editor and train it
further, open a SavedModel for inference, predict samples and a typed row, export a script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from kerastui.core.run.directory import RunDir
from kerastui.core.run.trainer import prepare_data
from kerastui.core.saving import save_model
from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import ConfirmDialog
from kerastui.ui.screens.saveload import SaveLoadScreen, VerifyTable, parse_indices, save_target
from kerastui.ui.session import Origin
from tests.conftest import kerastui_imports
from tests.ui.helpers import settle, shown, squashed, started
from tests.ui.test_train_workspace import wait_for


async def trained_ex4(app, pilot, epochs: int = 2) -> None:
    """ex4 (iris) trained by keys in the Train workspace, then the Save/Load workspace shown."""
    await started(app, pilot)
    app.session.preset.fit.epochs = epochs
    await pilot.press("t")
    await settle(app, pilot)
    app.screen.form["opt-epochs"].value = str(epochs)
    await pilot.press("s")
    await wait_for(pilot, lambda: app.session.run_state is not None and not app.session.run_state.running and
                   app.session.run_state.result is not None)
    await settle(app, pilot)
    await pilot.press("v")
    await settle(app, pilot)
    assert isinstance(app.screen, SaveLoadScreen)


def set_value(app, selector: str, value: str) -> None:
    app.screen.query_one(selector).value = value


async def submit(app, pilot, selector: str, value: str) -> None:
    widget = app.screen.query_one(selector)
    widget.value = value
    widget.focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_save_by_key_round_trips_every_format_and_asks_before_overwriting(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot)
        assert "trained here" in shown(app, "#working-model", joiner=" ")
        set_value(app, "#save-path", str(tmp_path / "iris"))
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("s")
        await settle(app, pilot)
        results = app.screen.results
        assert [r.format for r in results] == ["keras", "h5", "savedmodel"]
        for r in results:
            assert r.max_abs_diff is not None and r.max_abs_diff <= 1e-6 and r.same, r
            assert r.bytes > 0 and r.load_seconds > 0
        assert results[2].tfsm_max_abs_diff <= 1e-6
        table = shown(app, "#verify-table")
        assert "iris.keras" in table and "iris.h5" in table and "iris_savedmodel" in table and "TFSMLayer" in table
        assert table.count("✓") == 4 and "differs" not in table
        assert "identical predictions" in shown(app, "#verify-verdict", joiner=" ")
        # The .keras file reloads with the optimizer although the .h5 was written in the same save.
        assert results[0].optimizer == "Adam"

        # Saving again asks first; "n" leaves every file as it was.
        before = (tmp_path / "iris.keras").read_bytes()
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "iris.keras" in app.screen.question and "iris.h5" in app.screen.question
        await pilot.press("n")
        await settle(app, pilot)
        assert "nothing was overwritten" in shown(app, "#saveload-message", joiner=" ")
        assert (tmp_path / "iris.keras").read_bytes() == before


async def test_missing_folders_are_created_asking_first_outside_the_current_and_run_folders(tmp_path, monkeypatch):
    """The default path works on first use; a new folder elsewhere is created only after a yes; a
    path under a file is a one-line error; the script's folder is created too."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot, epochs=1)
        for fmt in ("h5", "savedmodel"):  # .keras only: the folders are what this test is about
            app.screen.query_one(f"#fmt-{fmt}").value = False
        app.screen.query_one(VerifyTable).focus()
        assert app.screen.query_one("#save-path").value == str(work / "models" / "ex4")
        assert not (work / "models").exists()
        await pilot.press("s")  # the default path, first use: models/ is created, no question
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert (work / "models" / "ex4.keras").is_file(), shown(app, "#saveload-message", joiner=" ")

        # Inside the run's own folder: created at once too.
        run_dir = Path(app.session.run_state.run_dir)
        set_value(app, "#save-path", str(run_dir / "export" / "best"))
        await pilot.press("s")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmDialog) and (run_dir / "export" / "best.keras").is_file()

        # Outside both: asked first; no leaves nothing behind, yes creates every missing level.
        elsewhere = tmp_path / "elsewhere" / "a" / "b"
        set_value(app, "#save-path", str(elsewhere / "iris"))
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog) and str(elsewhere) in app.screen.question
        await pilot.press("n")
        await settle(app, pilot)
        assert not (tmp_path / "elsewhere").exists()
        assert "was not created" in shown(app, "#saveload-message", joiner=" ")
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert (elsewhere / "iris.keras").is_file()

        # A file where a folder should be: one line naming it, nothing written.
        (work / "notes").write_text("not a folder")
        set_value(app, "#save-path", str(work / "notes" / "sub" / "m"))
        await pilot.press("s")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        line = shown(app, "#saveload-message", joiner=" ")
        assert squashed(f"{work / 'notes'}: is a file, not a folder") in squashed(line)
        assert not (work / "notes").is_dir()

        # The script's folder is created like the model's.
        set_value(app, "#script-path", str(work / "scripts" / "ex4_train.py"))
        await pilot.press("w")
        await settle(app, pilot)
        assert (work / "scripts" / "ex4_train.py").is_file(), shown(app, "#saveload-message", joiner=" ")


async def test_corrupt_files_are_refused_in_one_line_and_the_current_model_is_kept(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot, epochs=1)
        model = app.session.trained.model
        good = save_model(model, tmp_path / "good.keras")
        truncated = tmp_path / "truncated.keras"
        truncated.write_bytes(good.read_bytes()[:300])
        text_h5 = tmp_path / "notes.h5"
        text_h5.write_text("this is not an HDF5 file\n")
        folder = tmp_path / "just_a_folder"
        folder.mkdir()
        (folder / "readme.txt").write_text("no saved_model.pb here")
        for path, reason in [(truncated, "not a valid .keras file"), (text_h5, "not a valid .h5 file"),
                             (folder, "not a SavedModel directory"), (tmp_path / "missing.keras", "not found")]:
            await submit(app, pilot, "#open-path", str(path))
            message = shown(app, "#saveload-message", joiner=" ")
            assert squashed(path.name) in squashed(message) and squashed(reason) in squashed(message), message
            assert "Traceback" not in message and "current model is kept" in message
            session = app.session
            assert session.opened is None and session.origin is Origin.TRAINED and session.trained.model is model
        assert "trained here" in shown(app, "#working-model", joiner=" ")


async def test_opened_keras_model_becomes_editable_layers_and_trains_further(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot, epochs=3)
        path = save_model(app.session.trained.model, tmp_path / "iris.keras")
        x = prepare_data(app.session.current_preset()).x_test
        expected = np.asarray(app.session.trained.model(x, training=False))

        await submit(app, pilot, "#open-path", str(path))
        opened = app.session.opened
        assert opened is not None and app.session.origin is Origin.OPENED
        assert [s.type for s in opened.specs] == ["Input", "Dense", "Dense"]
        assert opened.specs[1].kwargs == {"units": 16, "activation": "relu"}
        assert [s.type for s in app.session.stack.layers] == ["Input", "Dense", "Dense"]
        assert "editable in the Model workspace" in shown(app, "#opened-title", joiner=" ")
        # The layers table sizes itself when idle (DataTable): drawn within a few frames.
        await wait_for(pilot, lambda: shown(app, "#opened-layers").count("Dense") == 2, timeout=10)
        assert np.max(np.abs(opened.predict(x) - expected)) <= 1e-6

        # The Model workspace shows the opened layers with Keras's shapes and counts.
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("m")
        await settle(app, pilot)
        assert app.model_label == "131 params"
        assert "(None, 16)" in shown(app, "#layers")

        # Training goes on from the opened weights: the first epoch starts where the file left off.
        assert app.session.continued_model(app.session.current_preset()) is opened.model
        loss_before = app.session.run_state.history["loss"][-1]
        app.runs.start(app.session.current_preset())
        await wait_for(pilot, lambda: not app.session.run_state.running and app.session.run_state.result is not None)
        # The run process started from the opened file's weights (it names the file in its status).
        run = RunDir(Path(app.session.run_state.run_dir))
        assert run.status()["model"] == opened.path and run.status()["state"] == "completed"
        assert app.session.trained.model.count_params() == opened.model.count_params()
        fresh_first_loss = 1.2  # an untrained 3-class softmax starts near ln(3) ≈ 1.1
        assert app.session.run_state.history["loss"][0] < min(loss_before + 0.1, fresh_first_loss)
        assert app.session.origin is Origin.TRAINED

        # Edit the stack: the next run builds the model anew rather than reuse mismatched weights.
        app.session.stack.layers[1].kwargs["units"] = 8
        assert app.session.continued_model(app.session.current_preset()) is None


async def test_savedmodel_opens_for_inference_evaluate_and_predict(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot, epochs=2)
        export = save_model(app.session.trained.model, tmp_path / "iris_savedmodel", "savedmodel")
        layers_before = list(app.session.stack.layers)
        await submit(app, pilot, "#open-path", str(export))
        assert isinstance(app.screen, ConfirmDialog), "a SavedModel's graph runs: asked first"
        await pilot.press("y")  # the test's own export: trusted
        await settle(app, pilot)
        assert app.session.opened is not None and app.session.opened.format == "savedmodel"
        assert "inference only" in shown(app, "#opened-title", joiner=" ")
        assert app.session.stack.layers == layers_before, "a SavedModel does not replace the editor's layers"
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("e")
        await settle(app, pilot)
        evaluation = shown(app, "#saveload-evaluation", joiner=" ")
        assert "accuracy" in evaluation and "loss" in evaluation and "f1_macro" in evaluation

        await submit(app, pilot, "#predict-samples", "0-2, 5")
        predictions = shown(app, "#predictions")
        assert "setosa" in predictions or "versicolor" in predictions or "virginica" in predictions
        assert sum(line.lstrip().startswith(("0 ", "1 ", "2 ", "5 ")) for line in predictions.splitlines()) >= 4

        # Saving a traced export as .keras is refused with the reason.
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("s")
        await settle(app, pilot)
        assert "cannot be saved again" in shown(app, "#saveload-message", joiner=" ")


async def test_typed_row_is_scaled_like_training_and_predicted(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await trained_ex4(app, pilot, epochs=3)
        data = prepare_data(app.session.current_preset())
        # The first test sample, typed back in raw units, gets the model's prediction for that sample.
        mean, std = data.feature_scale
        raw = data.x_test[0] * std + mean
        await submit(app, pilot, "#predict-row", ", ".join(f"{v:.6f}" for v in raw))
        predictions = shown(app, "#predictions")
        assert "typed" in predictions
        proba = np.asarray(app.session.trained.model(data.x_test[:1], training=False))[0]
        assert data.class_names[int(proba.argmax())] in predictions
        assert f"{proba.max():.3f}" in predictions

        await submit(app, pilot, "#predict-row", "1, 2")
        assert "has 4 values" in shown(app, "#saveload-message", joiner=" ")
        await submit(app, pilot, "#predict-row", "a, b, c, d")
        assert "not a list of numbers" in shown(app, "#saveload-message", joiner=" ")
        await submit(app, pilot, "#predict-samples", "999")
        assert "outside the test split" in shown(app, "#saveload-message", joiner=" ")


async def test_export_script_by_key_writes_a_runnable_script_and_asks_before_overwriting(tmp_path):
    app = make_app("ex4")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        target = tmp_path / "iris_train.py"
        set_value(app, "#script-path", str(target))
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("w")
        await settle(app, pilot)
        text = target.read_text()
        assert "import keras" in text and kerastui_imports(text) == []
        compile(text, str(target), "exec")
        target.write_text("# mine\n")
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert target.read_text() == "# mine\n"
        assert "kept" in shown(app, "#saveload-message", joiner=" ")


async def test_nothing_to_save_says_what_to_do():
    app = make_app("ex1")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        app.screen.query_one(VerifyTable).focus()
        await pilot.press("s")
        await settle(app, pilot)
        assert "no working model" in shown(app, "#saveload-message", joiner=" ")


def test_paths_and_sample_indices_are_parsed_strictly(tmp_path):
    assert save_target(str(tmp_path / "net.keras")) == (tmp_path, "net")
    assert save_target(str(tmp_path / "net_savedmodel")) == (tmp_path, "net")
    assert save_target(str(tmp_path / "net")) == (tmp_path, "net")
    assert parse_indices("0-2, 7", 10) == [0, 1, 2, 7]
    for bad, reason in [("x", "not an index"), ("3-a", "not an index"), ("10", "outside")]:
        try:
            parse_indices(bad, 10)
        except ValueError as error:
            assert reason in str(error)
        else:
            raise AssertionError(bad)


def test_the_tui_module_imports_no_keras():
    code = ("import sys; import kerastui.ui.screens.saveload; "
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert out.split() == ["False", "False"]


async def test_image_predictions_draw_the_samples_with_predicted_and_true_labels(tmp_path):
    from kerastui.core.model import presets

    app = make_app(presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": 1}))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.runs.start(app.session.current_preset())
        await wait_for(pilot, lambda: not app.session.run_state.running and app.session.run_state.result is not None)
        await pilot.press("v")
        await settle(app, pilot)
        await submit(app, pilot, "#predict-samples", "0-3")
        picture = shown(app, "#predictions")
        assert any(ch in picture for ch in "▀▄█"), "the digits are drawn with half blocks"
        data = prepare_data(app.session.current_preset())
        truth = [data.class_names[int(label)] for label in data.labels_test[:4]]
        for name in truth:
            assert f"/{name}" in picture  # predicted/true under each image
        assert "top 3" in picture

"""Pilot: starting a run whose preset has a TFSMLayer (a SavedModel's graph, code that runs) asks
first, naming the layer, its file and the risk, at every start: n (and enter, escape) starts
nothing; y starts the run process trusted (``--trust-model``), and the graph runs in training."""

from __future__ import annotations

import time
from pathlib import Path

from kerastui.core.run.directory import RunDir
from kerastui.core.run.status import RunStatus
from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import RiskDialog, TrustDialog
from kerastui.ui.screens.train import TrainScreen
from tests.ui.helpers import settle, started
from tests.unit.test_trust import preset_text, write_savedmodel


async def wait_for(pilot, condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


async def test_a_preset_that_runs_a_savedmodel_starts_only_after_y_and_then_runs_trusted(tmp_path):
    marker = tmp_path / "marker.txt"
    savedmodel = write_savedmodel(tmp_path / "graph_savedmodel", marker)
    path = tmp_path / "tfsm.toml"
    path.write_text(preset_text(savedmodel), encoding="utf-8")
    runs = tmp_path / "runs"
    app = make_app(path, runs_dir=runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TrainScreen)

        # Asked, and asked again at each start: n, enter and escape all start nothing.
        for key in ("n", "enter", "escape"):
            await pilot.press("s")
            await settle(app, pilot)
            assert isinstance(app.screen, TrustDialog) and isinstance(app.screen, RiskDialog), key
            question = app.screen.question
            assert f"model.layers[1]: TFSMLayer loads and runs a SavedModel's graph from {savedmodel}" in question
            assert "it can read, change or delete your files" in question and "this once?" in question
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, TrainScreen), key
            assert app.session.run_state is None and not app.session.training, key
            assert not any(runs.glob("*/status.json")), f"{key}: a run directory was made"
            assert not marker.exists()

        # y: the run process starts trusted, trains, and its SavedModel's graph ran.
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.session.run_state is not None and not app.session.run_state.running)
        await settle(app, pilot)
        state = app.session.run_state
        run = RunDir(Path(state.run_dir))
        assert run.path.parent == runs
        status = run.status()
        assert status["state"] == RunStatus.COMPLETED and status["trusted"] is True, status.get("error")
        assert marker.read_text() == "the graph ran"
        # Its saved model (it holds the TFSMLayer) was loaded back: the trust recorded in the run says so.
        assert app.session.trained is not None


async def test_resuming_a_run_started_untrusted_asks_and_n_leaves_it_as_it_was(tmp_path):
    from kerastui.core.model import presets

    marker = tmp_path / "marker.txt"
    savedmodel = write_savedmodel(tmp_path / "graph_savedmodel", marker)
    path = tmp_path / "tfsm.toml"
    path.write_text(preset_text(savedmodel), encoding="utf-8")
    runs = tmp_path / "runs"
    run = RunDir.create(runs, "tfsm")  # a run whose untrusted process refused the model: failed
    run.write_preset(presets.load(path))
    run.set_status(state=RunStatus.FAILED, trusted=False, preset="tfsm", error="not trusted")
    app = make_app("ex1", runs_dir=runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.runs.resume(run.path)
        await settle(app, pilot)
        assert isinstance(app.screen, TrustDialog) and "Only resume it if you trust these files" in app.screen.question
        await pilot.press("n")
        await settle(app, pilot)
        assert not isinstance(app.screen, RiskDialog) and app.session.run_state is None
        assert run.status()["state"] == RunStatus.FAILED and not marker.exists()

        app.runs.resume(run.path)
        await settle(app, pilot)
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.session.run_state is not None and not app.session.run_state.running)
        await settle(app, pilot)
        status = run.status()
        assert status["state"] == RunStatus.COMPLETED and status["trusted"] is True, status.get("error")
        assert marker.read_text() == "the graph ran"

"""Pilot: the transfer panel of the Experiments workspace (p, then 2) on ex5 with random weights and
32×32×3 synthetic images — counts against Keras's own, N moved by keys, a 1+1-epoch two-phase run
by keys, offline imagenet; and snapshots of the panel from a recorded two-phase event stream."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from kerastui.core.model import presets
from kerastui.core.run.events import BatchEnded, EpochEnded, TrainEnded, TrainStarted
from kerastui.core.run.trainer import RunResult
from kerastui.ui.app import make_app
from kerastui.ui.messages import TrainingEvents
from kerastui.ui.panels.transfer import PhaseChart, StageTable, TransferPanel
from kerastui.ui.state import RunState
from kerastui.ui.widgets.footer import KeyFooter
from tests.conftest import REPO, offline_env
from tests.ui.helpers import settle, shown, started

OFFLINE = {"transfer.weights": "none", "data.source": "synthetic:images", "data.image_shape": [32, 32, 3],
           "data.limit": 64}


def ex5(**overrides):
    return presets.load("ex5", {**OFFLINE, **overrides})


async def wait_for(pilot, condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


async def open_panel(app, pilot, *, weights_checked: bool = True) -> TransferPanel:
    """p (Experiments), 2 (Transfer); wait until the base is built (and its weights checked)."""
    await pilot.press("p", "2")
    panel = app.screen.query_one(TransferPanel)
    await wait_for(pilot, lambda: panel.error is not None or (
        panel.table is not None and (panel.weights_ok is not None or not weights_checked)))
    await settle(app, pilot)
    assert panel.error is None, panel.error
    return panel


def keras_trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def keras_counts(preset):
    """Keras's own trainable counts of ex5's model: base frozen, then the last 10 layers unfrozen."""
    from kerastui.core.model.builder import build_model
    from kerastui.core.model.transfer import freeze, unfreeze_last

    built = build_model(preset, (32, 32, 3))
    freeze(built.base)
    frozen = keras_trainable(built.model)
    last10 = built.base.layers[-10:]
    seven = sum(layer.count_params() for layer in last10 if type(layer).__name__ != "BatchNormalization")
    unfreeze_last(built.base, 10)
    return frozen, keras_trainable(built.model), seven, built.model.count_params()


async def test_counts_follow_the_n_keys_and_the_freeze_toggle_and_match_keras():
    preset = ex5(**{"transfer.fine_tune_last": 0})
    frozen, tuned, seven, total = keras_counts(preset)
    app = make_app(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        panel = await open_panel(app, pilot)
        assert isinstance(app.screen.focused, StageTable)  # the keys act at once
        assert len(panel.table.layers) == 175
        counts = shown(app, "#tl-counts")
        assert f"phase 1 (head){frozen:>15,}{total - frozen:>14,}" in counts
        assert frozen == 2048 * 5 + 5
        assert "phase 2 (last 0)" in counts and "no fine-tuning phase" in counts
        builds = panel.builds.latest
        await pilot.press(*["plus"] * 12, "minus", "minus")
        assert panel.last_n == 10
        counts = shown(app, "#tl-counts")
        assert f"phase 2 (last 10){tuned:>12,}{total - tuned:>14,}" in counts
        assert tuned == frozen + seven
        assert "7 of last 10 train; 3 BatchNorm kept frozen" in counts
        table = app.screen.query_one(StageTable)
        assert str(table.get_cell("s6", "name")) == "▸ conv5_x (32)"
        assert str(table.get_cell("s6", "ph2")) == "7/32" and str(table.get_cell("s5", "ph2")) == "·"
        assert app.screen.query_one("#tl-n").value == "10"
        assert panel.builds.latest == builds  # moving N is a sum over the table: no base was rebuilt
        await pilot.press("right_square_bracket")  # the whole of conv5_x
        assert panel.last_n == 32 and str(table.get_cell("s6", "ph2")) == "22/32"
        await pilot.press("left_square_bracket", "f")
        assert panel.last_n == 0 and panel.freeze is False
        assert "phase 1 (+base)" in shown(app, "#tl-counts")
        assert str(table.get_cell("s3", "ph1")) == "✓"
        assert app.session.preset.transfer.freeze is False  # the preset follows: ctrl+s saves what is shown
        await pilot.press("enter")  # unfold the input stage
        assert table.row_count == 8 and str(table.get_cell("l0", "name")).strip() == panel.table.layers[0].name
        # 1 and 2 put the keys in the panel shown, every time. Textual handed the focus of a widget
        # hidden by the switch to a sibling in the hidden pane (the metric file field), where f, s, +…
        # went unseen: timing-dependent at first, then on every 1 → 2.
        for key, pane_id, first in [("1", "metric", "metric-table"), ("2", "transfer", "tl-layers")] * 4:
            await pilot.press(key)
            await pilot.pause()
            assert app.screen.focused is app.screen.query_one(f"#{first}"), (key, app.screen.focused)
            assert app.screen.query_one(f"#{pane_id}").display
        await pilot.press("plus")  # a panel key reaches the panel
        assert panel.last_n == 1


async def test_two_phase_run_by_keys_records_both_phases_with_the_boundary_and_the_phase_table(tmp_path):
    logs = tmp_path / "tb"
    # MobileNet rather than ResNet50: the run is a process of its own that builds, trains, saves and
    # the TUI loads back its model; the phases, counts and charts are the same for any base.
    preset = ex5(**{"fit.epochs": 1, "transfer.fine_tune_epochs": 1, "transfer.fine_tune_last": 10,
                    "transfer.base": "MobileNet", "callbacks.tensorboard.log_dir": str(logs)})
    app = make_app(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        panel = await open_panel(app, pilot)
        expected = panel.table.phase2(10).trainable
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None
                       and app.session.run_state.status not in ("running", "stopping"))
        await settle(app, pilot)
        state = app.session.run_state
        assert state.status == "completed", state.error
        result = state.result
        assert [p["name"] for p in result.phases] == ["head", "fine_tune"]
        assert [p["epochs"] for p in result.phases] == [1, 1]
        assert result.phases[0]["trainable"] == panel.table.phase1(True).trainable
        assert result.phases[1]["trainable"] == expected
        assert state.boundaries == [1]
        chart = app.screen.query_one(PhaseChart)
        assert chart.boundaries == [1] and len(chart.history["accuracy"]) == 2
        assert "TransferPanel" in {type(n).__name__ for n in chart.ancestors}
        assert "-has-run" in panel.classes
        phases = shown(app, "#tl-phases")
        for metric in ("accuracy", "loss"):
            head, tune = (p["test"][metric] for p in result.phases)
            name = "acc" if metric == "accuracy" else metric
            assert f"test {name}" in phases and f"{head:.4f}" in phases and f"{tune:.4f}" in phases
        assert "completed" in shown(app, "#tl-run") and "phase 2 · fine-tune" in shown(app, "#tl-run")
        for phase in ("head", "fine_tune"):
            assert list((logs / phase / "train").glob("events.out.tfevents.*")), phase


def test_offline_imagenet_says_so_in_one_line_and_offers_none_or_a_file(tmp_path):
    """Run in a fresh process: Keras reads its cache folder (KERAS_HOME) when imported, so only a
    new process sees an empty cache — whatever this machine's ~/.keras holds."""
    env = offline_env(tmp_path)
    code = "import asyncio, tests.ui.test_transfer_panel as t; asyncio.run(t.offline_imagenet_scenario())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.strip().endswith("offline scenario passed")


async def offline_imagenet_scenario() -> None:
    """The pilot side of the test above (in the child process, offline, with an empty Keras cache)."""
    app = make_app(ex5(**{"transfer.weights": "imagenet"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        panel = await open_panel(app, pilot)
        assert panel.weights_ok is False
        info = shown(app, "#tl-info")
        assert "\n" not in info and info.startswith("✗ imagenet offline · w: none or a weights file")
        assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in shown(app, "#tl-weights-hint", joiner="")
        assert panel.table is not None and len(panel.table.layers) == 175  # the table still shows
        await pilot.press("s")  # refused: the reason, and no run
        assert app.session.run_state is None
        assert any("imagenet offline" in n.message for n in app._notifications)
        await pilot.press("w")
        await wait_for(pilot, lambda: panel.weights_ok is True)
        await settle(app, pilot)
        assert "none: random" in shown(app, "#tl-info")
        assert app.session.preset.transfer.weights == "none"
        await pilot.press("w")
        assert str(app.screen.query_one("#tl-weights").value) == "file"
        assert app.screen.focused is app.screen.query_one("#tl-file")
    print("offline scenario passed")


# --------------------------------------------------------------------------- snapshots

SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
RECORDED = [
    TrainStarted("head", 2, 0, 2, 57, 32),
    *[BatchEnded("head", 0, b, 2, {"loss": 1.7 - b * 0.1, "accuracy": 0.25}) for b in range(2)],
    EpochEnded("head", 0, {"loss": 1.62, "accuracy": 0.26, "val_loss": 1.58, "val_accuracy": 0.29,
                           "learning_rate": 1e-3}),
    EpochEnded("head", 1, {"loss": 1.41, "accuracy": 0.41, "val_loss": 1.44, "val_accuracy": 0.43,
                           "learning_rate": 1e-3}),
    TrainEnded("head", 2, "completed"),
    TrainStarted("fine_tune", 2, 2, 2, 57, 32),
    EpochEnded("fine_tune", 2, {"loss": 1.12, "accuracy": 0.58, "val_loss": 1.21, "val_accuracy": 0.57,
                                "learning_rate": 1e-5}),
    EpochEnded("fine_tune", 3, {"loss": 0.93, "accuracy": 0.69, "val_loss": 1.05, "val_accuracy": 0.71,
                                "learning_rate": 1e-5}),
    TrainEnded("fine_tune", 2, "completed"),
]
PHASES = [{"name": "head", "epochs": 2, "trainable": 10245, "test": {"loss": 1.47, "accuracy": 0.4}},
          {"name": "fine_tune", "epochs": 2, "trainable": 4469765, "test": {"loss": 1.08, "accuracy": 0.68}}]


@pytest.fixture
def _pinned_machine(monkeypatch):
    monkeypatch.setenv("KERASTUI_PRESETS", "/nonexistent/kerastui-snapshots/presets")


@pytest.mark.usefixtures("_pinned_machine")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_snapshot_transfer_panel_after_a_recorded_two_phase_run(snap_compare, size):
    app = make_app(ex5(**{"fit.epochs": 2, "transfer.fine_tune_epochs": 2}), deterministic=True)

    async def run_before(pilot):
        await started(app, pilot, model_size=True)
        panel = await open_panel(app, pilot)
        assert panel.last_n == 10
        app.session.run_state = RunState(status="running", clock=lambda: 0.0)
        for event in RECORDED:
            app.post_message(TrainingEvents(None, [event]))
        await settle(app, pilot)
        app.session.run_state.result = RunResult(preset="ex5", status="completed", epochs_run=4, phases=PHASES)
        app.session.run_state.status = "completed"
        app.redraw_training(full=True)
        await settle(app, pilot)
        assert app.session.run_state.boundaries == [2]
        assert shown(app, "#tl-info").startswith("ResNet50 · 175 layers · 32×32×3")
        # The layer table has the focus (the panel's keys act on it): the footer follows the focus a
        # refresh later, so the picture waits for it (it was taken either side of that, by load).
        assert app.screen.focused is panel.stages
        await wait_for(pilot, lambda: "Freeze" in app.screen.query_one(KeyFooter).render().plain)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_hiding_the_focused_chart_leaves_the_keys_with_the_panel():
    """The chart has the focus; the terminal narrows under 100 columns, or c shows the phase table
    instead: the layer table takes the focus (Textual would drop it: the chart has no focusable
    sibling) and the panel's keys still work."""
    app = make_app(ex5(**{"fit.epochs": 2, "transfer.fine_tune_epochs": 2}))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        panel = await open_panel(app, pilot)
        app.session.run_state = RunState(status="running")
        for event in RECORDED:  # a run drawn: the chart is shown below the layer table
            app.post_message(TrainingEvents(None, [event]))
        await settle(app, pilot)
        chart = app.screen.query_one(PhaseChart)
        chart.focus()
        await pilot.pause()
        assert app.screen.focused is chart and chart.region.area > 0
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        assert chart.region.area == 0 and app.screen.focused is panel.stages
        await pilot.press("c")
        await pilot.pause()
        chart.focus()
        await pilot.pause()
        assert app.screen.focused is chart and chart.region.area > 0
        before = panel.last_n
        await pilot.press("c", "plus")
        assert chart.region.area == 0 and app.screen.focused is panel.stages
        assert panel.last_n == before + 1

"""Pilot: the custom-metric panel of the Experiments workspace — ex4 trained from it with the
built-in and custom columns equal every epoch, the Keras 2 ``reset_states`` warning with its
line, an exception inside a metric shown with file and line (the app survives), and snapshots
from a recorded event stream."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kerastui.core.model import presets
from kerastui.core.run.events import EpochEnded, TrainEnded, TrainStarted
from kerastui.ui.app import make_app
from kerastui.ui.messages import TrainingEvents
from kerastui.ui.panels.metric import MetricPanel, MetricTable
from kerastui.ui.state import RunState
from kerastui.ui.widgets.choice import ChoiceList
from tests.ui.helpers import settle, started

OLD_STYLE = '''\
import keras
from keras import ops


class OldAccuracy(keras.metrics.Metric):
    mirrors = "accuracy"

    def __init__(self, name="old_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_weight(name="correct", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1))
        self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
        self.total.assign_add(ops.cast(ops.shape(y_pred)[0], "float32"))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_states(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)
'''
OLD_STYLE_LINE = 21  # the line of ``def reset_states``

RAISES = '''\
import keras


class Broken(keras.metrics.Metric):
    mirrors = "accuracy"

    def __init__(self, name="broken", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise ValueError("labels and predictions disagree in Broken")

    def result(self):
        return self.total
'''
RAISES_LINE = 12


async def wait_for(pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def plain(app, selector: str) -> str:
    """The whole text a Static of the panel holds (unwrapped)."""
    content = app.screen.query_one(selector).content
    return getattr(content, "plain", str(content))


async def open_panel(app, pilot) -> MetricPanel:
    await pilot.press("p")
    await settle(app, pilot)
    panel = app.screen.query_one(MetricPanel)
    await wait_for(pilot, lambda: not panel.checking)
    await settle(app, pilot)
    return panel


async def check_file(app, pilot, panel: MetricPanel, path: Path) -> None:
    """Type-free entry of a path: focus the field (f), put the path in, enter checks it."""
    await pilot.press("f")
    field = app.screen.query_one("#metric-file")
    assert app.screen.focused is field
    field.value = str(path)
    await pilot.press("enter")
    await pilot.pause(0.05)
    await wait_for(pilot, lambda: not panel.checking)
    await settle(app, pilot)


def number(cell) -> float:
    return float(str(getattr(cell, "plain", cell)))


async def test_ex4_trained_from_the_panel_gives_equal_builtin_and_custom_columns_every_epoch():
    app = make_app(presets.load("ex4", {"fit.epochs": 3}))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_panel(app, pilot)
        assert panel.report is not None and panel.report.ok, panel.check_error
        assert "✓ MyAccuracy" in plain(app, "#metric-check") and "mirrors accuracy" in plain(app, "#metric-check")
        assert isinstance(app.screen.focused, MetricTable)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.result is not None)
        await settle(app, pilot)
        state = app.session.run_state
        assert state.status == "completed"
        history = state.history
        table = app.screen.query_one(MetricTable)
        assert table.row_count == 3
        for i in range(3):
            epoch, tb, tc, td, vb, vc, vd = table.get_row_at(i)
            assert number(epoch) == i + 1
            # The built-in column is Keras's accuracy, the custom one MyAccuracy's, as logged.
            assert number(tb) == pytest.approx(history["accuracy"][i], abs=1e-4)
            assert number(tc) == pytest.approx(history["my_accuracy"][i], abs=1e-4)
            assert number(vb) == pytest.approx(history["val_accuracy"][i], abs=1e-4)
            assert number(vc) == pytest.approx(history["val_my_accuracy"][i], abs=1e-4)
            assert number(td) <= 1e-6 and number(vd) <= 1e-6
            assert abs(history["accuracy"][i] - history["my_accuracy"][i]) <= 1e-6
            assert abs(history["val_accuracy"][i] - history["val_my_accuracy"][i]) <= 1e-6
        assert len(panel.comparison.rows) == 3 and panel.comparison.agree is True
        verdict = plain(app, "#metric-verdict")
        assert verdict.startswith("✓ my_accuracy equals accuracy within 1e-06") and "3 epoch(s)" in verdict
        chart = app.screen.query_one("#metric-chart")
        assert chart.comparison is panel.comparison


async def test_a_metric_with_only_reset_states_is_warned_naming_the_line(tmp_path):
    path = tmp_path / "old_accuracy.py"
    path.write_text(OLD_STYLE)
    assert path.read_text().splitlines()[OLD_STYLE_LINE - 1].strip().startswith("def reset_states")
    app = make_app(presets.load("ex4"))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_panel(app, pilot)
        await check_file(app, pilot, panel, path)
        assert panel.report is not None and panel.report.class_name == "OldAccuracy"
        text = plain(app, "#metric-check")
        assert f"⚠ {path}:{OLD_STYLE_LINE}: OldAccuracy defines reset_states, which Keras 3 never calls" in text
        assert "reset_state (inherited)" in text


async def test_the_file_field_completes_file_and_class_and_the_examples_pick_by_keys():
    app = make_app(presets.load("ex4"))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_panel(app, pilot)
        await pilot.press("f", "ctrl+u")  # focus the field, clear it
        field = app.screen.query_one("#metric-file")
        await pilot.press(*"weigh")
        await pilot.pause(0.2)
        await pilot.press("right", ":")  # → accepts the completion (relative to the preset's folder)
        await pilot.pause(0.2)
        await pilot.press("right")
        assert field.value == "weighted_accuracy.py:WeightedAccuracy"
        await pilot.press("enter")
        await pilot.pause(0.05)
        await wait_for(pilot, lambda: not panel.checking)
        assert panel.report.class_name == "WeightedAccuracy" and panel.report.ok
        assert "mirrors accuracy" in plain(app, "#metric-check")
        await pilot.press("escape", "e")  # the list opens on the example the field names
        assert app.screen.query_one(ChoiceList).highlighted == 2
        await pilot.press("up", "enter")  # the one above it
        await pilot.pause(0.05)
        await wait_for(pilot, lambda: not panel.checking)
        await settle(app, pilot)
        assert field.value == "top_k_accuracy.py:TopKAccuracy"
        assert panel.report.mirrors == "top_k_categorical_accuracy" and panel.report.name == "my_top_k_accuracy"
        field.value = "nothing_here.py"
        await settle(app, pilot)
        assert plain(app, "#metric-check").startswith("✗ nothing_here.py: not found")


async def test_a_metric_that_raises_shows_the_error_with_file_and_line_and_the_app_survives(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(RAISES)
    app = make_app(presets.load("ex4", {"fit.epochs": 2}))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_panel(app, pilot)
        await check_file(app, pilot, panel, path)
        assert panel.report is not None and panel.report.ok, panel.report
        await pilot.press("escape", "s")
        await wait_for(pilot, lambda: app.session.run_state is not None and app.session.run_state.status == "failed")
        await settle(app, pilot)
        where = f"{path}:{RAISES_LINE}: ValueError: labels and predictions disagree in Broken"
        assert where in plain(app, "#metric-run")
        assert any(where in n.message for n in app._notifications)
        # Still running and responsive: the workspace keys work, and the panel can train again.
        assert app.is_running
        await pilot.press("t")
        await settle(app, pilot)
        assert app.current_mode == "train"


# --------------------------------------------------------------------------- snapshots

SIZES = {"120x40": (120, 40), "80x24": (80, 24)}


def recorded() -> list:
    """Eight epochs of ex4 as a run would log them: the custom metric equal to the built-in one,
    except for one float32 rounding step in epoch 5's validation value."""
    train = [0.42, 0.61, 0.70, 0.78, 0.83, 0.87, 0.90, 0.92]
    val = [0.48, 0.62, 0.71, 0.81, 0.86, 0.90, 0.90, 0.95]
    events = [TrainStarted("train", 8, 0, 6, 96, 16)]
    for epoch, (t, v) in enumerate(zip(train, val, strict=True)):
        logs = {"loss": 1.1 - 0.1 * epoch, "accuracy": t, "my_accuracy": t, "val_loss": 1.0 - 0.1 * epoch,
                "val_accuracy": v, "val_my_accuracy": v + (6e-8 if epoch == 4 else 0.0), "learning_rate": 0.01}
        events.append(EpochEnded("train", epoch, logs, 0.1))
    events.append(TrainEnded("train", 8, "completed"))
    return events


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_snapshot_metric_panel_after_a_recorded_run(snap_compare, size):
    app = make_app("ex4", deterministic=True)

    async def run_before(pilot):
        await started(app, pilot, model_size=True)
        panel = await open_panel(app, pilot)
        assert panel.report is not None and panel.report.ok
        app.session.run_state = RunState(status="running", clock=lambda: 0.0)
        for event in recorded():
            app.post_message(TrainingEvents(None, [event]))
        await settle(app, pilot)
        app.session.run_state.status = "completed"
        app.redraw_training(full=True)
        await settle(app, pilot)
        assert app.screen.query_one(MetricTable).row_count == 8

    assert snap_compare(app, terminal_size=size, run_before=run_before)

"""The UI's plain-Python parts, without a pilot: the session, the redraw throttle, "the latest wins"."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from kerastui.core.model import presets
from kerastui.core.model.specs import LayerSpec, ObjectSpec, TransferSpec
from kerastui.core.run.status import RunStatus
from kerastui.core.run.trainer import Trainer
from kerastui.core.saving import open_model, save_model
from kerastui.ui.latest import Requests
from kerastui.ui.session import Origin, Session, TrainedModel, WorkingModel
from kerastui.ui.throttle import RedrawThrottle


def tiny(epochs: int = 1):
    return presets.load("ex1", {"fit.epochs": epochs, "data.samples": 200})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    trainer = Trainer(tiny(), runs_dir=tmp_path_factory.mktemp("runs"))
    trainer.run()
    return trainer


# ---------------------------------------------------------------------- Session


def test_a_new_session_has_the_presets_stack_and_no_working_model() -> None:
    session = Session(tiny())
    assert session.stack.layers == session.preset.model.layers
    assert session.stack.layers is not session.preset.model.layers  # edits do not touch the preset
    assert session.origin is Origin.NONE and session.working_model() is None and not session.training
    assert session.name == "ex1"
    assert Session().name == "untitled"


def test_current_preset_carries_the_edited_stack_and_is_a_copy() -> None:
    session = Session(tiny())
    session.stack.insert(0, LayerSpec("Dense", {"units": 3}))
    preset = session.current_preset()
    assert preset.model.layers[0].type == "Dense" and preset.model.layers[0].kwargs == {"units": 3}
    assert len(session.preset.model.layers) == len(preset.model.layers) - 1
    preset.model.layers.clear()
    assert session.stack.layers  # the copy is the caller's


def test_a_finished_run_is_the_working_model_until_a_file_is_opened(trained: Trainer, tmp_path) -> None:
    session = Session(tiny())
    state = session.training_started(session.current_preset())
    assert session.training and session.run_state is state and state.status == "starting"
    assert session.working_model() is None  # never the model of a run still going
    model = TrainedModel(trained.model, trained.data, {}, "runs/x")
    assert session.training_finished(trained.result, [{"index": 0}], None, model) is state
    assert state.status == "completed" and state.result is trained.result and state.predictions == [{"index": 0}]
    assert not session.training and state.run_dir == trained.result.run_dir
    assert session.origin is Origin.TRAINED
    assert session.working_model() == WorkingModel(trained.model, "keras", "trained here (runs/x)")
    assert session.trained_data() is trained.data

    path = save_model(trained.model, tmp_path / "m.keras")
    opened = open_model(path, session.current_preset())
    session.model_opened(opened)
    assert session.origin is Origin.OPENED and session.trained_data() is None
    working = session.working_model()
    assert working is not None and working.model is opened.model and working.where == f"opened {opened.path}"
    assert opened.specs is not None and session.stack.layers == opened.specs  # mapped layers are the stack

    # Training goes on from the opened weights while the stack is the one it was opened with.
    assert session.continued_model(session.current_preset()) is opened.model
    edited = session.current_preset()
    edited.model.layers.append(LayerSpec("Dense", {"units": 2}))
    assert session.continued_model(edited) is None

    # A preset opened next: the opened file goes, the last run's model is the working model again.
    session.open_preset(tiny())
    assert session.opened is None and session.origin is Origin.TRAINED and session.dataset_preview is None


def test_an_interrupted_run_leaves_the_working_model_as_it_was(trained: Trainer) -> None:
    session = Session(tiny())
    session.training_started(session.current_preset())
    result = copy.copy(trained.result)
    result.status = "interrupted"
    state = session.training_finished(result, [], None)  # no model saved: nothing loaded back
    assert state is not None and state.status == "interrupted"
    assert session.origin is Origin.NONE and session.working_model() is None


def test_opening_a_preset_with_no_run_leaves_no_working_model(trained: Trainer, tmp_path) -> None:
    session = Session(tiny())
    session.model_opened(open_model(save_model(trained.model, tmp_path / "m.keras"), session.current_preset()))
    session.open_preset(copy.deepcopy(session.preset))
    assert session.origin is Origin.NONE and session.working_model() is None


def test_training_started_takes_the_runs_settings_but_keeps_the_stack() -> None:
    session = Session(tiny())
    session.stack.delete(0)
    run = tiny()
    run.fit.epochs = 7
    session.prediction_images = np.zeros((1, 2, 2, 1))
    session.training_started(run)
    assert session.preset.fit.epochs == 7 and session.prediction_images is None
    assert len(session.stack.layers) == len(run.model.layers) - 1


def test_an_edit_replaces_the_sections_given_with_copies_and_leaves_the_others() -> None:
    session = Session(tiny())
    before = session.current_preset()
    fit = replace(session.preset.fit, epochs=7)
    devices = replace(session.preset.devices, gpus=[0, 2])
    session.edit(fit=fit, devices=devices)
    after = session.current_preset()
    assert after.fit.epochs == 7 and after.devices.gpus == [0, 2]
    assert (after.compile, after.data, after.callbacks, after.transfer) == (
        before.compile, before.data, before.callbacks, before.transfer)
    devices.gpus.append(3)  # the caller's object is not the preset's
    assert session.current_preset().devices.gpus == [0, 2]
    session.edit()
    assert session.current_preset() == after


def test_a_custom_metric_is_the_presets_and_its_mirror_joins_the_metrics_once() -> None:
    session = Session(tiny())
    session.edit(compile=replace(session.preset.compile, metrics=["mae"]))
    assert session.use_custom_metric("m.py:Hits") is None  # the choice alone: the metrics stay
    assert session.current_preset().compile.custom_metrics == ["m.py:Hits"]
    assert session.current_preset().compile.metrics == ["mae"]
    assert session.use_custom_metric("m.py:Hits", "accuracy") == "accuracy"
    assert session.use_custom_metric("m.py:Hits", "accuracy") == "accuracy"  # twice: listed once
    assert session.current_preset().compile.metrics == ["mae", "accuracy"]
    # A top-2 metric beside top_k_categorical_accuracy (top-5): a name of its own.
    top2 = ObjectSpec("TopKCategoricalAccuracy", {"k": 2})
    session.edit(compile=replace(session.preset.compile, metrics=["top_k_categorical_accuracy"]))
    assert session.use_custom_metric("m.py:Top2", top2) == "top_2_categorical_accuracy"
    assert session.current_preset().compile.metrics[1] == ObjectSpec(
        "TopKCategoricalAccuracy", {"k": 2, "name": "top_2_categorical_accuracy"})


def test_use_transfer_makes_a_transfer_preset_whose_head_is_the_stack() -> None:
    session = Session(tiny())
    head = [LayerSpec("GlobalAveragePooling2D", {}), LayerSpec("Dense", {"units": 3, "activation": "softmax"})]
    session.use_transfer(TransferSpec(base="MobileNet", weights="none"), head)
    preset = session.current_preset()
    assert preset.transfer == TransferSpec(base="MobileNet", weights="none")
    assert preset.model.type == "sequential" and preset.model.layers == head and session.stack.layers == head
    head.clear()  # the caller's list is not the stack
    assert len(session.stack.layers) == 2
    # A transfer preset keeps its head (maybe edited in the Model workspace): only the section changes.
    session.stack.delete(0)
    session.use_transfer(TransferSpec(base="MobileNet", weights="none", fine_tune_last=4), [])
    preset = session.current_preset()
    assert preset.transfer.fine_tune_last == 4 and [layer.type for layer in preset.model.layers] == ["Dense"]


def test_a_stop_is_asked_only_of_a_run_that_is_going(tmp_path) -> None:
    session = Session(tiny())
    assert session.stop_requested() is None  # nothing is training
    state = session.training_started(session.current_preset())
    assert session.stop_requested() is None  # its run process has no directory yet
    session.attached(tmp_path, state)
    assert session.stop_requested() == tmp_path and state.status == "stopping"
    assert session.training  # still going until its batch ends


@pytest.mark.parametrize(("result_status", "shown"), [("completed", "completed"), ("stopped", "stopped"),
                                                      ("early_stopping", "completed · early stopping"),
                                                      ("nan", "failed · loss NaN"), ("interrupted", "interrupted"),
                                                      ("something new", "failed")])
def test_how_a_run_ended_is_shown(trained: Trainer, result_status: str, shown: str) -> None:
    session = Session(tiny())
    session.training_started(session.current_preset())
    result = copy.copy(trained.result)
    result.status, result.error = result_status, "loss became nan" if result_status == "nan" else None
    state = session.training_finished(result, [], None)
    assert state is not None and state.label == shown and state.error == result.error
    assert isinstance(state.status, RunStatus)  # the one vocabulary, whatever the result said


def test_a_failed_run_says_why_and_nothing_finishes_without_a_run(trained: Trainer) -> None:
    session = Session(tiny())
    assert session.training_finished(trained.result, [], None) is None  # no run was started
    session.training_failed("model.layers[1]: bad")  # no run: nothing to mark
    state = session.training_started(session.current_preset())
    session.training_failed("model.layers[1]: bad")
    assert state.status == "failed" and state.error == "model.layers[1]: bad" and not session.training


def test_a_saved_preset_takes_its_new_name_and_absolute_file_references(tmp_path) -> None:
    session = Session(presets.load("ex4"))
    session.preset_saved(tmp_path / "mine.toml")
    assert session.preset.name == "mine" and session.name == "mine" and session.preset.path == tmp_path / "mine.toml"
    assert session.preset.compile.custom_metrics
    for ref in session.preset.compile.custom_metrics:
        assert ref.startswith("/"), ref  # still found from the user's preset folder


# ---------------------------------------------------------------------- RedrawThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **kwargs):
    draws: list[bool] = []
    timers: list[tuple[float, object]] = []
    t = RedrawThrottle(draws.append, lambda delay, callback: timers.append((delay, callback)),
                       chart_hz=1, progress_hz=2, clock=clock, **kwargs)
    return t, draws, timers


def test_progress_is_drawn_at_most_progress_hz() -> None:
    clock = Clock()
    t, draws, _ = throttle(clock)
    t.event()
    clock.now += 0.1
    t.event()
    clock.now += 0.5
    t.event()
    assert draws == [False, False]


def test_an_epoch_sooner_than_chart_hz_is_drawn_later_never_dropped() -> None:
    clock = Clock()
    t, draws, timers = throttle(clock)
    t.event(epoch=True)
    assert draws == [True] and not timers
    clock.now += 0.25
    t.event(epoch=True)
    t.event(epoch=True)  # still pending: one timer only
    assert draws == [True] and len(timers) == 1 and timers[0][0] == pytest.approx(0.75)
    clock.now += 0.75
    timers[0][1]()  # the timer fires
    assert draws == [True, True]


def test_the_runs_end_is_drawn_at_once() -> None:
    clock = Clock()
    t, draws, _ = throttle(clock)
    t.event(epoch=True)
    t.event(final=True)
    assert draws == [True, True]


def test_every_event_mode_draws_each_event_without_a_clock() -> None:
    t, draws, timers = throttle(Clock(), every_event=True)
    for _ in range(3):
        t.event()
    t.event(epoch=True)
    t.event(final=True)
    assert draws == [False, False, False, True, True] and not timers


# ---------------------------------------------------------------------- Requests


def test_only_the_latest_ticket_counts() -> None:
    requests = Requests()
    first = requests.new()
    second = requests.new()
    assert not requests.is_latest(first) and requests.is_latest(second) and requests.latest == 2

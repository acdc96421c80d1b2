"""The run contract is written once (issue 24): one state vocabulary, one planned epoch count, one
best rule, the same status fields from the launcher and from the run process."""

from __future__ import annotations

import json
from dataclasses import replace

from kerastui.core.model import presets
from kerastui.core.run.events import TrainStarted, event_from_json, event_to_json
from kerastui.core.run.history import best
from kerastui.core.run.process import identity
from kerastui.core.run.status import RunStatus, status_label, status_of
from kerastui.core.script import export_script
from kerastui.ui.state import RunState


def test_every_outcome_maps_into_the_one_vocabulary() -> None:
    assert status_of("early_stopping") == RunStatus.COMPLETED and status_of("nan") == RunStatus.FAILED
    assert status_of("stopped") == RunStatus.STOPPED and status_of("pruned") == RunStatus.PRUNED
    assert status_of("anything else") == RunStatus.FAILED
    assert status_label(RunStatus.COMPLETED, "early_stopping") == "completed · early stopping"
    assert json.dumps({"state": RunStatus.DIED}) == '{"state": "died"}'  # as status.json spells it
    assert {s for s in RunStatus if s.live} == {RunStatus.STARTING, RunStatus.RUNNING, RunStatus.STOPPING}
    assert {s for s in RunStatus if s.resumable} == {RunStatus.INTERRUPTED, RunStatus.DIED, RunStatus.FAILED}


def test_a_transfer_run_plans_its_two_phases_everywhere() -> None:
    preset = presets.load("ex5")
    assert preset.transfer is not None and preset.transfer.fine_tune_last > 0
    total = preset.fit.epochs + preset.transfer.fine_tune_epochs
    assert preset.planned_epochs == total == identity(preset)["epochs_planned"]
    state = RunState(status=RunStatus.RUNNING)  # the TUI, from the head phase's first event, as logged
    started = TrainStarted("head", preset.fit.epochs, 0, 10, 100, 32, planned=preset.planned_epochs)
    state.apply(event_from_json(event_to_json(started)))
    assert state.epochs_planned == total
    assert f"epochs={total}" in export_script(preset)
    no_fine_tune = replace(preset, transfer=replace(preset.transfer, fine_tune_epochs=0))
    assert no_fine_tune.planned_epochs == preset.fit.epochs


def test_the_best_epoch_is_the_headline_metrics_in_the_tui_and_the_runs_table() -> None:
    history = {"loss": [0.9, 0.5, 0.4], "val_loss": [0.8, 0.6, 0.7], "val_accuracy": [0.5, 0.6, 0.9]}
    assert best(history) == {"metric": "val_loss", "value": 0.6, "epoch": 2}
    state = RunState(status=RunStatus.COMPLETED, history=history)
    assert state.best() == best(history) and state.best_epoch() == 2
    assert best({"loss": [0.3, 0.2]}) == {"metric": "loss", "value": 0.2, "epoch": 2}

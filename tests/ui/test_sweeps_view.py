"""The Sweeps workspace (issue 27, part 5), driven by keys with real Optuna and real processes:

- a live sweep (started through SweepClient: iris, 40 epochs, 4 trials, 2 at once): the table fills
  while trials run and follows them to the end; s / S sort, / filters; enter follows a live trial's
  run (the Train workspace attaches to it) and an ended one's; b makes the best trial's preset the
  session's (its values are the best trial's) and its saved model the working model;
- the start form: a bad value is one line under its field and starts nothing; a good form starts a
  sweep of the workspace's preset (its workers are detached processes) that the table then shows.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from kerastui.core.model import presets
from kerastui.core.run.directory import RunDir
from kerastui.core.run.status import RunStatus
from kerastui.core.run.sweep import SweepClient
from kerastui.ui.app import make_app
from kerastui.ui.screens.sweeps import SweepsScreen, SweepStartDialog, candidates, parse_space, space_text
from kerastui.ui.widgets.settings_grid import SettingsGrid
from kerastui.ui.widgets.sweep_table import TrialTable
from tests.ui.helpers import shown

IRIS = """\
title = "iris sweep"
[data]
source = "sklearn:iris"
validation_split = 0.2
test_split = 0.2
seed = 1
[model]
layers = [{type = "Input", shape = [4]}, {type = "Dense", units = 16, activation = "relu"},
          {type = "Dense", units = 3, activation = "softmax"}]
[compile]
optimizer = "adam"
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
[fit]
epochs = 3
batch_size = 16
seed = 1
"""
SWEEP = """
[sweep]
trials = 4
parallel = 2
objective = "val_accuracy"
seed = 5
pruner = "none"
[sweep.space]
"compile.learning_rate" = { low = 1e-3, high = 1e-1, log = true }
"fit.batch_size" = { choices = [8, 16, 32] }
"""
WAIT = 400.0  # a deadline for processes, not a claim about speed


async def until(pilot: Any, condition: Any, what: str, timeout: float = WAIT, detail: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (f": {detail()}" if detail else "")
        await pilot.pause(0.1)


def stop_everything(runs: Path) -> None:
    """The sweep's workers and trials, stopped whatever the test did (no process outlives it)."""
    client = SweepClient(runs)
    for folder in client.sweeps():
        try:
            client.stop(folder.name, wait=60)
        except Exception:  # noqa: BLE001 - already ended
            pass


def iris(tmp_path: Path, sweep: bool, epochs: int = 3) -> presets.Preset:
    path = tmp_path / "iris.toml"
    path.write_text(IRIS.replace("epochs = 3", f"epochs = {epochs}") + (SWEEP if sweep else ""), encoding="utf-8")
    return presets.load(path)


async def test_a_live_sweep_fills_sorts_filters_follows_and_gives_its_best(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    try:
        app = make_app(load_tensorflow=False, runs_dir=runs)
        said: list[str] = []  # every notice (a toast expires): said when a wait times out
        notify = app.notify
        app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("k")
            screen = app.screen
            assert isinstance(screen, SweepsScreen)
            table = screen.query_one(TrialTable)
            # Started once the workspace is open (it finds the new sweep): on a loaded machine the app's
            # start could outlast a sweep started before it, and no trial would be seen running.
            # (40 epochs: a trial stays running for seconds, not less than the table's 1.5 s between reads —
            # a run's epochs of iris are a few ms each)
            sweep = SweepClient(runs).start(iris(tmp_path, sweep=True, epochs=40), name="live")

            # The table fills while trials run: a trial seen live (running), with its run directory — and
            # running still by its own status now (the table's read may be a moment old; trials are short).
            def live_row() -> Any:
                return next((r for r in screen.view.rows if r.state == RunStatus.RUNNING and r.run_dir
                             and RunDir(r.run_dir).status()["state"].live), None)

            await until(pilot, lambda: live_row() is not None, "a running trial in the table")
            assert screen.view.name == "live" and table.row_count == len(screen.view.rows) >= 1
            text = shown(app, "#sweep-table")
            assert "running" in text and "learning_rate" in text and "batch_size" in text
            assert "live" in shown(app, "#sweeps-title") and "val_accuracy" in shown(app, "#sweeps-title")

            # enter on a live trial follows its run: the Train workspace attaches to it.
            row = live_row()
            table.focus()
            table.move_to_trial(row.number)
            await pilot.press("enter")
            await until(pilot, lambda: app.current_mode == "train", "the Train workspace")
            assert app.session.run_state is not None and app.session.run_state.run_dir == row.run_dir
            followed = row.run_dir
            # Live when enter was read (attached: the session follows its directory), unless it ended in
            # the moment between: then its history is shown, as for an ended trial, and no model comes back.
            attached = app.session.run_dir == Path(followed)
            await pilot.press("k")

            # ... and updates until every trial has ended.
            reads = screen.reads
            await until(pilot, lambda: screen.view.state == RunStatus.COMPLETED and screen.reads > reads,
                        "the sweep to complete")
            assert [r.number for r in screen.view.rows] == [0, 1, 2, 3]
            assert all(r.state == RunStatus.COMPLETED for r in screen.view.rows)
            assert table.row_count == 4 and shown(app, "#sweep-table").count("completed") == 4
            best = sweep.best()
            assert best is not None and screen.view.best == best.number
            assert f"{best.number}★" in shown(app, "#sweep-table")
            # the charts: the objective per trial with the best so far, the last trials' curves, and (a)
            # a parameter against the objective; the importances once two trials have completed
            objective = shown(app, "#sweep-objective")
            assert "val_accuracy per trial" in objective and "best so far" in objective
            drawn = {series.label: series for series in screen.query_one("#sweep-objective").series()}
            assert drawn["completed"].xs == [0.0, 1.0, 2.0, 3.0] and drawn["best so far"].values[-1] == best.value
            assert "val_accuracy per epoch" in shown(app, "#sweep-curves")
            table.focus()
            await pilot.press("a")
            assert screen.query_one("#sweep-param").display
            assert "batch_size → val_accuracy" in shown(app, "#sweep-param")
            assert sorted(screen.query_one("#sweep-param").points) == sorted(
                (float(r.params["fit.batch_size"]), r.value) for r in screen.view.rows)
            await until(pilot, lambda: "importances" in shown(app, "#sweep-importances")
                        and "evaluating" not in shown(app, "#sweep-importances"), "the importances")
            # the followed trial's result came back to the session (its model: the working model)
            if attached:
                await until(pilot, lambda: app.session.trained is not None, "the followed run's model",
                            detail=lambda: (app.session.run_state, said))
                assert app.session.trained.run_dir == followed
            else:  # (rare: said, so that a timing that made it the rule would be seen)
                warnings.warn("the followed trial ended before enter was read: its model coming back went untested",
                              stacklevel=1)
                assert app.session.trained is None and not app.session.run_state.running

            # s sorts by the next column (state, then value), S reverses.
            table.focus()
            await pilot.press("s", "s")
            assert screen.sort == ("value", False)
            values = [r.value for r in screen.shown]
            assert values == sorted(values) and table.keys == [str(r.number) for r in screen.shown]
            await pilot.press("S")
            assert [r.value for r in screen.shown] == sorted(values, reverse=True)
            assert "value ↓" in shown(app, "#sweep-table").splitlines()[0]

            # / filters by text: a word no row has hides every row; a value of one trial shows it.
            await pilot.press("slash", *"pruned")
            assert table.row_count == 0 and "(0 shown)" in shown(app, "#sweeps-title")
            await pilot.press("ctrl+u", *f"{best.params['fit.batch_size']}", "enter")
            expected = [r.number for r in screen.view.rows
                        if str(best.params["fit.batch_size"]) in " ".join(c.text(r) for c in screen.table_columns())]
            assert sorted(int(k) for k in table.keys) == sorted(expected) and best.number in expected
            await pilot.press("slash", "ctrl+u", "enter")
            assert table.row_count == 4

            # enter on an ended trial: its history and preset in the Train workspace.
            other = next(r for r in screen.view.rows if r.run_dir != followed)
            table.focus()
            table.move_to_trial(other.number)
            await pilot.press("enter")
            await until(pilot, lambda: app.current_mode == "train", "the Train workspace")
            assert app.session.run_state.run_dir == other.run_dir
            assert app.session.preset.name == f"live-t{other.number}"
            assert len(app.session.run_state.history["loss"]) == 40  # (its whole history)

            # b: the best trial's preset is the session's (its values the best trial's), its model the
            # working model.
            await pilot.press("k", "b")
            await until(pilot, lambda: app.session.preset.name == "live-best", "the best trial's preset")
            preset = app.session.current_preset()
            assert preset.fit.batch_size == best.params["fit.batch_size"]
            assert preset.compile.learning_rate == pytest.approx(best.params["compile.learning_rate"])
            assert preset.sweep is None and not app.session.unsaved
            await until(pilot, lambda: app.session.trained is not None and app.session.trained.run_dir == best.run_dir,
                        "the best trial's model")
            working = app.session.working_model()
            assert working is not None and str(best.run_dir) in working.where
    finally:
        stop_everything(runs)


async def test_a_bad_form_value_is_one_line_under_its_field_and_starts_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    app = make_app(iris(tmp_path, sweep=False), load_tensorflow=False, runs_dir=runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("k")
        await pilot.pause(0.2)
        assert "no sweeps" in shown(app, "#sweeps-title")
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, SweepStartDialog)
        grid = dialog.query_one(SettingsGrid)
        lr = next(c for c in dialog.offered if c.key == "compile.learning_rate")
        batch = next(c for c in dialog.offered if c.key == "fit.batch_size")

        grid.focus()
        grid.move_to(lr.field_id)
        await pilot.press(*"1e-3..abc", "ctrl+r")
        hint = grid.hint(f"hint-{lr.field_id}")
        assert hint.startswith("learn rate: high abc is not a number") and "\n" not in hint
        assert app.screen is dialog  # nothing started: the form stays

        # A value the preset refuses (a batch of 0), found as kerastui sweep start would: under its field.
        grid.move_to(lr.field_id)
        await pilot.press("ctrl+u", *"1e-3..1e-1 log")
        grid.move_to(batch.field_id)
        await pilot.press(*"0, 16", "ctrl+r")
        assert grid.hint(f"hint-{lr.field_id}") == ""
        hint = grid.hint(f"hint-{batch.field_id}")
        assert hint.startswith("batch size") and "fit.batch_size" in hint and "\n" not in hint

        grid.move_to(batch.field_id)
        await pilot.press("ctrl+u", *"8, 16")
        grid.move_to("trials")
        await pilot.press("ctrl+u", "0", "ctrl+r")
        assert grid.hint("hint-trials").startswith("trials") and "\n" not in grid.hint("hint-trials")
        assert app.screen is dialog
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert SweepClient(runs).sweeps() == [] and not (runs / "sweeps").exists()


async def test_the_form_starts_a_sweep_of_the_workspace_preset(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    app = make_app(iris(tmp_path, sweep=False), load_tensorflow=False, runs_dir=runs)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("k", "n")
            dialog = app.screen
            assert isinstance(dialog, SweepStartDialog)
            grid = dialog.query_one(SettingsGrid)
            units = next(c for c in dialog.offered if c.key == "model.layers[1].units")
            grid.focus()
            grid.move_to(units.field_id)
            await pilot.press(*"4..32 step 4")
            grid.move_to("trials")
            await pilot.press("ctrl+u", "2")
            grid.move_to("name")
            await pilot.press(*"formed", "ctrl+r")
            screen = app.screen
            assert isinstance(screen, SweepsScreen)
            await until(pilot, lambda: screen.view.name == "formed" and len(screen.view.rows) >= 1,
                        "the new sweep in the table")
            sweep = SweepClient(runs).open("formed")
            assert sweep.target == 2 and [d.key for d in sweep.dimensions()] == ["model.layers[1].units"]
            assert sweep.preset.sweep is not None and sweep.preset.sweep.space["model.layers[1].units"] == {
                "low": 4, "high": 32, "step": 4}
            assert sweep.dir.workers() and all(w.device for w in sweep.dir.workers())
            assert "param:model.layers[1].units" in [c.key for c in screen.table_columns()]
    finally:
        stop_everything(runs)


def test_the_form_reads_ranges_and_choices_and_offers_the_preset_numeric_keys(tmp_path: Path) -> None:
    assert parse_space("", "x") is None
    assert parse_space("1e-4..1e-1 log", "x") == {"low": 1e-4, "high": 0.1, "log": True}
    assert parse_space("8..128 step 8", "x") == {"low": 8, "high": 128, "step": 8}
    assert parse_space("1..2.5", "x") == {"low": 1.0, "high": 2.5}
    assert parse_space("32, 64, 128", "x") == {"choices": [32, 64, 128]}
    assert parse_space("relu, tanh", "x") == {"choices": ["relu", "tanh"]}
    for bad in ("5", "1..", "a..b", "1..2 cubic", "1..2 step x"):
        with pytest.raises(ValueError, match="^x: "):
            parse_space(bad, "x")
    for text in ("1e-4..0.1 log", "8..128 step 8", "32, 64, 128"):
        assert parse_space(space_text(parse_space(text, "x")), "x") == parse_space(text, "x")
    keys = [c.key for c in candidates(iris(tmp_path, sweep=False))]
    assert keys == ["compile.learning_rate", "fit.batch_size", "model.layers[1].units"]  # not the output's


async def test_a_strangers_study_is_shown_plainly(tmp_path: Path) -> None:
    """Hosts, devices, errors and chosen words come from the study (another machine wrote them): shown
    with their control characters visible, never read as markup, and nothing crashes."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from kerastui.core.model.sweepspace import dimensions, distributions
    from kerastui.core.run.directory import jsonable
    from kerastui.core.run.sweep import ATTRS, SweepDir

    runs = tmp_path / "runs"
    text = IRIS + SWEEP.replace('choices = [8, 16, 32]', 'choices = ["[b]x", "y\\u001b[2J"]').replace(
        '"fit.batch_size"', '"model.layers[1].activation"')
    preset = presets.loads(text, where="test")
    folder = SweepDir(runs / "sweeps" / "odd")
    folder.path.mkdir(parents=True)
    space = distributions(dimensions(preset.sweep, "test"))  # type: ignore[arg-type]
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(folder.journal_path))),
                                study_name="odd", direction="maximize")
    study.set_user_attr(ATTRS, jsonable({"preset": presets.dumps(preset), "preset_name": "odd", "trials": 3,
                                         "objective": "val_accuracy", "direction": "maximize", "stopped": False,
                                         "created": time.time(), "clock": {"used": 1.0, "since": None}}))
    study.add_trials([optuna.trial.create_trial(
        params={"compile.learning_rate": 0.01 * (i + 1), "model.layers[1].activation": ["[b]x", "y\x1b[2J"][i % 2]},
        distributions=space, value=0.5 + i / 10, intermediate_values={1: 0.4, 2: 0.5 + i / 10},
        user_attrs={"host": "[red]evil\x1b]0;pwned\x07", "device": "[@click=app.quit]GPU", "epoch": 2,
                    "error": "bad\rline" if i == 2 else None}) for i in range(3)])
    folder.write_info({"name": "odd", "created": time.time(), "storage": str(folder.journal_path), "parallel": 1})
    app = make_app(load_tensorflow=False, runs_dir=runs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("k")
        screen = app.screen
        assert isinstance(screen, SweepsScreen)
        await until(pilot, lambda: len(screen.view.rows) == 3, "the study's trials", timeout=60)
        table = screen.query_one(TrialTable)
        drawn = shown(app, "#sweep-table")
        assert "\x1b" not in drawn and "\x07" not in drawn and "\r" not in drawn
        # as typed (never markup), the control characters shown as escapes
        assert "[red]evil\\x" in drawn and "[@click=" in drawn and "bad\\rline" in drawn
        assert "[b]x" in drawn and "y\\x1b[2J" in drawn
        table.move_to_trial(1)
        table.focus()
        await pilot.press("a")  # the chosen words against the objective
        param = shown(app, "#sweep-param")
        assert "L1.activation" in param and "[b]x" in param and "y\\x1b[2" in param and "\x1b" not in param
        assert app.is_running

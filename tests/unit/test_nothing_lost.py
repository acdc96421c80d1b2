"""Nothing a run wrote is lost, whatever happens to it (issue 24):

- ``kill -9`` at 20 seeded random moments of one run's life, each followed by a resume: the logs
  hold each epoch exactly once, 1..N, after every resume and at the end;
- a stop at any moment (at once, before TensorFlow loads; while preparing; while fitting; while
  evaluating and saving) ends the run ``stopped`` with what it had, exit 0, no traceback;
- damaged logs and checkpoints (a cut last line of either log, a garbage or missing state.json,
  a truncated checkpoint): resume goes on from the newest intact checkpoint, rewrites the logs to
  agree with it and says in one line what it dropped — never from epoch 1 while one is intact;
- a partial epoch (cut short by a stop) is no epoch: not logged, not in the history;
- a run's duration counts every span a process trained it.

Real ``python -m kerastui`` processes, real signals, real files; the in-process cases use the real
trainer on tiny models.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.run.checkpoint import FILE, read_arrays
from kerastui.core.run.directory import RunDir, read_json, read_metrics, run_info
from kerastui.core.run.events import BatchEnded, EpochEnded, Notice
from kerastui.core.run.process import launch, stop
from kerastui.core.run.status import RunStatus
from kerastui.core.run.trainer import Trainer

WAIT = 240.0  # a deadline for a process, not a claim about speed


def epoch_numbers(run: Path) -> list[int]:
    return [r["epoch"] for r in read_metrics(run)]


def event_epochs(run: Path) -> list[int]:
    out = []
    events = run / "events.jsonl"
    for line in (events.read_text(encoding="utf-8") if events.exists() else "").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if value.get("type") == "EpochEnded":
            out.append(value["epoch"])
    return out


def wait_gone(process: Any, timeout: float = WAIT) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=30)
            pytest.fail("a run process did not end in time")
        time.sleep(0.05)
    return int(process.returncode)


def assert_each_epoch_once(run: Path) -> int:
    """The two logs agree: epochs 1..N in metrics.jsonl, 0..N-1 in events.jsonl, each once."""
    epochs = epoch_numbers(run)
    metrics = run / "metrics.jsonl"
    text = metrics.read_text(encoding="utf-8") if metrics.exists() else ""
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines.pop()  # the line a kill cut short (a resume drops it)
    raw = [json.loads(line)["epoch"] for line in lines if line.strip()]
    assert raw == list(range(1, len(raw) + 1)), raw
    assert epochs == raw
    assert event_epochs(run) == list(range(len(epochs))), (event_epochs(run), epochs)
    return len(epochs)


def slow_ex1(epochs: int) -> Any:
    preset = presets.load("ex1")
    preset.data.samples = 300
    preset.fit.batch_size = 2  # ~100 steps an epoch: kills and stops land mid-epoch
    preset.fit.epochs = epochs
    preset.save.formats = ["keras", "h5"]
    return preset


# --------------------------------------------------------------------------- kill -9, then resume


def newest_epoch(run: RunDir) -> int:
    """The epoch of the run's newest checkpoint (0: none yet)."""
    epoch = read_json(run.checkpoint_dir("train") / "state.json").get("epoch")
    return epoch if isinstance(epoch, int) else 0


def test_kill_9_at_twenty_random_moments_then_resume_logs_each_epoch_once(tmp_path: Path) -> None:
    rng = random.Random(24)
    preset = slow_ex1(400)  # never finishes within the test: it is stopped after the last resume
    launched = launch(preset, runs_dir=tmp_path / "runs")
    run, process = launched.run_dir, launched.process
    try:
        for _ in range(20):
            # Half the kills at any moment of the process's life (importing, preparing, training),
            # half at a random moment once it trains (mid-batch, mid-checkpoint, between epochs); one
            # in four once this process has checkpointed an epoch of its own (on a loaded machine the
            # others may all land before any checkpoint: the resumes must also go on from one).
            if _ % 4 == 1:
                deadline = time.monotonic() + WAIT
                reached = newest_epoch(run)
                while newest_epoch(run) <= reached:
                    assert process.poll() is None and time.monotonic() < deadline, "no checkpoint written"
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 1.0))
            elif _ % 2:
                deadline = time.monotonic() + WAIT
                while run.status()["state"] != RunStatus.RUNNING and process.poll() is None:
                    assert time.monotonic() < deadline, "the run never started training"
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 2.5))
            else:
                time.sleep(rng.uniform(0.0, 6.0))
            assert process.poll() is None, run.output_path.read_text()[-2000:]  # it never ends by itself
            os.kill(process.pid, signal.SIGKILL)
            wait_gone(process)
            assert run.status()["state"] == RunStatus.DIED
            assert_each_epoch_once(run.path)
            process = launch(preset, resume=run).process
        deadline = time.monotonic() + WAIT  # the last resume trains two epochs, then is stopped
        before = len(read_metrics(run.path))
        while len(read_metrics(run.path)) < before + 2:
            assert process.poll() is None and time.monotonic() < deadline, run.output_path.read_text()[-2000:]
            time.sleep(0.05)
        stop(run)
        assert wait_gone(process) == 0, run.output_path.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
    assert run.status()["state"] == RunStatus.STOPPED
    done = assert_each_epoch_once(run.path)
    summary = read_json(run.summary_path)
    assert summary["epochs_run"] == done >= before + 2
    assert all(len(v) == done for v in summary["history"].values())
    notices = [json.loads(line) for line in run.events_path.read_text().splitlines() if '"Notice"' in line]
    assert any(n["message"].startswith("resumed after epoch") for n in notices)
    assert "Traceback" not in run.output_path.read_text()
    # Its duration counts every span a process trained it: at least the last process's own span.
    info = run_info(run.path)
    status = read_json(run.status_path)
    assert info.seconds is not None and info.seconds >= status["ended"] - status["resumed_at"] - 1.0


# --------------------------------------------------------------------------- stop at any moment


@pytest.fixture(scope="module")
def stopped_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunDir, int, str]]:
    """Four runs, each stopped at another moment of its life, started together."""
    base = tmp_path_factory.mktemp("stops")
    preset = slow_ex1(400)
    preset.save.formats = ["keras", "h5", "savedmodel"]  # a final save slow enough to be stopped in
    short = slow_ex1(2)
    short.save.formats = ["keras", "h5", "savedmodel"]
    moments = {"at once": preset, "preparing": preset, "fitting": preset, "saving": short}
    runs = {name: launch(p, runs_dir=base / "runs") for name, p in moments.items()}
    asked: dict[str, str] = {}

    def ask(name: str) -> None:
        try:
            stop(runs[name].run_dir)
            asked[name] = "asked"
        except KerasTUIError as error:
            asked[name] = str(error)

    ask("at once")  # before the process has even imported kerastui
    time.sleep(1.5)
    ask("preparing")  # importing TensorFlow, preparing the data
    deadline = time.monotonic() + WAIT
    pending = {"fitting", "saving"}
    while pending and time.monotonic() < deadline:
        if "fitting" in pending and read_metrics(runs["fitting"].run_dir.path):
            ask("fitting")
            pending.discard("fitting")
        events = runs["saving"].run_dir.events_path
        if "saving" in pending and events.exists() and '"TrainEnded"' in events.read_text():
            ask("saving")  # fit is over: evaluating and saving
            pending.discard("saving")
        time.sleep(0.01)
    codes = {name: wait_gone(launched.process) for name, launched in runs.items()}
    return {name: (launched.run_dir, codes[name], asked.get(name, "never asked"))
            for name, launched in runs.items()}


@pytest.mark.parametrize("moment", ["at once", "preparing", "fitting", "saving"])
def test_a_stop_at_any_moment_ends_the_run_stopped_with_what_it_had(stopped_runs, moment: str) -> None:
    run, code, asked = stopped_runs[moment]
    output = run.output_path.read_text(encoding="utf-8", errors="replace")
    assert asked == "asked", asked
    assert code == 0, output[-2000:]
    assert "Traceback" not in output and "internal error" not in output
    status = run.status()
    assert status["state"] == RunStatus.STOPPED, status
    summary = read_json(run.summary_path)
    assert summary["status"] == "stopped"
    assert epoch_numbers(run.path) == list(range(1, summary["epochs_run"] + 1))
    if moment in ("at once", "preparing"):
        assert summary["epochs_run"] == 0
    if moment == "saving":
        assert summary["epochs_run"] == 2 and summary["test"]
        assert {"keras", "h5", "savedmodel"} <= set(summary["saved"]), "the save it was in finished"
    if moment == "fitting":
        assert 1 <= summary["epochs_run"] < 400 and (run.path / "model.keras").is_file()


# --------------------------------------------------------------------------- damaged logs, then resume


def tiny_preset(epochs: int = 6) -> Any:
    preset = presets.load("ex1")
    preset.data.samples = 200
    preset.fit.epochs = epochs
    preset.fit.batch_size = 16
    preset.save.formats = []
    return preset


def interrupted_run(folder: Path, after: int = 3) -> RunDir:
    """A run interrupted (as by a signal) during the epoch after ``after``: checkpoint of ``after``."""
    preset = tiny_preset()
    run = RunDir.create(folder, "tiny")
    run.write_preset(preset)
    trainer = Trainer(preset, run_dir=run)

    def interrupt(event: Any) -> None:  # asked at the end of epoch `after`: lands on the next one's first batch
        if isinstance(event, EpochEnded) and event.epoch == after - 1:
            trainer.request_stop("interrupted")

    trainer.sinks.append(interrupt)
    result = trainer.run()
    run.release()
    assert result.status == "interrupted" and result.epochs_run == after
    deadline = time.monotonic() + 30
    while read_json(run.checkpoint_dir("train") / "state.json").get("epoch") != after:
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.05)
    return run


def resume(run: RunDir) -> tuple[Any, list[str]]:
    notices: list[str] = []
    trainer = Trainer(presets.load(run.preset_path), [lambda e: notices.append(e.message)
                                                       if isinstance(e, Notice) else None],
                      run_dir=run, resume=True)
    starts: list[int] = []
    trainer.sinks.append(lambda e: starts.append(e.epoch) if isinstance(e, EpochEnded) else None)
    result = trainer.run()
    run.release()
    assert result.status == "completed" and result.epochs_run == 6
    assert assert_each_epoch_once(run.path) == 6
    assert all(len(values) == 6 for values in result.history.values())
    return starts, notices


def cut_last_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text[: len(text) - 12], encoding="utf-8")


@pytest.mark.parametrize("damage", ["metrics cut", "events cut", "state.json garbage", "state.json missing"])
def test_resume_goes_on_from_the_intact_checkpoint_whatever_the_logs_say(tmp_path: Path, damage: str) -> None:
    run = interrupted_run(tmp_path)
    state_json = run.checkpoint_dir("train") / "state.json"
    if damage == "metrics cut":
        cut_last_line(run.metrics_path)
    elif damage == "events cut":
        cut_last_line(run.events_path)
    elif damage == "state.json garbage":
        state_json.write_text("{not json", encoding="utf-8")
    else:
        state_json.unlink()
    starts, notices = resume(run)
    assert starts[0] == 3, "it went on after epoch 3, the checkpoint's"
    said = [n for n in notices if n.startswith("resumed after epoch 3")]
    assert len(said) == 1, notices
    if damage == "metrics cut":
        assert "metrics.jsonl line 3 cut short" in said[0]
    if damage == "state.json garbage":
        assert "state.json of train unreadable" in said[0]


def test_a_truncated_newest_checkpoint_falls_back_to_the_older_intact_one(tmp_path: Path) -> None:
    run = interrupted_run(tmp_path)
    folder = run.checkpoint_dir("train")
    newest = folder / "epoch-000003.npz"
    older = folder / "epoch-000002.npz"
    shutil.copyfile(newest, older)  # values of epoch 3, named 2: what a kill between the two writes leaves
    newest.write_bytes(newest.read_bytes()[:500])
    starts, notices = resume(run)
    assert starts[0] == 2
    said = next(n for n in notices if n.startswith("resumed after epoch 2"))
    assert "train/epoch-000003.npz damaged" in said and "epoch 3 logged after the checkpoint" in said


def test_no_intact_checkpoint_starts_again_and_says_so(tmp_path: Path) -> None:
    run = interrupted_run(tmp_path)
    for path in run.checkpoint_dir("train").iterdir():
        if FILE.match(path.name):
            path.write_bytes(b"PK\x03\x04 cut")
    starts, notices = resume(run)
    assert starts[0] == 0
    assert any(n.startswith("no intact checkpoint: the run starts again from epoch 1") and "damaged" in n
               for n in notices), notices


def test_an_epoch_cut_short_by_a_stop_is_not_an_epoch(tmp_path: Path) -> None:
    preset = tiny_preset()
    run = RunDir.create(tmp_path, "tiny")
    run.write_preset(preset)
    trainer = Trainer(preset, run_dir=run)
    notices: list[str] = []

    def stop_mid_epoch(event: Any) -> None:
        if isinstance(event, EpochEnded) and event.epoch == 1:  # lands on epoch 3's first batch
            trainer.request_stop("stopped")
        if isinstance(event, Notice):
            notices.append(event.message)

    trainer.sinks.append(stop_mid_epoch)
    result = trainer.run()
    run.release()
    assert result.status == "stopped" and result.epochs_run == 2
    assert all(len(values) == 2 for values in result.history.values())
    assert assert_each_epoch_once(run.path) == 2
    assert any("epoch 3 was cut short" in n and "not counted" in n for n in notices)
    assert read_json(run.checkpoint_dir("train") / "state.json")["epoch"] == 2
    assert result.test, "a stopped run is still evaluated"


def test_the_checkpoint_of_a_stop_mid_epoch_holds_the_last_whole_epochs_values(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Epochs shorter than a checkpoint's interval are written later from a snapshot taken at their
    end: the snapshot keeps epoch 2's values while the cut epoch 3 goes on changing the variables."""
    from kerastui.core.run import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "BATCH_EVENT_HZ", 1e9)  # every batch told: the stop lands mid-epoch 3
    preset = tiny_preset()
    preset.fit.batch_size = 2  # ~80 steps an epoch: the stop lands mid-epoch
    run = RunDir.create(tmp_path, "tiny")
    run.write_preset(preset)
    trainer = Trainer(preset, run_dir=run)
    at_epoch_2: list[Any] = []

    def watch(event: Any) -> None:
        if isinstance(event, EpochEnded) and event.epoch == 1:  # (before the checkpoint's snapshot)
            at_epoch_2.extend(np.array(w) for w in trainer.model.weights)
        if isinstance(event, BatchEnded) and event.epoch == 2 and event.batch >= 1:
            trainer.request_stop("stopped")

    trainer.sinks.append(watch)
    result = trainer.run()
    run.release()
    assert result.status == "stopped" and result.epochs_run == 2
    assert read_json(run.checkpoint_dir("train") / "state.json")["epoch"] == 2
    (written,) = run.checkpoint_dir("train").glob("epoch-*.npz")
    arrays, _ = read_arrays(written)
    for stored, kept in zip(arrays, at_epoch_2, strict=False):
        np.testing.assert_array_equal(stored, kept)
    assert any(not np.array_equal(kept, np.array(now)) for kept, now in zip(at_epoch_2, trainer.model.weights,
                                                                           strict=True))


def test_a_checkpoint_snapshot_is_not_changed_by_the_training_after_it() -> None:
    """An epoch's snapshot is the tensors read from the variables, kept without a copy: TensorFlow
    copies a variable's buffer before updating it while such a tensor lives (copy on write), so the
    checkpoint written a second later holds the epoch's values — the weights and Adam's slots."""
    from kerastui.core.run.trainer import _reader
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).random((64, 4)), np.random.default_rng(1).random((64, 2))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    variables = [*model.weights, *model.optimizer.variables]
    snapshot = [_reader(v)() for v in variables]
    copies = [np.array(v.value) for v in variables]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    changed = [i for i, v in enumerate(variables) if not np.array_equal(np.array(v.value), copies[i])]
    assert len(changed) >= len(model.weights)  # the weights, the step counter and the slots moved on
    for kept, copy in zip(snapshot, copies, strict=True):
        np.testing.assert_array_equal(np.asarray(kept), copy)


# --------------------------------------------------------------------------- throughput after a resume


def test_throughput_comes_from_the_runs_own_times_not_from_a_replayed_burst() -> None:
    """Attached mid-epoch to a resumed run, its history arrives in one burst: samples/s is measured
    between the times the run wrote its events (the log's ``t``), never over the burst's microseconds."""
    from kerastui.core.run.events import BatchEnded, TrainStarted, event_from_json, event_to_json
    from kerastui.ui.state import RunState

    logged = [TrainStarted("train", 10, 3, 100, 3200, 32, t=1000.0)]
    logged += [BatchEnded("train", 3, b, 100, {"loss": 0.5}, t=1000.0 + 0.1 * (b + 1)) for b in range(60)]
    state = RunState(status="running", clock=lambda: 5000.0)  # the burst is read at one moment
    for event in logged:
        state.apply(event_from_json(event_to_json(event)))  # as the TUI reads them from the log
    assert state.samples_per_second == pytest.approx(60 * 32 / 6.0)  # 320 samples/s, as the run went
    fresh = RunState(status="running", clock=lambda: 5000.0)
    fresh.apply(TrainStarted("train", 10, 3, 100, 3200, 32))
    fresh.apply(BatchEnded("train", 3, 59, 100, {"loss": 0.5}))  # no times: no rate rather than a wrong one
    assert fresh.samples_per_second is None


def test_a_follower_reads_a_log_replaced_by_a_resume_again_from_its_start(tmp_path: Path) -> None:
    """The TUI follows a run whose resume rewrites its log: the follower starts the log again and
    says so (the TUI draws the history anew), instead of reading on at an offset of the old file."""
    from kerastui.core.run.directory import EventFollower, write_atomic
    from kerastui.core.run.events import event_to_json

    run = RunDir.create(tmp_path, "follow")
    epochs = [EpochEnded("train", e, {"loss": 1.0 / (e + 1)}) for e in range(5)]
    for event in epochs:
        run(event)
    follower = EventFollower(run)
    assert [e.epoch for e in follower.poll()] == [0, 1, 2, 3, 4] and not follower.replaced
    write_atomic(run.events_path, "".join(json.dumps(event_to_json(e)) + "\n" for e in epochs[:3]))
    again = follower.poll()
    assert follower.replaced and [e.epoch for e in again] == [0, 1, 2]
    run.release()
    run(EpochEnded("train", 3, {"loss": 0.1}))
    assert [e.epoch for e in follower.poll()] == [3] and not follower.replaced


def test_a_second_ctrl_c_after_the_run_ended_does_not_end_it_by_the_default_action(tmp_path: Path) -> None:
    """Ctrl-C ends a run ``interrupted``; a second one landing after the run process let go of its
    directory (its last words: the report, exit 130) must not kill it by SIGINT's default action
    (exit -2, seen under load in test_run_state's double Ctrl-C).  The handlers a signal-ended run
    leaves are "ignore"; a run that ended otherwise gives the previous ones back."""
    from kerastui.core.run.process import RunProcess

    previous = signal.getsignal(signal.SIGINT)
    seen = []
    try:
        for interrupted in (True, False):
            try:
                with RunProcess(RunDir.create(tmp_path, "sig")) as owner:
                    owner.arm()  # as the CLI does once its status is written
                    assert signal.getsignal(signal.SIGINT) == owner._handle
                    if interrupted:  # as the kernel calls it; nothing trains yet, so it leaves at once
                        owner._handle(signal.SIGTERM, None)
            except KeyboardInterrupt:  # what the CLI catches
                assert interrupted
            seen.append(signal.getsignal(signal.SIGINT))
            signal.signal(signal.SIGINT, previous)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIG_IGN, previous]


SECOND_CTRL_C_IN_A_CALLBACK = """
import os, signal, sys, time, weakref
from pathlib import Path
from kerastui.core.run.directory import RunDir
from kerastui.core.run.process import RunProcess

class Held: pass
held = Held()
def callback(_):  # a weakref callback, as the garbage collector runs them in the middle of anything
    os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C: its handler runs inside this callback
    for _ in range(100000): pass
ref = weakref.ref(held, callback)
try:
    with RunProcess(RunDir.create(Path(sys.argv[1]), "sig")) as owner:
        os.kill(os.getpid(), signal.SIGINT)  # the first: remembered (nothing trains)
        for _ in range(100000): pass
        del held
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline: pass  # (training: until the interrupt comes, 30 s at most)
        print("trained on")
except KeyboardInterrupt:
    print("aborted")
"""


def test_a_second_ctrl_c_that_lands_in_a_weakref_callback_still_aborts_and_prints_no_traceback(tmp_path: Path) -> None:
    """The second Ctrl-C raises ``KeyboardInterrupt`` wherever the main thread is: inside a weakref
    callback (or a ``__del__``) Python cannot raise it, prints it as "ignored", traceback and all, and
    goes on (seen in CI: the run printed a traceback and trained to the end of its batch).  It is
    raised again at the next step instead, and nothing is printed."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SECOND_CTRL_C_IN_A_CALLBACK, str(tmp_path)], capture_output=True,
                          text=True, timeout=WAIT, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "aborted", (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "ignored" not in done.stderr, done.stderr


def test_a_run_process_gives_back_the_unraisable_hook_and_ends_its_helper_thread(tmp_path: Path) -> None:
    """What a RunProcess installs to raise a lost interrupt again (its unraisable hook, a helper
    thread idle on a pipe) is there while it owns its directory, and gone after."""
    import sys
    import threading

    from kerastui.core.run.process import RunProcess

    def helpers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "kerastui-interrupt-again"]

    before = sys.unraisablehook
    previous = signal.getsignal(signal.SIGINT)
    try:
        with RunProcess(RunDir.create(tmp_path, "hook")) as owner:
            assert sys.unraisablehook == owner._unraised and len(helpers()) == 1
        assert sys.unraisablehook is before
        deadline = time.monotonic() + 10
        while helpers() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not helpers()
    finally:
        signal.signal(signal.SIGINT, previous)

"""A run is a process and a directory: signals end it as ``interrupted`` with a checkpoint, a
``kill -9`` leaves it ``died``, ``kerastui resume`` continues either to the planned epochs, a live
run is never resumed twice, ``kerastui stop`` stops and saves, and every status is the truth.

Every run here is a real ``python -m kerastui`` process, signalled with real signals, writing
real files; nothing of Keras, TensorFlow or the filesystem is mocked.  Each such process costs a
TensorFlow import (seconds), so the runs are module-scoped fixtures shared by the tests that read
them, and runs that do not depend on each other start at the same moment.  A run is made slow
enough to be signalled mid-training by many small batches (ex1 on 300 samples, batch 2: about
100 steps an epoch), and is signalled only once ``metrics.jsonl`` has two epochs; no assertion
is about time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import offline_env
from tests.unit.test_cli_errors import assert_no_tf_noise, isolated_env, one_error_line

EPOCHS = 6  # a run signalled after its second epoch has most of these still to do
SLOW_EX1 = ("ex1", "--set", "data.samples=300", "--batch-size", "2", "--epochs", str(EPOCHS))
WAIT = 300.0  # seconds before a test gives up on a run (a deadline, not an assertion about speed)


# --------------------------------------------------------------------------- helpers


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("kerastui: error:")]


@dataclass
class Proc:
    """A ``kerastui`` process with its output going to files (a pipe nobody reads could fill up)."""

    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    def finish(self, timeout: float = WAIT) -> Done:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=30)
            pytest.fail(f"kerastui did not end within {timeout:.0f} s:\n{self.err.read_text()[-3000:]}")
        return Done(self.popen.returncode, self.out.read_text(), self.err.read_text())


def start(folder: Path, *args: str, env: dict[str, str]) -> Proc:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.glob("*.stderr")))
    out, err = folder / f"{n}.stdout", folder / f"{n}.stderr"
    with out.open("wb") as o, err.open("wb") as e:
        popen = subprocess.Popen([sys.executable, "-m", "kerastui", *args], stdin=subprocess.DEVNULL,
                                 stdout=o, stderr=e, env=env, cwd=folder)
    return Proc(popen, out, err)


def completed(done: Done) -> subprocess.CompletedProcess:
    """For the shared checks of tests/unit/test_cli_errors.py."""
    return subprocess.CompletedProcess([], done.returncode, done.stdout, done.stderr)


def kerastui(folder: Path, *args: str, env: dict[str, str]) -> Done:
    return start(folder, *args, env=env).finish()


def wait_until(predicate: Callable[[], Any], proc: Proc | None, what: str) -> Any:
    """Poll ``predicate`` until it is truthy; fail with the run's stderr if the run ends first
    (``proc`` None: the predicate watches its runs itself)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.popen.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.popen.returncode}) before {what}:\n"
                        f"{proc.err.read_text()[-3000:]}")
        time.sleep(0.05)
    if proc is not None:
        proc.popen.kill()
    pytest.fail(f"no {what} within {WAIT:.0f} s" + (f":\n{proc.err.read_text()[-3000:]}" if proc else ""))


def the_run(runs: Path) -> Path | None:
    """The one run directory in ``runs`` (None before the run process made it)."""
    found = [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []
    assert len(found) <= 1, found
    return found[0] if found else None


def rows_so_far(run: Path | None) -> list[dict[str, Any]]:
    """The complete lines of a growing ``metrics.jsonl`` (the last one may be half written)."""
    if run is None or not (run / "metrics.jsonl").is_file():
        return []
    out = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def started_run(runs: Path, proc: Proc, *, epochs: int = 2) -> Path:
    """Wait until the run in ``runs`` has logged ``epochs`` epochs; its directory."""
    wait_until(lambda: len(rows_so_far(the_run(runs))) >= epochs, proc, f"epoch {epochs} in metrics.jsonl")
    run = the_run(runs)
    assert run is not None
    return run


def jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON-lines file, each of which must parse."""
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{path}:{number} is not JSON: {line!r}")
    return out


def read(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text())
    assert isinstance(value, dict)
    return value


def checkpoint_of(run: Path, phase: str) -> dict[str, Any]:
    """``checkpoints/PHASE/state.json``, checked to point at a weights file that exists."""
    state = read(run / "checkpoints" / phase / "state.json")
    weights = run / "checkpoints" / phase / state["weights"]
    assert weights.is_file() and weights.suffix == ".npz", f"state.json points at a missing {weights}"
    return state


def epoch_numbers(run: Path) -> list[int]:
    return [row["epoch"] for row in jsonl(run / "metrics.jsonl")]


def runs_json(folder: Path, runs: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    done = kerastui(folder, "runs", "--json", "--runs-dir", str(runs), env=env)
    assert done.returncode == 0, done.stderr
    return {r["run"]: r for r in json.loads(done.stdout)}


@dataclass
class Snapshot:
    """A run directory as one process left it (before the next one changes it)."""

    run: Path
    done: Done
    status: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    checkpoint: dict[str, Any] = field(default_factory=dict)
    epochs: list[int] = field(default_factory=list)
    event_epochs: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    saved_model: bool = False


def snapshot(run: Path, done: Done, phase: str = "train") -> Snapshot:
    snap = Snapshot(run, done, read(run / "status.json"))
    if (run / "summary.json").is_file():
        snap.summary = read(run / "summary.json")
    if (run / "checkpoints" / phase / "state.json").is_file():
        snap.checkpoint = checkpoint_of(run, phase)
    snap.epochs = epoch_numbers(run)
    snap.events = jsonl(run / "events.jsonl")
    snap.event_epochs = [e["epoch"] for e in snap.events if e["type"] == "EpochEnded"]
    snap.saved_model = (run / "model.keras").exists()
    return snap


# --------------------------------------------------------------------------- SIGTERM, SIGHUP, kill -9, then resume

SIGNALS = ("SIGTERM", "SIGHUP")


@dataclass
class Signalled:
    after: Snapshot  # as the signalled process left the run
    resumed: Snapshot  # after ``kerastui resume``
    logged: list[int]  # the epochs of metrics.jsonl's complete lines once the process was gone
    listed: dict[str, Any]  # the run in ``kerastui runs --json`` between the two


@pytest.fixture(scope="module")
def signalled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Signalled]:
    """Three runs started together, each sent its signal (SIGTERM, SIGHUP, SIGKILL) once it has
    logged two epochs, listed, then resumed together: {signal name: Signalled}."""
    base = tmp_path_factory.mktemp("signalled")
    env = isolated_env(base)
    names = (*SIGNALS, "SIGKILL")
    procs = {name: start(base / name, "train", *SLOW_EX1, "--runs-dir", str(base / name / "runs"), env=env)
             for name in names}
    waiting = set(names)

    def signal_those_at_epoch_2() -> bool:
        for name in sorted(waiting):
            if len(rows_so_far(the_run(base / name / "runs"))) >= 2:
                procs[name].popen.send_signal(signal.Signals[name])
                waiting.discard(name)
            elif procs[name].popen.poll() is not None:
                pytest.fail(f"the {name} run ended (exit {procs[name].popen.returncode}) before its epoch 2:\n"
                            f"{procs[name].err.read_text()[-3000:]}")
        return not waiting

    # Each run is watched by the predicate while it waits for its signal: a run signalled first
    # ends (as it should) while the others are still on their way to epoch 2.
    wait_until(signal_those_at_epoch_2, None, "epoch 2 in every run's metrics.jsonl")
    runs, after, listed = {}, {}, {}
    for name in names:
        done = procs[name].finish()
        run = the_run(base / name / "runs")
        assert run is not None
        runs[name] = run
        after[name] = (snapshot(run, done) if name != "SIGKILL" else
                       Snapshot(run, done, read(run / "status.json")))  # its last line may be cut short
        after[name].epochs = [row["epoch"] for row in rows_so_far(run)]
        listed[name] = runs_json(base, base / name / "runs", env)[run.name]
    resumes = {name: start(base / name, "resume", "last" if name == "SIGKILL" else runs[name].name,
                           "--runs-dir", str(base / name / "runs"), env=env) for name in names}
    return {name: Signalled(after[name], snapshot(runs[name], proc.finish()), after[name].epochs, listed[name])
            for name, proc in resumes.items()}


@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_ends_the_run_interrupted_with_a_checkpoint(signalled, name):
    snap = signalled[name].after
    done = snap.done
    assert done.returncode == 128 + signal.Signals[name], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert snap.status["state"] == "interrupted" and snap.status["signal"] == name
    assert snap.summary["status"] == "interrupted"
    assert signalled[name].listed["state"] == "interrupted"
    # Stopped within the epoch it was in: the run did not go on to its planned epochs.
    assert 2 <= len(snap.epochs) < EPOCHS
    assert snap.epochs == list(range(1, len(snap.epochs) + 1))
    assert snap.event_epochs == list(range(len(snap.epochs)))
    # The checkpoint is of the last epoch logged (the epoch the signal cut short is logged and
    # checkpointed as run): a resume loses nothing.
    assert snap.checkpoint["phase"] == "train" and snap.checkpoint["epoch"] == len(snap.epochs)
    assert snap.status["epoch"] == len(snap.epochs) == snap.summary["epochs_run"]
    assert not snap.saved_model, "an interrupted run is not evaluated and saved"
    (line,) = done.error_lines
    assert f"interrupted by {name}" in line and f"kerastui resume {snap.run.name}" in line
    assert_no_tf_noise(done.stderr)


@pytest.mark.parametrize("name", SIGNALS)
def test_resume_after_a_signal_finishes_the_planned_epochs(signalled, name):
    before, snap = signalled[name].after, signalled[name].resumed
    done = snap.done
    assert done.returncode == 0, done.stderr
    assert not done.error_lines and "Traceback" not in done.stderr
    assert f"resumed after epoch {before.checkpoint['epoch']}" in done.stderr
    assert snap.epochs == list(range(1, EPOCHS + 1)), "metrics.jsonl epochs with a gap or a duplicate"
    assert snap.event_epochs == list(range(EPOCHS)), "events.jsonl EpochEnded with a gap or a duplicate"
    # The resumed part begins where the checkpoint is, not at epoch 1.
    starts = [e for e in snap.events if e["type"] == "TrainStarted"]
    assert [e["initial_epoch"] for e in starts] == [0, before.checkpoint["epoch"]]
    assert snap.status["state"] == "completed" and snap.status["epoch"] == EPOCHS
    assert snap.summary["status"] == "completed" and snap.summary["epochs_run"] == EPOCHS
    assert all(len(values) == EPOCHS for values in snap.summary["history"].values())
    assert snap.saved_model
    assert checkpoint_of(snap.run, "train")["epoch"] == EPOCHS
    # One checkpoint file is kept, not one per epoch.
    assert len(list((snap.run / "checkpoints" / "train").glob("epoch-*.npz"))) == 1


def test_closing_the_terminal_interrupts_the_run(tmp_path):
    """SIGHUP as a terminal sends it: the run is the session leader of a pseudo-terminal whose
    master side is closed; writes to the terminal fail from then on (EIO)."""
    import fcntl
    import pty
    import termios

    runs = tmp_path / "runs"
    master, slave = pty.openpty()
    os.set_blocking(master, False)

    def own_terminal() -> None:  # in the child: a new session whose controlling terminal is the pty
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    popen = subprocess.Popen([sys.executable, "-m", "kerastui", "train", *SLOW_EX1, "--runs-dir", str(runs)],
                             stdin=slave, stdout=slave, stderr=slave, preexec_fn=own_terminal,
                             env=isolated_env(tmp_path))
    os.close(slave)
    drawn = tmp_path / "terminal.txt"  # what the run drew (wait_until shows its end should the run end early)
    drawn.write_text("")

    def drained_rows() -> bool:  # read what the run draws, or it blocks on a full terminal
        with drawn.open("ab") as copy:
            try:
                while chunk := os.read(master, 65536):
                    copy.write(chunk)
            except OSError:  # BlockingIOError: nothing more to read now
                pass
        return len(rows_so_far(the_run(runs))) >= 2

    try:
        wait_until(drained_rows, Proc(popen, drawn, drawn), "epoch 2 in metrics.jsonl")
    finally:
        os.close(master)  # the terminal goes away: the kernel sends SIGHUP to the session
    try:
        popen.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        popen.kill()
        raise
    run = the_run(runs)
    assert run is not None
    status = read(run / "status.json")
    assert status["state"] == "interrupted" and status["signal"] == "SIGHUP"
    assert checkpoint_of(run, "train")["epoch"] == status["epoch"]
    crash = tmp_path / "cache" / "kerastui" / "last-error.log"  # where an internal error's traceback goes
    assert popen.returncode == 128 + signal.SIGHUP, crash.read_text()[-1500:] if crash.exists() else ""


# --------------------------------------------------------------------------- kill -9: died, then resume


def test_kill_9_leaves_a_run_that_lists_as_died(signalled):
    killed = signalled["SIGKILL"]
    assert killed.after.done.returncode == -signal.SIGKILL
    assert killed.after.status["state"] == "running", "status.json is the dead process's last word"
    assert killed.listed["state"] == "died", killed.listed
    assert killed.listed["epochs"] == len(killed.logged) >= 2


def test_a_died_run_resumes_losing_at_most_one_epoch(signalled):
    snap, logged = signalled["SIGKILL"].resumed, signalled["SIGKILL"].logged
    assert snap.done.returncode == 0, snap.done.stderr
    assert not snap.done.error_lines and "Traceback" not in snap.done.stderr
    resumed_from = [e for e in snap.events if e["type"] == "TrainStarted"][-1]["initial_epoch"]
    # The resumed run's first epoch is resumed_from + 1: at most one past the last epoch logged
    # before the kill (nothing skipped) and at most one epoch lost (the checkpoint being written).
    assert max(logged) - 1 <= resumed_from <= max(logged)
    assert snap.epochs == list(range(1, EPOCHS + 1))
    assert snap.event_epochs == list(range(EPOCHS))
    assert snap.status["state"] == "completed" and snap.summary["epochs_run"] == EPOCHS
    assert all(len(values) == EPOCHS for values in snap.summary["history"].values())


# --------------------------------------------------------------------------- a live run: no resume, stop


def test_a_live_run_is_not_resumed_and_stop_saves_it(tmp_path):
    env = isolated_env(tmp_path)
    runs = tmp_path / "runs"
    proc = start(tmp_path, "train", "ex1", "--set", "data.samples=300", "--epochs", "400", "--runs-dir", str(runs),
                 env=env)
    run = started_run(runs, proc)
    try:
        listed = runs_json(tmp_path, runs, env)[run.name]
        assert listed["state"] == "running" and listed["pid"] == proc.popen.pid
        refused = kerastui(tmp_path, "resume", run.name, "--runs-dir", str(runs), env=env)
        assert refused.returncode == 1
        message = one_error_line(completed(refused))
        assert "live" in message and run.name in message
        assert proc.popen.poll() is None, "the refused resume disturbed the live run"
        stopped = kerastui(tmp_path, "stop", run.name, "--wait", "--runs-dir", str(runs), env=env)
    except BaseException:
        proc.popen.kill()
        raise
    assert stopped.returncode == 0, stopped.stderr
    assert f"{run.name}: stopped" in stopped.stderr
    done = proc.finish()
    assert done.returncode == 0, done.stderr
    assert not done.error_lines
    status, summary = read(run / "status.json"), read(run / "summary.json")
    assert status["state"] == "stopped" and summary["status"] == "stopped"
    assert 2 <= summary["epochs_run"] < 400 and summary["test"], "a stopped run is evaluated"
    assert (run / "model.keras").is_file()
    assert epoch_numbers(run) == list(range(1, summary["epochs_run"] + 1))


# --------------------------------------------------------------------------- two runs at once


@pytest.fixture(scope="module")
def two_at_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("two")
    env = isolated_env(base)
    runs = base / "runs"
    procs = [start(base / str(i), "train", "ex1", "--set", "data.samples=300", "--epochs", "2", "--json",
                   "--runs-dir", str(runs), env=env) for i in range(2)]
    return {"runs": runs, "env": env, "base": base, "done": [p.finish() for p in procs]}


def test_two_runs_started_together_get_two_directories(two_at_once):
    done = two_at_once["done"]
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    dirs = [Path(json.loads(d.stdout)["run_dir"]) for d in done]
    assert dirs[0] != dirs[1]
    assert sorted(p.name for p in two_at_once["runs"].iterdir()) == sorted(p.name for p in dirs)
    for run in dirs:
        assert read(run / "status.json")["state"] == "completed"
        assert epoch_numbers(run) == [1, 2], "two runs wrote into one directory"
    listed = runs_json(two_at_once["base"], two_at_once["runs"], two_at_once["env"])
    assert sorted(r["state"] for r in listed.values()) == ["completed", "completed"]


def test_stop_of_a_finished_run_is_one_line(two_at_once):
    run = Path(json.loads(two_at_once["done"][0].stdout)["run_dir"])
    done = kerastui(two_at_once["base"], "stop", run.name, "--runs-dir", str(two_at_once["runs"]),
                    env=two_at_once["env"])
    message = one_error_line(completed(done))
    assert done.returncode == 1
    assert run.name in message and "completed" in message
    assert read(run / "status.json")["state"] == "completed"


# --------------------------------------------------------------------------- a transfer run interrupted in phase 2

# ex5 made small and offline: random weights, 64 synthetic 32×32 images, and MobileNet (v1) for
# ResNet50: the fewest layers of the small bases, so the least graph to trace.
HEAD_EPOCHS, FINE_TUNE_EPOCHS = 1, 3
SMALL_TRANSFER = ("ex5", "--data", "synthetic:images", "--limit", "64", "--epochs", str(HEAD_EPOCHS),
                  "--set", "transfer.weights=none", "--set", "transfer.base=MobileNet",
                  "--set", f"transfer.fine_tune_epochs={FINE_TUNE_EPOCHS}")


@pytest.fixture(scope="module")
def fine_tune_interrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Snapshot]:
    base = tmp_path_factory.mktemp("transfer")
    env = isolated_env(base, offline_env(base))
    runs = base / "runs"
    proc = start(base, "train", *SMALL_TRANSFER, "--runs-dir", str(runs), env=env)
    wait_until(lambda: any(r["phase"] == "fine_tune" for r in rows_so_far(the_run(runs))), proc,
               "a fine_tune epoch in metrics.jsonl")
    proc.popen.send_signal(signal.SIGTERM)
    run = the_run(runs)
    assert run is not None
    after = snapshot(run, proc.finish(), "fine_tune")
    resumed = kerastui(base, "resume", run.name, "--runs-dir", str(runs), env=env)
    return after, snapshot(run, resumed, "fine_tune")


def test_a_transfer_run_interrupted_in_fine_tuning_checkpoints_that_phase(fine_tune_interrupted):
    snap, _ = fine_tune_interrupted
    assert snap.done.returncode == 128 + signal.SIGTERM, snap.done.stderr
    assert snap.status["state"] == "interrupted" and snap.status["phase"] == "fine_tune"
    assert snap.checkpoint["phase"] == "fine_tune" and snap.checkpoint["epoch"] == snap.status["epoch"]
    assert HEAD_EPOCHS < snap.checkpoint["epoch"] and len(snap.epochs) < HEAD_EPOCHS + FINE_TUNE_EPOCHS
    assert not snap.saved_model, "an interrupted run is not saved"
    # The fine-tuning checkpoint carries the finished head phase with it.
    assert [p["name"] for p in snap.checkpoint["phases"]] == ["head"]
    assert snap.checkpoint["phases"][0]["epochs"] == HEAD_EPOCHS


def test_a_transfer_run_resumes_in_fine_tuning(fine_tune_interrupted):
    before, snap = fine_tune_interrupted
    assert snap.done.returncode == 0, snap.done.stderr
    assert not snap.done.error_lines
    resumed_at = before.checkpoint["epoch"]
    (i,) = [i for i, e in enumerate(snap.events) if e["type"] == "Notice" and e["message"].startswith("resumed")]
    assert snap.events[i]["message"].startswith(f"resumed after epoch {resumed_at} ")
    assert snap.events[i]["message"].endswith(f"from checkpoints/fine_tune/epoch-{resumed_at:06d}.npz")
    # The log before the resume is the interrupted run's, cut back to the checkpoint's epoch (its
    # epochs rewritten from the checkpoint's own rows: the same values, seconds rounded as logged).

    def same(event: dict) -> tuple:
        return (event["type"], event.get("epoch"), event.get("phase"), json.dumps(event.get("logs"), sort_keys=True),
                event.get("message"))

    assert [same(e) for e in snap.events[:i]] == [
        same(e) for e in before.events if not (e["type"] in ("EpochEnded", "BatchEnded") and e["epoch"] >= resumed_at)]
    new = snap.events[i:]
    assert [e["phase"] for e in new if e["type"] == "TrainStarted"] == ["fine_tune"], "the head was trained again"
    assert {e["phase"] for e in new if e["type"] == "EpochEnded"} == {"fine_tune"}
    total = HEAD_EPOCHS + FINE_TUNE_EPOCHS
    assert snap.epochs == list(range(1, total + 1))
    assert snap.event_epochs == list(range(total))
    phases = [row["phase"] for row in jsonl(snap.run / "metrics.jsonl")]
    assert phases == ["head"] * HEAD_EPOCHS + ["fine_tune"] * FINE_TUNE_EPOCHS
    summary = snap.summary
    assert summary["status"] == "completed" and summary["epochs_run"] == total
    assert [(p["name"], p["epochs"]) for p in summary["phases"]] == [("head", HEAD_EPOCHS),
                                                                     ("fine_tune", FINE_TUNE_EPOCHS)]
    # fine_tune history of its own epochs only, the head's still there
    assert len(summary["phases"][1]["history"]["loss"]) == FINE_TUNE_EPOCHS
    assert summary["phases"][0]["trainable"] < summary["phases"][1]["trainable"]
    assert snap.status["state"] == "completed"


def test_a_signal_between_the_phases_interrupts_the_run(tmp_path):
    """SIGTERM after the head's last batch, before fine-tuning starts (here: as the head's fit ends,
    delivered in this process to a RunProcess's handler) must still end the run interrupted."""
    from kerastui.core.model import presets
    from kerastui.core.run.directory import RunDir
    from kerastui.core.run.events import TrainEnded
    from kerastui.core.run.process import RunProcess
    from kerastui.core.run.trainer import Trainer

    preset = presets.load("ex5", {"transfer.weights": "none", "transfer.base": "MobileNet",
                                  "data.source": "synthetic:images", "data.limit": 64, "fit.epochs": 1,
                                  "transfer.fine_tune_epochs": 2})
    preset.callbacks.tensorboard = None
    run_dir = RunDir.create(tmp_path / "runs", "ex5")
    run_dir.write_preset(preset)

    def signal_at_head_end(event):
        if isinstance(event, TrainEnded) and event.phase == "head":
            # (never to this test process without the run's handler: SIGTERM would end pytest)
            assert signal.getsignal(signal.SIGTERM) == owner._handle, "RunProcess installed no SIGTERM handler"
            os.kill(os.getpid(), signal.SIGTERM)

    trainer = Trainer(preset, [signal_at_head_end], run_dir=run_dir)
    with RunProcess(run_dir) as owner:
        owner.trainer = trainer
        result = trainer.run()
    assert owner.signal == signal.SIGTERM  # the handler ran
    assert trainer.stop_requested and trainer.stop_reason == "interrupted"
    assert result.epochs_run == 1
    assert result.status == "interrupted", (f"a SIGTERM between the phases ended the run {result.status!r} "
                                            f"after {result.epochs_run} of 3 epochs")
    assert not result.saved and not (run_dir.path / "model.keras").exists()


# --------------------------------------------------------------------------- truthful refusals


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs refused after TensorFlow loaded, started together: a dangling --runs-dir and a
    checkpoint filename that climbs out of the run directory."""
    base = tmp_path_factory.mktemp("refusals")
    env = isolated_env(base)
    dangling = base / "dangling"
    dangling.symlink_to(base / "nowhere" / "runs")
    work = base / "work" / "deeper"  # the process's working folder: ../../escaped.keras is base/escaped.keras
    work.mkdir(parents=True)
    runs = base / "escape-runs"
    procs = {
        "dangling": start(base / "d", "train", "ex1", "--set", "data.samples=300", "--epochs", "1",
                          "--runs-dir", str(dangling), env=env),
        "escape": start(work, "train", "ex1", "--set", "data.samples=300", "--epochs", "1", "--runs-dir", str(runs),
                        "--set", "callbacks.checkpoint.filename=../../escaped.keras", env=env),
    }
    return {"base": base, "link": dangling, "runs": runs, **{k: p.finish() for k, p in procs.items()}}


def test_a_dangling_runs_folder_is_one_line_naming_it(refusals):
    done = refusals["dangling"]
    message = one_error_line(completed(done))
    assert done.returncode == 1
    assert str(refusals["link"]) in message and "symbolic link" in message
    assert "1000" not in message
    assert not (refusals["base"] / "nowhere").exists(), "the link's target was created"
    assert refusals["link"].is_symlink()


def test_a_checkpoint_filename_climbing_out_of_the_run_is_refused(refusals):
    done = refusals["escape"]
    message = one_error_line(completed(done))
    assert done.returncode == 1
    assert "callbacks.checkpoint.filename" in message and "../../escaped.keras" in message
    assert list(refusals["base"].rglob("escaped.keras")) == []
    assert not any(p.is_dir() for p in refusals["runs"].glob("*")), "a run directory was left for a refused run"


def test_runs_on_an_empty_folder_says_no_runs(tmp_path):
    env = isolated_env(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    done = kerastui(tmp_path, "runs", "--runs-dir", str(empty), env=env)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == f"no runs in {empty}"
    assert json.loads(kerastui(tmp_path, "runs", "--json", "--runs-dir", str(empty), env=env).stdout) == []


def test_a_run_started_detached_runs_nicer_than_its_starter_group_included():
    """A run has a session of its own; with Linux autogroups that is a scheduling group of its own,
    where only the group's niceness puts the TUI's key presses before training."""
    from kerastui.core.run.process import RUN_NICE, lower_priority

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        lower_priority(child.pid, RUN_NICE)
        mine = os.getpriority(os.PRIO_PROCESS, os.getpid())
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(mine + RUN_NICE, 19)
        group = Path(f"/proc/{child.pid}/autogroup")
        if group.exists():  # autogroups on: the run's group is the nicer one
            run_group = group.read_text().split()
            assert run_group[-1] == str(min(mine + RUN_NICE, 19))
            # A process whose task group is a cgroup of its own (containers) reads an empty file:
            # it is in no autogroup, so the run's group is another one all the same.
            my_group = Path("/proc/self/autogroup").read_text().split()
            assert not my_group or run_group[0] != my_group[0]
    finally:
        child.kill()
        child.wait(timeout=30)

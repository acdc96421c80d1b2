"""Run directories a stranger can write to (issue 25, parts 5 and 6): nothing is written, loaded,
deleted or signalled outside the run.

- a symbolic link planted at any name a run writes (its temporary files, its logs, its checkpoint
  files, its lock, its model's temporary file, the checkpoints folder itself) is never followed:
  the file it points at keeps its bytes and its modification time, and nothing new appears beside it;
- ``state.json``'s pointer to the newest checkpoint naming a file outside its folder (an absolute
  path, or one climbing out) is a damaged hint: the resume goes on from the newest intact checkpoint
  of the folder, says the pointer was ignored, and the file outside is neither loaded nor deleted;
- ``callbacks.checkpoint.filename`` absolute or climbing out is refused by ``check`` and ``train`` in
  one line;
- ``stop`` signals only a process it can prove is the run's (its pid, its start time, and the
  run's lock or its command line): a status naming an unrelated ``sleep`` reads ``died`` and the
  sleep lives on.

Real Keras on tiny presets, real files, real processes; nothing is mocked.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.model.specs import CheckpointSpec
from kerastui.core.run import checkpoint
from kerastui.core.run.client import RunClient
from kerastui.core.run.directory import RunDir, process_start, read_json, write_atomic
from kerastui.core.run.events import EpochEnded, Notice
from kerastui.core.run.process import RunProcess
from kerastui.core.run.status import RunStatus
from kerastui.core.run.trainer import Trainer
from tests.conftest import run_cli

OLD = 1_000_000_000  # the bait's modification time (2001): any write would move it


# --------------------------------------------------------------------------- helpers


def bait(tmp_path: Path) -> Path:
    """A folder outside every run, holding files a planted link points at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside


def bait_file(outside: Path, name: str) -> Path:
    path = outside / name
    path.write_bytes(f"precious {name}\n".encode())
    os.utime(path, (OLD, OLD))
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every name under ``folder`` with its bytes (files) and modification time."""
    out: dict[str, tuple[bytes | None, int]] = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        out[str(path.relative_to(folder))] = (path.read_bytes() if path.is_file() else None, stat.st_mtime_ns)
    return out


def changed(folder: Path, before: dict[str, tuple[bytes | None, int]]) -> list[str]:
    """The names under ``folder`` that appeared, went or changed since ``before``."""
    after = snapshot(folder)
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def image_preset(epochs: int = 3) -> Any:
    """ex2 on scikit-learn's 8×8 digits: small, offline, and image data (the run keeps sample images)."""
    preset = presets.load("ex2")
    preset.data.source = "sklearn:digits"
    preset.data.limit = 200
    preset.fit.epochs = epochs
    preset.fit.batch_size = 32
    preset.save.formats = ["keras"]
    preset.save.verify = False
    preset.model.summary = False
    return preset


def tiny_preset(epochs: int = 6) -> Any:
    preset = presets.load("ex1")
    preset.data.samples = 200
    preset.fit.epochs = epochs
    preset.fit.batch_size = 16
    preset.save.formats = []
    return preset


def run_in_process(run: RunDir, preset: Any, *, resume: bool = False, sinks: list[Any] | None = None) -> Any:
    """The run as ``kerastui train --run-dir`` runs it, in this process: its lock, its status, its trainer."""
    with RunProcess(run) as owner:
        owner.starting(preset, resumed=resume)
        trainer = Trainer(preset, [owner, *(sinks or [])], run_dir=run, resume=resume)
        owner.trainer = trainer
        result = trainer.run()
        owner.finished(result)
    return result


def interrupted_run(folder: Path, after: int = 3) -> RunDir:
    """A run interrupted (as by a signal) in the epoch after ``after``: its checkpoint is of ``after``."""
    preset = tiny_preset()
    run = RunDir.create(folder, "tiny")
    run.write_preset(preset)
    trainer = Trainer(preset, run_dir=run)

    def interrupt(event: Any) -> None:
        if isinstance(event, EpochEnded) and event.epoch == after - 1:
            trainer.request_stop("interrupted")

    trainer.sinks.append(interrupt)
    result = trainer.run()
    run.release()
    assert result.status == "interrupted" and result.epochs_run == after
    deadline = time.monotonic() + 60
    while read_json(run.checkpoint_dir("train") / "state.json").get("epoch") != after:
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.05)
    return run


def resume_in_process(run: RunDir) -> tuple[Any, list[int], list[str]]:
    notices: list[str] = []
    starts: list[int] = []
    preset = presets.load(run.preset_path)
    result = run_in_process(run, preset, resume=True, sinks=[
        lambda e: notices.append(e.message) if isinstance(e, Notice) else None,
        lambda e: starts.append(e.epoch) if isinstance(e, EpochEnded) else None])
    return result, starts, notices


def no_links_left(run: RunDir) -> list[str]:
    return [str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_symlink()]


# --------------------------------------------------------------------------- links at the names a run writes


def test_links_planted_at_every_name_a_run_writes_are_never_followed(tmp_path: Path) -> None:
    """A run whose directory holds links, planted before it starts, at its temporary files (status,
    summary, predictions, checkpoint, pointer, best weights, the model's save), its logs, its sample
    images and the preset's ModelCheckpoint file: it completes, and nothing outside changed or appeared."""
    outside = bait(tmp_path)
    preset = image_preset()
    preset.callbacks.checkpoint = CheckpointSpec(filename="best.keras", save_best_only=False)  # Keras writes it
    run = RunDir.create(tmp_path / "runs", "hostile")
    run.write_preset(preset)
    pid = os.getpid()
    folder = run.checkpoint_dir("train")
    names = [f".status.json.{pid}.tmp", f".summary.json.{pid}.tmp", f".predictions.json.{pid}.tmp",
             "metrics.jsonl", "events.jsonl", f".samples.npy.{pid}.tmp", "samples.npy",
             f".model.tmp-{pid}.keras", "best.keras",
             *(f"checkpoints/train/.epoch-{e:06d}.npz.{pid}.tmp" for e in range(1, 4)),
             f"checkpoints/train/.state.json.{pid}.tmp", f"checkpoints/train/.best.npz.{pid}.tmp"]
    for n, name in enumerate(names):
        # Half point at files that exist (they must keep their bytes), half nowhere (nothing may appear).
        target = bait_file(outside, f"file-{n}") if n % 2 == 0 else outside / f"nowhere-{n}"
        plant(run.path / name, target)
    before = snapshot(outside)
    result = run_in_process(run, preset)
    assert result.status == "completed", result.error
    assert changed(outside, before) == []
    assert no_links_left(run) == []
    assert [r["epoch"] for r in json.loads("[" + ",".join(run.metrics_path.read_text().splitlines()) + "]")] == [
        1, 2, 3]
    assert run.samples_path.is_file() and run.model_path.is_file()
    assert read_json(folder / "state.json")["epoch"] == 3
    assert run.status()["state"] == RunStatus.COMPLETED


def test_folders_that_are_links_are_replaced_never_written_through(tmp_path: Path) -> None:
    """The checkpoints folder, and the folder of the preset's own Keras ModelCheckpoint file, planted
    as links to folders outside."""
    outside = bait(tmp_path)
    for name in ("away", "elsewhere"):
        (outside / name).mkdir()
    preset = tiny_preset(epochs=2)
    preset.callbacks.checkpoint = CheckpointSpec(filename="kept/best.keras")
    run = RunDir.create(tmp_path / "runs", "hostile")
    run.write_preset(preset)
    plant(run.checkpoints_path, outside / "away")
    plant(run.path / "kept", outside / "elsewhere")
    before = snapshot(outside)
    result = run_in_process(run, preset)
    assert result.status == "completed", result.error
    assert changed(outside, before) == []
    assert no_links_left(run) == []
    assert (run.checkpoint_dir("train") / "state.json").is_file() and (run.path / "kept" / "best.keras").is_file()


@pytest.mark.parametrize("dangling", [False, True])
def test_a_lock_that_is_a_link_is_refused_in_one_line_and_nothing_is_created(tmp_path: Path, dangling: bool) -> None:
    outside = bait(tmp_path)
    target = outside / "lock-target" if dangling else bait_file(outside, "lock-target")
    run = RunDir.create(tmp_path / "runs", "hostile")
    plant(run.lock_path, target)
    before = snapshot(outside)
    with pytest.raises(KerasTUIError) as raised:
        run.acquire()
    message = str(raised.value)
    assert "\n" not in message and str(run.lock_path) in message and "link" in message
    assert changed(outside, before) == []
    assert not run.locked()


def test_a_resume_through_planted_links_touches_nothing_outside(tmp_path: Path) -> None:
    """The resume rewrites both logs (their temporary files are links here), checkpoints again, and
    reads EarlyStopping's best weights (a link to a checkpoint outside): nothing outside is read
    into the run or written."""
    outside = bait(tmp_path)
    run = interrupted_run(tmp_path / "runs")
    pid = os.getpid()
    folder = run.checkpoint_dir("train")
    foreign = outside / "foreign.npz"
    checkpoint.write_file(foreign, checkpoint.read_arrays(folder / "epoch-000003.npz")[0])
    os.utime(foreign, (OLD, OLD))
    names = [f".metrics.jsonl.{pid}.tmp", f".events.jsonl.{pid}.tmp", f".status.json.{pid}.tmp",
             *(f"checkpoints/train/.epoch-{e:06d}.npz.{pid}.tmp" for e in range(4, 7)),
             f"checkpoints/train/.state.json.{pid}.tmp"]
    for n, name in enumerate(names):
        plant(run.path / name, bait_file(outside, f"file-{n}") if n % 2 == 0 else outside / f"nowhere-{n}")
    before = snapshot(outside)
    result, starts, _ = resume_in_process(run)
    assert result.status == "completed" and result.epochs_run == 6
    assert starts[0] == 3
    assert changed(outside, before) == []
    assert no_links_left(run) == []


# --------------------------------------------------------------------------- paths read from the run's files


@pytest.mark.parametrize("pointer", ["absolute", "climbing"])
def test_a_checkpoint_pointer_leading_out_of_the_run_is_ignored_and_the_file_outside_untouched(
        tmp_path: Path, pointer: str) -> None:
    """``state.json`` is a hint (a damaged one loses nothing: every checkpoint carries its state).
    One naming a file outside its folder is damage: the resume goes on from the newest intact
    checkpoint in the folder, says so, and the outside file (a valid checkpoint of a later epoch)
    is neither loaded nor deleted."""
    outside = bait(tmp_path)
    run = interrupted_run(tmp_path / "runs")
    folder = run.checkpoint_dir("train")
    arrays, state = checkpoint.read_arrays(folder / "epoch-000003.npz")
    assert state is not None
    foreign = outside / "x.npz"
    checkpoint.write_file(foreign, arrays, {**state, "epoch": 5})  # were it loaded, the run would go on after 5
    os.utime(foreign, (OLD, OLD))
    pointed = str(foreign) if pointer == "absolute" else os.path.relpath(foreign, folder)
    assert pointer == "absolute" or pointed.startswith("../")
    write_atomic(folder / "state.json", json.dumps({**state, "epoch": 5, "weights": pointed}))
    before = snapshot(outside)
    result, starts, notices = resume_in_process(run)
    assert result.status == "completed" and result.epochs_run == 6
    assert starts[0] == 3, "it went on after epoch 3, the checkpoint in its folder"
    said = [n for n in notices if n.startswith("resumed after epoch 3")]
    assert len(said) == 1 and "state.json of train" in said[0] and "outside" in said[0], notices
    assert changed(outside, before) == []


def test_run_files_that_are_links_or_fifos_are_never_read_through(tmp_path: Path) -> None:
    """A status that is a link to a JSON file outside, or a FIFO (reading one blocks for ever): the
    runs list shows each run ``damaged`` with why, reads nothing outside, and never hangs; a status
    written later (as a resume writes it) replaces the link and copies nothing from its target."""
    outside = bait(tmp_path)
    secret = outside / "secret.json"
    secret.write_text(json.dumps({"state": "interrupted", "preset": "SECRET"}), encoding="utf-8")
    runs = tmp_path / "runs"
    linked = RunDir.create(runs, "linked")
    plant(linked.status_path, secret)
    piped = RunDir.create(runs, "piped")
    os.mkfifo(piped.status_path)
    os.mkfifo(piped.metrics_path)
    listed = {r.name: r for r in RunClient(runs).runs()}
    assert listed[linked.name].status == RunStatus.DAMAGED and "symbolic link" in str(listed[linked.name].error)
    assert listed[piped.name].status == RunStatus.DAMAGED and "not a plain file" in str(listed[piped.name].error)
    assert all("SECRET" not in r.preset for r in listed.values())
    linked.set_status(state="failed")
    assert not linked.status_path.is_symlink() and "SECRET" not in linked.status_path.read_text(encoding="utf-8")
    assert secret.read_text(encoding="utf-8") == json.dumps({"state": "interrupted", "preset": "SECRET"})


def test_a_summary_cannot_move_its_run_nor_lead_its_model_out(tmp_path: Path) -> None:
    """What the TUI does with a run that ended: its directory is where it was found (not the one its
    summary names: the Save/Load workspace writes there without asking), and a model file that is a
    link out of it is not loaded back."""
    outside = bait(tmp_path)
    bait_file(outside, "model.keras")
    run = RunDir.create(tmp_path / "runs", "hostile")
    run.write_summary({"preset": "hostile", "status": "completed", "epochs_run": 1, "run_dir": str(outside)})
    write_atomic(run.status_path, json.dumps({"state": "completed"}))
    plant(run.model_path, outside / "model.keras")
    outcome = RunClient(run.path.parent).outcome(run.path, run.status())
    assert outcome.result is not None and outcome.result.run_dir == str(run.path)
    assert not outcome.model_saved


# --------------------------------------------------------------------------- callbacks.checkpoint.filename


@pytest.mark.parametrize("command", ["check", "train"])
@pytest.mark.parametrize("where", ["absolute", "climbing"])
def test_a_checkpoint_filename_outside_the_run_is_refused_in_one_line(tmp_path: Path, command: str,
                                                                       where: str) -> None:
    outside = bait(tmp_path)
    target = outside / "escaped.keras"
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    filename = str(target) if where == "absolute" else "../../outside/escaped.keras"
    runs = tmp_path / "runs"
    done = run_cli(command, "ex1", "--set", "data.samples=300", "--set", "fit.epochs=1",
                   "--set", f"callbacks.checkpoint.filename={filename}",
                   *(["--runs-dir", str(runs)] if command == "train" else []), cwd=work, timeout=300)
    errors = [line for line in done.stderr.splitlines() if line.startswith("kerastui: error:")]
    assert done.returncode == 1, done.stderr[-2000:]
    assert len(errors) == 1 and "callbacks.checkpoint.filename" in errors[0] and filename in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert list(outside.iterdir()) == []
    assert not any(p.is_dir() for p in runs.glob("*")), "a run directory was left for a refused run"


# --------------------------------------------------------------------------- stop signals only the run's process


@pytest.fixture
def sleeper() -> Any:
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait(timeout=30)


def stop_by_cli(run: RunDir) -> subprocess.CompletedProcess:
    return run_cli("stop", run.name, "--runs-dir", str(run.path.parent), timeout=120)


def assert_not_signalled(run: RunDir, sleeper: Any) -> None:
    with pytest.raises(KerasTUIError) as raised:
        RunClient(run.path.parent).stop(run)
    assert "\n" not in str(raised.value) and run.name in str(raised.value)
    done = stop_by_cli(run)
    errors = [line for line in done.stderr.splitlines() if line.startswith("kerastui: error:")]
    assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    time.sleep(0.2)  # a signal sent is delivered at once; SIGUSR1's default action ends a sleep
    assert sleeper.poll() is None, f"the unrelated process was signalled (exit {sleeper.returncode})"


@pytest.mark.parametrize("start", ["none", "forged"])
def test_a_starting_status_naming_an_unrelated_process_reads_died_and_is_never_signalled(
        tmp_path: Path, sleeper: Any, start: str) -> None:
    """``forged``: the status even records the sleep's true start time (anyone can read it in /proc):
    the sleep is still not the run's process (it holds no lock of the run, and its command line is
    not a run of this directory)."""
    run = RunDir.create(tmp_path / "runs", "hostile")
    fields: dict[str, Any] = {"state": "starting", "pid": sleeper.pid, "host": socket.gethostname()}
    if start == "forged":
        fields["pid_start"] = process_start(sleeper.pid)
    write_atomic(run.status_path, json.dumps(fields))
    assert run.status()["state"] == RunStatus.DIED
    assert [r.status for r in RunClient(run.path.parent).runs()] == [RunStatus.DIED]
    assert_not_signalled(run, sleeper)


@pytest.mark.parametrize("start", ["mismatch", "forged"])
def test_a_running_status_naming_an_unrelated_process_is_never_signalled(tmp_path: Path, sleeper: Any,
                                                                        start: str) -> None:
    """Whoever holds the run's lock (here this test, as a stranger could), a status naming another
    process is not proof: its start time differs (``mismatch``) or it holds no lock of the run
    (``forged``: the start time copied from /proc)."""
    run = RunDir.create(tmp_path / "runs", "hostile")
    recorded = process_start(sleeper.pid)
    assert recorded is not None
    write_atomic(run.status_path, json.dumps({
        "state": "running", "pid": sleeper.pid, "host": socket.gethostname(),
        "pid_start": recorded + 1 if start == "mismatch" else recorded}))
    assert run.status()["state"] == RunStatus.DIED  # nobody holds its lock
    with run.lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        assert run.status()["state"] == RunStatus.RUNNING
        assert_not_signalled(run, sleeper)


def test_a_launched_run_is_still_stopped_by_its_own_pid(tmp_path: Path) -> None:
    """The proof does not refuse the run's own process: a detached run is stopped while it starts or
    trains, and ends ``stopped``."""
    from kerastui.core.run.process import launch

    preset = tiny_preset(epochs=400)
    launched = launch(preset, runs_dir=tmp_path / "runs")
    run, process = launched.run_dir, launched.process
    try:
        status = run.status()
        assert status["state"] in (RunStatus.STARTING, RunStatus.RUNNING), status
        deadline = time.monotonic() + 240
        while run.status()["state"] != RunStatus.RUNNING:
            assert process.poll() is None, run.output_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the run never started training"
            time.sleep(0.05)
        assert RunClient(run.path.parent).stop(run) == process.pid
        process.wait(timeout=240)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == 0, run.output_path.read_text()[-2000:]
    assert run.status()["state"] == RunStatus.STOPPED


def test_stop_while_starting_reaches_the_launched_process(tmp_path: Path) -> None:
    """Right after launch (status ``starting``, written by the launcher, before the run holds its
    lock) the launched process is proven by its command line: stop signals it."""
    from kerastui.core.run.process import launch

    launched = launch(tiny_preset(epochs=400), runs_dir=tmp_path / "runs")
    run, process = launched.run_dir, launched.process
    try:
        assert RunClient(run.path.parent).stop(run) == process.pid
        process.wait(timeout=240)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == 0, run.output_path.read_text()[-2000:]
    assert run.status()["state"] == RunStatus.STOPPED


if sys.platform != "linux":  # pragma: no cover - the proofs read /proc
    pytestmark = pytest.mark.skip(reason="the run's process is proven through Linux's /proc")

"""Runs outlive the terminal, for real: a TUI in a pseudo-terminal starts a run by keys and is hung
up (SIGHUP to its process group, as a closing terminal does); the run process goes on and
completes; a new TUI attaches and draws the same epochs as ``metrics.jsonl``.  A live run found
at start is followed; the Runs workspace stops one and resumes an interrupted one by keys."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from kerastui.core.run.directory import RunDir, read_metrics
from kerastui.ui.app import make_app
from kerastui.ui.screens.train import EpochTable

SLOW = """\
title = "slow enough to hang up mid-run"
[data]
source = "synthetic:classification"
samples = 3000
[model]
layers = [{type = "Dense", units = 32, activation = "relu"}, {type = "Dense", units = 3, activation = "softmax"}]
[compile]
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
[fit]
epochs = 12
batch_size = 8
"""


def runs_dir() -> Path:
    return Path(os.environ["KERASTUI_RUNS"])


def only_run(timeout: float = 120.0) -> RunDir:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in runs_dir().glob("*") if p.is_dir()] if runs_dir().is_dir() else []
        if found:
            assert len(found) == 1, found
            return RunDir(found[0])
        time.sleep(0.2)
    raise AssertionError("no run directory appeared")


def wait_until(condition, timeout: float = 180.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


async def pilot_wait(pilot, condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)


def reap(pid: int, timeout: float) -> int:
    """``os.waitpid(pid, 0)`` with a deadline: the wait status, or a failure naming the wait."""
    deadline = time.monotonic() + timeout
    while True:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            return code
        assert time.monotonic() < deadline, f"process {pid} did not end within {timeout:.0f} s"
        time.sleep(0.05)


def drain(fd: int, seconds: float) -> bytes:
    """Read what the TUI wrote for ``seconds`` (a pty must be read, or the TUI blocks writing)."""
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def test_hanging_up_the_tui_leaves_its_run_going_and_a_new_tui_attaches(tmp_path) -> None:
    preset = tmp_path / "slow.toml"
    preset.write_text(SLOW)
    pid, master = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty, like an SSH login
        os.execv(sys.executable, [sys.executable, "-m", "kerastui", str(preset)])
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        screen = drain(master, 4.0)
        assert screen, "the TUI drew nothing"
        os.write(master, b"t")
        drain(master, 2.0)
        os.write(master, b"s")
        run = only_run()
        # Hang up once the run process trains (it is in a session of its own).
        deadline = time.monotonic() + 180
        while run.status().get("state") != "running" or len(read_metrics(run.path)) < 1:
            assert time.monotonic() < deadline, f"the run never started: {run.status()}"
            drain(master, 0.2)
        os.killpg(pid, signal.SIGHUP)
        os.close(master)
        master = -1
        code = reap(pid, 60)
        assert os.WIFSIGNALED(code) or os.WIFEXITED(code)  # the TUI is gone…
        status = run.status()
        assert status["state"] == "running" and run.locked(), status  # …its run is not
        assert len(read_metrics(run.path)) < 12
    finally:
        if master >= 0:
            os.close(master)
        try:
            os.kill(pid, signal.SIGKILL)
            reap(pid, 30)
        except (ProcessLookupError, ChildProcessError):
            pass
    wait_until(lambda: run.status()["state"] == "completed", what="the run to complete")
    assert (run.path / "model.keras").is_file()
    assert [r["epoch"] for r in read_metrics(run.path)] == list(range(1, 13))

    import asyncio

    async def attach() -> None:
        app = make_app(preset, attach=run.path, load_tensorflow=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot_wait(pilot, lambda: app.session.trained is not None)
            await pilot.pause(0.2)
            state = app.session.run_state
            rows = read_metrics(run.path)
            assert app.current_mode == "train" and state.status == "completed"
            assert state.history["val_loss"] == [r["val_loss"] for r in rows]
            assert app.screen.query_one(EpochTable).row_count == len(rows) == 12

    asyncio.run(attach())


async def test_a_live_run_is_followed_at_start_and_stopped_from_the_runs_workspace() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", "400",
                             "--set", "data.samples=3000", "--set", "fit.batch_size=8"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        run = only_run()
        wait_until(lambda: len(read_metrics(run.path)) >= 2, what="two epochs")
        app = make_app("ex1", load_tensorflow=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot_wait(pilot, lambda: app.session.run_dir == run.path and app.session.run_state.epochs_done >= 2)
            assert app.session.training  # followed from the start, its history drawn
            await pilot.press("h")
            await pilot.pause(0.5)
            table = app.screen.query_one("#runs-table")
            assert table.row_count == 1 and str(table.get_row_at(0)[1]).startswith("running")
            await pilot.press("x")
            await pilot_wait(pilot, lambda: app.session.trained is not None)
            assert app.session.run_state.status == "stopped"
            assert run.status()["state"] == "stopped" and (run.path / "model.keras").is_file()
            assert app.session.run_state.history["loss"] == [r["loss"] for r in read_metrics(run.path)]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


async def test_an_interrupted_run_resumes_from_the_runs_workspace_with_a_continuous_history() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", "30",
                             "--set", "data.samples=3000", "--set", "fit.batch_size=8"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = only_run()
    wait_until(lambda: len(read_metrics(run.path)) >= 2, what="two epochs")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert run.status()["state"] == "interrupted"
    done = len(read_metrics(run.path))
    assert 2 <= done < 30
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.session.run_dir is None  # nothing live: nothing followed
        await pilot.press("h")
        await pilot.pause(0.5)
        assert str(app.screen.query_one("#runs-table").get_row_at(0)[1]) == "interrupted"
        await pilot.press("r")
        await pilot_wait(pilot, lambda: app.session.trained is not None, timeout=300)
        state = app.session.run_state
        assert app.current_mode == "train" and state.status == "completed"
        rows = read_metrics(run.path)
        assert [r["epoch"] for r in rows] == list(range(1, 31))  # no gap, no duplicate
        assert state.epochs_done == 30 and state.history["val_loss"] == [r["val_loss"] for r in rows]
    assert run.status()["state"] == "completed"

"""`kerastui runs | head -1`: a command whose stdout reader has gone ends quietly (exit 141, like a
tool killed by SIGPIPE), never with "internal error: BrokenPipeError", a traceback, or Python's
"Exception ignored" from the flush at interpreter exit.  Real processes, real pipes."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from kerastui.cli import EXIT_READER_GONE

COMMANDS = [["presets"], ["presets", "--json"], ["runs"], ["runs", "--json"], ["runs", "--csv"],
            ["export-script", "ex1"]]
NOISE = ("internal error", "Traceback", "Exception ignored", "BrokenPipeError")


def env(unbuffered: bool) -> dict[str, str]:
    """Buffered stdout (a pipe's default: one write at the end, then the flush at exit) or unbuffered
    (PYTHONUNBUFFERED: a write per print, met by the command itself)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def quiet(stderr: str) -> bool:
    return not any(word in stderr for word in NOISE)


def read_a_line(fd: int, timeout: float = 60) -> bytes:
    """What ``head -1`` reads: up to the first newline (or the end), with a deadline."""
    got, deadline = b"", time.monotonic() + timeout
    while b"\n" not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"no line within {timeout:.0f} s: {got!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 1)
            if not chunk:
                break
            got += chunk
    return got


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_command_whose_reader_left_before_it_wrote_exits_141_and_says_nothing(args, unbuffered):
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the command writes a byte: its first write fails
    try:
        proc = subprocess.run([sys.executable, "-m", "kerastui", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=env(unbuffered), timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == EXIT_READER_GONE and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=" ".join)
def test_help_into_a_closed_pipe_says_nothing(args):
    for unbuffered in (False, True):
        read, write = os.pipe()
        os.close(read)
        try:
            proc = subprocess.run([sys.executable, "-m", "kerastui", *args], stdout=write, stderr=subprocess.PIPE,
                                  text=True, env=env(unbuffered), timeout=120)
        finally:
            os.close(write)
        assert proc.returncode in (0, EXIT_READER_GONE) and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("args", [["presets"], ["presets", "--json"]], ids=" ".join)
def test_head_1_reads_a_line_and_leaves_and_the_command_ends_quietly_every_time(args):
    """Like `kerastui presets | head -1`: the reader takes one line and closes its end, whenever the
    command happens to be writing (ten times, buffered and not)."""
    for attempt in range(10):
        proc = subprocess.Popen([sys.executable, "-m", "kerastui", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env(unbuffered=attempt % 2 == 1))
        try:
            assert proc.stdout is not None
            assert read_a_line(proc.stdout.fileno())
            proc.stdout.close()
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        assert proc.returncode in (0, EXIT_READER_GONE) and quiet(stderr), (attempt, proc.returncode, stderr)

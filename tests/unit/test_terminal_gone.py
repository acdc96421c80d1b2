"""A TUI whose terminal goes away (SSH dropped, window closed) ends, SIGHUP ignored (`nohup`) or not.

With SIGHUP ignored, Textual's input thread used to read end-of-file from the hung-up terminal and
loop at once, for ever (and a second one after the hang-up's SIGCONT): two cores spinning, no exit.
Real `python -m kerastui` processes on a real pseudo-terminal whose master end is closed."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from kerastui.ui.terminal import HANG_UP_EXIT

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def drain(master: int, seconds: float) -> int:
    """Read what the TUI draws for ``seconds`` (an unread terminal blocks it); the bytes read."""
    got, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            got += len(os.read(master, 65536))
    return got


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads CPU times from Linux /proc")
@pytest.mark.parametrize("sighup, controlling", [
    ("ignored", True),    # nohup, the TUI leading its session: the kernel sends SIGHUP (ignored) and SIGCONT
    ("ignored", False),   # nohup under a shell that leads the session: the TUI gets no signal, only end-of-file
    ("default", True),    # SIGHUP ends it, as before
])
def test_a_tui_whose_terminal_hangs_up_exits_within_seconds_without_spinning(sighup, controlling, tmp_path):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def child() -> None:  # a session of its own; the pty its controlling terminal or just its stdio
        if controlling:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if sighup == "ignored":
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # kept across exec, as nohup does it

    env = {**os.environ, "TERM": "xterm-256color", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "kerastui"], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=child, env=env, cwd=tmp_path)
    os.close(slave)
    try:
        # Wait until it has drawn and is idle (TensorFlow loaded in the background, the first frames
        # drawn): from then on the CPU it uses is what the hang-up costs.
        drawn = drain(master, 2.0)
        deadline = time.monotonic() + 240
        while True:
            before = cpu_seconds(proc.pid)
            drawn += drain(master, 1.0)
            if cpu_seconds(proc.pid) - before < 0.05:
                break
            assert proc.poll() is None, f"the TUI ended on its own: {proc.returncode}"
            assert time.monotonic() < deadline, "the TUI never became idle"
        assert drawn > 1000, "the TUI drew nothing"

        cpu_before, hung_up = cpu_seconds(proc.pid), time.monotonic()
        os.close(master)  # the terminal goes away
        master = -1
        cpu_used = 0.0
        while proc.poll() is None and time.monotonic() - hung_up < 10:
            try:
                cpu_used = cpu_seconds(proc.pid) - cpu_before
            except (FileNotFoundError, ProcessLookupError):  # ended between poll and read
                pass
            time.sleep(0.05)
        seconds = time.monotonic() - hung_up
        if proc.poll() is None:
            cpu_used = cpu_seconds(proc.pid) - cpu_before
        assert proc.poll() is not None, f"still running {seconds:.0f} s after the hang-up, {cpu_used:.1f} s of CPU"
        # A spinning input thread costs a CPU second per second; shutting down costs a fraction.
        assert cpu_used < 1.0, f"{cpu_used:.2f} s of CPU in the {seconds:.1f} s it took to exit"
        if sighup == "ignored":
            assert proc.returncode == HANG_UP_EXIT
        else:  # the kernel's SIGHUP, or — when the watcher saw the hang-up first (under load) — its exit
            assert proc.returncode in (-signal.SIGHUP, HANG_UP_EXIT)
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

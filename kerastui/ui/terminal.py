"""Keep TensorFlow's C++ logging off the screen for the whole life of the TUI.

Textual draws on ``sys.__stderr__``; TensorFlow (absl, oneDNN, CUDA) writes straight to file
descriptor 2 at import and later (device initialisation).  While the app runs, Textual gets a
duplicate of the terminal descriptor, and fd 2 points at a log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import cache_dir

if TYPE_CHECKING:
    from types import FrameType

    from textual.app import App


def log_path() -> Path:
    return cache_dir() / "stderr.log"


@contextlib.contextmanager
def stderr_to_log() -> Iterator[Path | None]:
    stream = sys.__stderr__
    try:
        original_fd = stream.fileno() if stream is not None else -1
    except (AttributeError, OSError, ValueError):
        original_fd = -1
    if stream is None or original_fd < 0:
        yield None
        return
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = open(path, "ab")  # noqa: SIM115 - closed below
    except OSError:
        yield None
        return
    terminal_fd = os.dup(original_fd)
    terminal = os.fdopen(terminal_fd, "w", encoding=stream.encoding or "utf-8",
                         errors="replace", closefd=False)
    saved_dunder, saved_stderr = sys.__stderr__, sys.stderr
    sys.stderr.flush()
    os.dup2(log.fileno(), original_fd)
    sys.__stderr__ = terminal  # type: ignore[misc]  # Textual draws on sys.__stderr__: the terminal's duplicate
    sys.stderr = terminal
    try:
        yield path
    finally:
        terminal.flush()
        os.dup2(terminal_fd, original_fd)
        os.close(terminal_fd)
        sys.__stderr__, sys.stderr = saved_dunder, saved_stderr  # type: ignore[misc]
        log.close()


HANG_UP_EXIT = 129  # 128 + SIGHUP: the TUI's exit status when its terminal went away and SIGHUP was ignored


def exit_when_the_terminal_hangs_up(app: App[Any]) -> None:
    """Make a running ``app`` exit when its terminal goes away (SSH dropped, window closed) even
    with SIGHUP ignored (``nohup``), which would otherwise not end it at all.

    What Textual 8.2.8's LinuxDriver does then: its input thread's select says stdin is readable,
    the read gives end-of-file, and the loop goes round again at once — 100 % of a core.  If the
    TUI leads its session the kernel adds a SIGCONT, which the driver takes as a return from
    ctrl+z: it starts application mode again, a second input thread that spins too.

    Here a daemon thread waits in ``poll`` for the hang-up of stdin (no input wakes it: only
    POLLHUP/POLLERR), then points the terminal's descriptors at a pipe (stdin: once the driver has
    read its one byte, nothing to read, nothing to spin on) and /dev/null (what Textual still
    writes while it shuts down), and asks the app to exit with status 129.  A SIGCONT after the
    hang-up does not restart application mode.  Runs the app started are detached (sessions of
    their own) and go on.  Call it on mount, in the app's thread; nothing happens when stdin is
    not a terminal."""
    import select
    import signal
    import threading

    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0 or not os.isatty(fd):
        return
    loop = asyncio.get_running_loop()
    gone = threading.Event()
    lock = threading.RLock()  # re-entrant: a second SIGCONT may interrupt the first one's handler
    ended = select.POLLHUP | select.POLLERR | select.POLLNVAL

    def hung_up(timeout: float | None) -> bool:
        poller = select.poll()  # one each call: a poll object refuses a second thread's poll()
        poller.register(fd, 0)  # no events asked for: poll reports only a hang-up or an error
        return any(mask & ended for _, mask in poller.poll(timeout))

    def terminal_gone() -> None:  # either thread; once
        with lock:
            if gone.is_set():
                return
            gone.set()
            _detach_from(fd)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app has ended already
            loop.call_soon_threadsafe(lambda: app.exit(return_code=HANG_UP_EXIT))

    def watch() -> None:
        while not hung_up(None):  # blocks, without a timeout, until the terminal hangs up
            pass
        terminal_gone()

    resume = signal.getsignal(signal.SIGCONT)

    def on_sigcont(signum: int, frame: FrameType | None) -> None:
        if gone.is_set() or hung_up(0):
            terminal_gone()  # the hang-up's SIGCONT: no application mode to resume
        elif callable(resume):
            resume(signum, frame)

    signal.signal(signal.SIGCONT, on_sigcont)
    threading.Thread(target=watch, name="kerastui-hang-up", daemon=True).start()


def _detach_from(terminal: int) -> None:
    """Replace every standard descriptor on the hung-up ``terminal`` (and Textual's output, a
    duplicate of one): input with a pipe nobody writes, output with /dev/null."""
    try:
        device = os.fstat(terminal).st_rdev
    except OSError:
        return
    read_end, write_end = os.pipe()  # the write end stays open: the read end is never at end-of-file
    # Textual's input thread may be between its select (the hung-up terminal: readable) and its read,
    # which then reads this pipe.  One byte makes that read return; it is the first byte of a two-byte
    # UTF-8 character, which the thread's incremental decoder holds, decoding to "": no key is pressed.
    # Then the pipe is empty and the thread waits in select, as on an idle terminal.
    os.write(write_end, b"\xc3")
    _QUIET_INPUT.append(write_end)
    null = os.open(os.devnull, os.O_WRONLY)
    outputs = {1, 2}
    with contextlib.suppress(AttributeError, OSError, ValueError):
        outputs.add(sys.__stderr__.fileno())  # type: ignore[union-attr]
    for fd in sorted(outputs | {terminal}):
        try:  # not isatty(): on a hung-up terminal its ioctl fails
            info = os.fstat(fd)
            same = stat.S_ISCHR(info.st_mode) and info.st_rdev == device
        except OSError:
            same = False
        if fd == terminal or same:
            with contextlib.suppress(OSError):
                os.dup2(read_end if fd == terminal else null, fd)
    os.close(read_end)
    os.close(null)


_QUIET_INPUT: list[int] = []  # write ends of the pipes put in a hung-up terminal's place, kept open

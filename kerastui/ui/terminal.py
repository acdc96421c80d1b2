"""Keep TensorFlow's C++ logging off the screen for the whole life of the TUI.

Textual draws on ``sys.__stderr__``; TensorFlow (absl, oneDNN, CUDA) writes straight to file
descriptor 2 at import and later (device initialisation).  While the app runs, Textual gets a
duplicate of the terminal descriptor, and fd 2 points at a log file.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from kerastui.core.errors import cache_dir


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

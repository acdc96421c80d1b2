"""The CPU priority of the TUI's background work: below the UI thread's, so a key press comes first.

Textual runs thread workers on a pool: a pooled thread made nicer stays nicer and runs whatever
worker comes next on it, and a process started from it inherits its niceness (a run launched from
such a thread started 10 steps nicer than meant).  So background work runs at a lower priority in a
thread of its own (:func:`in_background`), which ends with it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

# TensorFlow's thread pools are created by the thread that first runs an op and inherit its
# priority: started from a thread at this niceness, the TUI's own model building (shapes) yields
# the CPU to the UI thread whenever the UI has work (a key press).
BACKGROUND_NICE = 10
T = TypeVar("T")


def background_priority() -> None:
    """Lower the calling thread's CPU priority (per thread on Linux; elsewhere a no-op).  For a
    thread of its own only: see :func:`in_background`."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or not permitted
        pass


def in_background(work: Callable[[], T]) -> T:
    """``work()`` in a new thread at the background priority, waited for (from a worker thread):
    the worker's pooled thread keeps its priority."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        background_priority()
        try:
            outcome.append(work())
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run, name="kerastui-background", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]

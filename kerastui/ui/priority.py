"""The CPU priority of the TUI's worker threads: below the UI thread's, so a key press comes first."""

from __future__ import annotations

import os
import threading

# TensorFlow's thread pools are created by the thread that first runs an op and inherit its
# priority: started from a worker at this niceness, the TUI's own model building (shapes) yields
# the CPU to the UI thread whenever the UI has work (a key press).
BACKGROUND_NICE = 10


def background_priority() -> None:
    """Lower the calling thread's CPU priority (per thread on Linux; elsewhere a no-op)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or not permitted
        pass

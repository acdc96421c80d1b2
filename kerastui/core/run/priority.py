"""A run's CPU priority against the terminal that follows it: full while nobody types, lower while
someone does.

A run started from the TUI is a process in a session of its own.  On Linux with autogrouping (the
default on desktops and most servers; ``/proc/sys/kernel/sched_autogroup_enabled``) that session
is a scheduling group of its own, and the CPU is shared between groups before niceness counts
inside one, so the group's niceness (``/proc/PID/autogroup``) is what decides between a run's
threads and the TUI's key press.  Unlike a process's niceness, a group's can be raised *and*
lowered again between 0 and 19 without privilege (at most ten changes a second, machine-wide).

So the run trains at full priority, and :class:`InputPriority` makes its group ``YIELD_NICE``
nicer from a key press until ``QUIET`` seconds after the last one: a terminal that is being used
answers at once, and one that is only watched costs the run nothing (issue 24: fit under a
followed run ≤ 1.02 × plain; issue 26: a key's frame ≤ 16 ms while a run trains).  Without
autogroups the run is started ``RUN_NICE`` nicer for good (:func:`kerastui.core.run.process.launch`).

Plain Python with an injected timer and clock; tested on real processes (tests/unit/test_run_priority.py).
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Callable
from pathlib import Path

YIELD_NICE = 5  # the run's group niceness while the user types (the TUI's group is at 0)
QUIET = 1.0  # seconds after the last key press before the run has the CPU back
RETRY = 0.2  # a change refused for the rate limit is tried again this much later


def autogroups() -> bool:
    """Whether this machine schedules sessions as groups (then a run's group niceness counts) and this
    process may set a group's niceness (a container may show the switch on and refuse the writes):
    its own group's is written back unchanged to find out."""
    try:
        if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text(encoding="ascii").strip() != "1":
            return False
    except OSError:
        return False
    own = group_nice(os.getpid())
    return own is not None and set_group_nice(os.getpid(), own)


def group_nice(pid: int) -> int | None:
    """The niceness of process ``pid``'s scheduling group (``/autogroup-12 nice 5``), or None."""
    try:
        text = Path(f"/proc/{pid}/autogroup").read_text(encoding="ascii")
    except OSError:
        return None
    try:
        return int(text.rsplit("nice", 1)[1])
    except (IndexError, ValueError):
        return None


def set_group_nice(pid: int, nice: int) -> bool:
    """Set process ``pid``'s group niceness (0–19); False when refused (no such process or group,
    not ours, or the machine-wide rate limit: then try again a little later)."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n", encoding="ascii")
    except OSError:
        return False
    return True


class InputPriority:
    """Lowers the followed run's group priority while the user types, and gives it back after."""

    def __init__(self, set_timer: Callable[[float, Callable[[], None]], object], *,
                 clock: Callable[[], float] = time.monotonic, enabled: bool | None = None) -> None:
        self._set_timer = set_timer
        self._clock = clock
        self.enabled = autogroups() if enabled is None else enabled
        self._pid: int | None = None
        self._own = 0  # the followed run's group niceness when it was followed: what it gets back
        self._yielded = False  # the run's group is YIELD_NICE nicer now
        self._last_input = float("-inf")
        self._timer_pending = False
        self._exit_hook = False

    def follow(self, pid: object) -> None:
        """The run followed now (None: none); the one followed before gets its priority back."""
        pid = pid if type(pid) is int and pid > 0 else None  # (a pid read from a run's status file)
        if pid == self._pid:
            return
        self.give_back()
        self._pid, self._yielded = pid, False
        if pid is not None:
            self._own = group_nice(pid) or 0
            if self._clock() - self._last_input < QUIET:
                self.input_seen()

    def give_back(self) -> None:
        """The followed run's group gets its niceness back now (also when this process exits: a run
        goes on after the TUI closes, and the key that closed it must not leave it yielding)."""
        if self._pid is not None and self._yielded and set_group_nice(self._pid, self._own):
            self._yielded = False

    def input_seen(self) -> None:
        """A key press (or a click): the run yields until QUIET seconds after the last one."""
        self._last_input = self._clock()
        if not self.enabled or self._pid is None:
            return
        if not self._yielded:
            self._yielded = set_group_nice(self._pid, max(self._own, YIELD_NICE))
            if self._yielded and not self._exit_hook:
                atexit.register(self.give_back)
                self._exit_hook = True
        self._wake(QUIET if self._yielded else RETRY)

    def _wake(self, delay: float) -> None:
        if not self._timer_pending:
            self._timer_pending = True
            self._set_timer(delay, self._check)

    def _check(self) -> None:
        self._timer_pending = False
        if self._pid is None:
            return
        idle = self._clock() - self._last_input
        if not self._yielded:  # refused for the rate limit while keys came: try again while they do
            if idle < QUIET:
                self.input_seen()
            return
        if idle < QUIET:
            self._wake(QUIET - idle)
        elif set_group_nice(self._pid, self._own):
            self._yielded = False
        else:
            self._wake(RETRY)

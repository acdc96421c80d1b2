"""InputPriority on real processes: a run in a session of its own (its own scheduling group, as
``launch`` starts one) yields the CPU while the user types and has it back QUIET seconds after the
last key; the timer and the clock are the test's, the kernel's group niceness is real."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from kerastui.core.run.priority import QUIET, YIELD_NICE, InputPriority, autogroups, group_nice, set_group_nice


@pytest.fixture
def run_pid() -> Iterator[int]:
    """A process in a session of its own, as a run is."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        if not autogroups() or group_nice(process.pid) is None:
            pytest.skip("this machine does not schedule sessions as groups (runs start nicer for good there)")
        if not set_group_nice(process.pid, 0):
            pytest.skip("this process may not set a group's niceness here")
        yield process.pid
    finally:
        process.kill()
        process.wait()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def set_timer(self, delay: float, callback: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _, callback in due:
            callback()


def test_the_run_yields_while_keys_come_and_has_the_cpu_back_after(run_pid: int) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.follow(run_pid)
    assert group_nice(run_pid) == 0  # nobody types: the run has the CPU
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    for _ in range(5):  # keys keep coming: it keeps yielding
        clock.advance(QUIET / 2)
        priority.input_seen()
        assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET / 2)
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET / 2 + 0.01)
    assert group_nice(run_pid) == 0  # QUIET after the last key
    assert not clock.timers  # and nothing left to do


def test_a_run_no_longer_followed_gets_its_priority_back(run_pid: int) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    priority.follow(None)  # the run ended, or another is followed
    assert group_nice(run_pid) == 0
    clock.advance(QUIET * 2)
    assert group_nice(run_pid) == 0


def test_a_run_followed_while_keys_come_yields_at_once(run_pid: int) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.input_seen()  # (s pressed: the run is launched and followed a moment later)
    clock.advance(0.1)
    priority.follow(run_pid)
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET + 0.01)
    assert group_nice(run_pid) == 0


@pytest.mark.parametrize("pid", [None, "12", -1, 0, True, 1.5])
def test_no_pid_or_a_pid_read_wrong_from_a_status_file_is_not_followed(pid: object) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.follow(pid)  # (True is not pid 1)
    priority.input_seen()
    assert not clock.timers  # nothing to yield, nothing to give back


def test_a_run_gone_is_retried_only_while_keys_come() -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.follow(2**22 + 12345)  # no such process: every change is refused
    priority.input_seen()
    assert clock.timers
    clock.advance(QUIET)
    clock.advance(QUIET)
    assert not clock.timers  # the keys stopped: so do the tries


def test_where_groups_do_not_count_nothing_is_changed(run_pid: int) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=False)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == 0 and not clock.timers


def test_the_group_gets_its_own_niceness_back_not_zero(run_pid: int) -> None:
    """A group the user made nicer (or a run started nicer for good) is given back what it had."""
    assert set_group_nice(run_pid, 3)
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET + 0.01)
    assert group_nice(run_pid) == 3


def test_a_run_yielding_when_the_tui_exits_gets_its_priority_back(run_pid: int) -> None:
    """The key that closes the TUI (ctrl+q) makes the run yield; the run goes on after the TUI, at
    full priority: the TUI's process gives it back as it exits, before the QUIET timer could."""
    code = (f"from kerastui.core.run.priority import InputPriority, group_nice\n"
            f"p = InputPriority(lambda delay, callback: None, enabled=True)\n"
            f"p.follow({run_pid}); p.input_seen()\n"
            f"assert group_nice({run_pid}) == {YIELD_NICE}, group_nice({run_pid})\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert group_nice(run_pid) == 0

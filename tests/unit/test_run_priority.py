"""InputPriority on real processes: a run in a session of its own (its own scheduling group, as
``launch`` starts one) yields the CPU while the user types and has it back QUIET seconds after the
last key; the TUI's group (here another process's, not the test's own) yields it while the run is
only watched.  The timer and the clock are the test's, the kernel's group niceness is real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kerastui.core.run import priority as priority_module
from kerastui.core.run.priority import (
    GIVE_UP,
    QUIET,
    WATCH_NICE,
    YIELD_NICE,
    InputPriority,
    group_id,
    group_nice,
    machine_autogroups,
    set_group_nice,
)


def session_of_its_own() -> Iterator[int]:
    """A process in a session of its own (a scheduling group of its own), its group at niceness 0."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        if not machine_autogroups() or group_nice(process.pid) is None:
            pytest.skip("this machine does not schedule sessions as groups (runs start nicer for good there)")
        if not set_group_nice(process.pid, 0):
            pytest.skip("this process may not set a group's niceness here")
        yield process.pid
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def run_pid() -> Iterator[int]:
    """A run: a process in a session of its own, as ``launch`` starts one."""
    yield from session_of_its_own()


@pytest.fixture
def tui_pid() -> Iterator[int]:
    """The TUI's group: a process of another session (the test's own group is left alone)."""
    yield from session_of_its_own()


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return tmp_path / "autogroups"


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


def test_the_run_yields_while_keys_come_and_has_the_cpu_back_after(run_pid: int, tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
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


def test_a_run_no_longer_followed_gets_its_priority_back(run_pid: int, tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    priority.follow(None)  # the run ended, or another is followed
    assert group_nice(run_pid) == 0
    clock.advance(QUIET * 2)
    assert group_nice(run_pid) == 0


def test_a_run_followed_while_keys_come_yields_at_once(run_pid: int, tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.input_seen()  # (s pressed: the run is launched and followed a moment later)
    clock.advance(0.1)
    priority.follow(run_pid)
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET + 0.01)
    assert group_nice(run_pid) == 0


@pytest.mark.parametrize("pid", [None, "12", -1, 0, True, 1.5])
def test_no_pid_or_a_pid_read_wrong_from_a_status_file_is_not_followed(pid: object, tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(pid)  # (True is not pid 1)
    priority.input_seen()
    clock.advance(QUIET * 2)
    assert not clock.timers  # nothing to yield, nothing to give back
    assert group_nice(tui_pid) == 0  # and no run to watch: the TUI keeps its priority


def test_a_run_gone_is_retried_only_while_keys_come(tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(2**22 + 12345)  # no such process: every change is refused
    priority.input_seen()
    assert clock.timers
    clock.advance(QUIET)
    clock.advance(QUIET)
    assert not clock.timers  # the keys stopped: so do the tries


def test_where_groups_do_not_count_nothing_is_changed(run_pid: int, tui_pid: int, notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=False, own_pid=tui_pid, notes=notes)
    priority.follow(run_pid)
    clock.advance(QUIET * 2)
    assert group_nice(tui_pid) == 0
    priority.input_seen()
    assert group_nice(run_pid) == 0 and group_nice(tui_pid) == 0 and not clock.timers


def test_the_group_gets_its_own_niceness_back_not_zero(run_pid: int, tui_pid: int, notes: Path) -> None:
    """A group the user made nicer (or a run started nicer for good) is given back what it had."""
    assert set_group_nice(run_pid, 3)
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(QUIET + 0.01)
    assert group_nice(run_pid) == 3


def tui_process(tui_pid: int, notes: Path, then: str, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """A process standing for a TUI (``p``, an InputPriority of ``tui_pid``'s group), running ``then``."""
    code = (f"import os, signal\nfrom pathlib import Path\n"
            f"from kerastui.core.run.priority import InputPriority, group_nice\n"
            f"p = InputPriority(lambda delay, callback: None, enabled=True, own_pid={tui_pid},\n"
            f"                  notes=Path({str(notes)!r}))\n" + then)
    return subprocess.run([sys.executable, "-c", code], check=check, timeout=60)


def test_a_run_yielding_when_the_tui_exits_gets_its_priority_back(run_pid: int, tui_pid: int, notes: Path) -> None:
    """The key that closes the TUI (ctrl+q) makes the run yield; the run goes on after the TUI, at
    full priority: the TUI's process gives it back as it exits, before the QUIET timer could."""
    tui_process(tui_pid, notes, f"p.follow({run_pid}); p.input_seen()\n"
                                f"assert group_nice({run_pid}) == {YIELD_NICE}, group_nice({run_pid})\n")
    assert group_nice(run_pid) == 0


# ---------------------------------------------------------------------- the TUI yields while it is watched


def test_the_tui_yields_while_it_only_watches_and_has_the_cpu_at_once_on_a_key(run_pid: int, tui_pid: int,
                                                                               notes: Path) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    assert group_nice(tui_pid) == 0  # no run followed: nothing changes
    priority.follow(run_pid)
    assert group_nice(tui_pid) == WATCH_NICE and group_nice(run_pid) == 0 and priority.watching
    priority.input_seen()  # a key: the TUI has its priority back in the same call, the run yields
    assert group_nice(tui_pid) == 0 and group_nice(run_pid) == YIELD_NICE and not priority.watching
    clock.advance(QUIET / 2)
    priority.input_seen()
    assert group_nice(tui_pid) == 0
    clock.advance(QUIET + 0.01)  # quiet again: the run first, then the TUI watches
    assert group_nice(run_pid) == 0 and group_nice(tui_pid) == WATCH_NICE
    assert not clock.timers
    priority.follow(None)  # the run ended: the TUI's group has its niceness back
    assert group_nice(tui_pid) == 0 and not priority.watching
    assert not notes.exists() or not any(notes.iterdir())  # and no note is left


def test_a_tui_group_the_user_made_nicer_keeps_its_niceness(run_pid: int, tui_pid: int, notes: Path) -> None:
    assert set_group_nice(tui_pid, 15)
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(run_pid)
    assert group_nice(tui_pid) == 15  # nicer than WATCH_NICE already: left so
    priority.input_seen()
    assert group_nice(tui_pid) == 15  # and given back what it had, not 0
    priority.give_back()
    assert group_nice(tui_pid) == 15 and group_nice(run_pid) == 0


def test_the_tui_exiting_while_it_watches_gives_its_group_back(run_pid: int, tui_pid: int, notes: Path) -> None:
    tui_process(tui_pid, notes, f"p.follow({run_pid})\n"
                                f"assert group_nice({tui_pid}) == {WATCH_NICE}, group_nice({tui_pid})\n")
    assert group_nice(tui_pid) == 0 and group_nice(run_pid) == 0
    assert not any(notes.iterdir())


def killed_while_watching(run_pid: int, tui_pid: int, notes: Path) -> None:
    """A TUI process that watches ``run_pid`` (making ``tui_pid``'s group nicer), then is killed."""
    killed = tui_process(tui_pid, notes, f"p.follow({run_pid})\nos.kill(os.getpid(), signal.SIGKILL)\n", check=False)
    assert killed.returncode == -signal.SIGKILL


def test_a_tui_killed_while_it_watches_leaves_a_note_the_next_tui_gives_the_group_back_by(
        run_pid: int, tui_pid: int, notes: Path) -> None:
    """``kill -9`` (or a crash) gives no chance to give the terminal's session its priority back: the
    next TUI started in that session does, from the note."""
    killed_while_watching(run_pid, tui_pid, notes)
    assert group_nice(tui_pid) == WATCH_NICE  # left nicer: the process could not give it back
    assert [p.name.partition(".")[0] for p in notes.iterdir()] == [group_id(tui_pid)]
    InputPriority(lambda delay, callback: None, enabled=True, own_pid=tui_pid, notes=notes)
    assert group_nice(tui_pid) == 0 and not any(notes.iterdir())


def test_the_give_back_after_a_kill_is_tried_again_when_the_rate_limit_refuses_it(
        run_pid: int, tui_pid: int, notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without privilege the kernel takes one group change a tenth of a second, machine-wide: the
    first give-back is refused here, as it would be right after ``autogroups()``'s probe."""
    killed_while_watching(run_pid, tui_pid, notes)
    refused: list[tuple[int, int]] = []

    def rate_limited(pid: int, nice: int) -> bool:
        if not refused:
            refused.append((pid, nice))
            return False
        return set_group_nice(pid, nice)

    monkeypatch.setattr(priority_module, "set_group_nice", rate_limited)
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    assert refused == [(tui_pid, 0)] and group_nice(tui_pid) == WATCH_NICE
    assert any(notes.iterdir())  # a note is kept while the group is not given back
    clock.advance(0.5)
    assert group_nice(tui_pid) == 0 and not any(notes.iterdir()) and not priority.watching


def test_a_second_tui_in_the_session_leaves_the_first_ones_niceness_and_learns_what_the_group_had(
        run_pid: int, tui_pid: int, notes: Path) -> None:
    first = InputPriority(Clock().set_timer, enabled=True, own_pid=tui_pid, notes=notes, note_pid=run_pid)
    first.follow(run_pid)  # (its note says a live process, run_pid, as another TUI's would)
    assert group_nice(tui_pid) == WATCH_NICE
    second = InputPriority(Clock().set_timer, enabled=True, own_pid=tui_pid, notes=notes)
    assert group_nice(tui_pid) == WATCH_NICE  # the first one still watches: left as it is
    first.give_back()
    second.follow(run_pid)
    second.give_back()
    assert group_nice(tui_pid) == 0  # what the group had before either, not the first one's 10


def test_a_run_in_the_tuis_own_group_changes_no_group(run_pid: int, tui_pid: int, notes: Path) -> None:
    """``kerastui train … &`` in the TUI's shell: its group is the TUI's; nicing one would nice both."""
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(tui_pid)  # (a process of the TUI's own group stands for such a run)
    priority.input_seen()
    clock.advance(QUIET * 2)
    assert group_nice(tui_pid) == 0 and not priority.watching and not clock.timers


def test_a_refused_give_back_of_a_run_no_longer_followed_is_tried_again(
        run_pid: int, tui_pid: int, notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=tui_pid, notes=notes)
    priority.follow(run_pid)
    priority.input_seen()
    assert group_nice(run_pid) == YIELD_NICE
    limited = [True]  # the rate limit: the run's group refuses changes while set

    def rate_limited(pid: int, nice: int) -> bool:
        return False if pid == run_pid and limited else set_group_nice(pid, nice)

    monkeypatch.setattr(priority_module, "set_group_nice", rate_limited)
    priority.follow(None)  # (another run attached within the rate limit): the give-back is refused
    assert group_nice(run_pid) == YIELD_NICE
    clock.advance(0.3)
    assert group_nice(run_pid) == YIELD_NICE  # still refused: still owed
    limited.clear()
    clock.advance(0.3)
    assert group_nice(run_pid) == 0  # owed, and given on the retry


@pytest.mark.parametrize("content", ["garbage\n", "\x00\xff", "BOOT 1 0 -5\n", "BOOT 1 0 99\n", "BOOT 1 0\n",
                                     "another-boot 1 0 10\n", "BOOT 1 0 10\nHUGE"])
def test_a_note_left_damaged_or_from_another_boot_changes_nothing_and_goes(
        content: str, run_pid: int, tui_pid: int, notes: Path) -> None:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    notes.mkdir()
    note = notes / f"{group_id(tui_pid)}.{2**22 + 99}"  # (no such process)
    note.write_text(content.replace("BOOT", boot).replace("HUGE", "x" * 10**6), encoding="latin-1")
    assert set_group_nice(tui_pid, 10)
    InputPriority(lambda delay, callback: None, enabled=True, own_pid=tui_pid, notes=notes)
    assert group_nice(tui_pid) == 10 and not note.exists()


def test_a_note_that_is_a_link_or_a_fifo_is_not_followed(run_pid: int, tui_pid: int, notes: Path,
                                                          tmp_path: Path) -> None:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    target = tmp_path / "elsewhere"
    target.write_text(f"{boot} 1 0 10\n")
    notes.mkdir()
    (notes / f"{group_id(tui_pid)}.{2**22 + 98}").symlink_to(target)
    os.mkfifo(notes / f"{group_id(tui_pid)}.{2**22 + 97}")
    assert set_group_nice(tui_pid, 10)
    InputPriority(lambda delay, callback: None, enabled=True, own_pid=tui_pid, notes=notes)  # (a FIFO would block)
    assert group_nice(tui_pid) == 10 and target.read_text().startswith(boot)
    assert not any(notes.iterdir())


def test_a_note_the_group_no_longer_matches_changes_nothing(run_pid: int, tui_pid: int, notes: Path) -> None:
    """The user set the session's niceness since the TUI was killed: theirs stays."""
    killed_while_watching(run_pid, tui_pid, notes)
    assert set_group_nice(tui_pid, 3)
    InputPriority(lambda delay, callback: None, enabled=True, own_pid=tui_pid, notes=notes)
    assert group_nice(tui_pid) == 3 and not any(notes.iterdir())


def test_a_tui_group_that_cannot_be_changed_is_tried_only_so_often(run_pid: int, notes: Path) -> None:
    clock = Clock()
    gone = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    gone.wait()
    before = group_nice(os.getpid())
    priority = InputPriority(clock.set_timer, clock=clock, enabled=True, own_pid=os.getpid(), notes=notes)
    priority._own_pid = gone.pid  # (its group was read, then the process ended: every change is refused)
    priority.follow(run_pid)
    for _ in range(GIVE_UP * 2):
        clock.advance(0.5)
    assert not clock.timers and not priority.watching
    assert group_nice(os.getpid()) == before  # (the test's own group was never written)

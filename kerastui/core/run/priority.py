"""Who has the CPU between a run and the terminal that follows it: the run, while the terminal is
only watched; the terminal, while someone types.

A run started from the TUI is a process in a session of its own.  On Linux with autogrouping (the
default on desktops and most servers; ``/proc/sys/kernel/sched_autogroup_enabled``) that session
is a scheduling group of its own, and the CPU is shared between groups before niceness counts
inside one, so a group's niceness (``/proc/PID/autogroup``) is what decides between a run's
threads and the TUI's.  Unlike a process's niceness, a group's can be raised *and* lowered again
between 0 and 19 without privilege (at most ten changes a second, machine-wide).

:class:`InputPriority` keeps two states:

- **watching** (no key for ``QUIET`` seconds): the TUI's own group is ``WATCH_NICE`` nicer, so its
  frames and charts take the CPU only where the run leaves it.  Drawing at the same priority, the
  TUI slowed a fit it followed by 3–5 % on two cores (issue 24: fit under a followed run ≤ 1.02 ×
  plain), though it used a seventh of one core: a TensorFlow op split over both cores waits for the
  half whose core the TUI holds.
- **typing** (a key press, a click): the TUI's group has its niceness back at once and the run's group
  is ``YIELD_NICE`` nicer until ``QUIET`` seconds after the last key: a terminal that is being used
  answers at once (issue 26: a key's frame ≤ 16 ms while a run trains).

Each group gets back the niceness it had, when the state changes, when the run is no longer
followed and when the TUI exits.  The TUI's group is the terminal's session (the shell the TUI was
started from), so a TUI that cannot give it back (``kill -9``, a crash) leaves a note
(``cache_dir()/autogroups/``): the next TUI started in that session gives it back.  Without
autogroups nothing changes here, and a run is started ``RUN_NICE`` nicer for good instead
(:func:`kerastui.core.run.process.launch`).

Plain Python with an injected timer and clock; tested on real processes (tests/unit/test_run_priority.py).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from kerastui.core.errors import KerasTUIError

YIELD_NICE = 5  # the run's group niceness while the user types (the TUI's group has its own)
WATCH_NICE = 10  # the TUI's group niceness while a run is only watched (the run's group has its own)
QUIET = 1.0  # seconds after the last key press before the run has the CPU back
RETRY = 0.2  # a change refused for the rate limit is tried again this much later
GIVE_UP = 10  # the TUI's group left as it is after this many refusals in a row (until the next key)


def autogroups() -> bool:
    """Whether kerastui changes groups' niceness here: not with ``KERASTUI_PRIORITY=off`` (runs then
    start RUN_NICE nicer for good, as where there are no groups), else :func:`machine_autogroups`."""
    return os.environ.get("KERASTUI_PRIORITY", "").lower() != "off" and machine_autogroups()


def machine_autogroups() -> bool:
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


def autogroup(pid: int) -> tuple[str, int] | None:
    """Process ``pid``'s scheduling group and its niceness (``/autogroup-12 nice 5``:
    ``("autogroup-12", 5)``), or None."""
    try:
        words = Path(f"/proc/{pid}/autogroup").read_text(encoding="ascii").split()
    except OSError:
        return None
    if len(words) != 3 or words[1] != "nice" or not words[0].startswith("/autogroup-"):
        return None
    try:
        return words[0][1:], int(words[2])
    except ValueError:
        return None


def group_nice(pid: int) -> int | None:
    """The niceness of process ``pid``'s scheduling group, or None."""
    group = autogroup(pid)
    return None if group is None else group[1]


def group_id(pid: int) -> str | None:
    """Process ``pid``'s scheduling group (``autogroup-12``), or None."""
    group = autogroup(pid)
    return None if group is None else group[0]


def set_group_nice(pid: int, nice: int) -> bool:
    """Set process ``pid``'s group niceness (0–19); False when refused (no such process or group,
    not ours, or the machine-wide rate limit: then try again a little later)."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n", encoding="ascii")
    except OSError:
        return False
    return True


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


class GroupNote:
    """A note that a TUI made its own group nicer, for the next TUI in the session when that one
    cannot give the niceness back (``kill -9``, a crash): ``<folder>/autogroup-N.PID`` holds the
    boot, the process's start time (a pid is reused; the pair is not), the niceness the group had
    and the one it was given.  Each TUI writes its own; the files are read as a stranger's (no
    link followed, plain files of a few bytes, values within 0–19)."""

    def __init__(self, folder: Path, group: str, pid: int) -> None:
        self.folder, self.group, self.pid = folder, group, pid
        self.path = folder / f"{group}.{pid}"

    def write(self, had: int, given: int) -> None:
        from kerastui.core.run.directory import process_start, write_atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, f"{_boot_id()} {process_start(self.pid)} {had} {given}\n")
        except (OSError, KerasTUIError):  # (a read-only home: the niceness is still given back at exit)
            pass

    def remove(self) -> None:
        _unlink(self.path)

    def others(self) -> list[tuple[bool, int, int]]:
        """``(alive, had, given)`` of each note of this group left by another TUI in this boot (the
        notes of dead TUIs, of another boot, or unreadable are removed once read)."""
        from kerastui.core.run.directory import pid_alive, process_start, read_plain

        found = []
        try:
            paths = [p for p in self.folder.iterdir() if p.name.startswith(f"{self.group}.") and p != self.path]
        except OSError:
            return []
        for path in paths:
            try:
                boot, start, had, given = read_plain(path, limit=200).decode("ascii").split()
                pid = int(path.name.rpartition(".")[2])
                values = int(had), int(given)
            except (OSError, ValueError, UnicodeDecodeError):
                _unlink(path)
                continue
            if boot != _boot_id() or not all(0 <= v <= 19 for v in values):
                _unlink(path)
                continue
            alive = pid_alive(pid) and str(process_start(pid)) == start
            if not alive:
                _unlink(path)
            found.append((alive, *values))
        return found


def _given_back(pid: int, nice: int) -> bool:
    """A run's group set back to ``nice``, or nothing to set back (the run is gone)."""
    return set_group_nice(pid, nice) or group_nice(pid) is None


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def notes_folder() -> Path:
    from kerastui.core.errors import cache_dir

    return cache_dir() / "autogroups"


class InputPriority:
    """Who has the CPU between the TUI and the run it follows (see the module's text): the run while
    the TUI is only watched, the TUI from a key press until QUIET seconds after the last one."""

    def __init__(self, set_timer: Callable[[float, Callable[[], None]], object], *,
                 clock: Callable[[], float] = time.monotonic, enabled: bool | None = None,
                 own_pid: int | None = None, notes: Path | None = None, note_pid: int | None = None) -> None:
        self._set_timer = set_timer
        self._clock = clock
        self.enabled = autogroups() if enabled is None else enabled
        self._pid: int | None = None  # the followed run
        self._run_had = 0  # the followed run's group niceness when it was followed: what it gets back
        self._yielded = False  # the run's group is YIELD_NICE nicer now
        # The TUI's own group (another process's in tests): WATCH_NICE nicer while a run is watched.
        self._own_pid = os.getpid() if own_pid is None else own_pid
        self._own_had = 0
        self._watching = False
        self._own_refused = 0  # changes of the TUI's group refused in a row
        self._owed: dict[int, int] = {}  # runs no longer followed still yielding: pid → niceness owed
        self._note: GroupNote | None = None
        self._last_input = float("-inf")
        self._due: float | None = None  # when the next timer settles the groups again
        self._exit_hook = False
        if self.enabled:
            group = group_id(self._own_pid)
            if group is not None:
                # (the note is this process's: a test's stands for another TUI with note_pid)
                self._note = GroupNote(notes_folder() if notes is None else notes, group,
                                       os.getpid() if note_pid is None else note_pid)
                self._own_had = self._recover()

    def _recover(self) -> int:
        """The TUI's group niceness to give back: its own now; what it had before another TUI of
        this session made it nicer, if that one still runs (it gives it back itself) or could not
        give it back (``kill -9``: given back here, retried if the write is refused)."""
        now = group_nice(self._own_pid) or 0
        assert self._note is not None
        notes = self._note.others()
        live = [had for alive, had, _ in notes if alive]
        if live:
            return live[0]
        dead = [(had, given) for alive, had, given in notes if not alive]
        if dead and dead[0][1] == now and dead[0][0] != now:
            # As if this TUI had made it nicer: given back now, or (refused) at exit or on a retry.
            self._own_had, self._watching = dead[0][0], True
            self._note.write(*dead[0])
            self._give_back_own()
            if self._watching:
                self._hook_exit()
                self._wake(RETRY)
            return dead[0][0]
        return now

    @property
    def watching(self) -> bool:
        """The TUI's group is nicer now (a run is followed and nobody types)."""
        return self._watching

    def follow(self, pid: object) -> None:
        """The run followed now (None: none); the one followed before gets its priority back.  A run
        in the TUI's own group (``kerastui train &`` in the same shell) is followed without either
        group changing: that would change both."""
        pid = pid if type(pid) is int and pid > 0 else None  # (a pid read from a run's status file)
        if pid == self._pid or (pid is None and self._pid is None and not self._owed):
            return
        group = group_id(pid) if pid is not None and self.enabled else None
        if group is not None and group == group_id(self._own_pid):
            pid = None
            if self._pid is None:
                return
        self._give_back_run()
        if self._yielded and self._pid is not None:  # refused (the rate limit): owed, tried again
            self._owed[self._pid] = self._run_had
        self._pid, self._yielded = pid, False
        if pid is not None:
            self._run_had = group_nice(pid) or 0
        self._settle()

    def give_back(self) -> None:
        """Both groups get their niceness back now (also when this process exits: a run goes on after
        the TUI closes, and the key that closed it must not leave it yielding, nor the shell the TUI
        was started from nicer)."""
        self._give_back_run()
        self._give_back_own()

    def input_seen(self) -> None:
        """A key press (or a click): the TUI first, until QUIET seconds after the last one."""
        self._last_input = self._clock()
        self._own_refused = 0
        self._settle()

    # ------------------------------------------------------------------ the two groups

    def _give_back_run(self) -> None:
        if self._pid is not None and self._yielded and _given_back(self._pid, self._run_had):
            self._yielded = False
        for pid, had in list(self._owed.items()):  # runs followed before, whose give-back was refused
            if _given_back(pid, had):
                del self._owed[pid]

    def _give_back_own(self) -> None:
        if self._watching and set_group_nice(self._own_pid, self._own_had):
            self._watching = False
            if self._note is not None:
                self._note.remove()

    def _settle(self) -> None:
        """Make both groups what the moment asks for, the TUI's first when a key came, the run's first
        when it gets the CPU back; a change refused (the rate limit) is tried again RETRY later."""
        if not self.enabled:
            return
        idle = self._clock() - self._last_input
        if self._pid is None:
            self._give_back_run()  # (what is owed)
            self._give_back_own()
            if self._watching or self._owed:
                self._wake(RETRY)
            return
        if idle < QUIET:  # typing
            self._give_back_own()
            if not self._yielded:
                self._yielded = set_group_nice(self._pid, max(self._run_had, YIELD_NICE))
            self._hook_exit()
            done = self._yielded and not self._watching
            self._wake(QUIET - idle if done else RETRY)
            return
        self._give_back_run()
        refused = False
        if not self._watching and self._note is not None and self._own_refused < GIVE_UP:
            given = max(self._own_had, WATCH_NICE)
            self._note.write(self._own_had, given)  # first: a crash right after still leaves it
            self._watching = set_group_nice(self._own_pid, given)
            if self._watching:
                self._own_refused = 0
                self._hook_exit()
            else:  # the rate limit (tried again), or a group that cannot be changed (GIVE_UP tries)
                self._note.remove()
                self._own_refused += 1
                refused = self._own_refused < GIVE_UP
        if self._yielded or refused or self._owed:
            self._wake(RETRY)

    def _hook_exit(self) -> None:
        if not self._exit_hook:
            atexit.register(self._give_back_at_exit)
            self._exit_hook = True

    def _give_back_at_exit(self) -> None:
        """``give_back``, tried again a tenth of a second later while the rate limit refuses it (at
        most three times: a note is left for the next TUI if it still does)."""
        for _ in range(3):
            self.give_back()
            if not (self._watching or self._yielded or self._owed):
                return
            time.sleep(0.11)

    def _wake(self, delay: float) -> None:
        """Settle again ``delay`` seconds from now (a timer due sooner already does; a later one does
        not keep a retry waiting: another is set, and the later one finds nothing to do)."""
        due = self._clock() + delay
        if self._due is not None and self._due <= due:
            return
        self._due = due
        self._set_timer(delay, self._check)

    def _check(self) -> None:
        self._due = None
        self._settle()

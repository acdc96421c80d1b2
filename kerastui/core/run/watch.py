"""Waiting for a run's directory to change: Linux's inotify (through libc), else a timer.

A follower that reads a run's event log on a timer learns of an epoch up to one period late, and
wakes the period's count of times a second whether the run wrote or not.  With a watch on the run's
directory it wakes when the run writes there: an epoch reaches the TUI within a few milliseconds,
which lets the TUI hold an epoch's redraw for the next one within the same latency
(ui/throttle.py), drawing half as many frames beside a run of short epochs.

inotify reports only what this machine's kernel writes: a run on another host writing to a shared
folder (NFS) is not seen, so :meth:`DirWatch.wait` never waits longer than it is told, and the
caller reads the log after every wait, changed or not.  Where inotify is missing (not Linux, no
libc, the watch limit reached), waits are plain sleeps.

A watch wakes for the files its caller reads (``names``) only.  The folder is watched for files
made or renamed into it (a status written atomically, an event log created or replaced),
each named file for its writes: a run that prints a line every millisecond into its output.log, or
appends its metrics beside its event log, does not wake the follower at all.  Should the kernel's
queue of events overflow, the wait ends too: the event that mattered may be among those dropped.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import sys
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000  # the kernel's queue overflowed: events were dropped
ARRIVED = IN_MOVED_TO | IN_CREATE  # a file made or renamed into the folder
WRITTEN = IN_MODIFY | IN_CLOSE_WRITE  # a file written
IN_IGNORED = 0x00008000  # a watch ended (its file deleted, or replaced by a rename)
IN_DONT_FOLLOW = 0x02000000  # a named file that is a link: the link watched, never where it leads
SETTLE = 0.002  # seconds left for the rest of a burst of writes (an epoch's event, its metrics line) after the first
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then len bytes of NUL-padded name)


@cache
def _libc() -> ctypes.CDLL | None:
    """The C library this process runs on (its own symbols: no search for a file), once."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1  # noqa: B018 - present (glibc, musl)
        return libc
    except (OSError, AttributeError):
        return None


class DirWatch:
    """Waits on one directory's changes to the files ``names``.  ``active``: inotify watches it
    (else waits are sleeps)."""

    def __init__(self, path: Path, names: Iterable[str]) -> None:
        self._fd = -1
        self._path = os.fsencode(path)
        self._names = frozenset(os.fsencode(name) for name in names)
        self._folder = -1  # the folder's watch descriptor
        self._files: dict[int, bytes] = {}  # watch descriptor → the named file it watches
        self.wakes = 0  # how often a wait woke for an event, relevant or not
        self._libc = _libc()
        if self._libc is None:
            return
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return
        self._folder = self._libc.inotify_add_watch(fd, self._path, ARRIVED)
        if self._folder < 0:  # gone, not a folder, or the watch limit
            os.close(fd)
            return
        self._fd = fd
        for name in self._names:
            self._watch_file(name)

    def _watch_file(self, name: bytes) -> None:
        """A named file's writes watched (if it is there: else its arrival in the folder is)."""
        assert self._libc is not None  # (only while a watch is active)
        wd = self._libc.inotify_add_watch(self._fd, self._path + b"/" + name, WRITTEN | IN_DONT_FOLLOW)
        if wd >= 0:  # (else absent, or the watch limit reached: the caller's reads at least every so often remain)
            self._files[wd] = name

    @property
    def active(self) -> bool:
        return self._fd >= 0

    def wait(self, timeout: float) -> bool:
        """Until a watched file changes or ``timeout`` seconds pass; whether one changed (always True
        without inotify: the caller looks anyway)."""
        if self._fd < 0:
            time.sleep(timeout)
            return True
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            ready, _, _ = select.select([self._fd], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                return False
            self.wakes += 1
            time.sleep(SETTLE)
            if self._drain():
                return True

    def _drain(self) -> bool:
        """Every event queued read; whether one is about a watched file (or the queue overflowed)."""
        relevant = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return relevant
                raise
            if not data:
                return relevant
            relevant = self._matters(data) or relevant  # (each batch read: a file made gets its watch)

    def _matters(self, data: bytes) -> bool:
        relevant = False
        at = 0
        while at + EVENT.size <= len(data):
            wd, mask, _, length = EVENT.unpack_from(data, at)
            name = data[at + EVENT.size:at + EVENT.size + length].rstrip(b"\0")
            at += EVENT.size + length
            if mask & IN_Q_OVERFLOW:  # dropped events may have named a file that arrived: each watched again
                relevant = True
                for named in self._names:
                    self._watch_file(named)
            elif wd == self._folder:
                if name in self._names:  # made, or replaced by a rename: its writes watched from now
                    self._watch_file(name)
                    relevant = True
            elif mask & IN_IGNORED:
                self._files.pop(wd, None)
            elif wd in self._files:
                relevant = True
        return relevant

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DirWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

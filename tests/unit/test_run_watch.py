"""DirWatch: a follower waits on the run's folder (inotify), not on a timer — real files, real
kernel events; and RunClient.follow reads what a run writes while it waits, then lets its watch go."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from kerastui.core.run.client import Ended, Events, RunClient
from kerastui.core.run.directory import RunDir, write_atomic
from kerastui.core.run.events import EpochEnded, event_to_json
from kerastui.core.run.watch import DirWatch

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def later(seconds: float, action) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@linux
def test_a_write_in_the_folder_ends_the_wait_and_a_quiet_folder_does_not(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("")
    with DirWatch(tmp_path, names=("events.jsonl",)) as watch:
        assert watch.active
        assert watch.wait(0.01) is False  # nothing written
        writer = later(0.05, lambda: log.open("a").write('{"type": "Notice"}\n'))
        assert watch.wait(60.0) is True  # (a timeout would say False)
        writer.join()
        assert watch.wait(0.01) is False  # the change was read: the next wait waits again


@linux
def test_a_file_replaced_in_the_folder_ends_the_wait(tmp_path: Path) -> None:
    with DirWatch(tmp_path, names=("status.json",)) as watch:
        writer = later(0.05, lambda: write_atomic(tmp_path / "status.json", "{}"))
        assert watch.wait(60.0) is True
        writer.join()


@linux
def test_a_watch_told_its_files_is_not_woken_by_writes_to_the_others(tmp_path: Path) -> None:
    """A run's output.log and metrics.jsonl change often; only its event log and status wake a follower."""
    output, metrics = tmp_path / "output.log", tmp_path / "metrics.jsonl"
    output.write_text("")
    metrics.write_text("")

    def chatter() -> None:
        with output.open("a") as handle, metrics.open("a") as rows:
            for i in range(200):
                handle.write(f"line {i}\n")
                handle.flush()
                if i % 20 == 0:
                    rows.write("{}\n")
                    rows.flush()
                time.sleep(0.001)

    with DirWatch(tmp_path, names=("events.jsonl", "status.json")) as watch:
        started = time.monotonic()
        writer = later(0.0, chatter)
        assert watch.wait(0.5) is False, "a write to another file ended the wait"
        assert time.monotonic() - started >= 0.5  # it waited its whole time through the writes
        writer.join()
        assert watch.wakes == 0, "the writes to other files woke the watch"
        replacer = later(0.05, lambda: write_atomic(tmp_path / "status.json", "{}"))  # (a temporary file, renamed)
        assert watch.wait(60.0) is True
        replacer.join()


@linux
def test_an_event_log_made_or_replaced_after_the_watch_began_is_watched(tmp_path: Path) -> None:
    """A follower may start before the run's first event (no log yet), and a resume replaces the log
    (a new file renamed over it): the writes to each log that arrives end a wait."""
    log = tmp_path / "events.jsonl"

    def append() -> None:
        with log.open("a") as handle:
            handle.write("{}\n")

    with DirWatch(tmp_path, names=("events.jsonl",)) as watch:
        for action in (lambda: log.write_text(""), append, lambda: write_atomic(log, "{}\n"), append, append):
            writer = later(0.05, action)
            assert watch.wait(10.0) is True
            writer.join()
            assert watch.wait(0.01) is False  # each change read once


@linux
def test_a_queue_that_overflowed_ends_the_wait(tmp_path: Path) -> None:
    """The kernel drops events past its queue's length (fs.inotify.max_queued_events): the one that
    mattered may be among them, so an overflow counts as a change."""
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"this kernel queues {limit} events: too many files to write to overflow it")
    log = tmp_path / "events.jsonl"
    log.write_text("")
    with DirWatch(tmp_path, names=("events.jsonl",)) as watch:
        for i in range(limit + 10):  # each a new name: the kernel merges only repeats of the last event
            (tmp_path / f"f{i}").touch()
        write_atomic(log, "{}\n")  # a log replaced past the queue's end: its arrival is dropped
        assert watch.wait(1.0) is True
        # The replaced log is watched all the same: its next write ends a wait.
        appender = later(0.05, lambda: log.open("a").write("{}\n"))
        assert watch.wait(10.0) is True
        appender.join()


def test_without_a_folder_to_watch_a_wait_is_a_sleep(tmp_path: Path) -> None:
    with DirWatch(tmp_path / "gone", names=("events.jsonl",)) as watch:
        assert not watch.active
        assert watch.wait(0.01) is True  # (the caller reads the log anyway)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@linux
def test_follow_reads_an_epoch_written_while_it_waits_and_closes_its_watch(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "20261207-000000-watched")
    run.path.mkdir()
    before = open_fds()
    run.acquire()  # live: this process holds the run's lock
    try:
        write_atomic(run.status_path, json.dumps({"state": "running", "pid": os.getpid(), "host": None}))
        run.events_path.write_text("")
        locked = open_fds()
        follow = RunClient(tmp_path).follow(run.path, poll=60.0)
        epoch = EpochEnded("train", 0, {"loss": 0.5}, 0.1)
        writer = later(0.1, lambda: run.events_path.open("a").write(json.dumps(event_to_json(epoch)) + "\n"))
        got = next(follow)
        assert isinstance(got, Events) and got.events == [epoch]
        assert open_fds() == locked + 1  # the watch
        writer.join()
    finally:
        run.release()
    write_atomic(run.status_path, json.dumps({"state": "completed"}))
    assert isinstance(next(follow), Ended)
    with pytest.raises(StopIteration):
        next(follow)
    assert open_fds() == before  # the watch let go when following ended

"""Background work runs nicer in a thread of its own: the worker thread that asked (a pooled one,
which later starts run processes) keeps its priority."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kerastui.ui.priority import BACKGROUND_NICE, in_background


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_work_runs_nicer_and_the_pooled_thread_that_asked_does_not() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        before = pool.submit(niceness).result()
        inside = pool.submit(in_background, niceness).result()
        after = pool.submit(niceness).result()  # the same pooled thread, later work
    assert inside == min(before + BACKGROUND_NICE, 19) or inside == BACKGROUND_NICE
    assert after == before


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def fails() -> None:
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        in_background(fails)

"""fresh_chunk_call (core/run/callstack.py): Keras's fit called from a frame with a stack chunk of its
own, so that CPython 3.11–3.12 never allocates and frees a chunk at every call of a loop that runs at
a chunk's end (python/cpython#142183).  Its contract, and, under strace, that a loop swept through
every depth of a 16 KB chunk frees no chunk when called through it, where it frees hundreds when
called directly."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import traceback

import pytest

from kerastui.core.model import presets
from kerastui.core.model.usercode import user_code_location
from kerastui.core.run import callstack
from kerastui.core.run.callstack import fresh_chunk_call
from kerastui.core.run.events import BatchEnded
from kerastui.core.run.trainer import train

pytestmark = pytest.mark.timeout(120)


def test_it_calls_the_function_with_its_arguments_and_gives_back_its_result_or_error():
    assert fresh_chunk_call(divmod, 17, 5) == (3, 2)
    assert fresh_chunk_call(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    assert fresh_chunk_call(dict, function=1, args=2) == {"function": 1, "args": 2}  # its own names too
    with pytest.raises(ZeroDivisionError):
        fresh_chunk_call(divmod, 1, 0)


def test_its_frame_is_too_large_for_a_32_kb_chunk():
    """Over 32 KB of locals: CPython gives the frame a 64 KB chunk, with ~31 KB left for what it calls."""
    fresh_chunk_call(int)
    assert callstack._call is not None and callstack._call.__code__.co_nlocals * 8 > 32 * 1024


def test_an_error_through_it_is_placed_at_the_callers_line_never_in_its_own_frame():
    """Its frame is kerastui's own code: an error from a library (here a builtin) is placed in the
    user's code that called it, and a traceback shows its source line."""
    with pytest.raises(ValueError) as raised:
        fresh_chunk_call(int, "not a number")
    assert user_code_location(raised.value) == f"{__file__}:{raised.traceback[0].lineno + 1}"
    shown = "".join(traceback.format_exception(raised.value))
    assert "return function(*args, **kwargs)" in shown


def test_the_trainer_calls_fit_through_it():
    """A batch's event is emitted from inside fit: fresh_chunk_call's frame is below it."""
    seen: list[bool] = []

    def sink(event):
        if isinstance(event, BatchEnded):
            frames = traceback.extract_stack()
            seen.append(any(f.name == "fresh_chunk_call" and "callstack" in f.filename for f in frames))

    preset = presets.load("ex1", {"fit.epochs": 1, "data.limit": 64})
    train(preset, [sink], record=False)
    assert seen and all(seen)


SWEEP = textwrap.dedent("""
    import os, sys
    from kerastui.core.run.callstack import fresh_chunk_call

    def leaf():
        return 1

    def down(depth):
        if depth:
            return down(depth - 1)
        return sum(leaf() for _ in range(50))  # a loop of calls at this depth

    def sweep():
        for depth in range(200):  # ~22 KB of frames: past any 16 KB chunk's end, within 31 KB
            down(depth)

    os.getppid()  # (a mark in the trace)
    fresh_chunk_call(sweep) if sys.argv[1] == "fresh" else sweep()
    os.getppid()
""")


def freed_chunks(how: str) -> int:
    """16 KB chunks freed (munmap) while the sweep runs, ``how``: "direct" or "fresh"."""
    trace = subprocess.run(["strace", "-e", "trace=munmap,getppid", sys.executable, "-c", SWEEP, how],
                           capture_output=True, text=True, timeout=60)
    if trace.returncode != 0:
        pytest.skip(f"strace cannot trace here: {trace.stderr.strip()[-200:]}")
    marked = trace.stderr.split("getppid()")
    assert len(marked) == 3, trace.stderr[-500:]
    return marked[1].count(", 16384)")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_loop_at_a_chunks_end_frees_no_chunk_when_called_through_it():
    direct = freed_chunks("direct")
    if direct < 50:
        pytest.skip(f"this Python keeps its stack chunks ({direct} freed directly): nothing to avoid")
    assert direct >= 50  # one loop of 50 calls at the chunk's end, at least
    assert freed_chunks("fresh") == 0

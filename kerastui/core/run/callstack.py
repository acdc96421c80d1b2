"""Keras's training loop called where CPython 3.11 and 3.12 cannot slow it down.

CPython 3.11 keeps a thread's Python frames on a stack of 16 KB chunks.  A call that does not fit in
the current chunk gets a new one (``mmap``), and its return frees it again (``munmap``): at every
call, when a loop calls at that depth (python/cpython#142183; point releases with its fix,
python/cpython#145789, keep one spare chunk).  Keras's ``fit`` makes dozens of calls a step, and
where its loop lies in its chunk depends on how deep ``fit`` was called from.  Measured with strace
on ex2 (sklearn digits, batch 8, 1,080 steps), a plain script's fit did 3,267 of these pairs — three
a step — and kerastui's run process, which calls ``fit`` from further down (command, run, trainer,
phase), about 7,200.

:func:`fresh_chunk_call` calls a function from a frame too large for any 16 KB chunk (4,200 locals,
never set: 33 KB), so CPython gives that frame a chunk of its own (64 KB), and everything the
function calls runs in the ~31 KB left there, far from a chunk's end: during ``fit``, no pair at
all.  The frame is one allocation a call (a fit), and harmless where frames are not chunked (3.10)
or chunks are kept.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")
_LOCALS = 4200  # × 8 bytes: over 32 KB, so the chunk is 64 KB and more than 30 KB of it is left
# (named as kerastui's own code, so that a traceback through it is never taken for a user's file)
_FILENAME = "<kerastui/core/run/callstack.py: fresh_chunk_call>"
_call: Callable[..., Any] | None = None


def _make() -> Callable[..., Any]:
    """The calling function: a constant source, nothing of any user's in it, compiled at its first use
    (4 ms).  Its locals, assigned in a branch never taken, exist unset in every frame of it."""
    source = ("def fresh_chunk_call(function, /, *args, **kwargs):\n"
              "    if 0:\n"
              f"        {', '.join(f'_{i}' for i in range(_LOCALS))} = (None,) * {_LOCALS}\n"
              "    return function(*args, **kwargs)\n")
    namespace: dict[str, Any] = {"__name__": __name__}
    exec(compile(source, _FILENAME, "exec"), namespace)  # noqa: S102 - a constant source
    linecache.cache[_FILENAME] = (len(source), None, source.splitlines(keepends=True), _FILENAME)
    made: Callable[..., Any] = namespace["fresh_chunk_call"]
    return made


def fresh_chunk_call(function: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """``function(*args, **kwargs)``, its calls made at the start of a stack chunk of their own."""
    global _call
    if _call is None:
        _call = _make()
    result: _T = _call(function, *args, **kwargs)
    return result

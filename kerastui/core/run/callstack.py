"""Keras's training loop called where CPython 3.11 and 3.12 cannot slow it down.

CPython 3.11 keeps a thread's Python frames on a stack of 16 KB chunks.  A call that does not fit in
the current chunk gets a new one (``mmap``), and its return frees it again (``munmap``): at every
call, when a loop calls at that depth (python/cpython#142183; 3.13 and 3.14 keep one spare chunk
since 2026).  Keras's ``fit`` makes dozens of calls a step, and where its loop lies in its chunk
depends on how deep ``fit`` was called from.  Measured with strace on ex2 (sklearn digits, batch 8,
1,080 steps), a plain script's fit did 3,267 of these pairs — three a step — and kerastui's run
process, which calls ``fit`` from further down (command, run, trainer, phase), more.

:func:`fresh_chunk_call` calls a function from a frame too large for any 16 KB chunk (4,200 locals,
never set: 33 KB), so CPython gives that frame a chunk of its own (64 KB), and everything the
function calls runs in the ~31 KB left there, far from a chunk's end: during ``fit``, no pair at
all.  The frame is one allocation a call (a fit), and harmless where frames are not chunked (3.10)
or chunks are kept (3.13+).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")
_LOCALS = 4200  # × 8 bytes: over 32 KB, so the chunk is 64 KB and more than 30 KB of it is left

# (The locals must be names of the function's own: a constant source compiled once, nothing of any
# user's in it.  Assigned in a branch never taken, they exist, unset, in every frame of it.)
_SOURCE = ("def fresh_chunk_call(function, /, *args, **kwargs):\n"
           "    if 0:\n"
           f"        {', '.join(f'_{i}' for i in range(_LOCALS))} = (None,) * {_LOCALS}\n"
           "    return function(*args, **kwargs)\n")
_namespace: dict[str, Any] = {}
exec(compile(_SOURCE, "<kerastui.core.run.callstack>", "exec"), _namespace)  # noqa: S102 - a constant source
_call: Callable[..., Any] = _namespace["fresh_chunk_call"]


def fresh_chunk_call(function: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """``function(*args, **kwargs)``, its calls made at the start of a stack chunk of their own."""
    result: _T = _call(function, *args, **kwargs)
    return result

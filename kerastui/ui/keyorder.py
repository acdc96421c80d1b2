"""Keys in the order they were typed, however many arrive at once.

Over SSH keys often arrive several at a time: a paste without bracketed paste, typing ahead, a slow
link.  Textual (8.2.8) then applies them out of order.  The App forwards each key to the focused
widget's message queue as soon as it reads it.  An ``Input`` inserts a printable key at once, but
its editing keys (backspace, delete, arrows, home/end) are bindings: such a key bubbles from the
Input through each ancestor's queue up to the App, and only there (``App._on_key`` →
``_check_bindings``) does the Input's action run, after the Input has inserted every printable key
of the burst.  ``abcdef``, 6 × backspace, ``ex1`` in one read left ``abc``.  A binding that moves
the focus is late the same way: in a settings form ``80``, down, ``8`` gave 808, the ``8`` already
forwarded to the field that had the focus before the down arrow's binding ran.
(``bench/textual_burst_repro.py`` shows it with a bare App and one Input.)

``KeysInOrder`` is an App that hands the focused widget one key (or paste) at a time: the next is
forwarded only when the one before has gone its whole way, that is when

1. it has been through the focused widget and each of its ancestors up to the App, and the App has
   run its binding (the action moved the cursor, deleted a character, moved the focus…);
2. what the App was asked to do next has been done (``Widget.focus`` is such a deferred call);
3. the messages it caused have been handled along the same path and along the path of the widget
   focused now (an ``Input.Changed`` reached the form that copies it into the session, a
   ``ScreenResume`` reached the screen that refills its form from the session), with what the
   workers it started on its widget post there (an Input's completion of a path, which → takes;
   ``WORKERS_WAIT`` at most).

So a burst ends as the same keys pressed one by one do: each key sees the field, the focus and the
session as the key before left them, and nothing answering an older key writes its value back over
a newer one.  Keys the App handles itself (priority bindings) take the same path.

"Gone its whole way" is found by the queues, not by a clock: a callback is queued behind the key on the widget,
and when it runs there it queues itself on the widget's parent, and so on up to the App.  Each
queue is read in order, so when the callback reaches the App, everything queued before it on that
path has been handled.  A widget closed meanwhile still reads its queue to the end; one that no
longer takes messages is stepped over.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App, ReturnType, ScreenStackError
from textual.dom import DOMNode
from textual.worker import Worker

# Seconds a key waits for the workers it started on its widget (an Input's completion looks at the
# disk) before the next key goes on without them.
WORKERS_WAIT = 0.5


class KeysInOrder(App[ReturnType]):
    """An App that forwards keys and pastes to the focused widget one at a time (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed: deque[events.Key | events.Paste] = deque()  # read from the terminal, not yet forwarded
        self._typing: events.Key | events.Paste | None = None  # forwarded, not yet gone its whole way
        self._waiting: asyncio.Task[None] | None = None  # for a key's workers
        self.last_key_at = -math.inf  # time.perf_counter() of the last key or paste read

    def seconds_since_key(self) -> float:
        """Seconds since the last key or paste was read (infinite: none yet)."""
        return time.perf_counter() - self.last_key_at

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self.last_key_at = time.perf_counter()
            self._typed.append(event)
            if self._typing is None:
                await self._next_key()
            return
        await super().on_event(event)

    @property
    def keys_waiting(self) -> int:
        """Keys and pastes read but not yet handled (the one under way included)."""
        return len(self._typed) + (self._typing is not None)

    async def _next_key(self) -> None:
        if self._typing is not None or not self._typed:
            return
        event = self._typed.popleft()
        self._typing = event
        target = self._focused_node()
        try:
            await super().on_event(event)  # the App's priority bindings, else forwarded to the focused widget
        finally:
            # 1. up the path: the key is handled and its binding has run; 2. the App's deferred calls.
            self.after_queued(target, lambda: self.call_later(self._deliver, target))

    def _focused_node(self) -> DOMNode:
        """Where the App sends a key now: the focused widget, else the screen (else, with no screen yet, itself)."""
        try:
            return self.focused or self.screen
        except ScreenStackError:
            return self

    def _deliver(self, target: DOMNode) -> None:
        """3. What the key caused: the messages its widget posted (an edit's ``Changed``), with what the
        widget's own workers bring (an Input's completion), and on the path of the widget focused now."""

        def focused_path() -> None:
            focused = self._focused_node()
            if focused is target:
                self.call_next(self._key_done)
            else:  # the key moved the focus: what it caused there (a screen resumed, a field entered)
                self.after_queued(focused, self._key_done)

        def after_workers() -> None:
            working = [worker for worker in self.workers if worker.node is target and not worker.is_finished]
            if working:
                self._waiting = asyncio.create_task(self._workers_done(working, target, focused_path))
            else:
                focused_path()

        self.after_queued(target, after_workers)

    async def _workers_done(self, working: list[Worker[Any]], target: DOMNode, then: Callable[[], object]) -> None:
        """Wait (``WORKERS_WAIT`` at most) for the workers the key started on its widget, then for the
        messages they posted there."""
        with contextlib.suppress(asyncio.TimeoutError):
            # shield: a worker still running at the deadline is left to finish, not cancelled
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*(worker.wait() for worker in working),
                                                                 return_exceptions=True)), WORKERS_WAIT)
        self.call_later(self.after_queued, target, then)

    async def _key_done(self) -> None:
        self._typing = None
        await self._next_key()

    def after_queued(self, node: DOMNode, then: Callable[[], object]) -> None:
        """Call ``then`` (on the App) once ``node`` and each of its ancestors have handled every
        message queued on them before it: up the path, one queue after the other."""

        def hop(at: DOMNode) -> None:
            if at is self:
                self.call_next(then)
                return
            parent = at.parent
            while parent is not None and not parent.call_later(hop, parent):
                parent = parent.parent  # closed: it reads no more messages
            if parent is None:  # no longer under the App (removed): nothing is left to wait for there
                self.call_later(then)

        if not node.call_later(hop, node):
            hop(node)

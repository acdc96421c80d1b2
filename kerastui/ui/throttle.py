"""When training events are drawn.

A live run is drawn at a bounded rate (a run of tiny epochs must not keep the UI busy repainting),
but an epoch that ends while the UI is idle is drawn at once: charts and the epoch table are redrawn
when an epoch ends unless the last redraw was less than an interval ago — the interval is
``1 / chart_hz`` or, when redrawing is costly, the last redraw's cost ÷ ``BUSY_SHARE`` (charts take
at most that share of the UI's time, so key presses stay quick); an epoch that ends sooner is
drawn when the interval is up (epochs coalesced, never dropped).  The progress line is drawn at
``progress_hz``, the run's end at once.  An epoch that ends just after a key press waits until the
key has been answered (``KEY_QUIET`` after it, ``MAX_DEFER`` at most): a chart rebuild must not
land in a key's frame.

Epochs shorter than the latency budget: an epoch that ended at ``t`` (the run's time stamp) is held
for the next one when that one is due (``t`` plus the last epoch's length) before ``t +
LATENCY_BUDGET``, and both are drawn in one frame when it comes — or at that deadline if it is late.
Each epoch still reaches the charts within the budget (issue 4: ≤ 100 ms), in half the frames or
fewer: a frame costs the run it draws beside (issue 24: a followed fit ≤ 1.02 × plain; a TUI drawing
every 80 ms epoch slowed its epochs by 4–6 %).  This needs the epoch to arrive at once (the follower
watches the run's folder: core/run/watch.py); one that arrives late is not held.
Plain Python with an injected clock and timer, so its rule is unit-tested without an app.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PROGRESS_HZ = 2  # progress line repaints per second while training
CHART_HZ = 20  # chart and epoch-table repaints per second at most, when they are cheap
BUSY_SHARE = 0.25  # of the UI's time that chart redraws may take: a redraw costing c waits c / BUSY_SHARE
KEY_QUIET = 0.03  # seconds after a key press before an epoch's redraw (the key's own frame comes first)
MAX_DEFER = 0.25  # an epoch's redraw waits for key presses this long at most (typing never hides progress)
LATENCY_BUDGET = 0.085  # seconds from an epoch's end (in the run) to its redraw, for an epoch held for the next
ARRIVAL = 0.005  # seconds an epoch's end takes to reach the TUI (the watch, the message), at most, to be waited for


class RedrawThrottle:
    """Turns a stream of training events into calls of ``draw(epoch=…)``.

    ``draw(epoch=True)`` repaints charts and tables too; ``draw(epoch=False)`` only the progress.
    ``set_timer(delay, callback)`` schedules a deferred epoch redraw (the app's ``set_timer``).
    ``every_event``: draw every event at once, no clock involved (snapshot tests).
    ``since_key()``: seconds since the last key press (the app's; none: never waited for).
    ``wall()``: the time as the run stamps its events (``time.time``), for an epoch's age.
    """

    def __init__(self, draw: Callable[[bool], None], set_timer: Callable[[float, Callable[[], None]], object], *,
                 chart_hz: float = CHART_HZ, progress_hz: float = PROGRESS_HZ,
                 clock: Callable[[], float] = time.perf_counter, every_event: bool = False,
                 since_key: Callable[[], float] | None = None, wall: Callable[[], float] = time.time) -> None:
        self._draw = draw
        self._set_timer = set_timer
        self._chart_interval = 1 / chart_hz
        self._progress_interval = 1 / progress_hz
        self._clock = clock
        self._every_event = every_event
        self._last_progress = 0.0
        self._last_chart = 0.0
        self._epoch_pending = False
        self._cost = 0.0  # seconds the last chart redraw took
        self._since_key = since_key
        self._pending_since = 0.0  # when the epoch waiting to be drawn ended
        self._wall = wall
        self._last_ended: float | None = None  # the run's time stamp of the last epoch's end
        self._epoch_length: float | None = None  # the last epoch's, from the two stamps before it
        self._held: float | None = None  # the end of the oldest epoch held for the next one (None: none held)

    @property
    def chart_interval(self) -> float:
        """Seconds between two chart redraws at least: 1 / chart_hz, longer when a redraw is costly."""
        return max(self._chart_interval, self._cost / BUSY_SHARE)

    def event(self, *, epoch: bool = False, final: bool = False, ended: float | None = None) -> None:
        """An event arrived: ``epoch`` when an epoch ended (``ended``: the run's stamp of the last
        epoch's end, when known), ``final`` when the run ended."""
        if self._every_event:
            self._draw(epoch or final)
            return
        now = self._clock()
        if final:
            self.flush()
        elif epoch:
            if ended is not None:
                if self._last_ended is not None and ended > self._last_ended:
                    self._epoch_length = ended - self._last_ended
                self._last_ended = ended
            if self._held is not None:
                if self._next_within(self._held):
                    return  # the next is due within the oldest held epoch's budget too: drawn with it
                self._held = None
            elif not self._epoch_pending and ended is not None and self._next_within(ended):
                self._hold(ended)
                return
            self._due()
        elif now - self._last_progress >= self._progress_interval:
            self._last_progress = now
            self._draw(False)

    def _next_within(self, oldest: float) -> bool:
        """Whether the next epoch is due to arrive before the epoch that ended at ``oldest`` must be drawn."""
        if self._epoch_length is None or self._last_ended is None:
            return False
        deadline = oldest + LATENCY_BUDGET
        return (self._last_ended + self._epoch_length + ARRIVAL <= deadline
                and self._wall() + ARRIVAL < deadline)

    def _hold(self, ended: float) -> None:
        self._held = ended
        delay = min(max(ended + LATENCY_BUDGET - self._wall(), 0.0), LATENCY_BUDGET)

        def over() -> None:  # the next epoch did not come in time: the held one is drawn now
            if self._held == ended:  # (else it was drawn already, or another epoch is held since)
                self._held = None
                self._due()

        self._set_timer(delay, over)

    def _due(self) -> None:
        """An epoch is to be drawn: now, or when the interval since the last redraw is up."""
        if self._epoch_pending:
            return
        now = self._clock()
        interval = self.chart_interval
        self._pending_since = now
        if now - self._last_chart >= interval:
            self._when_quiet()
        else:
            self._epoch_pending = True
            self._set_timer(self._last_chart + interval - now, self._when_quiet)

    def _when_quiet(self) -> None:
        """Draw the pending epoch now, unless a key was just pressed: then once it has been answered."""
        wait = KEY_QUIET - self._since_key() if self._since_key is not None else 0.0
        left = MAX_DEFER - (self._clock() - self._pending_since)
        if wait > 0 and left > 0:
            self._epoch_pending = True
            self._set_timer(min(wait, left), self._when_quiet)
            return
        self.flush()

    def flush(self) -> None:
        """Draw everything now (a pending epoch included)."""
        self._epoch_pending = False
        self._held = None
        self._last_chart = self._last_progress = start = self._clock()
        self._draw(True)
        self._cost = self._clock() - start

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


class RedrawThrottle:
    """Turns a stream of training events into calls of ``draw(epoch=…)``.

    ``draw(epoch=True)`` repaints charts and tables too; ``draw(epoch=False)`` only the progress.
    ``set_timer(delay, callback)`` schedules a deferred epoch redraw (the app's ``set_timer``).
    ``every_event``: draw every event at once, no clock involved (snapshot tests).
    ``since_key()``: seconds since the last key press (the app's; none: never waited for).
    """

    def __init__(self, draw: Callable[[bool], None], set_timer: Callable[[float, Callable[[], None]], object], *,
                 chart_hz: float = CHART_HZ, progress_hz: float = PROGRESS_HZ,
                 clock: Callable[[], float] = time.perf_counter, every_event: bool = False,
                 since_key: Callable[[], float] | None = None) -> None:
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

    @property
    def chart_interval(self) -> float:
        """Seconds between two chart redraws at least: 1 / chart_hz, longer when a redraw is costly."""
        return max(self._chart_interval, self._cost / BUSY_SHARE)

    def event(self, *, epoch: bool = False, final: bool = False) -> None:
        """An event arrived: ``epoch`` when an epoch ended, ``final`` when the run ended."""
        if self._every_event:
            self._draw(epoch or final)
            return
        now = self._clock()
        interval = self.chart_interval
        if final:
            self.flush()
        elif epoch and not self._epoch_pending and now - self._last_chart >= interval:
            self._pending_since = now
            self._when_quiet()
        elif epoch:
            if not self._epoch_pending:
                self._epoch_pending = True
                self._pending_since = now
                self._set_timer(self._last_chart + interval - now, self._when_quiet)
        elif now - self._last_progress >= self._progress_interval:
            self._last_progress = now
            self._draw(False)

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
        self._last_chart = self._last_progress = start = self._clock()
        self._draw(True)
        self._cost = self._clock() - start

"""RedrawThrottle's rule with a clock of its own: an epoch is drawn at once while the UI is idle;
epochs are coalesced only while redrawing would take more than BUSY_SHARE of the time."""

from __future__ import annotations

import pytest

from kerastui.ui.throttle import BUSY_SHARE, CHART_HZ, RedrawThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, cost: float = 0.0):
    draws: list[bool] = []
    timers: list[tuple[float, object]] = []

    def draw(epoch: bool) -> None:
        draws.append(epoch)
        clock.now += cost  # what the redraw took

    throttle = RedrawThrottle(draw, lambda delay, callback: timers.append((delay, callback)), clock=clock)
    return throttle, draws, timers


def test_epochs_apart_more_than_the_cap_are_each_drawn_at_once() -> None:
    clock = Clock()
    throttle, draws, timers = make(clock, cost=0.005)
    for _ in range(10):  # an epoch every 0.15 s, a redraw of 5 ms: drawn as each ends, no timer
        throttle.event(epoch=True)
        clock.now += 0.15
    assert draws == [True] * 10 and not timers


def test_a_costly_redraw_coalesces_the_epochs_after_it() -> None:
    clock = Clock()
    cost = 0.1  # a redraw of 100 ms: the next waits cost / BUSY_SHARE after the last one began
    throttle, draws, timers = make(clock, cost=cost)
    throttle.event(epoch=True)
    assert draws == [True] and throttle.chart_interval == pytest.approx(cost / BUSY_SHARE)
    clock.now += 0.05
    throttle.event(epoch=True)
    throttle.event(epoch=True)  # pending already: one timer, one later draw
    assert draws == [True] and len(timers) == 1
    assert timers[0][0] == pytest.approx(cost / BUSY_SHARE - cost - 0.05)
    clock.now += timers[0][0]
    timers[0][1]()
    assert draws == [True, True]


def test_cheap_redraws_are_still_capped_at_chart_hz() -> None:
    clock = Clock()
    throttle, draws, timers = make(clock)
    throttle.event(epoch=True)
    clock.now += 0.2 / CHART_HZ
    throttle.event(epoch=True)
    assert draws == [True] and len(timers) == 1 and timers[0][0] == pytest.approx(0.8 / CHART_HZ)


def test_the_end_of_a_run_is_drawn_at_once_even_while_busy() -> None:
    clock = Clock()
    throttle, draws, _ = make(clock, cost=0.2)
    throttle.event(epoch=True)
    throttle.event(final=True)
    assert draws == [True, True]


def test_an_epoch_just_after_a_key_press_waits_for_the_key_to_be_answered() -> None:
    from kerastui.ui.throttle import KEY_QUIET, MAX_DEFER

    clock = Clock()
    draws: list[bool] = []
    timers: list[tuple[float, object]] = []
    last_key = [clock.now - 0.01]  # a key pressed 10 ms ago
    throttle = RedrawThrottle(draws.append, lambda delay, callback: timers.append((delay, callback)), clock=clock,
                              since_key=lambda: clock.now - last_key[0])
    throttle.event(epoch=True)
    assert draws == [] and timers[0][0] == pytest.approx(KEY_QUIET - 0.01)  # after the key's frame
    throttle.event(epoch=True)  # a second epoch meanwhile: coalesced, no second timer
    assert len(timers) == 1
    clock.now += timers[0][0]
    timers.pop()[1]()
    assert draws == [True]

    # Keys pressed without a pause: the redraw waits MAX_DEFER at most, then is drawn anyway.
    clock.now += 1.0
    last_key[0] = clock.now
    throttle.event(epoch=True)
    start = clock.now
    looks = 0
    while not draws[1:]:
        assert len(timers) == 1
        delay, callback = timers.pop()
        clock.now += delay
        last_key[0] = clock.now  # a key pressed just as the throttle looks again
        callback()
        looks += 1
    assert looks > 1 and clock.now - start == pytest.approx(MAX_DEFER) and draws == [True, True]

    throttle.event(final=True)  # the run's end: at once, keys or not
    assert draws == [True, True, True]

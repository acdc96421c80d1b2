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


class Loop:
    """A clock (the UI's and the run's at once) with timers that fire when it passes them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, int, object]] = []

    def __call__(self) -> float:
        return self.now

    def set_timer(self, delay: float, callback) -> None:
        self.timers.append((self.now + delay, len(self.timers), callback))

    def run_until(self, when: float) -> None:
        while True:
            due = sorted(t for t in self.timers if t[0] <= when)
            if not due:
                break
            self.timers.remove(due[0])
            self.now = max(self.now, due[0][0])
            due[0][2]()
        self.now = when


def held(epoch_length: float, epochs: int, arrival: float = 0.002, late: dict[int, float] | None = None):
    """Epochs of ``epoch_length`` seconds, each arriving ``arrival`` after its end (epoch i: ``late[i]``
    more); what was drawn, when, and how old each epoch was when first drawn."""
    from kerastui.ui.throttle import RedrawThrottle

    loop = Loop()
    drawn: list[float] = []  # times of the chart redraws
    throttle = RedrawThrottle(lambda epoch: drawn.append(loop.now) if epoch else None, loop.set_timer,
                              clock=loop, wall=loop)
    ends = [loop.now + (i + 1) * epoch_length for i in range(epochs)]
    for i, end in enumerate(ends):
        loop.run_until(end + arrival + (late or {}).get(i, 0.0))
        throttle.event(epoch=True, ended=end)
    loop.run_until(ends[-1] + 1.0)
    ages = [next(t for t in drawn if t >= end + arrival + (late or {}).get(i, 0.0)) - end for i, end in enumerate(ends)]
    return drawn, ages


def test_an_epoch_shorter_than_the_budget_is_held_for_the_next_and_drawn_with_it_in_time() -> None:
    from kerastui.ui.throttle import LATENCY_BUDGET

    drawn, ages = held(0.06, 30)  # 60 ms epochs: two to a frame, the first of each pair 60 ms old
    assert len(drawn) <= 16
    assert max(ages) <= LATENCY_BUDGET + 1e-9
    assert sum(age > 0.05 for age in ages) >= 14  # (they were held)
    fast, fast_ages = held(0.02, 30)  # 20 ms epochs: four to a frame, each within the budget still
    assert len(fast) <= 9 and max(fast_ages) <= LATENCY_BUDGET + 1e-9


def test_epochs_longer_than_the_budget_are_each_drawn_as_they_arrive() -> None:
    drawn, ages = held(0.1, 20)
    assert len(drawn) == 20 and max(ages) < 0.003  # no holding: at once


def test_a_held_epoch_whose_next_is_late_is_drawn_at_its_deadline_alone() -> None:
    from kerastui.ui.throttle import LATENCY_BUDGET

    drawn, ages = held(0.06, 6, late={2: 0.2})  # epoch 3 reaches the TUI 200 ms late
    assert ages[1] == pytest.approx(LATENCY_BUDGET)  # epoch 2, held for it, drawn at its deadline
    assert ages[0] < 0.003
    assert len(drawn) == len(set(drawn))  # no frame twice (a hold's timer after its epoch was drawn does nothing)


def test_the_end_of_a_run_draws_a_held_epoch_at_once() -> None:
    from kerastui.ui.throttle import RedrawThrottle

    loop = Loop()
    drawn: list[bool] = []
    throttle = RedrawThrottle(drawn.append, loop.set_timer, clock=loop, wall=loop)
    throttle.event(epoch=True, ended=loop.now)
    loop.run_until(loop.now + 0.06)
    throttle.event(epoch=True, ended=loop.now)  # held for the next (due in 60 ms)
    assert drawn == [True] and loop.timers
    throttle.event(final=True)
    assert drawn == [True, True]
    loop.run_until(loop.now + 1.0)
    assert drawn == [True, True]  # the hold's timer found nothing to draw

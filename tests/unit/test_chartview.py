"""Chart arithmetic: TensorBoard's smoothing on known values, the zoom, cursor and smoothing steps."""

from __future__ import annotations

import math

import pytest

from kerastui.ui.chartview import SMOOTHING, ChartView, positive, smooth


def tensorboard(values, weight):
    """TensorBoard's scalar smoothing, transcribed from its dashboard (tf_scalar_dashboard:
    ``last = last * w + (1 - w) * y; numAccum++; debias = 1 - w ** numAccum; smoothed = last / debias``,
    non-finite values and constant series left as they are)."""
    if all(v == values[0] for v in values):
        return list(values)
    last, count, out = 0.0, 0, []
    for y in values:
        if not math.isfinite(y):
            out.append(y)
            continue
        last = last * weight + (1 - weight) * y
        count += 1
        out.append(last / (1 - weight ** count))
    return out


def test_smoothing_equals_tensorboards_formula_on_known_values():
    values = [1.0, 0.5, 0.8, 0.2, 0.4]
    # By hand, w = 0.6: the first smoothed value is the first value (debiased), then a weighted mean.
    expected = [1.0, (0.24 + 0.2) / (1 - 0.36), None, None, None]
    got = smooth(values, 0.6)
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(expected[1])  # 0.6875
    assert got[1] == pytest.approx(0.6875)
    assert got == pytest.approx(tensorboard(values, 0.6))
    for weight in SMOOTHING:
        assert smooth(values, weight) == pytest.approx(tensorboard(values, weight))


def test_smoothing_passes_non_finite_values_and_constant_series_through():
    values = [1.0, float("nan"), 0.5, float("inf"), 0.25]
    got = smooth(values, 0.9)
    assert math.isnan(got[1]) and got[3] == float("inf")
    assert got[0] == pytest.approx(1.0)
    # The NaN does not count: the third value is smoothed as the second finite one.
    assert got[2] == pytest.approx((0.9 * 0.1 * 1.0 + 0.1 * 0.5) / (1 - 0.81))
    assert smooth([0.3] * 5, 0.9) == [0.3] * 5
    assert smooth(values[:1], 0.0) == values[:1]


def test_smoothing_steps_zoom_and_cursor():
    view = ChartView()
    view.smoother(1)
    assert view.smoothing == 0.6
    for _ in range(10):
        view.smoother(1)
    assert view.smoothing == SMOOTHING[-1]
    view.smoother(-100)
    assert view.smoothing == 0.0
    # Zoom offers only "last N" shorter than the run, then all again.
    view.zoom(30)
    assert view.last == 10 and view.first_epoch(30) == 21
    view.zoom(30)
    assert view.last == 25
    view.zoom(30)
    assert view.last is None and view.first_epoch(30) == 1
    # The cursor appears at the last epoch and stays within the shown epochs.
    view.move_cursor(-1, 30)
    assert view.cursor == 30
    view.move_cursor(5, 30)
    assert view.cursor == 30
    view.last = 10
    view.move_cursor(-50, 30)
    assert view.cursor == 21
    assert view.describe() == "last 10"
    view.log_y, view.smoothing = True, 0.9
    assert view.describe() == "smooth 0.9 · log · last 10"


def test_log_scale_needs_positive_values():
    assert positive([0.1, 2.0, float("nan")])
    assert not positive([0.1, 0.0])
    assert not positive([-1.0, 2.0])


def test_epoch_ticks_are_whole_epochs_at_a_round_step():
    from kerastui.ui.widgets.charts import epoch_ticks

    class Plot:
        def xticks(self, ticks):
            self.ticks = ticks

    def ticks(epochs, width, first=1):
        plot = Plot()
        epoch_ticks(plot, epochs, width, first)
        return plot.ticks

    assert ticks(5, 40) == [1, 2, 3, 4, 5]
    assert ticks(30, 40) == [1, 10, 20, 30]
    assert ticks(500, 60) == [1, 100, 200, 300, 400, 500]
    assert ticks(30, 40, first=21) == [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]
    assert all(isinstance(t, int) for t in ticks(1234, 100))

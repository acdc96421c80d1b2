"""plotsteps: plotext's steps done in fewer operations must give what plotext's own give — step by
step over random inputs (odd ones too: gaps, NaN, points off the canvas, mixed marker sizes), and
figure by figure, cell by cell, over random charts."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import plotext._matrix as plotext_matrix
import plotext._utility as plotext_utility
import pytest
from textual_plotext.plot import Plot

from kerastui.ui.widgets import charts, plotsteps

ORIGINAL = plotsteps.ORIGINAL


@pytest.fixture
def plotext_own() -> Iterator[None]:
    plotsteps.uninstall()
    try:
        yield
    finally:
        plotsteps.install()


def outcome(function: Any, *args: Any) -> Any:
    """What a call gives, or the kind of error it raises; tuples and lists alike (plotext mixes them)."""
    try:
        result = function(*args)
    except Exception as error:  # noqa: BLE001 - the same error is part of "the same"
        return type(error)
    return [list(part) if isinstance(part, tuple) else part for part in result]


def points(rng: random.Random, count: int) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = [rng.randint(-30, 130) for _ in range(count)]
    ys: list[Any] = [rng.randint(-30, 90) for _ in range(count)]
    if count and rng.random() < 0.15:
        xs[rng.randrange(count)] = None  # a gap
    if count and rng.random() < 0.15:
        ys[rng.randrange(count)] = math.nan
    return xs, ys


def test_the_steps_are_installed_where_plotext_s_build_looks_them_up() -> None:
    assert charts.plotsteps is plotsteps
    assert plotext_utility.hd_group is plotsteps.hd_group
    assert plotext_utility.get_lines is plotsteps.get_lines
    assert plotext_utility.get_matrix_data is plotsteps.get_matrix_data
    assert plotext_matrix.matrix_class.set_matrices is plotsteps.set_matrices


def test_hd_group_and_get_lines_give_what_plotext_s_give() -> None:
    rng = random.Random(24)
    compared = 0
    for _ in range(4000):
        count = rng.choice([0, 1, 2, rng.randint(3, 40)])
        xs, ys = points(rng, count)
        markers = [rng.choice(["braille", "hd", "dot"]) for _ in range(count)]
        colours = [rng.choice(["cyan", "orange", "gray"]) for _ in range(count)]
        styles = ["default"] * count
        assert outcome(plotsteps.get_lines, xs, ys, markers, colours, styles) == \
            outcome(ORIGINAL["get_lines"], xs, ys, markers, colours, styles)
        across, down = rng.choice([(2, 4), (2, 2), (2, 3), (1, 1)])
        xf, yf = [across] * count, [down] * count
        if count and rng.random() < 0.1:
            xf[0] = 1  # a size that differs within a curve: plotext's own handles it
        ours = outcome(plotsteps.hd_group, xs, ys, xf, yf)
        assert ours == outcome(ORIGINAL["hd_group"], xs, ys, xf, yf)
        compared += isinstance(ours, list) and bool(ours[0])
    assert compared > 2000  # (most calls grouped points, not only raised the same error)


def test_get_matrix_data_gives_what_plotext_s_gives() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        data: list[Any] = [rng.uniform(-5, 5) for _ in range(rng.randint(0, 30))]
        if data and rng.random() < 0.2:
            data[rng.randrange(len(data))] = rng.choice([math.nan, None, 3, math.inf])
        low = rng.uniform(-6, 0)
        lim: list[Any] = rng.choice([[low, low + rng.uniform(0.001, 12)], [low, low], [None, None], [0, 10]])
        bins = rng.randint(1, 200)
        assert outcome(plotsteps.get_matrix_data, data, lim, bins) == \
            outcome(ORIGINAL["get_matrix_data"], data, lim, bins)


def test_set_matrices_gives_what_plotext_s_gives() -> None:
    rng = random.Random(3)
    for _ in range(300):
        ours, theirs = plotext_matrix.matrix_class(), plotext_matrix.matrix_class()
        cols, rows = rng.randint(0, 60), rng.randint(0, 30)
        area = (rng.randint(-2, 10), rng.randint(0, 70), rng.randint(-2, 5), rng.randint(0, 35))
        for matrix in (ours, theirs):
            matrix.set_size(cols, rows)
            matrix.set_axes_color("black")
            matrix.set_canvas_area(*area)
            matrix.set_canvas_color("white")
        plotsteps.set_matrices(ours)
        ORIGINAL["set_matrices"](theirs)
        for name in ("marker", "fullground", "background", "style"):
            assert getattr(ours, name) == getattr(theirs, name)
        if rows and cols:  # each row a list of its own (plotext writes cells in place)
            ours.background[0][0] = "changed"
            assert all(row[0] != "changed" for row in ours.background[1:])


def random_chart(seed: int) -> Plot:
    """A chart as the workspaces draw them: curves of 1–200 epochs (with gaps, flat or falling),
    smoothing's faint curve, scatter points, a cursor's line, a log scale, sizes small to large."""
    rng = random.Random(seed)
    plt = Plot()
    width, height = rng.randint(10, 120), rng.randint(5, 40)
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt.theme(rng.choice(["textual-design-dark", "pro", "clear"]))
    epochs = rng.randint(1, 200)
    xs = list(range(1, epochs + 1))
    log = rng.random() < 0.25
    for marker, colour in [("braille", "cyan"), ("hd", "orange"), ("dot", "gray")][: rng.randint(1, 3)]:
        start = rng.uniform(0.05, 3)
        ys = [start / x ** rng.uniform(0, 1) + rng.uniform(0, 0.05) for x in xs]
        if not log and rng.random() < 0.2:
            ys[rng.randrange(epochs)] = math.nan
        plt.plot(xs, ys, marker=marker, color=colour)
    if rng.random() < 0.5:
        plt.scatter([rng.randint(1, epochs)], [rng.uniform(0.1, 2)], marker="dot", color="white")
    if rng.random() < 0.5:
        plt.vline(rng.randint(1, epochs), "white")
    if log:
        plt.yscale("log")
    return plt


def built_cells(plt: Plot) -> list[Any]:
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    return [matrix.marker, matrix.fullground, matrix.background, matrix.style]


@pytest.mark.parametrize("seeds", [range(0, 40), range(40, 80)])
def test_random_charts_build_the_same_figure_with_plotext_s_own_steps(seeds: range) -> None:
    ours = [built_cells(random_chart(seed)) for seed in seeds]
    plotsteps.uninstall()
    try:
        theirs = [built_cells(random_chart(seed)) for seed in seeds]
    finally:
        plotsteps.install()
    for seed, mine, plotext_s in zip(seeds, ours, theirs, strict=True):
        assert mine == plotext_s, f"chart {seed}"
    drawn = sum(cell not in (" ", "") for figure in ours for row in figure[0] for cell in row)
    assert drawn > 1000  # (figures with curves on them)


def test_uninstall_puts_plotext_s_own_back(plotext_own: None) -> None:
    assert plotext_utility.hd_group is ORIGINAL["hd_group"]
    assert plotext_utility.get_lines is ORIGINAL["get_lines"]
    assert plotext_utility.get_matrix_data is ORIGINAL["get_matrix_data"]
    assert plotext_matrix.matrix_class.set_matrices is ORIGINAL["set_matrices"]

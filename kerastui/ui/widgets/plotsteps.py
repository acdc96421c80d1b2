"""Four of plotext's steps for a line chart, done the same way in fewer operations.

A chart is built again at every epoch of a run the TUI follows (both charts of the Train
workspace, at each of its epochs), on the cores the run trains on (issue 24: a fit followed by the
TUI ≤ 1.02 × a plain fit).  Of plotext's build of a 30-epoch chart, grouping a curve's points into
high-definition cells (``hd_group``) took a third and drawing the lines between its points
(``get_lines``) a sixth: general code that makes a small matrix for every point and flattens
nested lists recursively.  Turning values into cells (``get_matrix_data``) and blanking the figure
(``matrix_class.set_matrices``) called a function per value and per cell.  The four here give the
same result — the same lists in the same order, tested against plotext's own over random curves
and whole figures — for what a chart's build gives them (integer cell coordinates, one marker size
per curve, a marker, colour and style per point), and hand anything else to plotext's own.

:func:`install` puts them where plotext's build looks them up at each call (``plotext._utility``,
``plotext._matrix.matrix_class``); :func:`uninstall` puts plotext's own back (``ORIGINAL``: tests
compare the two).
"""

from __future__ import annotations

import math
from typing import Any

import plotext._matrix as _matrix
import plotext._utility as _utility

_OWNERS = {"hd_group": _utility, "get_lines": _utility, "get_matrix_data": _utility,
           "set_matrices": _matrix.matrix_class}  # where plotext's build looks each step up
ORIGINAL = {name: getattr(owner, name) for name, owner in _OWNERS.items()}  # plotext's own


def _ints(values: list[Any]) -> bool:
    return all(type(value) is int for value in values)


def hd_group(x: list[Any], y: list[Any], xf: list[int], yf: list[int]) -> tuple[list, list, list]:
    """Each high-definition cell a curve's points fall in, in the order first met, with the
    sub-cell dots set in it (plotext's ``hd_group``)."""
    if (not x or len(y) != len(x) or len(xf) != len(x) or len(yf) != len(x) or min(xf) != max(xf)
            or min(yf) != max(yf) or not _ints(x) or not _ints(y)):
        return ORIGINAL["hd_group"](x, y, xf, yf)
    across, down = xf[0], yf[0]
    size = across * down
    cells: dict[tuple[int, int], list[int]] = {}
    for col, row in zip(x, y, strict=True):
        key = (col // across, row // down)
        dots = cells.get(key)
        if dots is None:
            dots = cells[key] = [0] * size
        # (plotext's cell is a matrix of ``down`` rows, read bottom row first)
        dots[(down - 1 - row % down) * across + col % across] = 1
    return [key[0] for key in cells], [key[1] for key in cells], [tuple(dots) for dots in cells.values()]


def get_lines(x: list[Any], y: list[Any], *other: list[Any]) -> list[list[Any]]:
    """The points of the straight lines between each two points in a row, each with the marker,
    colour and style (``other``) of the point it starts from (plotext's ``get_lines``)."""
    count = len(x)
    if (not count or not other or len(y) != count or any(len(values) != count for values in other)
            or not _ints(x) or not _ints(y)):
        return ORIGINAL["get_lines"](x, y, *other)
    xs: list[int] = []
    ys: list[int] = []
    starts: list[int] = []  # the point each line point comes from
    for i in range(count - 1):
        x0, x1, y0, y1 = x[i], x[i + 1], y[i], y[i + 1]
        steps = max(abs(x1 - x0), abs(y1 - y0))  # plotext's linspace of steps + 1 points, the last left out
        if not steps:
            continue
        x_slope, y_slope = (x1 - x0) / steps, (y1 - y0) / steps
        xs += [int(x0 + k * x_slope) for k in range(steps)]
        ys += [int(y0 + k * y_slope) for k in range(steps)]
        starts += [i] * steps
    xs.append(x[-1])
    ys.append(y[-1])
    starts.append(count - 1)
    return [xs, ys, *([values[i] for i in starts] for values in other)]


def get_matrix_data(data: list[Any], lim: list[float], bins: int) -> list[Any]:
    """Values as canvas cells: what plotext's ``get_matrix_data`` computes, without a function call
    per value."""
    if not data or not all(type(value) is float or type(value) is int for value in (*data, *lim[:2])):
        return ORIGINAL["get_matrix_data"](data, lim, bins)
    low, span, scale, floor = lim[0], lim[1] - lim[0], bins - 1, math.floor
    return [floor(round(0.5 + scale * (value - low) / span, 8)) if value == value else value for value in data]


def set_matrices(matrix: Any) -> None:
    """A figure's blank matrices (plotext's ``matrix_class.set_matrices``): the background of each
    row made from the canvas's columns once, not cell by cell."""
    cols, rows = matrix.cols, matrix.Rows
    space, no_color = _utility.space, _utility.no_color
    matrix.marker = [[space] * cols for _ in rows]
    matrix.fullground = [[no_color] * cols for _ in rows]
    canvas, axes, inside_rows = matrix.canvas_color, matrix.axes_color, matrix.Rows_canvas
    inside = [canvas if col in matrix.Cols_canvas else axes for col in matrix.Cols]
    outside = [axes] * len(inside)
    matrix.background = [(inside if row in inside_rows else outside).copy() for row in rows]
    matrix.style = [[no_color] * cols for _ in rows]


def install() -> None:
    ours = {"hd_group": hd_group, "get_lines": get_lines, "get_matrix_data": get_matrix_data,
            "set_matrices": set_matrices}
    for name, owner in _OWNERS.items():
        setattr(owner, name, ours[name])


def uninstall() -> None:
    for name, owner in _OWNERS.items():
        setattr(owner, name, ORIGINAL[name])

"""figure_text draws plotext's figure from its matrix of cells: it must equal what plotext's own
ANSI output decodes to (Text.from_ansi(plt.build())), character by character and style by style."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text
from textual_plotext.plot import Plot

from kerastui.ui.widgets.charts import figure_text


def figure(kind: int, theme: str, width: int, height: int) -> Plot:
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt.theme(theme)
    xs = list(range(1, 41))
    ys = [1 / x for x in xs]
    plt.plot(xs, ys, marker="braille", color="cyan")
    plt.plot(xs, [y * 1.1 + 0.01 for y in ys], marker="hd", color="orange")
    if kind >= 1:
        plt.scatter([5, 10], [0.5, 0.2], marker="dot", color="gray")
    if kind >= 2:
        plt.vline(7, "white")
        plt.xlabel("epoch")
    if kind >= 3:
        plt.yscale("log")
    return plt


def cells(text: Text) -> list[list[tuple[str, str]]]:
    console = Console()
    return [[(char, str(line.get_style_at_offset(console, i))) for i, char in enumerate(line.plain)]
            for line in text.split("\n")]


@pytest.mark.parametrize("kind", range(4))
@pytest.mark.parametrize("theme", ["textual-design-dark", "pro", "clear"])
def test_figure_text_is_plotext_s_ansi_output_decoded(kind: int, theme: str) -> None:
    expected = Text.from_ansi(figure(kind, theme, 50, 14).build(), end="")
    drawn = figure_text(figure(kind, theme, 50, 14))  # (a fresh figure: a log build changes its data)
    assert drawn.plain == expected.plain
    assert cells(drawn) == cells(expected)
    assert len({style for line in cells(drawn) for _, style in line}) > 1  # coloured, not plain

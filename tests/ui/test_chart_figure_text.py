"""figure_text draws plotext's figure from its matrix of cells: it must equal what plotext's own
ANSI output decodes to (Text.from_ansi(plt.build())), character by character and style by style."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text
from textual_plotext.plot import Plot

from kerastui.ui.widgets.charts import figure_text


def figure(kind: int, theme: str, width: int, height: int) -> Plot:
    return draw(Plot(), kind, theme, width, height)


def draw(plt: Plot, kind: int, theme: str, width: int, height: int, shift: float = 0.0) -> Plot:
    """Two curves (braille, hd) put on ``plt``, then with ``kind`` ≥ 1 a scatter, ≥ 2 a cursor's line
    and the x label, 3 a log scale (the values shifted by ``shift``)."""
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt.theme(theme)
    xs = list(range(1, 41))
    ys = [1 / x + shift for x in xs]
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


def test_chart_visual_draws_what_textual_draws_for_the_same_text() -> None:
    """ChartVisual makes strips directly; Textual's Content would lay the same Rich text out line by
    line: the same cells in the same styles, on the widget's base style."""
    from textual.content import Content
    from textual.css.styles import Styles
    from textual.style import Style as VisualStyle
    from textual.visual import RenderOptions

    from kerastui.ui.widgets.charts import ChartVisual, figure_rows

    width, height = 50, 14
    header = Text("loss ", style="bold", end="")
    header.append("⠉⠉", style="color(6)")
    header.append(" train")
    rows = figure_rows(figure(2, "textual-design-dark", width, height))
    text = Text("\n", end="").join([header, figure_text(figure(2, "textual-design-dark", width, height))])
    base = VisualStyle.parse("#e0e0e0 on #1e1e1e")
    options = RenderOptions(lambda style: VisualStyle.parse(style) if isinstance(style, str) else style, Styles())
    ours = ChartVisual(header, rows, width).render_strips(width, height + 1, base, options)
    theirs = Content.from_rich_text(text).render_strips(width, height + 1, base, options)
    assert len(ours) == len(theirs) == height + 1

    def cells_of(strips: list) -> list[list[tuple[str, object, object, bool]]]:
        return [[(char, seg.style.color, seg.style.bgcolor, bool(seg.style.bold)) for seg in strip for char in seg.text]
                for strip in strips]

    assert cells_of(ours) == cells_of(theirs)


def test_a_cleared_figure_draws_what_a_new_one_draws() -> None:
    """A chart redraws its figure at every epoch: ``cleared`` makes its plot anew instead of the whole
    figure (``clear_figure``).  After every other kind of plot at another size and theme (a cursor's
    line, a label, a log scale, built or not), the figure drawn on it is a new figure's, cell by cell."""
    from kerastui.ui.widgets.charts import cleared, figure_rows

    plt = Plot()
    themes = ["textual-design-dark", "pro", "clear"]
    for step, (kind, theme) in enumerate([(k, t) for t in themes for k in (3, 0, 2, 1, 3, 2)]):
        before = (kind + 1) % 4, themes[(step + 1) % 3]
        cleared(plt)
        draw(plt, *before, 30 + step % 7, 9 + step % 5, shift=0.5)
        if step % 2:
            figure_rows(plt)  # (built: plotext's build takes a log plot's logarithm in place)
        cleared(plt)
        expected = figure_rows(draw(Plot(), kind, theme, 50, 14))
        assert figure_rows(draw(plt, kind, theme, 50, 14)) == expected, (kind, theme)

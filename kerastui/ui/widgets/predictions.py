"""Test samples and what a model predicts for them, as Train and Save/Load show them.

A prediction is the dict ``kerastui.core.evaluation`` describes one with: ``index``, ``predicted``,
``true`` (absent for a typed row), and for a classifier ``correct``, ``confidence`` and ``top3``.

One view, two depths:

- ``brief`` (Train, under the evaluation of a finished run): the sample images with
  ``✓ predicted/true`` under each, or (no images) a table of index, predicted, true, confidence.
- full (Save/Load, ``i``): the inputs (the images, or the rows in the units the user types), then
  a table of predicted, confidence, true and the top 3 classes.

Class and feature names come from the data set: every cell is plain ``Text``, control characters
shown (``kerastui.ui.safe``), never read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kerastui.ui.safe import plain, text
from kerastui.ui.widgets.pictures import image_strip

if TYPE_CHECKING:
    import numpy as np

Prediction = Mapping[str, Any]


def predictions_view(predictions: Sequence[Prediction], *, images: np.ndarray | None = None,
                     rows: Sequence[Sequence[float]] | np.ndarray | None = None,
                     features: Sequence[str] | None = None, brief: bool = False) -> RenderableType:
    """The predictions for test samples; ``images`` (scaled to [0, 1]) or ``rows`` are their inputs."""
    if brief:
        if images is not None and len(images):
            return image_samples(images, [brief_label(p) for p in predictions])
        return brief_table(predictions)
    parts: list[RenderableType] = []
    if images is not None and len(images):
        parts.append(image_samples(images, [f"{p['predicted']}/{p.get('true', '?')}" for p in predictions]))
    elif rows is not None and len(rows):
        parts.append(inputs_table(predictions, rows, features or []))
    return Group(*parts, predictions_table(predictions))


def image_samples(images: np.ndarray, labels: Sequence[str]) -> Text:
    """The images side by side, a label under each."""
    return Text("test samples (predicted/true)\n", style="bold") + image_strip(images, labels, max_width=90)


def brief_label(p: Prediction) -> str:
    """``✓ 7/7`` for a classifier (✗ when wrong), ``2.31/2.4`` for a regressor."""
    if "correct" in p:
        return f"{'✓' if p.get('correct') else '✗'} {p['predicted']}/{p['true']}"
    return f"{p['predicted']:.3g}/{p['true']:.3g}"


def brief_table(predictions: Sequence[Prediction]) -> Table:
    table = Table(title="test samples", title_justify="left", box=None, pad_edge=False)
    for column in ("#", "predicted", "true", "confidence"):
        table.add_column(column, no_wrap=True)
    for p in predictions:
        table.add_row(str(p["index"]), plain(p["predicted"]), plain(p["true"]),
                      f"{p['confidence']:.2f}" if "confidence" in p else "")
    return table


def predictions_table(predictions: Sequence[Prediction]) -> Table:
    """Predicted (✓/✗ against the truth), confidence, true and the top 3 classes."""
    table = Table(box=None, pad_edge=False, title_justify="left", title="predictions")
    table.add_column("#", no_wrap=True, min_width=5)
    table.add_column("predicted", no_wrap=True, min_width=10)
    table.add_column("conf.", no_wrap=True, min_width=5)
    table.add_column("true", no_wrap=True, min_width=6)
    table.add_column("top 3", overflow="fold")
    for p in predictions:
        truth = p.get("true")
        mark = "" if "correct" not in p else ("✓ " if p["correct"] else "✗ ")
        predicted = f"{p['predicted']:.4g}" if isinstance(p["predicted"], float) else str(p["predicted"])
        table.add_row(str(p.get("index", "")), plain(mark + predicted, "green" if p.get("correct") else
                                                      ("red" if "correct" in p else "")),
                      f"{p['confidence']:.3f}" if "confidence" in p else "",
                      plain("" if truth is None else (f"{truth:.4g}" if isinstance(truth, float) else truth)),
                      text("  ".join(f"{name} {prob:.2f}" for name, prob in p.get("top3", []))))
    return table


def inputs_table(predictions: Sequence[Prediction], rows: Sequence[Sequence[float]] | np.ndarray,
                 features: Sequence[str]) -> Table:
    """The samples' first 8 features, one row per prediction."""
    header = features or [f"x{i}" for i in range(len(rows[0]))]
    values = Table(box=None, pad_edge=False, title="inputs", title_justify="left")
    values.add_column("#")
    for name in header[:8]:
        values.add_column(plain(name), justify="right")
    for p, row in zip(predictions, rows, strict=False):
        values.add_row(str(p.get("index", "")), *(f"{float(v):.3g}" for v in list(row)[:8]))
    return values

"""Images and bars drawn with text: half-block pixels (▀ with a foreground and a background
colour per cell, two pixel rows per line) and horizontal bar charts."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

from kerastui.core.text import visible


def _rgb(pixel) -> str:
    values = [int(max(0.0, min(1.0, float(v))) * 255) for v in (pixel if len(pixel) == 3 else (pixel[0],) * 3)]
    return f"rgb({values[0]},{values[1]},{values[2]})"


def half_block(image, scale: int = 1) -> list[Text]:
    """An (H, W, C) image with values in 0..1 as lines of text, ``scale`` repeating each pixel."""
    import numpy as np

    img = np.asarray(image, dtype="float32")
    if img.ndim == 2:
        img = img[..., None]
    if scale > 1:
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    height = img.shape[0]
    if height % 2:
        img = np.concatenate([img, np.zeros_like(img[:1])], axis=0)
    lines = []
    for y in range(0, img.shape[0], 2):
        line = Text()
        for x in range(img.shape[1]):
            line.append("▀", Style.parse(f"{_rgb(img[y, x])} on {_rgb(img[y + 1, x])}"))
        lines.append(line)
    return lines


def image_strip(images, labels: Sequence[str], max_width: int = 120) -> Text:
    """Several images side by side, each with its label underneath, wrapped to ``max_width``."""
    if len(images) == 0:
        return Text("no samples")
    height, width = images[0].shape[:2]
    scale = 2 if max(height, width) <= 12 else 1
    tiles = [half_block(img, scale) for img in images]
    tile_width = width * scale
    per_row = max(1, max_width // (tile_width + 2))
    out = Text()
    for start in range(0, len(tiles), per_row):
        group = tiles[start:start + per_row]
        group_labels = labels[start:start + per_row]
        for row in range(len(group[0])):
            for tile in group:
                out.append_text(tile[row])
                out.append("  ")
            out.append("\n")
        for label in group_labels:  # (class names from a data set: shown, never sent)
            out.append(visible(label, one_line=True)[:tile_width].ljust(tile_width) + "  ", style="bold")
        out.append("\n")
    return out


def bar_chart(labels: Sequence[str], counts: Sequence[int], width: int = 30) -> Text:
    """Horizontal bars, one per label, scaled to the largest count."""
    out = Text()
    if not counts:
        return out
    top = max(counts) or 1
    labels = [visible(label, one_line=True) for label in labels]  # (class names from a data set)
    name_width = min(max(len(label) for label in labels), 16)
    for label, count in zip(labels, counts, strict=False):
        filled = count / top * width
        whole = int(filled)
        bar = "█" * whole + ("▌" if filled - whole >= 0.5 else "")
        out.append(f"{str(label)[:name_width]:>{name_width}} ", style="dim")
        out.append(bar.ljust(width + 1), style="green")
        out.append(f"{count:>6}\n")
    return out

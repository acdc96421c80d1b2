"""Command palette: every preset can be opened from ctrl+p.

A preset's name, title and source are a stranger's: its entry is plain ``Content`` (Textual's
``Matcher.highlight`` reads the candidate as markup) with control characters shown."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from kerastui.core.text import visible
from kerastui.ui.safe import escaped

if TYPE_CHECKING:
    from kerastui.core.model.presets import PresetInfo
    from kerastui.ui.app import KerasTUI


class PresetCommands(Provider):
    """Open any shipped or user preset by name or title."""

    def _entries(self) -> Iterator[tuple[str, PresetInfo]]:
        from kerastui.core.model.presets import available  # TOML and specs: not before the first frame

        for info in available():
            yield visible(f"Open preset {info.name}: {info.title or info.error}", one_line=True), info

    def _open(self, path: Path) -> None:
        cast("KerasTUI", self.app).open_preset_path(path)

    async def discover(self) -> Hits:
        for title, info in self._entries():
            yield DiscoveryHit(Content(title), partial(self._open, info.path), help=escaped(info.source))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, info in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, highlighted(matcher, title), partial(self._open, info.path),
                          help=escaped(info.source))


def highlighted(matcher: Matcher, title: str) -> Content:
    """What ``matcher.highlight`` draws (the matched letters in its style), the title never read as markup."""
    content = Content(title)
    _, offsets = matcher.fuzzy_search.match(matcher.query, title)
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content

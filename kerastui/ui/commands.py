"""Command palette: every preset can be opened from ctrl+p."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kerastui.core.model.presets import PresetInfo, available

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI


class PresetCommands(Provider):
    """Open any shipped or user preset by name or title."""

    def _entries(self) -> Iterator[tuple[str, PresetInfo]]:
        for info in available():
            yield f"Open preset {info.name}: {info.title or info.error}", info

    def _open(self, path: Path) -> None:
        cast("KerasTUI", self.app).open_preset_path(path)

    async def discover(self) -> Hits:
        for title, info in self._entries():
            yield DiscoveryHit(title, partial(self._open, info.path), help=info.source)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, info in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._open, info.path),
                          help=info.source)

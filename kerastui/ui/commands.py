"""Command palette: every preset can be opened from ctrl+p."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class PresetCommands(Provider):
    """Open any shipped or user preset by name or title."""

    def _entries(self):
        from kerastui.core.presets import available

        for info in available():
            yield f"Open preset {info.name}: {info.title or info.error}", info

    async def discover(self) -> Hits:
        for title, info in self._entries():
            yield DiscoveryHit(title, partial(self.app.open_preset_path, info.path), help=info.source)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, info in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.open_preset_path, info.path),
                          help=info.source)

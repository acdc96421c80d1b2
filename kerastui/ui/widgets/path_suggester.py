"""Completion of file and folder names in a path field (the Data and Save/Load workspaces)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Completes file and folder names as the user types a path."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        path = Path(value).expanduser()
        folder, stem = (path, "") if value.endswith(os.sep) else (path.parent, path.name)
        try:
            names = sorted(p.name + (os.sep if p.is_dir() else "") for p in folder.iterdir()
                           if p.name.startswith(stem) and not p.name.startswith("."))
        except OSError:
            return None
        if not names:
            return None
        head = value[: len(value) - len(stem)] if stem else value
        return head + names[0]

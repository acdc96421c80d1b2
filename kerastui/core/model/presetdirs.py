"""Where presets live: the shipped folder and the user's, and which names are shipped.

Light on purpose (no TOML, no specs): the TUI asks :func:`shipped_name` before its first frame
and loads a shipped preset after it (:mod:`kerastui.core.model.presets` does the loading).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path


def shipped_dir() -> Path:
    # The presets/ folder installs as the package kerastui.presets (pyproject's package-dir): its
    # folder, as importlib.resources.files gives it for a package on disk, without that module's imports.
    package = importlib.import_module("kerastui.presets")
    return Path(str(package.__file__)).parent


def user_dir() -> Path:
    """``$KERASTUI_PRESETS`` or ``$XDG_CONFIG_HOME/kerastui/presets``."""
    if os.environ.get("KERASTUI_PRESETS"):
        return Path(os.environ["KERASTUI_PRESETS"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "kerastui" / "presets"


def locate(text: str) -> tuple[Path | None, str]:
    """Where a preset argument points, and what it is: ``"path"`` (it looks like a file's path; None
    when no such file), ``"user"`` or ``"shipped"`` (a name found in that folder, the user's first),
    or ``"name"`` (a name found nowhere: None)."""
    path = Path(text).expanduser()
    if text.endswith(".toml") or os.sep in text or (os.altsep and os.altsep in text) or path.is_file():
        return (path if path.is_file() else None), "path"
    for origin, folder in (("user", user_dir()), ("shipped", shipped_dir())):
        candidate = folder / f"{text}.toml"
        if candidate.is_file():
            return candidate, origin
    return None, "name"


def shipped_name(text: str) -> bool:
    """``text`` names a shipped preset that no user preset shadows: a file kerastui ships and its
    tests load, so loading it cannot fail (a path or a user's preset can, and is loaded first)."""
    return bool(text) and locate(text)[1] == "shipped"

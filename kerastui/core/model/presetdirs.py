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


def shipped_name(text: str) -> bool:
    """``text`` names a shipped preset that no user preset shadows: a file kerastui ships and its
    tests load, so loading it cannot fail (a path or a user's preset can, and is loaded first)."""
    if not text or text.endswith(".toml") or os.sep in text or (os.altsep and os.altsep in text):
        return False
    if Path(text).expanduser().is_file() or (user_dir() / f"{text}.toml").is_file():
        return False
    return (shipped_dir() / f"{text}.toml").is_file()

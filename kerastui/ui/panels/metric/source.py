"""Where the custom metric comes from: a ``file.py:ClassName`` reference, its completion and its
cheap check (the file system only; the real check imports the file, in the panel's worker)."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path

from textual.suggester import Suggester
from textual.validation import ValidationResult, Validator

from kerastui.core.model.metrics import parse_ref
from kerastui.core.model.presetdirs import shipped_dir

# The metric files shipped beside the presets: (file, class, what it shows).
EXAMPLES = [
    ("my_accuracy.py", "MyAccuracy", "the tutorial's accuracy"),
    ("top_k_accuracy.py", "TopKAccuracy", "top-k accuracy"),
    ("weighted_accuracy.py", "WeightedAccuracy", "sample-weighted accuracy"),
]


def shipped_examples() -> list[tuple[str, str]]:
    """(label, absolute ref) for each shipped example metric."""
    folder = shipped_dir()
    return [(f"{cls} · {what}", f"{folder / file}:{cls}") for file, cls, what in EXAMPLES]


def split_ref(value: str) -> tuple[str, str | None]:
    """``file.py:Class`` → (file.py, Class); anything else → (value, None)."""
    file, sep, cls = value.rpartition(":")
    if sep and file.endswith(".py"):
        return file, cls
    return value, None


class MetricFileSuggester(Suggester):
    """Completes paths (folders and ``.py`` files, relative to the preset's folder) and, after
    ``file.py:``, the class names the file defines (read with ``ast``, nothing is imported)."""

    def __init__(self, base_dir: Callable[[], Path]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base_dir = base_dir  # a callable: the preset's folder now

    async def get_suggestion(self, value: str) -> str | None:
        file, cls = split_ref(value)
        base = self.base_dir()
        if cls is not None:
            path = parse_ref(file, base)[0]
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                return None
            names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith(cls)]
            return f"{file}:{names[0]}" if names else None
        if not value:
            return None
        folder_text, _, prefix = value.rpartition("/")
        folder = Path(os.path.expanduser(folder_text or "."))
        if folder_text == "" and value.startswith("/"):
            folder = Path("/")
        if not folder.is_absolute():
            folder = base / folder
        try:
            entries = sorted(os.scandir(folder), key=lambda e: (not e.name.endswith(".py"), e.name))
        except OSError:
            return None
        for entry in entries:
            if not entry.name.startswith(prefix) or entry.name.startswith((".", "__")) or entry.name == prefix:
                continue
            if entry.is_dir():
                return f"{value}{entry.name[len(prefix):]}/"
            if entry.name.endswith(".py"):
                return f"{value}{entry.name[len(prefix):]}"
        return None


class MetricFileValidator(Validator):
    """A path to an existing ``.py`` file, optionally ``:ClassName`` (a Python identifier)."""

    def __init__(self, base_dir: Callable[[], Path]) -> None:
        super().__init__()
        self.base_dir = base_dir

    def validate(self, value: str) -> ValidationResult:
        problem = ref_problem(value, self.base_dir())
        return self.failure(problem) if problem else self.success()


def ref_problem(value: str, base_dir: Path) -> str | None:
    """Why ``value`` cannot name a metric class (cheap: the file system only), or None."""
    value = value.strip()
    if not value:
        return "type the path of a .py file (file.py or file.py:ClassName)"
    file, sep, cls = value.rpartition(":")
    if sep and file.endswith(".py"):
        if cls and not cls.isidentifier():
            return f"{cls!r} is not a class name"
    else:
        file = value
    path = parse_ref(file, base_dir)[0]
    if path.suffix != ".py":
        return f"{path}: not a .py file"
    if not path.is_file():
        return f"{path}: not found"
    return None

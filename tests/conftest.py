"""Shared fixtures: isolated runs/presets/cache folders and a helper to run the CLI for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The TUIs tests run (in this process, or as children in its session) never change a scheduling group's
# niceness: this session's is the CI's (tests/unit/test_run_priority.py drives InputPriority itself).
os.environ.setdefault("KERASTUI_PRIORITY", "off")

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """User presets and runs never leak between tests or into the developer's home."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KERASTUI_PRESETS", str(base / "presets"))
    monkeypatch.setenv("KERASTUI_RUNS", str(base / "runs"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))


def offline_env(tmp_path: Path) -> dict[str, str]:
    """An environment where downloads fail at once: an empty Keras home and a dead proxy."""
    env = dict(os.environ)
    env["KERAS_HOME"] = str(tmp_path / "keras-home")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[var] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m kerastui ARGS`` in a real subprocess: exit code, stdout and stderr as a user sees them."""
    return subprocess.run([sys.executable, "-m", "kerastui", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), cwd=cwd, timeout=timeout)


def kerastui_imports(source: str) -> list[str]:
    """The modules of the kerastui package that Python ``source`` imports (``import``, ``from … import``,
    ``__import__``/``importlib.import_module`` of a literal name): what an exported script must not do.
    Text that merely mentions kerastui (a docstring, the absolute path of a custom metric file in a
    clone named kerastui) is not an import."""
    import ast

    def ours(name: str | None) -> bool:
        return name is not None and (name == "kerastui" or name.startswith("kerastui."))

    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if ours(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and ours(node.module):
            found.append(str(node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("__import__", "import_module") and isinstance(node.args[0].value, str) \
                    and ours(node.args[0].value):
                found.append(node.args[0].value)
    return found

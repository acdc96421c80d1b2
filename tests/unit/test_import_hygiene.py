"""What importing kerastui pulls in: the headless core never loads the UI stack, and the
cheap parts of the core and the CLI's help never load TensorFlow.

Each check runs in a fresh interpreter, so it sees only what that one import brought in.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kerastui.core
from tests.conftest import REPO

CORE_DIR = Path(kerastui.core.__file__).parent
CORE_MODULES = ["kerastui.core"] + sorted(
    info.name for info in pkgutil.walk_packages(kerastui.core.__path__, "kerastui.core."))
UI_PACKAGES = ("textual", "rich", "plotext")
# Modules a preset can be read, validated and listed with, before any model exists.
TF_FREE = ["kerastui.core.model.specs", "kerastui.core.model.presets", "kerastui.core.data.datasets",
           "kerastui.core.errors", "kerastui.core.run.events", "kerastui.core.run.directory"]
HEAVY = ("tensorflow", "keras")
MARK = "@@loaded@@"


def loaded_after(code: str, watch: tuple[str, ...]) -> dict:
    """Run ``code`` in a fresh interpreter; report which of ``watch`` (or their submodules) got imported."""
    report = textwrap.dedent(f"""
        import json as _json, sys as _sys
        _watch = {list(watch)!r}
        _hit = sorted({{w for w in _watch for m in list(_sys.modules) if m == w or m.startswith(w + ".")}})
        print({MARK!r} + _json.dumps({{"loaded": _hit, "rc": globals().get("rc")}}))
    """)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code) + report], capture_output=True, text=True,
                          env=dict(os.environ), cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    marked = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert len(marked) == 1, proc.stdout
    result = json.loads(marked[0][len(MARK):])
    result["stdout"] = proc.stdout
    return result


def test_core_modules_are_enumerated() -> None:
    """The parametrisation below comes from the package itself, so it has to find the core."""
    files = {".".join(p.relative_to(CORE_DIR).with_suffix("").parts) for p in CORE_DIR.rglob("*.py")}
    names = {f"kerastui.core.{name}".removesuffix(".__init__") for name in files if name != "__init__"}
    assert names == set(CORE_MODULES) - {"kerastui.core"}
    assert set(TF_FREE) <= set(CORE_MODULES)
    assert {"kerastui.core.model.builder", "kerastui.core.run.trainer"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_the_ui(module: str) -> None:
    result = loaded_after(f"import {module}\n", UI_PACKAGES + ("kerastui.ui",))
    assert result["loaded"] == [], f"importing {module} loaded {result['loaded']}"


@pytest.mark.parametrize("module", TF_FREE)
def test_light_core_module_does_not_import_tensorflow(module: str) -> None:
    result = loaded_after(f"import {module}\n", HEAVY)
    assert result["loaded"] == [], f"importing {module} loaded {result['loaded']}"


def test_help_exits_zero_and_mentions_train() -> None:
    proc = subprocess.run([sys.executable, "-m", "kerastui", "--help"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")
    assert "train" in proc.stdout
    assert "presets" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("argv", "expected_rc", "expected_text"), [
    (["--help"], 0, "train"),
    (["train", "--help"], 0, "--runs-dir"),
    (["presets"], 0, "ex1"),
    (["presets", "--json"], 0, '"name": "ex5"'),
], ids=["help", "train-help", "presets", "presets-json"])
def test_cli_without_training_does_not_import_tensorflow(argv: list[str], expected_rc: int,
                                                         expected_text: str) -> None:
    code = f"""
        import runpy, sys
        sys.argv = ["kerastui", *{argv!r}]
        try:
            runpy.run_module("kerastui", run_name="__main__", alter_sys=True)
            rc = None
        except SystemExit as exit:
            rc = exit.code
    """
    result = loaded_after(code, HEAVY + UI_PACKAGES)
    assert result["rc"] == expected_rc
    assert expected_text in result["stdout"]
    assert result["loaded"] == [], f"kerastui {' '.join(argv)} loaded {result['loaded']}"


# --------------------------------------------------------------------------- static check


def import_time_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` for each import that runs when the module is imported.

    Module-level statements, including those inside ``if``/``try``/``with`` blocks and class
    bodies, run at import; function bodies do not, so imports there are lazy and allowed.
    """
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.lineno, child.module))
            visit(child)

    visit(ast.parse(source))
    return found


def forbidden(module: str) -> bool:
    return module.split(".")[0] in UI_PACKAGES or module == "kerastui.ui" or module.startswith("kerastui.ui.")


def test_static_checker_sees_import_time_imports_only() -> None:
    source = textwrap.dedent("""
        import os, rich.console
        from textual.app import App
        try:
            import plotext as plt
        except ImportError:
            pass
        class Widget:
            from rich import print
        def later():
            import textual
            from plotext import plot
        if True:
            from kerastui.ui import app
    """)
    flagged = [(line, name) for line, name in import_time_imports(source) if forbidden(name)]
    assert flagged == [(2, "rich.console"), (3, "textual.app"), (5, "plotext"), (9, "rich"), (14, "kerastui.ui")]


def test_no_core_file_imports_the_ui_at_module_level() -> None:
    files = sorted(CORE_DIR.rglob("*.py"))
    assert len(files) == len(CORE_MODULES)
    offenders = [f"{path.name}:{line}: import {name}"
                 for path in files
                 for line, name in import_time_imports(path.read_text(encoding="utf-8"))
                 if forbidden(name)]
    assert offenders == []


# --------------------------------------------------------------------------- no import cycle in the core


def module_name(path: Path) -> str:
    """``.../kerastui/core/data/base.py`` → ``kerastui.core.data.base`` (a package: its ``__init__``'s)."""
    return ".".join(path.relative_to(CORE_DIR.parent.parent).with_suffix("").parts).removesuffix(".__init__")


def core_imports(source: str, module: str, known: set[str], *, is_package: bool = False) -> set[str]:
    """The modules of ``known`` that ``source`` (the text of ``module``) imports, wherever the import is:
    module level, inside functions, under ``if TYPE_CHECKING``.  ``from kerastui.core.data import datasets``
    imports the module ``kerastui.core.data.datasets``; ``from kerastui.core.errors import X``, ``errors``."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: one level is the package itself
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known)
    found.discard(module)
    return found


def core_import_graph() -> dict[str, set[str]]:
    known = set(CORE_MODULES)
    return {module_name(path): core_imports(path.read_text(encoding="utf-8"), module_name(path), known,
                                            is_package=path.name == "__init__.py")
            for path in sorted(CORE_DIR.rglob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as ``[a, b, …, a]``; ``[]`` when there is none (depth-first, in sorted order)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target in path:
                return [*path[path.index(target):], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        done.add(node)
        return []

    for node in sorted(graph):
        if node not in done:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_import_collector_sees_every_core_import_and_the_cycle_finder_finds_one() -> None:
    known = {"kerastui.core.errors", "kerastui.core.data", "kerastui.core.data.base", "kerastui.core.data.datasets",
             "kerastui.core.model.builder", "kerastui.core.resources", "kerastui.core.tfenv"}
    source = textwrap.dedent("""
        import numpy as np
        import kerastui.core.errors as errors
        from typing import TYPE_CHECKING
        from . import base
        if TYPE_CHECKING:
            from kerastui.core.model.builder import BuiltModel
        def later():
            from kerastui.core.data import datasets
            from ..resources import require
            from kerastui.core.tfenv import load_keras
    """)
    assert core_imports(source, "kerastui.core.data.streaming", known) == known - {"kerastui.core.data"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_core_import_graph_has_no_cycle() -> None:
    """Counting imports inside functions too: a lazy import breaks a cycle at run time but not the layering."""
    graph = core_import_graph()
    assert set(graph) == set(CORE_MODULES)
    assert "kerastui.core.data.base" in graph["kerastui.core.data.datasets"]  # the graph is really read
    cycle = find_cycle(graph)
    assert cycle == [], "kerastui.core has an import cycle: " + " -> ".join(cycle)


# What the TUI imports before its first frame (issue 26: first frame ≤ 1.1 × a bare Textual app).
# The preset's specs and TOML parser, the run client, NumPy and the settings grid come after it.
AFTER_THE_FIRST_FRAME = ("kerastui.core.model.specs", "kerastui.core.model.presets", "tomllib",
                         "kerastui.ui.session", "kerastui.ui.runlink", "kerastui.ui.widgets.settings_grid",
                         "kerastui.ui.screens.data_options", "numpy") + HEAVY


@pytest.mark.parametrize("preset", [None, "ex1", "ex5"])
def test_the_app_for_a_shipped_preset_imports_no_preset_machinery_before_its_first_frame(preset: str | None) -> None:
    result = loaded_after(f"""
        from kerastui.ui.app import make_app
        app = make_app({preset!r})
        assert app._session is None
    """, AFTER_THE_FIRST_FRAME)
    assert result["loaded"] == [], f"make_app({preset!r}) loaded {result['loaded']} before the first frame"


def test_a_preset_file_is_loaded_before_the_first_frame_so_its_error_is_the_clis(tmp_path: Path) -> None:
    """A path (or a user's preset) can be malformed: make_app loads it at once, and the CLI says why
    in one line before any screen; a shipped name is loaded after the first frame."""
    good = tmp_path / "mine.toml"
    good.write_text((REPO / "presets" / "ex1.toml").read_text(encoding="utf-8"), encoding="utf-8")
    result = loaded_after(f"""
        from kerastui.ui.app import make_app
        app = make_app({str(good)!r})
        assert app._session is not None and app.session.preset.title
    """, ("kerastui.core.model.specs",))
    assert result["loaded"] == ["kerastui.core.model.specs"]

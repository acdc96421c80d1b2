"""Every test has a time limit (pytest-timeout, set in pyproject.toml): a test that hangs fails,
and the suite ends, instead of waiting for ever."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_the_project_gives_every_test_a_time_limit(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "pytest-timeout is not installed"
    limit = float(pytestconfig.getini("timeout"))
    assert 60 <= limit <= 1800, limit  # above the slowest test, below "for ever"
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"]["test"]
    assert any(requirement.startswith("pytest-timeout") for requirement in extra), extra


def test_a_hung_test_fails_at_its_limit_under_the_projects_options(tmp_path) -> None:
    """The project's own options (two xdist workers) with the limit lowered to 2 s: a test that
    would sleep an hour fails with a timeout, its worker carries on, and the run ends."""
    (tmp_path / "test_hangs.py").write_text(
        "import time\n\n"
        "def test_hangs():\n    time.sleep(3600)\n\n"
        "def test_after_it():\n    pass\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(REPO / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "timeout=2",
                           str(tmp_path / "test_hangs.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Timeout" in proc.stdout and "1 failed, 1 passed" in proc.stdout, proc.stdout[-3000:]
    assert time.monotonic() - started < 60

"""The wheel carries the presets and the console script; installed elsewhere, it finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO, run_cli


def test_wheel_ships_presets_and_runs_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), "-q"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("kerastui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for preset in ("ex1", "ex2", "ex3", "ex4", "ex5"):
        assert f"kerastui/presets/{preset}.toml" in names
    assert "kerastui/presets/my_accuracy.py" in names
    assert "kerastui/presets/top_k_accuracy.py" in names and "kerastui/presets/weighted_accuracy.py" in names
    # Every module and stylesheet of the TUI (a missing package breaks only the installed app).
    for module in ("ui/app.tcss", "ui/screens/saveload.py", "ui/screens/train.tcss", "ui/screens/dialogs.tcss",
                   "ui/panels/metric/panel.py", "ui/panels/transfer/stages.py", "ui/widgets/charts.py",
                   "core/model/metrics.py", "core/run/client.py", "core/data/base.py"):
        assert f"kerastui/{module}" in names, module
    # Packages are discovered (setup.py): every module and stylesheet in the source tree ships.
    source = REPO / "kerastui"
    for path in [*source.rglob("*.py"), *source.rglob("*.tcss")]:
        assert path.relative_to(REPO).as_posix() in names, path
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "kerastui = kerastui.cli:main" in entry_points

    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel),
                              "-q"], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    code = ("import sys, kerastui, kerastui.cli; "
            f"assert kerastui.__file__.startswith({str(site)!r}), kerastui.__file__; "
            "import kerastui.ui.app, kerastui.ui.screens.saveload, kerastui.ui.screens.experiments; "
            "sys.exit(kerastui.cli.main(['presets', '--json']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [p["name"] for p in listed] == ["ex1", "ex2", "ex3", "ex4", "ex5"]
    # The shipped presets are read from the installed package, not from the source tree.
    assert all(p["path"].startswith(str(site)) and p["error"] is None for p in listed)


def test_info_reports_versions_devices_and_dataset_cache(tmp_path):
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"))
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    (tmp_path / "keras" / "datasets" / "mnist.npz").write_bytes(b"x")
    proc = run_cli("info", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["tensorflow"].startswith("2.") and info["keras"].startswith("3.")
    assert any(d["type"] == "CPU" for d in info["devices"])
    assert info["datasets"]["mnist"] is True and info["datasets"]["cifar10"] is False
    assert proc.stderr == ""
    human = run_cli("info", env=env)
    assert "keras:mnist" in human.stdout and "cached" in human.stdout
    assert Path(info["presets"]["shipped"]).is_dir()


def test_ci_runs_the_readmes_test_command_with_lint_and_types():
    """CI runs README.md's test command verbatim, and that command lints and type-checks first."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = [line for line in ci.splitlines() if line.startswith("python3 -m venv")]
    assert command in readme
    steps = [step.strip() for step in command.split("&&")]
    assert steps[-3:] == [".venv/bin/ruff check", ".venv/bin/mypy", ".venv/bin/python -m pytest -q"]
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "[tool.ruff" in pyproject and "[tool.mypy]" in pyproject

"""`kerastui export-script`: a plain Keras script (no kerastui import) that runs offline and
builds the same model as kerastui."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from kerastui.core import datasets, presets
from kerastui.core.builder import build_model, model_input_shape, parameter_counts
from kerastui.core.script import export_script
from tests.conftest import offline_env, run_cli


def kerastui_params(name: str, overrides: dict) -> int:
    preset = presets.load(name, overrides)
    shape = model_input_shape(preset, datasets.describe(preset.data, preset.base_dir))
    return parameter_counts(build_model(preset, shape).model)["total"]


@pytest.mark.parametrize("name, overrides, args", [
    ("ex1", {}, []),
    ("ex2", {"data.source": "sklearn:digits", "fit.epochs": 1}, ["--data", "sklearn:digits", "--set", "fit.epochs=1"]),
    ("ex4", {"fit.epochs": 2}, ["--set", "fit.epochs=2"]),
])
def test_exported_script_runs_offline_without_kerastui(name, overrides, args, tmp_path):
    script = tmp_path / f"{name}.py"
    proc = run_cli("export-script", name, *args, "-o", str(script))
    assert proc.returncode == 0, proc.stderr
    text = script.read_text()
    assert "kerastui" not in re.sub(r'""".*?"""', "", text, count=1, flags=re.S), "the code must not import kerastui"
    env = offline_env(tmp_path)
    env["PYTHONPATH"] = ""  # only the installed packages: keras, numpy, scikit-learn
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    params = int(re.search(r"^PARAMS (\d+)$", run.stdout, re.M).group(1))
    assert params == kerastui_params(name, overrides)
    assert "test:" in run.stdout and (tmp_path / "model.keras").is_file()


@pytest.mark.parametrize("name", ["ex1", "ex2", "ex3", "ex4", "ex5"])
def test_every_shipped_preset_exports_valid_python(name):
    text = export_script(presets.load(name))
    compile(text, f"{name}.py", "exec")
    assert "model.fit(" in text and "model.evaluate(" in text
    if name == "ex3":
        assert "model.save('model.h5')" in text and "model.export('model_savedmodel')" in text
    if name == "ex5":
        assert "keras.applications.ResNet50(include_top=False" in text
        assert "BatchNormalization" in text and "initial_epoch=3" in text


def test_export_to_an_unwritable_path_is_one_line(tmp_path):
    proc = run_cli("export-script", "ex1", "-o", str(tmp_path / "missing" / "x.py"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("kerastui: error:")
    assert not os.path.exists(tmp_path / "missing")

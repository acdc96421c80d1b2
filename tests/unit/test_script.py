"""`kerastui export-script`: a plain Keras script (no kerastui import) that runs offline and
builds the same model as kerastui."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from kerastui.core.data import datasets
from kerastui.core.model import presets
from kerastui.core.model.builder import build_model, model_input_shape, parameter_counts
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


# --------------------------------------------------------------------------- streamed and memory-mapped sources


def _jpeg_folder(root, per_class: int, seed: int = 0):
    """Three colour classes of 12×12 JPEGs and one file that is not a JPEG at all."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for channel, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.full((12, 12, 3), 40) + rng.integers(0, 30, (12, 12, 3))
            pixels[..., channel] += 160
            Image.fromarray(pixels.astype("uint8")).save(root / name / f"{i:03d}.jpg")
    return root


def _run_script(text: str, tmp_path) -> subprocess.CompletedProcess:
    script = tmp_path / "train.py"
    script.write_text(text)
    env = offline_env(tmp_path)
    env["PYTHONPATH"] = ""
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)


@pytest.mark.parametrize("case", ["npy", "images"])
def test_exported_script_for_npy_and_image_folder_sources_runs(case, tmp_path):
    import numpy as np

    from kerastui.core.model.specs import Preset

    if case == "npy":  # float (N, T, F): sequences for an LSTM, read through a memory map
        rng = np.random.default_rng(0)
        np.save(tmp_path / "x.npy", rng.normal(size=(40, 5, 2)).astype("float32"))
        np.save(tmp_path / "y.npy", rng.integers(0, 2, 40))
        data = {"source": f"npy:{tmp_path}"}
        layers = [{"type": "LSTM", "units": 3}, {"type": "Dense", "units": 2, "activation": "softmax"}]
        shape = r"\(\d+, 5, 2\) \(\d+, 5, 2\)"  # training and test splits of the 40
    else:  # a test/ sub-folder, a corrupt file, a file cache and resize
        root = _jpeg_folder(tmp_path / "pics", 5)
        _jpeg_folder(root / "test", 2, seed=1)
        (root / "red" / "broken.jpg").write_bytes(b"not a jpeg")
        data = {"source": f"images:{root}", "resize": [8, 8], "cache": "file", "validation_split": 0.2}
        layers = [{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "GlobalAveragePooling2D"},
                  {"type": "Dense", "units": 3, "activation": "softmax"}]
        shape = re.escape("['blue', 'green', 'red'] (8, 8, 3)")
    preset = Preset.from_dict({"data": data, "model": {"layers": layers}, "fit": {"epochs": 1, "batch_size": 8}}, case)
    text = export_script(preset)
    assert ("np.load(path, mmap_mode='r')" in text) == (case == "npy")
    assert ("keras.utils.image_dataset_from_directory(" in text) == (case == "images")
    run = _run_script(text, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(f"^data: {shape}$", run.stdout, re.M), run.stdout[:300]
    params = int(re.search(r"^PARAMS (\d+)$", run.stdout, re.M).group(1))
    described = datasets.describe(preset.data, preset.base_dir)
    assert params == parameter_counts(build_model(preset, model_input_shape(preset, described)).model)["total"]
    assert "test:" in run.stdout and (tmp_path / "model.keras").is_file()
    if case == "images":  # 6 test images (the test/ folder), 15 readable files shared by training and validation
        assert sorted(p.name for p in (tmp_path / "data-cache").glob("*.index")) == ["test.index", "train.index",
                                                                                     "val.index"]


def test_exported_tfds_script_loads_the_prepared_split_offline():
    from kerastui.core.model.specs import Preset

    preset = Preset.from_dict({"data": {"source": "tfds:mnist", "data_dir": "/data/tfds", "test_split": 0.25},
                               "model": {"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10}]}}, "t")
    text = export_script(preset)
    compile(text, "tfds.py", "exec")
    assert "tfds.load(NAME, split=splits, data_dir=DATA_DIR, as_supervised=True, download=False" in text
    assert "NAME, DATA_DIR, TRAIN = 'mnist', '/data/tfds', 'train'" in text
    assert "test_pct = 0 if own_test else 25" in text
    assert "model.fit(train_ds, validation_data=validation" in text and "model.evaluate(test_ds" in text
    assert "image_dataset_from_directory" not in text and "np.load(" not in text

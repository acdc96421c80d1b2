"""Bad presets end in one clear line, never a crash, a hang or an allocation the machine cannot hold.

Each example of the reliability probe is a test here (they failed before: an internal error from
NumPy, a silent NaN, a 22 GiB allocation, a recursion error after a minute, a 100 KB line, a
NaN message printed twice), plus ``kerastui check`` and a hypothesis fuzz of mutated presets.
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerastui import cli
from kerastui.core.data import datasets
from kerastui.core.data.base import encode_labels
from kerastui.core.errors import KerasTUIError, ResourceError, being_processed, processing, shorten
from kerastui.core.model import presets
from kerastui.core.resources import available_memory, check_model, estimate_model
from tests.conftest import PRESETS, run_cli
from tests.mutants import mutant_text


def _main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, list[str]]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]


@contextlib.contextmanager
def _allocates_under_200_mb() -> Iterator[None]:
    """The block raises the process's peak memory by less than 200 MB: nothing big was allocated."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


def _one_error_line(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith("kerastui: error:")]
    assert len(errors) == 1, lines
    assert "internal error" not in errors[0], errors[0]
    assert "Traceback" not in "\n".join(lines)
    return errors[0]


# --------------------------------------------------------------------------- resource bounds


def test_a_synthetic_set_larger_than_memory_is_refused_before_allocating(capsys):
    with _allocates_under_200_mb():
        code, _, lines = _main(capsys, "check", "ex1", "--set", "data.features=1000000000")
    assert code == 1
    line = _one_error_line(lines)
    assert "ex1.toml: data.samples × data.features (1,000 × 1,000,000,000): needs" in line
    assert "TiB of memory; this machine has" in line


def test_huge_synthetic_images_are_refused_with_the_keys_that_make_them(capsys):
    code, _, lines = _main(capsys, "check", "ex1", "--set", "data.source='synthetic:images'",
                           "--set", "data.image_shape=[4096, 4096, 3]", "--set", "data.samples=100000")
    assert code == 1
    assert "data.samples × data.image_shape (100,000 × [4096, 4096, 3])" in _one_error_line(lines)


@pytest.mark.parametrize(("setting", "expected"), [
    ("data.samples=1000000000000", "data.samples × data.features (1,000,000,000,000 × 20): needs"),
    ("data.num_classes=1000000000000", "data.num_classes: 1,000,000,000,000 classes need at least as many samples"),
])
def test_synthetic_sizes_are_refused_before_numpy_sees_them(setting: str, expected: str, capsys):
    # Found by bench/fuzz_presets.py: num_classes = 10**12 reached NumPy (a 146 TiB array of centres).
    code, _, lines = _main(capsys, "check", "ex1", "--set", setting)
    assert code == 1
    assert expected in _one_error_line(lines)


def test_a_model_too_big_for_memory_is_refused_from_shapes_alone(tmp_path: Path):
    preset = presets.load("ex1", {"model.layers[1].units": 10**9})
    estimate_model(presets.load("ex1"), (20,))  # TensorFlow loaded: only the estimate is measured
    with _allocates_under_200_mb(), pytest.raises(ResourceError) as info:
        check_model(preset, (20,), samples=600)
    message = str(info.value)
    assert message.startswith("model: 24,000,000,003 parameters (the largest layer: dense")
    assert "needs" in message and "available" in message
    # The estimate left nothing behind for Keras to initialise later: a normal build still works.
    small = presets.load("ex1")
    estimate = estimate_model(small, (20,), samples=600)
    assert estimate is not None and estimate.parameters == 1539
    assert estimate.batch_size == 32


def test_the_batch_in_the_estimate_is_never_larger_than_the_data():
    preset = presets.load("ex1", {"fit.batch_size": 2**31 - 1})
    estimate = check_model(preset, (20,), samples=600)
    assert estimate is not None and estimate.batch_size == 600


def test_train_refuses_an_oversized_model_in_one_line(runs_dir: Path, capsys):
    code, _, lines = _main(capsys, "train", "ex1", "--epochs", "1", "--set", "model.layers[1].units=1000000000",
                           "--runs-dir", str(runs_dir))
    assert code == 1
    assert "model: 24,000,000,003 parameters" in _one_error_line(lines)


def test_available_memory_is_a_plausible_figure():
    free = available_memory()
    assert 64 * 2**20 < free < 2**50


def test_a_deep_stack_is_refused_at_once_not_after_a_recursion_error(capsys, tmp_path: Path):
    layers = ",\n".join(['{ type = "Dense", units = 4 }'] * 10_000)
    path = tmp_path / "deep.toml"
    path.write_text(f'[data]\nsource = "synthetic:classification"\n[model]\nlayers = [{layers}]\n', encoding="utf-8")
    code, _, lines = _main(capsys, "check", str(path))
    assert code == 1
    assert f"{path}: model.layers: 10,000 layers; kerastui builds stacks of at most 500" in _one_error_line(lines)


# --------------------------------------------------------------------------- one bounded line


def test_a_50000_character_source_gives_a_short_line(capsys):
    code, _, lines = _main(capsys, "check", "ex1", "--set", f"data.source='{'x' * 50_000}'")
    assert code == 1
    line = _one_error_line(lines)
    assert len(line) < 700
    assert "(50,003 characters)" in line  # the value with its quotes and colon


def test_shorten_keeps_short_text_and_cuts_long_words_in_the_middle():
    assert shorten("a b  c") == "a b c"
    cut = shorten("path " + "p" * 1000 + " end")
    assert cut.startswith("path ppp") and cut.endswith("(1,000 characters) end")
    assert len(shorten("word " * 1000)) == 600


def test_a_nan_loss_is_reported_once(runs_dir: Path, capsys):
    code, out, lines = _main(capsys, "train", "ex1", "--epochs", "2", "--json", "--set", "compile.learning_rate=1e30",
                             "--set", "compile.optimizer='sgd'", "--runs-dir", str(runs_dir))
    assert code == 1
    nan_lines = [line for line in lines if "training stopped" in line]
    assert len(nan_lines) == 1, lines
    assert nan_lines[0].startswith("kerastui: error:") and "loss became" in nan_lines[0]
    assert json.loads(out)["status"] == "nan"


def test_an_internal_error_names_the_file_and_key_and_the_traceback(capsys, tmp_path: Path):
    def broken() -> None:
        with processing("my.toml", "model"), processing("my.toml", "model.layers[2]"):
            {}["units"]  # a bug of ours, whatever it is

    with pytest.raises(KeyError) as info:
        broken()
    assert being_processed(info.value) == ("my.toml", "model.layers[2]")
    assert being_processed() is None
    assert cli._internal_error(info.value) == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("kerastui: error: internal error while processing my.toml: model.layers[2]: KeyError:")
    log = Path(line.rsplit("full traceback in ", 1)[1].rstrip(")"))
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")


def test_a_user_error_keeps_no_processing_mark_in_its_message():
    with pytest.raises(KerasTUIError) as info, processing("p.toml", "data"):
        raise KerasTUIError("data.source: unknown")
    assert str(info.value) == "data.source: unknown"


# --------------------------------------------------------------------------- kerastui check


@pytest.mark.parametrize("name", ["ex1", "ex2", "ex4"])
def test_check_builds_the_model_without_training(name: str, capsys, runs_dir: Path):
    code, out, lines = _main(capsys, "check", name, "--json")
    assert code == 0, lines
    report = json.loads(out)
    assert report["ok"] is True and report["error"] is None
    expected = {"ex1": 1539, "ex2": 347_146, "ex4": 131}[name]
    assert report["model"]["total"] == expected
    assert sum(row["params"] for row in report["layers"]) == expected
    assert report["memory"]["estimate_bytes"] > 0
    assert not any(runs_dir.iterdir())  # nothing trained, nothing written


def test_check_prints_the_layers_and_a_verdict(capsys):
    code, out, _ = _main(capsys, "check", "ex1")
    assert code == 0
    assert out.splitlines()[0] == "ex1: ok"
    assert "(None, 64)" in out and "model: 1,539 parameters" in out


def test_check_fails_like_train_with_one_line_and_a_json_verdict(capsys):
    code, out, lines = _main(capsys, "check", "ex1", "--json", "--set", "data.seed=-1")
    assert code == 1
    assert json.loads(out) == {"preset": "ex1", "ok": False, "error": lines[0].removeprefix("kerastui: error: ")}
    assert "data.seed: must be in [0, 4,294,967,295], got -1" in _one_error_line(lines)
    code, out, lines = _main(capsys, "check", "ex1", "--json", "--set", "model.layers[1].units=-3")
    assert code == 1 and json.loads(out)["ok"] is False
    assert "model.layers[1]" in _one_error_line(lines)


def test_check_in_a_real_process_exits_1_with_one_line():
    bad = run_cli("check", "ex4", "--set", "fit.epochs=nan")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].endswith("fit.epochs: must be an integer, got nan")


# --------------------------------------------------------------------------- fuzz


@pytest.fixture(scope="module")
def mutant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    for file in PRESETS.glob("*.py"):
        shutil.copy(file, folder / file.name)
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["ex1", "ex2", "ex3", "ex4"]))
def test_mutated_presets_pass_check_or_fail_in_one_line_naming_the_file(seed: int, name: str, mutant_dir: Path,
                                                                         capsys):
    _, text = mutant_text(random.Random(seed), name)
    path = mutant_dir / f"mutant_{seed}.toml"
    path.write_text(text, encoding="utf-8")
    datasets.clear_cache()
    try:
        code, _, lines = _main(capsys, "check", str(path))
    finally:
        path.unlink()
    assert code in (0, 1), lines
    if code == 1:
        line = _one_error_line(lines)
        assert f"kerastui: error: {path}" in line, line
        assert len(line) < 1000
    else:
        assert not any(line.startswith("kerastui: error") for line in lines)


# --------------------------------------------------------------------------- found in review


@pytest.mark.parametrize(("overrides", "expected"), [
    # One sample per class: the stratified test split is empty (was: internal error in evaluation).
    ({"data.samples": 2, "data.num_classes": 2, "data.seed": 2, "model.layers[2].units": 2},
     "data.test_split: 2 sample(s) of synthetic:classification leave no test sample"),
    # The kept class has no sample (was: internal error, "need at least one array to concatenate").
    ({"data.samples": 5, "data.num_classes": 5, "data.seed": 2, "data.classes": [4], "model.layers[2].units": 1},
     "data.classes: [4] keeps no sample of synthetic:classification"),
    # One-hot labels of 100,000 classes: 40 GB (was: np.eye(classes), then MemoryError).
    ({"data.samples": 100_000, "data.num_classes": 100_000, "data.features": 2,
      "model.layers[0].shape": [2], "model.layers[2].units": 100_000},
     "data: one-hot labels for 100,000 samples × 100,000 classes: needs"),
])
def test_data_that_leaves_nothing_to_train_or_test_is_a_clear_error(overrides: dict, expected: str):
    preset = presets.load("ex1", overrides)
    datasets.clear_cache()
    with pytest.raises(KerasTUIError) as info:
        datasets.prepare(preset.data, loss=preset.compile.loss, base_dir=preset.base_dir)
    assert expected in str(info.value)


def test_a_random_split_keeps_a_sample_on_each_side():
    preset = presets.load("ex1", {"data.source": "synthetic:regression", "data.samples": 2,
                                  "data.test_split": 0.9, "compile.loss": "mse"})
    datasets.clear_cache()
    data = datasets.prepare(preset.data, loss="mse")
    assert len(data.x_train) == 1 and len(data.x_test) == 1


def test_one_hot_labels_are_the_identity_rows_without_building_it():
    labels = encode_labels(np.array([2, 0, 999_999]), "categorical", 1_000_000)
    assert labels.shape == (3, 1_000_000) and labels.sum() == 3
    assert labels[0, 2] == labels[1, 0] == labels[2, 999_999] == 1.0


def test_the_estimate_does_not_change_the_initial_weights():
    from kerastui.core.model.builder import build_model
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    preset = presets.load("ex1")
    keras.utils.set_random_seed(42)
    plain = [np.asarray(w) for w in build_model(preset, (20,)).model.get_weights()]
    keras.utils.set_random_seed(42)
    estimate_model(preset, (20,))
    after = [np.asarray(w) for w in build_model(preset, (20,)).model.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(plain, after, strict=True))


def test_the_model_workspace_still_marks_the_layer_keras_rejects():
    from kerastui.core.check import stack_check

    _, report = stack_check(presets.load("ex1", {"model.layers[1].activation": "nope"}))
    assert report.error_index == 1 and len(report.rows) == 3
    assert "model.layers[1] (Dense)" in report.error


@pytest.mark.parametrize(("setting", "expected"), [
    ("model.layers[2].units=5", "model.layers[2] (Dense): gives 5 outputs but synthetic:classification has 3 classes"),
    ("data.classes=[0,7]", "data.classes: [7] out of range"),
    ("compile.loss='binary_crossentropy'", "is binary but synthetic:classification has 3 classes"),
    ("model.layers[1].kernel_regularizer={type='L2', l2=nan}",
     "model.layers[1].kernel_regularizer.l2: must be a finite"),
])
def test_check_refuses_what_train_would_refuse(setting: str, expected: str, capsys):
    code, out, lines = _main(capsys, "check", "ex1", "--set", setting)
    assert code == 1
    assert expected in _one_error_line(lines)


def test_check_of_a_transfer_preset_downloads_nothing_and_says_where_the_weights_are(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # an empty cache
    code, out, lines = _main(capsys, "check", "ex5", "--json", "--set", "transfer.base='MobileNetV2'",
                             "--set", "data.source='synthetic:images'", "--set", "data.image_shape=[32, 32, 3]")
    assert code == 0, lines
    report = json.loads(out)
    assert report["notes"] and "imagenet, not cached" in report["notes"][0]
    assert report["model"]["non_trainable"] > 2_000_000
    assert not (tmp_path / "keras-home" / "models").exists() or not any((tmp_path / "keras-home" / "models").iterdir())


@pytest.mark.parametrize(("name", "shape"), [("ex1", (20,)), ("ex2", (28, 28, 1))])
def test_the_stateless_report_is_the_real_builds_report(name: str, shape: tuple):
    from concurrent.futures import ThreadPoolExecutor

    from kerastui.core.model.builder import stack_report
    from kerastui.core.resources import stateless_report

    preset = presets.load(name)
    report, estimate = stateless_report(preset, shape, 600)
    # Keras numbers layer names per thread: the real build runs in a fresh thread too, as the TUI's
    # workers and the CLI do.
    with ThreadPoolExecutor(1) as pool:
        assert report == pool.submit(stack_report, preset, shape).result()
    assert estimate is not None and estimate.parameters == report.totals["total"]


def test_the_model_workspace_measures_a_huge_layer_without_building_it():
    from kerastui.core.check import stack_check

    with _allocates_under_200_mb():
        _, report = stack_check(presets.load("ex1", {"model.layers[1].units": 10**9}))
    assert report.totals is None and "needs" in report.error and "available" in report.error
    assert [row.output_shape for row in report.rows][1] == "(None, 1000000000)"  # the rows show which one

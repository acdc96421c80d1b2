"""``kerastui train`` with bad input: one line on stderr that names the file and the place.

Every failing run is a real subprocess (``python -m kerastui``), so these tests see exactly what
a user sees: the exit code, no traceback, no TensorFlow start-up noise, and a single
``kerastui: error:`` line.  Subprocesses run without ``TF_CPP_MIN_LOG_LEVEL`` and friends in
their environment, as on a user's machine: keeping TensorFlow quiet is kerastui's job.

Presets that fail while the TOML is read or validated never import TensorFlow and are cheap;
the model and data cases import it (a few seconds each), so each of those runs once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kerastui.cli import main
from tests.conftest import PRESETS, offline_env, run_cli

EX1 = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
EX2 = (PRESETS / "ex2.toml").read_text(encoding="utf-8")
HIDDEN_LAYER = '{ type = "Dense", units = 64, activation = "relu" }'
OUTPUT_LAYER = '{ type = "Dense", units = 3, activation = "softmax" }'
# Start-up chatter TensorFlow writes to stderr when nobody silences it (checked case-insensitively).
TF_NOISE = ("absl", "oneDNN", "cuda", "WARNING", "I0000")
# What conftest sets for the test process; a user's shell usually has none of it.
TF_QUIET_VARS = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND")


# --------------------------------------------------------------------------- helpers


def user_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a user who never heard of TF_CPP_MIN_LOG_LEVEL."""
    env = dict(os.environ if base is None else base)
    for var in TF_QUIET_VARS:
        env.pop(var, None)
    return env


def isolated_env(base: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """For module-scoped runs, which start before the per-test isolation fixture."""
    env = user_env(env)
    env["KERASTUI_PRESETS"] = str(base / "user-presets")
    env["KERASTUI_RUNS"] = str(base / "default-runs")
    env["XDG_CACHE_HOME"] = str(base / "cache")
    return env


def variant(tmp_path: Path, old: str, new: str, *, base: str = EX1, name: str = "bad.toml") -> Path:
    """A copy of a shipped preset with one piece of text replaced, written to ``tmp_path``."""
    assert base.count(old) == 1, f"{old!r} must occur exactly once in the preset"
    path = tmp_path / name
    path.write_text(base.replace(old, new), encoding="utf-8")
    return path


def assert_no_tf_noise(stderr: str) -> None:
    lowered = stderr.lower()
    for word in TF_NOISE:
        assert word.lower() not in lowered, f"TensorFlow noise {word!r} on stderr:\n{stderr}"


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """Check the failure contract and return the message after ``kerastui: error:``."""
    both = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"expected a failure, got exit 0\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in both, both
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("kerastui: error:"), line
    assert line.removeprefix("kerastui: error:").strip(), "the error line is empty"
    assert "\x1b[" not in line, f"terminal escape codes in the message: {line!r}"
    assert "internal error" not in line, f"a user mistake reported as a crash: {line}"
    assert_no_tf_noise(proc.stderr)
    return line.removeprefix("kerastui: error:").strip()


def train(path: Path | str, runs_dir: Path, *extra: str, env: dict[str, str] | None = None,
          timeout: float = 600) -> subprocess.CompletedProcess:
    return run_cli("train", str(path), "--runs-dir", str(runs_dir), *extra, env=env or user_env(), timeout=timeout)


def line_of(text: str, fragment: str) -> int:
    """1-based number of the only line of ``text`` that contains ``fragment``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) == 1, hits
    return hits[0]


# --------------------------------------------------------------------------- TOML and validation (no TensorFlow)

MALFORMED = {
    # id: (old text, new text, fragment on the line the error is on)
    "bad-value": ("epochs = 5", "epochs = five", "epochs = five"),
    "duplicate-key": ("batch_size = 32", "batch_size = 32\nbatch_size = 64", "batch_size = 64"),
    "unclosed-string": ('loss = "categorical_crossentropy"', 'loss = "categorical_crossentropy', "loss = "),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_toml_names_file_and_line(tmp_path: Path, runs_dir: Path, case: str) -> None:
    old, new, fragment = MALFORMED[case]
    path = variant(tmp_path, old, new)
    line = line_of(path.read_text(encoding="utf-8"), fragment)
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert "invalid TOML" in message
    assert re.search(rf"\bline {line}\b", message), f"expected line {line}: {message}"


def test_unknown_key_suggests_the_real_one(tmp_path: Path, runs_dir: Path) -> None:
    path = variant(tmp_path, "epochs = 5", "epoch = 3")
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert re.search(r"\bfit\.epoch\b", message), message  # \b: not "fit.epochs"
    assert re.search(r"\bepochs\b", message), f"no suggestion: {message}"


def test_unknown_preset_name_suggests_names(runs_dir: Path) -> None:
    message = one_error_line(run_cli("train", "ex9", "--runs-dir", str(runs_dir), env=user_env()))
    assert "ex9" in message
    suggested = set(re.findall(r"\bex[1-5]\b", message))
    assert suggested, f"no shipped preset suggested: {message}"


def test_bad_set_value_type_names_the_key(runs_dir: Path) -> None:
    message = one_error_line(train("ex1", runs_dir, "--set", "fit.epochs=abc"))
    assert "ex1.toml" in message
    assert re.search(r"\bfit\.epochs\b", message), message
    assert "abc" in message


def _in_process_cases(tmp_path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """id: (argv after ``train``, fragments the message must hold)."""
    runs = ["--runs-dir", str(tmp_path / "runs")]
    malformed = variant(tmp_path, "epochs = 5", "epochs = five", name="malformed.toml")
    unknown = variant(tmp_path, "epochs = 5", "epoch = 3", name="unknown.toml")
    return {
        "malformed": ([str(malformed), *runs], [str(malformed), "invalid TOML", "line 31"]),
        "unknown-key": ([str(unknown), *runs], [str(unknown), "fit.epoch:", "'epochs'"]),
        "unknown-preset": (["ex9", *runs], ["ex9", "did you mean"]),
        "bad-set": (["ex1", "--set", "fit.epochs=abc", *runs], ["ex1.toml", "fit.epochs", "'abc'"]),
        "bad-set-syntax": (["ex1", "--set", "fit.epochs", *runs], ["--set", "fit.epochs", "key=value"]),
        "set-out-of-range": (["ex1", "--set", "data.validation_split=1.5", *runs],
                             ["ex1.toml", "data.validation_split", "1.5"]),
        "set-unknown-key": (["ex1", "--set", "fit.epoch=3", *runs], ["ex1.toml", "fit.epoch:", "'epochs'"]),
    }


IN_PROCESS_IDS = ["malformed", "unknown-key", "unknown-preset", "bad-set", "bad-set-syntax", "set-out-of-range",
                  "set-unknown-key"]


@pytest.mark.parametrize("case", IN_PROCESS_IDS)
def test_validation_errors_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    """The same contract through ``main()`` itself: exit status 1 and one line."""
    assert EX1.splitlines()[30] == "epochs = 5"  # the "line 31" above
    argv, fragments = _in_process_cases(tmp_path)[case]
    code = main(["train", *argv])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("kerastui: error: ")
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_validation_errors_come_before_tensorflow(tmp_path: Path) -> None:
    """A typo in a preset is reported without paying for a TensorFlow import."""
    path = variant(tmp_path, "epochs = 5", "epoch = 3")
    code = textwrap.dedent(f"""
        import json, sys
        from kerastui.cli import main
        rc = main(["train", {str(path)!r}, "--runs-dir", {str(tmp_path / "runs")!r}])
        print(json.dumps({{"rc": rc, "tf": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=user_env(), timeout=120)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"rc": 1, "tf": False, "keras": False}
    assert "fit.epoch" in proc.stderr


# --------------------------------------------------------------------------- model errors (TensorFlow is imported)


@pytest.mark.parametrize(("bad_type", "closest"), [("Dense2", "Dense"), ("Conv2d", "Conv2D")])
def test_unknown_layer_type_suggests_closest(tmp_path: Path, runs_dir: Path, bad_type: str, closest: str) -> None:
    path = variant(tmp_path, HIDDEN_LAYER, f'{{ type = "{bad_type}", units = 64, activation = "relu" }}')
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert "model.layers[1]" in message
    assert bad_type in message
    # \b keeps "Dense" in "Dense2" (or "Conv2D" in "Conv2d") from counting as the suggestion.
    assert re.search(rf"\b{closest}\b", message), f"{closest} not suggested: {message}"


def test_invalid_layer_argument_names_layer_and_argument(tmp_path: Path, runs_dir: Path) -> None:
    path = variant(tmp_path, "units = 64", "units = -3")
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert "model.layers[1]" in message
    assert "Dense" in message
    assert "units" in message


@pytest.mark.parametrize("layer", [
    '{ type = "Conv2D", filters = 8, kernel_size = 3 }',
    '{ type = "MaxPooling2D", pool_size = 2 }',
], ids=["Conv2D", "MaxPooling2D"])
def test_layer_that_does_not_fit_its_input(tmp_path: Path, runs_dir: Path, layer: str) -> None:
    """ex1's input is 20 features (rank 2); 2-D convolution and pooling need images (rank 4)."""
    layer_type = re.search(r'type = "(\w+)"', layer).group(1)
    path = variant(tmp_path, HIDDEN_LAYER, layer)
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert "model.layers[1]" in message
    assert layer_type in message
    assert re.search(r"\b20\b", message.replace(str(path), "")), f"the input shape is not shown: {message}"


def test_input_shape_that_does_not_match_the_data(tmp_path: Path, runs_dir: Path) -> None:
    """An explicit Input shape of 21 on 20-feature data: a user mistake, caught before training."""
    path = variant(tmp_path, "shape = [20]", "shape = [21]")
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    rest = message.replace(str(path), "")
    assert re.search(r"model\.layers\[0\]|\bInput\b", rest), f"the Input layer is not named: {message}"
    assert re.search(r"\b21\b", rest) and re.search(r"\b20\b", rest), f"both shapes should be shown: {message}"


def test_output_units_that_do_not_match_the_classes(tmp_path: Path, runs_dir: Path) -> None:
    """A softmax over 4 units for 3 one-hot classes: a user mistake, caught before training."""
    path = variant(tmp_path, OUTPUT_LAYER, OUTPUT_LAYER.replace("units = 3", "units = 4"))
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    rest = message.replace(str(path), "")
    assert re.search(r"model\.layers\[2\]|last layer|output layer", rest), f"the layer is not named: {message}"
    assert re.search(r"\b4\b", rest) and re.search(r"\b3\b", rest), f"units and classes should be shown: {message}"


# --------------------------------------------------------------------------- data errors


def test_missing_data_file(tmp_path: Path, runs_dir: Path) -> None:
    path = variant(tmp_path, 'source = "synthetic:classification"', 'source = "npz:missing.npz"')
    message = one_error_line(train(path, runs_dir))
    assert str(path) in message
    assert "missing.npz" in message
    assert "not found" in message


def offline_run(tmp_path: Path, runs_dir: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """ex2 (keras:mnist) with an empty Keras cache and no network."""
    path = tmp_path / "mnist.toml"
    path.write_text(EX2, encoding="utf-8")
    env = user_env(offline_env(tmp_path))
    # timeout=120: a run that waits on the network instead of failing at once raises TimeoutExpired.
    proc = run_cli("train", str(path), "--runs-dir", str(runs_dir), *extra, env=env, timeout=120)
    return proc, path, Path(env["KERAS_HOME"])


def test_keras_dataset_offline_fails_at_once_with_alternative(tmp_path: Path, runs_dir: Path) -> None:
    assert 'source = "keras:mnist"' in EX2
    proc, path, keras_home = offline_run(tmp_path, runs_dir)
    message = one_error_line(proc)
    assert str(path) in message
    assert "keras:mnist" in message
    assert "mnist.npz" in message
    assert "sklearn:digits" in message
    assert str(keras_home) in message  # where to put the file


def test_keras_dataset_offline_json_keeps_stdout_for_json(tmp_path: Path, runs_dir: Path) -> None:
    """--json reserves stdout for the JSON object: Keras's "Downloading data from …" must not land there."""
    proc, path, _ = offline_run(tmp_path, runs_dir, "--json")
    assert proc.returncode != 0
    assert proc.stdout.strip() == "", f"stdout of a failed --json run: {proc.stdout!r}"
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("kerastui: error:") and "keras:mnist" in last and str(path) in last
    assert_no_tf_noise(proc.stderr)


# --------------------------------------------------------------------------- a run that works


@pytest.fixture(scope="module")
def ex1_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    base = tmp_path_factory.mktemp("ex1")
    runs = base / "runs"
    runs.mkdir()
    proc = run_cli("train", "ex1", "--json", "--runs-dir", str(runs), env=isolated_env(base), timeout=600)
    return proc, runs


def test_ex1_json_run_succeeds_quietly(ex1_json) -> None:
    proc, _ = ex1_json
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert_no_tf_noise(proc.stderr)


def test_ex1_json_is_one_object_with_history_and_test(ex1_json) -> None:
    proc, _ = ex1_json
    result = json.loads(proc.stdout)  # the whole of stdout: one JSON object, nothing else
    assert isinstance(result, dict)
    assert {"preset", "epochs_run", "history", "test", "run_dir", "seconds"} <= result.keys()
    assert result["preset"] == "ex1"
    assert result["epochs_run"] == 5
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        values = result["history"][key]
        assert len(values) == 5, key
        assert all(isinstance(v, (int, float)) for v in values), key
    assert result["test"]["accuracy"] >= 0.9
    assert isinstance(result["seconds"], (int, float)) and result["seconds"] > 0


def test_ex1_json_run_directory(ex1_json) -> None:
    proc, runs = ex1_json
    result = json.loads(proc.stdout)
    run_dir = Path(result["run_dir"])
    assert run_dir.is_dir()
    assert run_dir.parent == runs
    for name in ("preset.toml", "metrics.jsonl", "summary.json", "model.keras"):
        assert (run_dir / name).is_file(), name
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(metrics) == 5
    assert [m["epoch"] for m in metrics] == [1, 2, 3, 4, 5]
    assert [m["loss"] for m in metrics] == pytest.approx(result["history"]["loss"])
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["epochs_run"] == 5
    assert summary["test"]["accuracy"] == pytest.approx(result["test"]["accuracy"])

"""A preset's layers run code from files only with the user's trust (issue 25): a TFSMLayer loads a
SavedModel and runs its graph, whose ops can do anything (here: ``tf.io.write_file`` to a marker
file).  Without ``--trust-model``, ``kerastui check``, ``train`` and ``resume`` refuse it with one
line and the graph never runs; with it, the run trains (the marker is written: that is what trust
means), and a resumed run needs it again (a run directory's record of trust is no witness).

The SavedModels are real (``tf.saved_model.save`` of a ``tf.Module`` with a ``serve`` signature),
the runs are real ``python -m kerastui`` processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kerastui.core.check import check
from kerastui.core.errors import ModelError
from kerastui.core.model import presets
from kerastui.core.model.builder import build_model
from kerastui.core.model.parts import CODE_LAYERS, UntrustedCodeError, code_uses, make_layer
from kerastui.core.model.specs import LayerSpec
from kerastui.core.run.client import RunClient
from kerastui.core.run.directory import RunDir
from kerastui.core.run.status import RunStatus
from tests.conftest import run_cli

FEATURES = 4


def write_savedmodel(folder: Path, marker: Path) -> Path:
    """A SavedModel whose ``serve`` graph writes ``marker`` and returns its input."""
    import tensorflow as tf

    class Writes(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32)])
        def serve(self, x):
            tf.io.write_file(str(marker), "the graph ran")
            return x * 1.0

    module = Writes()
    tf.saved_model.save(module, str(folder), signatures={"serve": module.serve})
    return folder


def preset_text(savedmodel: Path, *, functional: bool = False) -> str:
    layer = f'{{ type = "TFSMLayer", filepath = {json.dumps(str(savedmodel))}, call_endpoint = "serve" }}'
    if functional:
        layers = (f'{{ type = "Input", shape = [{FEATURES}], name = "x" }},\n'
                  f'  {layer[:-2]}, name = "graph" }},\n'
                  '  { type = "Dense", units = 2, activation = "softmax", name = "out" },')
    else:
        layers = f'{{ type = "Input", shape = [{FEATURES}] }},\n  {layer},\n  {{ type = "Dense", units = 2, ' \
                 'activation = "softmax" },'
    return f"""title = "a TFSMLayer"
[data]
source = "synthetic:classification"
samples = 60
features = {FEATURES}
num_classes = 2
seed = 1
[model]
type = "{'functional' if functional else 'sequential'}"
layers = [
  {layers}
]
[fit]
epochs = 1
batch_size = 16
[save]
formats = ["keras"]
"""


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(preset file, SavedModel folder, marker file the graph writes when it runs)."""
    marker = tmp_path / "marker.txt"
    savedmodel = write_savedmodel(tmp_path / "graph_savedmodel", marker)
    path = tmp_path / "tfsm.toml"
    path.write_text(preset_text(savedmodel), encoding="utf-8")
    return path, savedmodel, marker


def refusal(path: Path, savedmodel: Path) -> str:
    return (f"kerastui: error: {path}: model.layers[1].type: TFSMLayer loads and runs a SavedModel's graph; "
            f"pass --trust-model (the TUI asks when a run starts) if you trust {savedmodel}")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("kerastui: error:")]


def env(runs: Path) -> dict[str, str]:
    return {**os.environ, "KERASTUI_RUNS": str(runs)}


# --------------------------------------------------------------------------- finding and refusing


def test_code_uses_names_every_tfsmlayer_of_a_preset_and_nothing_else(tmp_path):
    assert set(CODE_LAYERS) == {"TFSMLayer"}
    for functional in (False, True):
        (tmp_path / "p.toml").write_text(preset_text(tmp_path / "sm", functional=functional), encoding="utf-8")
        uses = code_uses(presets.load(tmp_path / "p.toml"))
        assert [(u.where, u.type, u.path) for u in uses] == [("model.layers[1]", "TFSMLayer", str(tmp_path / "sm"))]
    assert code_uses(presets.load("ex1")) == [] and code_uses(presets.load("ex5")) == []
    # A transfer model's head is model.layers too.
    ex5 = presets.load("ex5")
    ex5.model.layers.insert(1, LayerSpec("TFSMLayer", {"filepath": "relative/sm", "call_endpoint": "serve"}))
    assert [(u.where, u.path) for u in code_uses(ex5)] == [("model.layers[1]", os.path.abspath("relative/sm"))]


def test_an_untrusted_tfsmlayer_is_refused_before_keras_opens_its_file(tmp_path):
    missing = tmp_path / "no_such_savedmodel"
    spec = LayerSpec("TFSMLayer", {"filepath": str(missing), "call_endpoint": "serve"})
    with pytest.raises(UntrustedCodeError) as refused:
        make_layer(spec, "model.layers[3]")
    assert str(refused.value) == (f"model.layers[3].type: TFSMLayer loads and runs a SavedModel's graph; pass "
                                  f"--trust-model (the TUI asks when a run starts) if you trust {missing}")
    assert isinstance(refused.value, ModelError)
    # Trusted, Keras opens the file (and says it is not there): the refusal above came first.
    with pytest.raises(ModelError, match="SavedModel file does not exist"):
        make_layer(spec, "model.layers[3]", trusted=True)
    # Keras's own argument check still comes first: a TFSMLayer without its file is not a trust question.
    with pytest.raises(ModelError, match="TFSMLayer needs filepath") as incomplete:
        make_layer(LayerSpec("TFSMLayer", {}), "model.layers[3]")
    assert not isinstance(incomplete.value, UntrustedCodeError)


def test_the_graph_runs_only_in_a_trusted_build(case):
    path, savedmodel, marker = case
    preset = presets.load(path)
    with pytest.raises(UntrustedCodeError):
        build_model(preset, (FEATURES,))
    result = check(preset)
    assert not result.ok and result.error == refusal(path, savedmodel).removeprefix("kerastui: error: ")
    assert not marker.exists()
    assert check(preset, trusted=True).ok, "check builds a trusted model (from shapes: the graph does not run)"
    assert not marker.exists()
    model = build_model(preset, (FEATURES,), trusted=True).model
    model(np.ones((2, FEATURES), "float32"))
    assert marker.read_text() == "the graph ran"


# --------------------------------------------------------------------------- real kerastui processes


def test_check_and_train_refuse_an_untrusted_savedmodel_in_one_line_and_the_graph_never_runs(case, tmp_path):
    path, savedmodel, marker = case
    runs = tmp_path / "runs"
    for command in (["check", str(path)], ["train", str(path), "--runs-dir", str(runs)]):
        done = run_cli(*command, env=env(runs))
        assert done.returncode == 1, (command, done.stderr[-2000:])
        assert error_lines(done.stderr) == [refusal(path, savedmodel)], done.stderr[-2000:]
        assert "Traceback" not in done.stderr + done.stdout
        assert not marker.exists(), command
    assert not any(runs.glob("*/status.json")), "no run was made"


def test_trust_model_trains_the_preset_and_records_the_trust(case, tmp_path):
    path, _, marker = case
    runs = tmp_path / "runs"
    checked = run_cli("check", str(path), "--trust-model", env=env(runs))
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert not marker.exists(), "check builds from shapes: nothing runs"
    done = run_cli("train", str(path), "--trust-model", "--runs-dir", str(runs), "--json", env=env(runs))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "completed" and result["epochs_run"] == 1
    assert marker.read_text() == "the graph ran", "trusted: the SavedModel's graph ran in training"
    status = RunDir(Path(result["run_dir"])).status()
    assert status["state"] == RunStatus.COMPLETED and status["trusted"] is True
    # The saved .keras holds the TFSMLayer: the trusted run verified its reload with safe mode off.
    assert (Path(result["run_dir"]) / "model.keras").is_file()


def test_a_resumed_run_needs_the_users_trust_again_whatever_its_status_file_says(tmp_path):
    marker = tmp_path / "marker.txt"
    savedmodel = tmp_path / "graph_savedmodel"  # not there yet: the first process of each run fails
    path = tmp_path / "tfsm.toml"
    path.write_text(preset_text(savedmodel), encoding="utf-8")
    preset = presets.load(path)
    runs = tmp_path / "runs"
    client = RunClient(runs)
    trusted = client.launch(preset, trusted=True)  # as the TUI starts a run the user said y to
    untrusted = client.launch(preset)
    for launched in (trusted, untrusted):
        launched.process.wait(timeout=300)
    assert trusted.run_dir.status()["state"] == RunStatus.FAILED and trusted.run_dir.status()["trusted"] is True
    assert "SavedModel file does not exist" in str(trusted.run_dir.status()["error"])
    status = untrusted.run_dir.status()
    assert status["state"] == RunStatus.FAILED and status.get("trusted") is False
    assert "pass --trust-model" in str(status["error"])
    write_savedmodel(savedmodel, marker)

    # Resumed without the flag, the run started trusted is refused too: its status file's "trusted" is no
    # witness (anyone who can write the run directory could set it); --trust-model, the user's word, is.
    done = run_cli("resume", str(trusted.run_dir.path), env=env(runs))
    assert done.returncode == 1 and not marker.exists(), done.stderr[-2000:]
    assert len(error_lines(done.stderr)) == 1 and "--trust-model" in done.stderr
    done = run_cli("resume", str(trusted.run_dir.path), "--trust-model", env=env(runs))
    assert done.returncode == 0, done.stderr[-2000:]
    assert trusted.run_dir.status()["state"] == RunStatus.COMPLETED and marker.exists()
    marker.unlink()

    # The run started untrusted is refused on resume with the same line; --trust-model trusts it now.
    done = run_cli("resume", str(untrusted.run_dir.path), env=env(runs))
    assert done.returncode == 1 and not marker.exists()
    [line] = error_lines(done.stderr)
    assert line.endswith(refusal(path, savedmodel).split(": model.layers[1]")[1]) and "Traceback" not in done.stderr
    done = run_cli("resume", str(untrusted.run_dir.path), "--trust-model", env=env(runs))
    assert done.returncode == 0, done.stderr[-2000:]
    status = untrusted.run_dir.status()
    assert status["state"] == RunStatus.COMPLETED and status["trusted"] is True and marker.exists()

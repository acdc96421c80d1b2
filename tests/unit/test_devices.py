"""Devices: settings validated strictly, MirroredStrategy over two logical CPU devices, mixed
bfloat16 on the CPU, NVML said plainly when absent and sampled for real where a GPU exists.

The runs are real ``kerastui train`` processes (logical devices must be configured before
TensorFlow initialises, which a test process has long done); they start together in one
module fixture so their TensorFlow imports overlap.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kerastui.core.devices import (
    DevicePlan,
    GpuSample,
    NvmlSampler,
    Snapshot,
    describe,
    float32_outputs,
    peak_memory,
    resolve_jit,
    runs_on_gpus,
)
from kerastui.core.errors import PresetError
from kerastui.core.model.presets import load, save
from kerastui.core.model.specs import DevicesSpec, Preset
from kerastui.core.run.directory import RunInfo, run_info
from tests.conftest import PRESETS, REPO

WAIT = 300.0  # a deadline for a run, not an assertion about speed


def _nvml_gpus() -> int:
    sampler = NvmlSampler()
    try:
        return len(sampler.sample().gpus)
    finally:
        sampler.close()


GPUS = _nvml_gpus()


# --------------------------------------------------------------------------- settings


def _preset(devices: dict[str, Any]) -> dict[str, Any]:
    return {"model": {"layers": [{"type": "Dense", "units": 3, "activation": "softmax"}]}, "devices": devices}


@pytest.mark.parametrize(("devices", "key", "words"), [
    ({"precision": "mixed_float32"}, "devices.precision", "did you mean 'mixed_float16'"),
    ({"precision": "half"}, "devices.precision", "is not one of float32, mixed_float16, mixed_bfloat16"),
    ({"gpus": [0, -1]}, "devices.gpus[1]", "must be a GPU index"),
    ({"gpus": [1, 1]}, "devices.gpus[1]", "listed twice"),
    ({"gpus": []}, "devices.gpus", 'write gpus = "none"'),
    ({"gpus": "some"}, "devices.gpus", 'must be "all", "none" or a list'),
    ({"gpus": True}, "devices.gpus", 'must be "all", "none" or a list'),
    ({"jit_compile": "yes"}, "devices.jit_compile", 'must be "auto", true or false'),
    ({"logical_cpus": 1}, "devices.logical_cpus", "must be in [2, 64]"),
    ({"memory_growth": "on"}, "devices.memory_growth", "must be true or false"),
    ({"gpu": [0]}, "devices.gpu", "did you mean 'gpus'"),
])
def test_bad_device_settings_are_one_line_naming_the_key(devices, key, words):
    with pytest.raises(PresetError) as caught:
        Preset.from_dict(_preset(devices), "my.toml")
    message = str(caught.value)
    assert message.startswith(f"my.toml: {key}: "), message
    assert words in message
    assert "\n" not in message


def test_a_preset_without_devices_keeps_todays_defaults_and_devices_round_trip(tmp_path):
    plain = load(PRESETS / "ex1.toml")
    assert plain.devices == DevicesSpec()
    assert (plain.devices.gpus, plain.devices.memory_growth, plain.devices.precision, plain.devices.jit_compile,
            plain.devices.logical_cpus) == ("all", True, "float32", "auto", None)
    plain.devices = DevicesSpec(gpus=[0, 2], memory_growth=False, precision="mixed_bfloat16", jit_compile=False)
    again = load(save(plain, tmp_path / "p.toml"))
    assert again.devices == plain.devices
    assert "[devices]" in (tmp_path / "p.toml").read_text()


def test_mixed_precision_puts_only_the_output_layers_in_float32():
    preset = load(PRESETS / "ex1.toml")
    fixed = float32_outputs(preset)
    assert fixed.model.layers[-1].kwargs["dtype"] == "float32"
    assert all("dtype" not in layer.kwargs for layer in fixed.model.layers[:-1])
    assert "dtype" not in preset.model.layers[-1].kwargs  # a copy: the preset is untouched
    functional = Preset.from_dict({"model": {"type": "functional", "outputs": ["a"], "layers": [
        {"type": "Input", "name": "in", "shape": [4]},
        {"type": "Dense", "name": "a", "units": 2, "inputs": "in", "dtype": "bfloat16"},
        {"type": "Dense", "name": "b", "units": 2, "inputs": "in"}]}})
    layers = {spec.name: spec for spec in float32_outputs(functional).model.layers}
    assert layers["a"].kwargs["dtype"] == "bfloat16"  # the user's own dtype stays
    assert "dtype" not in layers["b"].kwargs
    assert "dtype" not in layers["in"].kwargs


def test_jit_auto_is_off_on_the_cpu_and_under_a_strategy_and_explicit_values_win():
    cpu = DevicePlan(devices=["CPU:0"], gpus=[])
    one_gpu = DevicePlan(devices=["GPU:0"], gpus=[0])
    two_gpus = DevicePlan(devices=["GPU:0", "GPU:1"], gpus=[0, 1], strategy="mirrored", replicas=2,
                          precision="mixed_float16")
    assert resolve_jit("auto", cpu) is False
    assert resolve_jit("auto", two_gpus) is False
    assert resolve_jit("auto", one_gpu) == "auto"  # Keras's own rule: on where the model supports XLA
    assert resolve_jit(True, two_gpus) is True
    assert resolve_jit(False, one_gpu) is False
    assert two_gpus.per_replica(64) == 32
    assert describe(two_gpus.devices, two_gpus.precision) == "2 × GPU (mirrored) · mixed_float16"
    assert peak_memory(cpu) is None  # TensorFlow counts device memory on GPUs only


@pytest.mark.skipif(GPUS > 0, reason="this test process's TensorFlow may see GPUs; the refusal is shown on a CPU box")
def test_devices_in_an_initialised_tensorflow_agree_or_say_one_line():
    """The test process's TensorFlow is initialised: the defaults pass, a new split is refused."""
    from kerastui.core.devices import configure
    from kerastui.core.tfenv import start_runtime

    start_runtime()  # whatever ran before in this process, TensorFlow's devices exist now
    plan = configure(DevicesSpec(gpus="none"), "p.toml")
    assert plan.devices[0].startswith("CPU") and plan.replicas == 1 and plan.jit_compile is False
    with pytest.raises(PresetError) as caught:
        configure(DevicesSpec(gpus="none", logical_cpus=3), "p.toml")
    assert str(caught.value).startswith("p.toml: devices.logical_cpus: TensorFlow's devices are already initialised")


# --------------------------------------------------------------------------- real runs


def _env(runs: Path) -> dict[str, str]:
    env = dict(os.environ, KERASTUI_RUNS=str(runs), PYTHONPATH=str(REPO))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


# Logical devices need a fresh process: those runs are real ``kerastui train`` processes.
PROCESSES = {
    "info": ["info", "--json"],
    "mirrored": ["train", "ex1", "--epochs", "2", "--set", "devices.logical_cpus=2", "--set", 'devices.gpus="none"'],
    # A GPU that does not exist: 0 on a machine without GPU, 64 elsewhere.
    "no_such_gpu": ["train", "ex1", "--epochs", "1", "--set", f"devices.gpus=[{64 if GPUS else 0}]"],
}
# The rest trains in this process with the same trainer (a precision policy is scoped to the build).
IN_PROCESS = {
    "single": ("ex1", {"fit.epochs": 2}),
    "bf16_ex1": ("ex1", {"fit.epochs": 1, "save.formats": ["keras"], "devices.precision": "mixed_bfloat16"}),
    "bf16_ex2": ("ex2", {"data.source": "sklearn:digits", "data.limit": 300, "fit.epochs": 1,
                         "save.formats": ["keras"], "devices.precision": "mixed_bfloat16"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from kerastui.core.run.directory import jsonable
    from kerastui.core.run.trainer import Trainer

    procs = {}
    for name, args in PROCESSES.items():
        folder = tmp_path_factory.mktemp(name)
        extra = ["--json", "--runs-dir", str(folder)] if args[0] == "train" else []
        procs[name] = subprocess.Popen([sys.executable, "-m", "kerastui", *args, *extra], cwd=folder,
                                       env=_env(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, Any] = {}
    for name, (preset_name, overrides) in IN_PROCESS.items():
        result = Trainer(load(preset_name, overrides), runs_dir=tmp_path_factory.mktemp(name)).run()
        out[name] = json.loads(json.dumps(jsonable(result.to_json())))
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=WAIT)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


def _result(runs: dict[str, Any], name: str) -> tuple[dict[str, Any], Path]:
    done = runs[name]
    if isinstance(done, dict):
        return done, Path(done["run_dir"])
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    return result, Path(result["run_dir"])


def _events(run: Path, kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]
    return [line for line in lines if line["type"] == kind]


def test_two_logical_cpus_train_ex1_mirrored_as_well_as_one_device(runs):
    mirrored, run = _result(runs, "mirrored")
    single, _ = _result(runs, "single")
    assert mirrored["devices"]["strategy"] == "mirrored" and mirrored["devices"]["replicas"] == 2
    assert mirrored["devices"]["devices"] == ["CPU:0", "CPU:1"]
    assert single["devices"]["replicas"] == 1 and single["devices"]["strategy"] == "default"
    # The same accuracy band: both learn ex1's synthetic classes, within a few points of each other.
    acc2, acc1 = mirrored["test"]["accuracy"], single["test"]["accuracy"]
    assert acc2 >= 0.8 and acc1 >= 0.8, (acc2, acc1)
    assert abs(acc2 - acc1) <= 0.08, (acc2, acc1)
    # The per-replica batch in the events, the summary, the status and the model summary.
    (started,) = _events(run, "TrainStarted")
    assert (started["batch_size"], started["replicas"], started["devices"]) == (32, 2, ["CPU:0", "CPU:1"])
    assert mirrored["devices"]["per_replica_batch"] == 16
    assert "2 replicas, batch 32 = 16 per replica" in mirrored["summary"]
    status = json.loads((run / "status.json").read_text())
    assert status["devices"] == ["CPU:0", "CPU:1"] and status["replicas"] == 2
    info = run_info(run)
    assert info.devices == ("CPU:0", "CPU:1") and info.to_json()["devices"] == ["CPU:0", "CPU:1"]
    # Without a GPU TensorFlow has no memory counter: no peak in the rows, none in the listing.
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all("peak_memory" not in row for row in rows)
    assert info.peak_memory is None


def test_a_mirrored_models_file_reloads_and_predicts_without_a_strategy(runs):
    from kerastui.core.tfenv import load_keras

    _, run = _result(runs, "mirrored")
    keras = load_keras()
    import tensorflow as tf

    assert not tf.distribute.has_strategy()
    model = keras.models.load_model(run / "model.keras")
    x = np.random.default_rng(0).normal(size=(5, 20)).astype("float32")
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (5, 3)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_kerastui_runs_shows_each_runs_devices(runs):
    _, run = _result(runs, "mirrored")
    done = subprocess.run([sys.executable, "-m", "kerastui", "runs", "--runs-dir", str(run.parent)],
                          capture_output=True, text=True, env=_env(run.parent), timeout=WAIT)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert "DEVICES" in header
    assert "2 × CPU (mirrored)" in row


@pytest.mark.parametrize("name", ["bf16_ex1", "bf16_ex2"])
def test_mixed_bfloat16_trains_on_the_cpu_with_a_float32_output_and_reloads(runs, name):
    from kerastui.core.devices import layer_dtypes, output_dtypes
    from kerastui.core.tfenv import load_keras

    result, run = _result(runs, name)
    assert result["devices"]["precision"] == "mixed_bfloat16"
    assert all(math.isfinite(v) for v in result["history"]["loss"])
    assert "Precision policy: mixed_bfloat16" in result["summary"]
    assert result["saved"]["keras"]["same"] is True  # reloaded in the run, identical predictions
    keras = load_keras()
    model = keras.models.load_model(run / "model.keras")
    dtypes = layer_dtypes(model)
    *hidden, last = dtypes
    assert hidden and all(policy == "mixed_bfloat16" and compute == "bfloat16" for _, policy, compute in hidden)
    assert last[1:] == ("float32", "float32")
    assert output_dtypes(model) == ["float32"]
    shape = (2, *model.inputs[0].shape[1:])
    out = model.predict(np.zeros(shape, "float32"), verbose=0)
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_a_gpu_that_does_not_exist_is_one_line_not_a_traceback(runs):
    done = runs["no_such_gpu"]
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    index = 64 if GPUS else 0
    assert lines[0].startswith("kerastui: error: ") and f"devices.gpus[0]: GPU {index} does not exist" in lines[0]
    assert "Traceback" not in done.stderr


def test_kerastui_info_json_reports_the_build_the_driver_and_one_machine(runs):
    done = runs["info"]
    assert done.returncode == 0, done.stderr[-2000:]
    gpu = json.loads(done.stdout)["gpu"]
    assert set(gpu["build"]) >= {"cuda", "cudnn", "cuda_build"}
    assert "one model trains on the GPUs of one machine" in gpu["scope"] and "keras-team/keras#20585" in gpu["scope"]
    assert gpu["host_memory_available"] > 0
    if GPUS:
        assert gpu["nvml"] == "ok" and len(gpu["gpus"]) == GPUS and gpu["driver"]
    else:
        assert gpu["nvml"].startswith("no NVIDIA driver") and gpu["gpus"] == [] and gpu["driver"] is None


# --------------------------------------------------------------------------- NVML


@pytest.mark.skipif(GPUS > 0, reason="this machine has an NVIDIA driver")
def test_without_nvml_a_sample_says_so_in_one_line():
    sampler = NvmlSampler()
    snapshot = sampler.sample()
    sampler.close()
    assert snapshot.gpus == []
    assert snapshot.error is not None and "\n" not in snapshot.error
    assert snapshot.error.startswith(("no NVIDIA driver", "NVML is not available"))


@pytest.mark.skipif(GPUS == 0, reason="no NVIDIA GPU here: NVML's real figures are checked by bench/gpu_check.py "
                                      "and by this test where a GPU exists")
def test_nvml_figures_are_plausible_on_a_real_gpu():
    sampler = NvmlSampler()
    first, second = sampler.sample(), sampler.sample()
    sampler.close()
    assert first.error is None and first.driver
    for gpu in first.gpus:
        assert gpu.name and gpu.memory_total and 0 < gpu.memory_total < 2**40
        assert gpu.memory_used is not None and 0 <= gpu.memory_used <= gpu.memory_total
        assert gpu.utilization is None or 0 <= gpu.utilization <= 100
        assert gpu.temperature is None or 0 < gpu.temperature < 120
        assert gpu.power is None or 0 < gpu.power < 2000
    assert [g.index for g in second.gpus] == [g.index for g in first.gpus]


def test_runs_are_matched_to_gpus_by_index_and_by_process():
    snapshot = Snapshot(gpus=[GpuSample(0, "A", pids=(111,)), GpuSample(1, "B"), GpuSample(2, "C")])

    def info(name: str, gpus: tuple[int, ...], pid: int) -> RunInfo:
        return RunInfo(path=Path(name), preset="ex1", started="", epochs=0, seconds=None, test={}, best_val={},
                       status="running", pid=pid, gpus=gpus)

    found = runs_on_gpus(snapshot, [info("r1", (1, 2), 5), info("r2", (), 111), info("r3", (0,), 111)])
    assert found == {0: ["r2", "r3"], 1: ["r1"], 2: ["r1"]}


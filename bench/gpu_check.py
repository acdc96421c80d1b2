"""The GPU box checks of issue 12, on a machine with NVIDIA GPUs: one command, PASS/FAIL/SKIP lines
and figures.  Offline: synthetic data only, ResNet50 without downloaded weights.

    python bench/gpu_check.py [--quick]      # --quick: the checks without the two timing figures

Checks: NVML figures plausible; the TUI process's TensorFlow sees no GPU and holds no GPU memory;
a run with gpus = [0] trains on GPU 0 only, with memory growth (it holds far less than the GPU)
and a peak-memory figure per epoch; mixed_float16 trains; MirroredStrategy over all GPUs; two
runs on two GPUs side by side.  Figures: ex2 on MNIST-sized data, epoch time in a kerastui run ÷
a plain Keras script on the same GPU (target ≤ 1.05); a ResNet50 fine-tuning epoch with
mixed_float16 ÷ float32.  Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kerastui.core.devices import NvmlSampler, Snapshot  # noqa: E402

RESULTS: list[tuple[str, str, str]] = []
MNIST_LIKE = ["--data", "synthetic:images", "--set", "data.samples=60000", "--set", "data.image_shape=[28, 28]",
              "--set", "data.num_classes=10", "--set", "data.test_split=0.1"]
SMALL_IMAGES = ["--data", "synthetic:images", "--set", "data.samples=6000", "--set", "data.image_shape=[28, 28]",
                "--set", "data.num_classes=10"]


def report(name: str, ok: bool | None, detail: str) -> None:
    word = "SKIP" if ok is None else "PASS" if ok else "FAIL"
    RESULTS.append((word, name, detail))
    print(f"{word} {name}: {detail}", flush=True)


def env() -> dict[str, str]:
    out = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    out.pop("CUDA_VISIBLE_DEVICES", None)
    return out


def train(runs: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kerastui", "train", *args, "--json", "--runs-dir", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())


def watch(procs: list[subprocess.Popen[str]], sampler: NvmlSampler) -> dict[int, dict[int, int]]:
    """Until they end: for each process id, the most GPU memory NVML saw it hold on each GPU."""
    seen: dict[int, dict[int, int]] = {p.pid: {} for p in procs}
    nvml = sampler._nvml  # the module, once started
    while any(p.poll() is None for p in procs):
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            try:
                running = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
            except nvml.NVMLError:
                continue
            for process in running:
                if process.pid in seen:
                    used = int(process.usedGpuMemory or 0)
                    seen[process.pid][index] = max(seen[process.pid].get(index, 0), used)
        time.sleep(0.25)
    return seen


def finished(proc: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(stdout)
    return result


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(result["run_dir"]) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


# --------------------------------------------------------------------------- checks


def check_nvml(sampler: NvmlSampler) -> Snapshot:
    first = sampler.sample()
    time.sleep(1.0)
    snap = sampler.sample()
    if snap.error or not snap.gpus:
        report("nvml", False, snap.error or "no GPU listed")
        return snap
    problems = []
    for g in snap.gpus:
        if not g.name or not g.memory_total or g.memory_used is None or not 0 <= g.memory_used <= g.memory_total:
            problems.append(f"gpu {g.index} memory {g.memory_used}/{g.memory_total}")
        if g.utilization is not None and not 0 <= g.utilization <= 100:
            problems.append(f"gpu {g.index} utilisation {g.utilization}")
        if g.temperature is not None and not 0 < g.temperature < 120:
            problems.append(f"gpu {g.index} temperature {g.temperature}")
        if g.power is not None and not 0 < g.power < 2000:
            problems.append(f"gpu {g.index} power {g.power}")
    figures = "; ".join(f"{g.index} {g.name} {gib(g.memory_used or 0)}/{gib(g.memory_total or 0)} "
                        f"{g.utilization}% {g.temperature}°C {g.power}W" for g in snap.gpus)
    same = [g.index for g in first.gpus] == [g.index for g in snap.gpus]
    report("nvml", not problems and same, f"driver {snap.driver}, CUDA {snap.cuda_driver}: {figures}"
           + (f" — {', '.join(problems)}" if problems else ""))
    return snap


TUI_CHILD = textwrap.dedent("""
    import json, os, sys, time
    from kerastui.core.tfenv import keep_off_gpus, load_keras, start_runtime
    keep_off_gpus()
    keras = load_keras()
    start_runtime()
    import tensorflow as tf
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64), keras.layers.Dense(3)])
    model.predict(tf.zeros((4, 20)), verbose=0)
    print(json.dumps({"gpus": len(tf.config.list_logical_devices("GPU")),
                      "device": model.weights[0].value.device}), flush=True)
    time.sleep(4)
""")


def check_tui(sampler: NvmlSampler) -> None:
    proc = subprocess.Popen([sys.executable, "-c", TUI_CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env())
    seen = watch([proc], sampler)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        report("tui-off-gpu", False, stderr.strip()[-300:])
        return
    info = json.loads(stdout.strip().splitlines()[-1])
    held = seen[proc.pid]
    report("tui-off-gpu", info["gpus"] == 0 and not held,
           f"the TUI's TensorFlow sees {info['gpus']} GPU(s), weights on {info['device']}, "
           f"NVML lists it on GPUs {sorted(held) or 'none'}")


def check_one_gpu(sampler: NvmlSampler, runs: Path, snap: Snapshot) -> None:
    proc = train(runs, "ex2", *SMALL_IMAGES, "--epochs", "3", "--set", "devices.gpus=[0]")
    seen = watch([proc], sampler)
    try:
        result = finished(proc)
    except RuntimeError as error:
        report("run-gpus-0", False, str(error))
        return
    total = snap.gpus[0].memory_total or 1
    held = seen[proc.pid]
    peaks = [r.get("peak_memory") for r in rows(result)]
    devices = result["devices"]
    only_0 = set(held) <= {0}
    report("run-gpus-0", devices["devices"] == ["GPU:0"] and devices["gpus"] == [0] and only_0,
           f"devices {devices['devices']}, NVML saw the run on GPUs {sorted(held) or 'none (pid namespace?)'}")
    used = held.get(0)
    growth_ok = all(isinstance(p, int) and p < total / 2 for p in peaks) and (used is None or used < total / 2)
    report("memory-growth", growth_ok,
           f"peak per epoch {[gib(p) if isinstance(p, int) else p for p in peaks]}, NVML per-process "
           f"{gib(used) if used else 'n/a'} of {gib(total)}")


def check_mixed_float16(runs: Path) -> None:
    try:
        result = finished(train(runs, "ex2", *SMALL_IMAGES, "--epochs", "2", "--set", "devices.gpus=[0]",
                                "--set", "devices.precision=mixed_float16"))
    except RuntimeError as error:
        report("mixed_float16", False, str(error))
        return
    losses = result["history"]["loss"]
    ok = (result["status"] == "completed" and all(isinstance(v, float) and math.isfinite(v) for v in losses)
          and "Precision policy: mixed_float16" in (result.get("summary") or ""))
    report("mixed_float16", ok, f"loss {losses}, test {result['test']}, jit {result['devices']['jit_compile']}")


def check_mirrored(runs: Path, count: int) -> None:
    if count < 2:
        report("mirrored-all-gpus", None, "one GPU: MirroredStrategy needs two (shown on CPU by tests/unit)")
        return
    try:
        result = finished(train(runs, "ex2", *SMALL_IMAGES, "--epochs", "2", "--set", 'devices.gpus="all"'))
    except RuntimeError as error:
        report("mirrored-all-gpus", False, str(error))
        return
    d = result["devices"]
    report("mirrored-all-gpus", d["replicas"] == count and d["strategy"] == "mirrored",
           f"{d['replicas']} replicas on {d['devices']}, per-replica batch {d['per_replica_batch']}, "
           f"test {result['test']}")


def check_side_by_side(sampler: NvmlSampler, runs: Path, count: int) -> None:
    if count < 2:
        report("one-run-per-gpu", None, "one GPU")
        return
    a = train(runs, "ex2", *SMALL_IMAGES, "--epochs", "2", "--set", "devices.gpus=[0]")
    b = train(runs, "ex2", *SMALL_IMAGES, "--epochs", "2", "--set", "devices.gpus=[1]")
    seen = watch([a, b], sampler)
    try:
        ra, rb = finished(a), finished(b)
    except RuntimeError as error:
        report("one-run-per-gpu", False, str(error))
        return
    ok = (ra["devices"]["gpus"] == [0] and rb["devices"]["gpus"] == [1] and set(seen[a.pid]) <= {0}
          and set(seen[b.pid]) <= {1})
    report("one-run-per-gpu", ok, f"run A on {sorted(seen[a.pid])}, run B on {sorted(seen[b.pid])} (NVML)")


# --------------------------------------------------------------------------- figures

PLAIN_EX2 = textwrap.dedent("""
    import json, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np, tensorflow as tf, keras
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    train, val = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.random((train, 28, 28, 1), dtype=np.float32); y = keras.utils.to_categorical(rng.integers(0, 10, train), 10)
    xv = rng.random((val, 28, 28, 1), dtype=np.float32); yv = keras.utils.to_categorical(rng.integers(0, 10, val), 10)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, (3, 3), activation="relu"),
                              keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
        def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.t)
    times = []
    model.fit(x, y, validation_data=(xv, yv), epochs=3, batch_size=32, callbacks=[Clock()], verbose=0)
    print(json.dumps(times))
""")


def figure_ex2(runs: Path) -> None:
    try:
        result = finished(train(runs, "ex2", *MNIST_LIKE, "--epochs", "3", "--set", "devices.gpus=[0]"))
    except RuntimeError as error:
        report("ex2-ratio", False, str(error))
        return
    ours = statistics.median(float(r["seconds"]) for r in rows(result)[1:])
    data = result["data"]
    plain_env = dict(env(), CUDA_VISIBLE_DEVICES="0")
    proc = subprocess.run([sys.executable, "-c", PLAIN_EX2, str(data["train"]), str(data["val"])],
                          capture_output=True, text=True, env=plain_env)
    if proc.returncode != 0:
        report("ex2-ratio", False, f"plain script: {proc.stderr.strip()[-300:]}")
        return
    plain = statistics.median(json.loads(proc.stdout.strip().splitlines()[-1])[1:])
    ratio = ours / plain
    report("ex2-ratio", ratio <= 1.05, f"epoch (median of epochs 2-3, {data['train']} samples, batch 32): kerastui "
           f"{ours:.3f} s, plain Keras {plain:.3f} s, ratio {ratio:.3f} (target ≤ 1.05)")


def figure_resnet(runs: Path) -> None:
    common = ["ex5", "--data", "synthetic:images", "--set", "data.samples=2000", "--set",
              "data.image_shape=[64, 64, 3]", "--set", "data.num_classes=5", "--set", "transfer.weights=none",
              "--set", "transfer.allow_no_weights=true", "--set", "fit.epochs=1", "--set", "devices.gpus=[0]",
              "--set", "transfer.fine_tune_epochs=3"]
    seconds = {}
    for precision in ("float32", "mixed_float16"):
        try:
            result = finished(train(runs, *common, "--set", f"devices.precision={precision}"))
        except RuntimeError as error:
            report("resnet50-mixed", False, f"{precision}: {error}")
            return
        fine = [float(r["seconds"]) for r in rows(result) if r.get("phase") == "fine_tune"]
        if len(fine) < 2:
            report("resnet50-mixed", False, f"{precision}: {len(fine)} fine-tuning epochs recorded")
            return
        seconds[precision] = statistics.median(fine[1:])
    ratio = seconds["mixed_float16"] / seconds["float32"]
    report("resnet50-mixed", True, f"fine-tuning epoch: float32 {seconds['float32']:.3f} s, mixed_float16 "
           f"{seconds['mixed_float16']:.3f} s, ratio mixed/float32 {ratio:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the checks only, not the two timing figures")
    args = parser.parse_args()
    sampler = NvmlSampler()
    error = sampler.start()
    if error is not None:
        report("nvml", False, f"{error}: this script needs an NVIDIA GPU")
        return 1
    try:
        snap = check_nvml(sampler)
        count = len(snap.gpus)
        if not count:
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            runs = Path(tmp)
            check_tui(sampler)
            check_one_gpu(sampler, runs, snap)
            check_mixed_float16(runs)
            check_mirrored(runs, count)
            check_side_by_side(sampler, runs, count)
            if not args.quick:
                figure_ex2(runs)
                figure_resnet(runs)
    finally:
        sampler.close()
    failed = [name for word, name, _ in RESULTS if word == "FAIL"]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} passed or skipped" + (f"; FAILED: {', '.join(failed)}"
                                                                               if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

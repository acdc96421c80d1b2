"""ex1 under MirroredStrategy over 2 logical CPU devices ÷ ex1 on 1 device (this CPU; no GPU).

It proves the multi-device path, not speed: expect overhead (two replicas share the same cores,
and each step all-reduces the gradients).  Both are real ``kerastui train`` processes, run
alternately; the figures are the median epoch seconds (epochs 2.., from each run's metrics.jsonl:
epoch 1 includes tracing) and the median process wall time.

    python bench/mirrored_ex1.py [--runs 3] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(runs_dir: str, epochs: int, extra: list[str]) -> tuple[float, float, dict[str, object]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", str(epochs), "--json",
                           "--runs-dir", runs_dir, *extra], capture_output=True, text=True, env=dict(os.environ))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"kerastui train failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    result = json.loads(proc.stdout)
    rows = [json.loads(line) for line in (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    epoch = statistics.median(float(r["seconds"]) for r in rows[1:]) if len(rows) > 1 else float(rows[0]["seconds"])
    return epoch, wall, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    modes = {"1 device": ["--set", 'devices.gpus="none"'],
             "2 logical CPUs (mirrored)": ["--set", 'devices.gpus="none"', "--set", "devices.logical_cpus=2"]}
    epochs: dict[str, list[float]] = {m: [] for m in modes}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    accuracy: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(args.runs):
            for mode, extra in modes.items():
                epoch, wall, result = one_run(runs_dir, args.epochs, extra)
                epochs[mode].append(epoch)
                walls[mode].append(wall)
                accuracy[mode].append(float(result["test"]["accuracy"]))  # type: ignore[index]
    for mode in modes:
        print(f"{mode:<27} epoch median {statistics.median(epochs[mode]):.3f} s  process median "
              f"{statistics.median(walls[mode]):.2f} s  test accuracy {statistics.median(accuracy[mode]):.4f}  "
              f"(n={args.runs}, {args.epochs} epochs)")
    one, two = (statistics.median(epochs[m]) for m in modes)
    w1, w2 = (statistics.median(walls[m]) for m in modes)
    print(f"ratio mirrored(2 logical CPUs) / 1 device: epoch {two / one:.2f}, whole process {w2 / w1:.2f} "
          "(overhead expected: this proves the path, not speed)")


if __name__ == "__main__":
    main()

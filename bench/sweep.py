"""Sweeps (issue 27): how well a sweep keeps its slots busy, how fast a trial starts, and how fast
``kerastui sweep status --json`` reads a large study.  Prints its figures and the targets.

1. Slot utilisation over a 16-trial CPU sweep, 2 at once (ex1, 10 epochs, no pruning): the time
   slots spend on trials (a worker picks a trial → its run has ended) ÷ (wall × slots), the wall
   from the first pick to the last run's end (and, for reference, from ``sweep start`` to
   ``--wait``'s return).  Target ≥ 0.95.
2. Trial start: a worker picks a trial → the trial's first batch (from its run's event log), against
   ``kerastui train``'s process start → first batch, the same preset.  Compared alone (a 1-slot
   sweep against ``kerastui train`` by itself) and, for reference, under load (the 2-slot sweep's
   trials, where the other slot trains meanwhile).  Target ≤ 1.2.
3. ``kerastui sweep status NAME --json`` over a 500-trial study made with Optuna directly.  Target ≤ 1 s.

    python bench/sweep.py [--trials 16]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._timing import show, wall  # noqa: E402
from kerastui.core.model import presets  # noqa: E402
from kerastui.core.run.directory import read_json  # noqa: E402
from kerastui.core.run.sweep import SweepClient  # noqa: E402

SWEEP = """
[sweep]
trials = {trials}
parallel = {parallel}
pruner = "none"
seed = 1
[sweep.space]
"compile.learning_rate" = {{ low = 1e-4, high = 1e-2, log = true }}
"model.layers[1].units" = {{ low = 32, high = 96, step = 16 }}
"""
EPOCHS = "fit.epochs=10"


def kerastui(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "kerastui", *args], capture_output=True, text=True)
    if done.returncode != 0:
        logs = "".join(f"\n--- {p}\n{p.read_text()}" for p in Path(args[args.index("--runs-dir") + 1]).glob(
            "sweeps/*/workers/*.log")) if "--runs-dir" in args else ""
        sys.exit(f"kerastui {' '.join(args)} failed: {done.stderr.strip()[-800:]}{logs[-3000:]}")
    return done


def first_batch(run: Path) -> float:
    for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("type") == "BatchEnded":
            return float(event["t"])
    raise SystemExit(f"{run}: no batch in its event log")


def sweep(folder: Path, trials: int, parallel: int) -> tuple[float, list[dict[str, float]]]:
    preset = folder / f"sweep-{parallel}.toml"
    preset.write_text((REPO / "presets" / "ex1.toml").read_text() + SWEEP.format(trials=trials, parallel=parallel))
    runs = folder / f"runs-{parallel}"
    start = time.time()
    kerastui("sweep", "start", str(preset), "--runs-dir", str(runs), "--name", "bench", "--set", EPOCHS, "--wait")
    command = time.time() - start
    spans = []
    for t in SweepClient(runs).open("bench").frozen_trials():
        run = Path(t.user_attrs["run_dir"])
        status = read_json(run / "status.json")
        spans.append({"slot": float(t.user_attrs["slot"]), "picked": float(t.user_attrs["picked"]),
                      "first_batch": first_batch(run),
                      "ended": float(status["ended"]), "state": 1.0 if status["state"] == "completed" else 0.0})
    return command, spans


def trains_alone(folder: Path, count: int) -> list[float]:
    preset = folder / "alone.toml"
    preset.write_text((REPO / "presets" / "ex1.toml").read_text())
    out = []
    for i in range(count):
        runs = folder / f"alone-{i}"
        start = time.time()
        kerastui("train", str(preset), "--runs-dir", str(runs), "--set", EPOCHS, "--json")
        (run,) = [p for p in runs.iterdir() if p.is_dir()]
        out.append(first_batch(run) - start)
    return out


def status_of_500(folder: Path) -> list[float]:
    sys.path.insert(0, str(REPO))
    from kerastui.core.run.sweep import SweepDir
    from tests.unit.test_sweep_space import SWEEP as SPACE
    from tests.unit.test_sweep_space import make_study

    path = folder / "big.toml"
    path.write_text((REPO / "presets" / "ex1.toml").read_text() + SPACE)
    runs = folder / "runs-500"
    target = SweepDir(runs / "sweeps" / "big")
    target.path.mkdir(parents=True)
    start = time.perf_counter()
    make_study(target, presets.load(path), 500)
    print(f"a 500-trial study made with Optuna (add_trials) in {time.perf_counter() - start:.1f} s")
    return wall([sys.executable, "-m", "kerastui", "sweep", "status", "big", "--json", "--runs-dir", str(runs)], 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="kerastui-bench-sweep-") as tmp:
        folder = Path(tmp)

        alone = trains_alone(folder, 3)
        show("kerastui train: start → 1st batch", alone)
        _, single = sweep(folder, 3, 1)
        starts1 = [s["first_batch"] - s["picked"] for s in single]
        show("1-slot sweep: pick → 1st batch", starts1)
        ratio = statistics.median(starts1) / statistics.median(alone)
        print(f"trial start ÷ kerastui train's: {ratio:.2f}  (target ≤ 1.2)  {'PASS' if ratio <= 1.2 else 'FAIL'}")

        command, spans = sweep(folder, args.trials, 2)
        first, last = min(s["picked"] for s in spans), max(s["ended"] for s in spans)
        busy = sum(s["ended"] - s["picked"] for s in spans)
        utilisation = busy / ((last - first) * 2)
        print(f"{args.trials}-trial sweep, 2 slots: {sum(s['state'] for s in spans):.0f} completed, "
              f"wall {last - first:.1f} s (first pick → last end), {command:.1f} s (sweep start → --wait returns)")
        print(f"slot utilisation: busy {busy:.1f} s ÷ (wall × 2) = {utilisation:.3f}  (target ≥ 0.95)  "
              f"{'PASS' if utilisation >= 0.95 else 'FAIL'};  from sweep start: {busy / (command * 2):.3f}")
        gaps, ends = [], []
        for slot in sorted({s["slot"] for s in spans}):
            mine = sorted((s for s in spans if s["slot"] == slot), key=lambda s: s["picked"])
            gaps += [b["picked"] - a["ended"] for a, b in zip(mine, mine[1:], strict=False)]
            ends.append(mine[-1]["ended"])
        print(f"  between a slot's trials (its run's end → its next pick): median {statistics.median(gaps):.3f} s; "
              f"the slots' last ends {max(ends) - min(ends):.2f} s apart ({len(ends)} slots)")
        starts2 = [s["first_batch"] - s["picked"] for s in spans]
        show("2-slot sweep: pick → 1st batch", starts2)
        print(f"  (under load: the other slot trains meanwhile) ÷ kerastui train alone: "
              f"{statistics.median(starts2) / statistics.median(alone):.2f}")

        median = show("sweep status --json, 500 trials", status_of_500(folder))
        verdict = "PASS" if median <= 1 else "FAIL"
        print(f"sweep status --json over 500 trials: {median:.3f} s  (target ≤ 1 s)  {verdict}")


if __name__ == "__main__":
    main()

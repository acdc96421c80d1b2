"""Small helpers shared by the benchmark scripts: run a command N times, report the median."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env or dict(os.environ))
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return times


def show(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{label:<34} median {median:7.3f} s  (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})")
    return median

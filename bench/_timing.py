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


def python(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter at the repository's root; its last line of output, as JSON."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root)))
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def watch_rows(screen_type: type, table_type: type, count: int) -> list[float]:
    """In a benchmark's app process: from now on, when a frame showing ``count`` rows of the screen's
    table goes to the terminal (``App._display``), its time is appended to the list returned."""
    from textual.app import App

    painted: list[float] = []
    original = App._display

    def display(self, screen, renderable):  # type: ignore[no-untyped-def]
        if (renderable is not None and isinstance(screen, screen_type)
                and screen.query_one(table_type).row_count == count):
            painted.append(time.perf_counter())
        return original(self, screen, renderable)

    App._display = display  # type: ignore[method-assign]
    return painted


async def shown(pilot, painted: list[float], key: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from pressing ``key`` to the first frame ``watch_rows`` saw after it."""
    painted.clear()
    start = time.perf_counter()
    await pilot.press(key)
    while not painted:
        await pilot.pause(0)
    return painted[0] - start

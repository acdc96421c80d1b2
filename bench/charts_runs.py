"""Issue 14's numbers: chart redraw with smoothing, and the Runs workspace with 500 runs.

1. One chart redraw, 2 series × 500 points, at its Train-workspace size (42×14): plain, smoothed
   (0.9: the raw curves drawn faint under the smoothed ones), smoothed + log-y + cursor — target ≤ 15 ms.
2. The Runs workspace with 500 run directories (realistic files: resolved preset, status, summary
   with a 20-epoch history, metrics.jsonl), 5 of them damaged (a garbage status, wrong JSON types, a
   garbage metrics line — listed as ``damaged``): from the key press to the table filled — and sorted by
   a column (key s) — target ≤ 300 ms each.  The app reads the runs directory in a background worker
   at start (as it does to find live runs); the bench presses the key once that is done, and prints
   the cold read (no cache) too.
3. ``kerastui runs --json`` over the same 500 runs, a whole process (issue 24) — target ≤ 1 s.

Usage: .venv/bin/python bench/charts_runs.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import python, wall

ROOT = Path(__file__).resolve().parent.parent

CHART = r"""
import asyncio, json, time
from textual.app import App
from kerastui.ui.widgets.charts import MetricChart

class Host(App):
    CSS = "MetricChart { width: 42; height: 14; }"  # one of two charts in the Train workspace at 120×40

    def compose(self):
        yield MetricChart("loss", id="chart")

async def main():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.query_one(MetricChart)
        history = {"loss": [1 / (i + 1) + 0.02 * ((i * 7919) % 13) / 13 for i in range(500)],
                   "val_loss": [1.1 / (i + 1) + 0.01 + 0.03 * ((i * 104729) % 11) / 11 for i in range(500)]}
        out = {}
        for name, smoothing, log, cursor in (("plain", 0.0, False, None), ("smoothed 0.9", 0.9, False, None),
                                             ("smoothed + log + cursor", 0.9, True, 250)):
            view = chart.view
            view.smoothing, view.log_y, view.cursor = smoothing, log, cursor
            times = []
            for _ in range(25):
                start = time.perf_counter()
                chart.set_series(history)
                chart.render()
                times.append(time.perf_counter() - start)
            out[name] = times[3:]
        print(json.dumps(out))

asyncio.run(main())
"""

RUNS = r"""
import asyncio, json, time
from pathlib import Path
from kerastui.ui.app import make_app
from kerastui.ui.screens.runs import RunsScreen, RunTable

from bench._timing import shown, watch_rows
painted = watch_rows(RunsScreen, RunTable, COUNT)  # frames with every row: the user sees the runs

async def main():
    # Headless, as the app runs in a terminal: it prepares workspaces in idle pauses (PREPARE), or
    # h comes before the first idle pause (not PREPARE).
    app = make_app("ex1", load_tensorflow=False, runs_dir=Path(RUNS_DIR), prepare=PREPARE)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):  # started: the dataset shown, the runs directory read (a background worker)
            await pilot.pause(0.05)
            if app.session.dataset_preview is not None and all(w.is_finished for w in app.workers):
                break
        await asyncio.sleep(PAUSE)  # the user reads the first screen (idle: workspaces get prepared)
        first = await shown(pilot, painted, "h")
        await pilot.press("d")
        await pilot.pause(0.3)
        again = await shown(pilot, painted, "h")
        sorts = []
        for _ in range(5):
            sorts.append(await shown(pilot, painted, "s"))
        from kerastui.core.run import directory as runs_module
        runs_module._INFO_CACHE.clear()
        start = time.perf_counter()
        runs_module.list_runs(Path(RUNS_DIR))
        cold = time.perf_counter() - start
        print(json.dumps({"first": first, "again": again, "sort": sorts, "cold": cold}))

asyncio.run(main())
"""


def make_runs(folder: Path, count: int, damaged: int = 0) -> None:
    """``count`` finished run directories as a kerastui run leaves them (sizes of a 20-epoch ex1 run), the
    last ``damaged`` of them damaged in a few ways."""
    preset = (ROOT / "presets" / "ex1.toml").read_text(encoding="utf-8")
    for i in range(count):
        run = folder / f"2026{i // 1000 % 12 + 1:02d}{i % 28 + 1:02d}-{i % 24:02d}{i % 60:02d}{i % 59:02d}-ex1-{i}"
        run.mkdir(parents=True)
        (run / "preset.toml").write_text(preset.replace("adam", ["adam", "sgd", "rmsprop"][i % 3], 1),
                                         encoding="utf-8")
        history = {k: [1 / (e + 1 + i % 7) for e in range(20)] for k in ("loss", "accuracy", "val_loss",
                                                                           "val_accuracy")}
        rows = [{"phase": "train", "epoch": e + 1, "seconds": 0.5, **{k: v[e] for k, v in history.items()}}
                for e in range(20)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (run / "status.json").write_text(json.dumps({
            "state": "completed", "pid": 1, "host": "bench", "started": 1.7e9 + i, "started_at": "2026-01-01T00:00:00",
            "preset": "ex1", "dataset": "synthetic:classification", "epochs_planned": 20, "epoch": 20,
            "heartbeat": 1.7e9 + i + 10, "outcome": "completed", "devices": ["CPU:0"]}), encoding="utf-8")
        (run / "summary.json").write_text(json.dumps({
            "preset": "ex1", "status": "completed", "epochs_run": 20, "history": history,
            "test": {"loss": 0.2 + i % 10 / 100, "accuracy": 0.9 - i % 10 / 100}, "seconds": 10.0 + i % 50,
            "started": "2026-01-01T00:00:00", "model": {"total": 1539 + i, "trainable": 1539, "layers": 2},
            "data": {"source": "synthetic:classification"}, "evaluation": {"confusion_matrix": [[60, 2], [3, 70]]},
            }), encoding="utf-8")
        if i >= count - damaged:
            how = (count - i) % 3
            if how == 0:
                (run / "status.json").write_text("{garbage", encoding="utf-8")
            elif how == 1:
                (run / "summary.json").write_text(json.dumps({"data": "x", "preset": 5}), encoding="utf-8")
            else:
                (run / "metrics.jsonl").write_text("garbage\n" + "".join(json.dumps(r) + "\n" for r in rows),
                                                   encoding="utf-8")



def main() -> None:
    charts = python(CHART)
    for name, times in charts.items():
        median = statistics.median(times)
        print(f"chart redraw, 2 series × 500 points, {name:<24} median {median * 1000:5.1f} ms "
              f"(max {max(times) * 1000:.1f}; target ≤ 15 ms) — {'OK' if median <= 0.015 else 'OVER'}")
    with tempfile.TemporaryDirectory() as tmp:
        make_runs(Path(tmp), 500, damaged=5)
        listed = wall([sys.executable, "-m", "kerastui", "runs", "--json", "--runs-dir", tmp], 7,
                      env=dict(os.environ, PYTHONPATH=str(ROOT)))
        states = json.loads(subprocess.run([sys.executable, "-m", "kerastui", "runs", "--json", "--runs-dir", tmp],
                                           capture_output=True, text=True, cwd=ROOT).stdout)
        code = RUNS.replace("RUNS_DIR", repr(tmp)).replace("COUNT", "500")
        # h pressed the moment start-up work is done, and after the user has looked at the first
        # screen for 3 s (idle: the app has prepared the workspaces not shown yet).
        rushed = python(code.replace("PAUSE", "0").replace("PREPARE", "False"))
        result = python(code.replace("PAUSE", "3").replace("PREPARE", "True"))
    sort = statistics.median(result["sort"] + rushed["sort"])
    worst = max(result["first"], result["again"], sort)
    print(f"Runs workspace, 500 runs: key → rows on screen, first visit after a 3 s look at the first screen "
          f"{result['first'] * 1000:.0f} ms; later visits {result['again'] * 1000:.0f} ms; sort by a column (s) → "
          f"redrawn median {sort * 1000:.0f} ms (target ≤ 300 ms) — {'OK' if worst <= 0.3 else 'OVER'}")
    json_s = statistics.median(listed)
    damaged = sum(r["state"] == "damaged" for r in states)
    print(f"kerastui runs --json, 500 runs ({damaged} damaged, {len(states)} listed): median {json_s * 1000:.0f} ms "
          f"(min {min(listed) * 1000:.0f}, n={len(listed)}; target ≤ 1 s) — {'OK' if json_s <= 1.0 else 'OVER'}")
    print(f"  h pressed before the first idle pause (the screen not prepared, created by the key): "
          f"{rushed['first'] * 1000:.0f} ms; reading the 500 run directories cold (a background worker at "
          f"start): {result['cold'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()

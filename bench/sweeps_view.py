"""Issue 27 (part 5)'s number: the Sweeps workspace with a 500-trial sweep — key → table on screen.

A finished 500-trial study is written with Optuna directly (``create_trial`` / ``add_trials`` into a
journal in a temporary runs folder, with the sweep folder's ``sweep.json`` and ``preset.toml`` as
``SweepClient.start`` leaves them: 3 swept keys, 3 epochs of intermediate values per trial, one in
five pruned).  Then, headless at 120×40, as the app runs in a terminal:

- k pressed after the user has looked at the first screen for 3 s (idle: the app has prepared the
  workspaces not shown yet, the Sweeps one reading its sweep as it is made), and k pressed before
  the first idle pause (the workspace created and the study read because of the key);
- a later visit (d, then k again): the table read before is on screen at once, read again behind it;
- s (sort by the next column) → the table redrawn;
- ``Sweep.trials()`` of 500 trials in a fresh process (Optuna imported, the journal replayed) and
  again (read on from where it was: what the workspace does every 1.5 s), and the importances.

Target: key → the 500 rows on screen ≤ 300 ms.

Usage: .venv/bin/python bench/sweeps_view.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _timing import python

ROOT = Path(__file__).resolve().parent.parent
COUNT = 500

SPACE = """
[sweep]
trials = 500
parallel = 2
objective = "val_accuracy"
[sweep.space]
"compile.learning_rate" = { low = 1e-4, high = 1e-1, log = true }
"fit.batch_size" = { choices = [32, 64, 128] }
"model.layers[1].units" = { low = 8, high = 128, step = 8 }
"""


def make_sweep(runs: Path, name: str = "big") -> None:
    """A finished sweep of COUNT trials, written with Optuna (the suite's make_study), and its folder
    as the core expects it."""
    import optuna

    from kerastui.core.model import presets
    from kerastui.core.run.sweep import SweepDir
    from tests.unit.test_sweep_space import make_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    text = (ROOT / "presets" / "ex1.toml").read_text(encoding="utf-8") + SPACE
    preset = presets.loads(text, where="bench")
    folder = SweepDir(runs / "sweeps" / name)
    folder.path.mkdir(parents=True)
    make_study(folder, preset, COUNT, preset_name="ex1", host="bench", devices=2, runs=runs,
               attrs={"timeout": None, "notes": []},
               info={"created_at": "2026-01-01T00:00:00", "host": "bench", "runs_dir": str(runs), "joined": False})
    presets.save(preset, folder.preset_path)


VIEW = r"""
import asyncio, json, time
from pathlib import Path
from kerastui.ui.app import make_app
from kerastui.ui.screens.sweeps import SweepsScreen
from kerastui.ui.widgets.sweep_table import TrialTable

from bench._timing import shown, watch_rows
painted = watch_rows(SweepsScreen, TrialTable, COUNT)  # frames with every row: the user sees the trials

async def main():
    app = make_app("ex1", load_tensorflow=False, runs_dir=Path(RUNS_DIR), prepare=PREPARE)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):  # started: the dataset shown, start-up workers done
            await pilot.pause(0.05)
            if app.session.dataset_preview is not None and all(w.is_finished for w in app.workers):
                break
        await asyncio.sleep(PAUSE)  # the user reads the first screen (idle: workspaces get prepared)
        first = await shown(pilot, painted, "k")
        again = []
        for _ in range(5):
            await pilot.press("d")
            await pilot.pause(0.3)
            again.append(await shown(pilot, painted, "k"))
        sorts = []
        for _ in range(5):
            sorts.append(await shown(pilot, painted, "s"))
        print(json.dumps({"first": first, "again": again, "sort": sorts}))

asyncio.run(main())
"""

READ = r"""
import json, sys, time
start = time.perf_counter()
from kerastui.core.run.sweep import SweepClient
sweep = SweepClient(sys.argv[1]).open("big")
rows = sweep.trials()
cold = time.perf_counter() - start
warm = []
for _ in range(10):
    start = time.perf_counter()
    rows, state = sweep.snapshot()
    warm.append(time.perf_counter() - start)
start = time.perf_counter()
importances = sweep.importances()
print(json.dumps({"cold": cold, "warm": warm, "rows": len(rows), "importances": time.perf_counter() - start}))
"""



def main() -> None:
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        start = time.perf_counter()
        make_sweep(runs)
        made = time.perf_counter() - start
        read = python(READ, str(runs))
        code = VIEW.replace("RUNS_DIR", repr(str(runs))).replace("COUNT", str(COUNT))
        prepared = python(code.replace("PAUSE", "3").replace("PREPARE", "True"))
        rushed = python(code.replace("PAUSE", "0").replace("PREPARE", "False"))
    again = statistics.median(prepared["again"] + rushed["again"])
    sort = statistics.median(prepared["sort"] + rushed["sort"])
    worst = max(prepared["first"], again, sort)
    print(f"a {COUNT}-trial study written with Optuna (create_trial + add_trials, journal): {made:.1f} s")
    print(f"Sweeps workspace, {COUNT} trials: key k → rows on screen, first visit after a 3 s look at the first "
          f"screen {prepared['first'] * 1000:.0f} ms; later visits median {again * 1000:.0f} ms; sort (s) → "
          f"redrawn median {sort * 1000:.0f} ms (target ≤ 300 ms) — {'OK' if worst <= 0.3 else 'OVER'}")
    print(f"  k pressed before the first idle pause (the workspace created and the study read because of the "
          f"key): {rushed['first'] * 1000:.0f} ms — {'OK' if rushed['first'] <= 0.3 else 'OVER'}")
    print(f"  Sweep.trials() of {read['rows']} trials in a fresh process (Optuna imported, journal replayed): "
          f"{read['cold'] * 1000:.0f} ms; read again (the 1.5 s refresh, in a worker) median "
          f"{statistics.median(read['warm']) * 1000:.1f} ms; importances (fANOVA, in a worker) "
          f"{read['importances'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()

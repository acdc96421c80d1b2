"""Process start → first frame painted, for kerastui and for a bare Textual app (Header,
DataTable, Footer), both run headless the same way; plus `import tensorflow` for scale.

"Painted" is the first compositor update the app hands to its driver (``App._display``), the
moment a terminal would receive the first screen.  kerastui is byte-compiled first, as a pip
install leaves it (this machine sets PYTHONDONTWRITEBYTECODE, so an editable checkout would
otherwise be compiled from source on every start while Textual's own .pyc files exist).

Targets: kerastui ≤ 1.1 × bare Textual (issue 26; 1.5 in issue 3), and ≤ 0.15 × `python -c "import
tensorflow"`.  What is imported before the first frame is what the first workspace (Data) needs:
the run client, the dialogs and the run's state come after it (KerasTUI.runs, Session).

    python bench/tui_first_frame.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMON = """
import os, sys, time
start = float(sys.argv[1])
from textual.app import App
display = App._display
def first_frame(app, screen, renderable):
    # The first frame the app writes to the terminal (headless: written nowhere, same work).
    if renderable is not None:
        print(time.time() - start, flush=True)
        os._exit(0)
    return display(app, screen, renderable)
App._display = first_frame
{imports}
app.run(headless=True, size=(120, 40))
"""
TARGET = 1.1  # kerastui / bare Textual
KERASTUI = COMMON.format(imports="from kerastui.ui.app import make_app\napp = make_app('ex1')")
BARE = COMMON.format(imports="""
from textual.app import App
from textual.widgets import DataTable, Footer, Header
class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()
app = Bare()""")


def measure(code: str) -> float:
    proc = subprocess.run([sys.executable, "-c", code, repr(time.time())], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-1000:])
    return float(proc.stdout.strip().splitlines()[-1])


def wall(code: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).resolve().parents[1] / "kerastui", quiet=1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    # Interleaved pairs (bare, kerastui, bare, …): a shared machine's load drifts, and a pair run
    # back to back sees the same load, so the ratio is taken per pair, then the median.
    bare_times, ours_times = [], []
    for _ in range(args.runs):
        bare_times.append(measure(BARE))
        ours_times.append(measure(KERASTUI))
    bare, ours = statistics.median(bare_times), statistics.median(ours_times)
    ratio = statistics.median(o / b for o, b in zip(ours_times, bare_times, strict=True))
    tf = statistics.median(wall("import tensorflow", max(2, args.runs // 2)))
    print(f"bare Textual first frame   median {bare:.3f} s  (min {min(bare_times):.3f}, max {max(bare_times):.3f})")
    print(f"kerastui first frame       median {ours:.3f} s  (min {min(ours_times):.3f}, max {max(ours_times):.3f})")
    print(f"python -c 'import tensorflow' {tf:.3f} s")
    print(f"kerastui / bare, median of {args.runs} interleaved pairs = {ratio:.3f} (target ≤ {TARGET}) — "
          f"{'OK' if ratio <= TARGET else 'OVER'}")
    print(f"kerastui / import tensorflow = {ours / tf:.3f} (target ≤ 0.15) — {'OK' if ours / tf <= 0.15 else 'OVER'}")


if __name__ == "__main__":
    main()

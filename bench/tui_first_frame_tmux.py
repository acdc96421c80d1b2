"""Process start → first frame painted in a real terminal (tmux, 120×40): kerastui vs a bare
Textual app (Header, DataTable, Footer), by polling the pane until each app's frame is drawn.

    python bench/tui_first_frame_tmux.py [--runs 5]

Complements bench/tui_first_frame.py (headless, no terminal I/O): this one includes terminal
setup and the write of the first frame, as a person sees it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header
class Bare(App):
    TITLE = "bare-ready"
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()
Bare().run()
"""
OURS = "from kerastui.cli import main\nmain(['ex1'])\n"


def first_frame(code: str, marker: str, session: str) -> float:
    script = Path(tempfile.mkdtemp()) / "app.py"
    script.write_text(code)
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    start = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                    f"{sys.executable} {script}"], check=True, env=dict(os.environ, TERM="xterm-256color"))
    try:
        while True:
            pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if marker in pane:
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise SystemExit(f"no frame with {marker!r} after 30 s:\n{pane}")
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare, ours = [], []
    for i in range(args.runs):
        bare.append(first_frame(BARE, "bare-ready", f"kt-bench-bare-{i}"))
        # (the tabs line's title: in the first frame; the preset's own title is not shown by Data)
        ours.append(first_frame(OURS, "kerastui · ex1", f"kt-bench-ours-{i}"))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare Textual first frame (tmux)  {b:.3f} s")
    print(f"kerastui first frame (tmux)      {o:.3f} s")
    print(f"kerastui / bare = {o / b:.2f} (target ≤ 1.5) — {'OK' if o / b <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()

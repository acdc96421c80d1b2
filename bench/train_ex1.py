"""`kerastui train ex1` wall time ÷ a plain Keras script doing the same fit (target ≤ 1.10).

Both are whole processes (TensorFlow import included), run alternately to share the machine's
noise; the ratio of medians is printed.

    python bench/train_ex1.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import show, wall  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = shutil.which("kerastui") or str(Path(sys.executable).with_name("kerastui"))
    plain_script = str(Path(__file__).with_name("plain_ex1.py"))
    with tempfile.TemporaryDirectory() as runs:
        ours, plain = [], []
        wall([sys.executable, plain_script], 1)  # warm the file cache once
        for _ in range(args.runs):
            ours += wall([exe, "train", "ex1", "--runs-dir", runs], 1)
            plain += wall([sys.executable, plain_script], 1)
    a = show("kerastui train ex1", ours)
    b = show("plain Keras (bench/plain_ex1.py)", plain)
    ratio = a / b
    print(f"ratio kerastui / plain = {ratio:.3f} (target ≤ 1.10) — {'OK' if ratio <= 1.10 else 'OVER'}")


if __name__ == "__main__":
    main()

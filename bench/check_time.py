"""`kerastui check PRESET` ÷ `python -c "import tensorflow"`: checking a preset costs about an import.

    python bench/check_time.py [--preset ex2] [--rounds 7]

Runs the two commands alternately (ABAB…, so drifting machine load hits both alike), each as a
fresh process, and prints the medians and their ratio (target ≤ 1.2).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ex2")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    check = [sys.executable, "-m", "kerastui", "check", args.preset]
    bare = [sys.executable, "-c", "import tensorflow"]
    timed(check, env)  # warm the file cache and byte-compile kerastui (as pip install leaves it)
    checks, imports = [], []
    for _ in range(args.rounds):
        imports.append(timed(bare, env))
        checks.append(timed(check, env))
    c, i = statistics.median(checks), statistics.median(imports)
    print(f"kerastui check {args.preset}: median {c:.2f} s ({min(checks):.2f}–{max(checks):.2f})")
    print(f"import tensorflow:      median {i:.2f} s ({min(imports):.2f}–{max(imports):.2f})")
    print(f"ratio: {c / i:.2f} (target ≤ 1.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

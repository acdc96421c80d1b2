"""`kerastui --help` wall time (target ≤ 0.5 s), beside a bare interpreter start for scale.

    python bench/cli_help.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import show, wall  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("kerastui") or str(Path(sys.executable).with_name("kerastui"))
    python = show("python -c pass", wall([sys.executable, "-c", "pass"], args.runs))
    helped = show("kerastui --help", wall([exe, "--help"], args.runs))
    print(f"kerastui --help: {helped:.3f} s (target ≤ 0.5 s) — {'OK' if helped <= 0.5 else 'OVER'}; "
          f"{helped - python:.3f} s above a bare interpreter")


if __name__ == "__main__":
    main()

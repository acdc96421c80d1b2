"""Save + reload + verify of ex2's model (on sklearn:digits) in all three formats: each step's
time, and what verification adds over save + load alone (issue 5 target: ≤ 20 %).

    python bench/save_verify.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from kerastui.core.model import presets
    from kerastui.core.run.trainer import Trainer
    from kerastui.core.saving import ORDER, default_path, load_model, predict, save_model

    trainer = Trainer(presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": 1}), record=False)
    trainer.run()
    model, x = trainer.model, trainer.data.x_test[:256]
    steps: dict[str, dict[str, list[float]]] = {fmt: {"save": [], "load": [], "verify": []} for fmt in ORDER}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            for fmt in ORDER:
                path = default_path(Path(folder), fmt)
                start = time.perf_counter()
                save_model(model, path, fmt)
                steps[fmt]["save"].append(time.perf_counter() - start)
                start = time.perf_counter()
                loaded = load_model(path, fmt)
                steps[fmt]["load"].append(time.perf_counter() - start)
                start = time.perf_counter()
                reference = predict(model, x, "keras")
                diff = float(np.max(np.abs(predict(loaded, x, fmt) - reference)))
                steps[fmt]["verify"].append(time.perf_counter() - start)
                assert diff <= 1e-6, (fmt, diff)
    total_base = total_verify = 0.0
    for fmt, times in steps.items():
        save, load, verify = (statistics.median(times[k]) for k in ("save", "load", "verify"))
        total_base += save + load
        total_verify += verify
        print(f"{fmt:<11} save {save * 1000:7.1f} ms  load {load * 1000:7.1f} ms  verify {verify * 1000:7.1f} ms")
    overhead = total_verify / total_base
    print(f"verification adds {overhead * 100:.1f} % over save + load (target ≤ 20 %) — "
          f"{'OK' if overhead <= 0.2 else 'OVER'}")


if __name__ == "__main__":
    main()

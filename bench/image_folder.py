"""Issue 13's numbers for images:DIR on a folder of 20,000 64×64 JPEGs (10 classes), made in /tmp.

1. Images per second through training of a tiny model: kerastui (a streamed images: source, run by
   the Trainer) ÷ a plain Keras script using image_dataset_from_directory(...).prefetch(AUTOTUNE) on
   the same folder; each in a fresh process, alternated, the epoch after the first (tracing) one.
2. Time from choosing the folder to the dataset card: datasets.preview() in a fresh process
   (kerastui.core.data.datasets already imported, as in the TUI's worker), the scan cache cold.
3. Peak RSS (VmHWM) of a one-epoch kerastui run at 20,000 vs 2,000 images, each in its own process.

    .venv/bin/python bench/image_folder.py [--runs 3] [--images 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
BATCH = 64
CLASSES = 10

PLAIN = """
import json, sys, time
import keras, tensorflow as tf
keras.utils.set_random_seed(0)
ds = keras.utils.image_dataset_from_directory(sys.argv[1], image_size=(64, 64), batch_size=%(batch)d,
                                              label_mode="int", seed=0, verbose=False).prefetch(tf.data.AUTOTUNE)
model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(%(classes)d, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
times = []
class T(keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, e, logs=None): times.append(time.perf_counter() - self.t)
model.fit(ds, epochs=int(sys.argv[3]) if len(sys.argv) > 3 else 2, callbacks=[T()], verbose=0)
peak = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
print(json.dumps({"images": int(sys.argv[2]), "epoch_seconds": times, "peak_kb": peak}))
"""

KERASTUI = """
import json, sys
from pathlib import Path
from kerastui.core.run.events import EpochEnded
from kerastui.core.model.specs import Preset
from kerastui.core.run.trainer import Trainer
preset = Preset.from_dict({
    "data": {"source": "images:" + sys.argv[1], "stream": %(stream)s, "validation_split": 0.0,
             "test_split": float(sys.argv[3])},
    "model": {"layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 2, "activation": "relu"},
                         {"type": "GlobalAveragePooling2D"},
                         {"type": "Dense", "units": %(classes)d, "activation": "softmax"}]},
    "compile": {"loss": "sparse_categorical_crossentropy"},
    "fit": {"epochs": int(sys.argv[4]), "batch_size": %(batch)d}}, "bench")
times = []
trainer = Trainer(preset, [lambda e: times.append(e.seconds) if isinstance(e, EpochEnded) else None],
                  runs_dir=Path(sys.argv[2]))
result = trainer.run()
peak = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
print(json.dumps({"status": result.status, "images": result.data["train"], "epoch_seconds": times,
                  "peak_kb": peak}))
"""

CARD = """
import json, sys, time
from kerastui.core.data import datasets
from kerastui.core.model.specs import DataSpec
start = time.perf_counter()
card = datasets.preview(DataSpec(source="images:" + sys.argv[1]))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "files": card.summary["files"], "scan_seconds": card.summary["load_seconds"]}))
"""


def make_folder(root: Path, count: int, size: int = 64) -> Path:
    """``count`` JPEGs over CLASSES folders (kept between runs: made once)."""
    from PIL import Image

    marker = root / ".complete"
    if marker.exists():
        return root
    rng = np.random.default_rng(0)
    per_class = count // CLASSES
    for c in range(CLASSES):
        folder = root / f"class{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        tint = rng.uniform(40, 215, size=3)
        for i in range(per_class):
            pixels = np.clip(tint + rng.normal(scale=40, size=(size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)
    marker.write_text("ok")
    return root


def run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=ENV, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    result: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args()
    base = Path("/tmp/kerastui-bench-images")
    start = time.perf_counter()
    big = make_folder(base / f"jpegs-{args.images}", args.images)
    small = make_folder(base / f"jpegs-{args.images // 10}", args.images // 10)
    print(f"folders: {big} ({args.images:,} JPEGs), {small} ({args.images // 10:,}); "
          f"ready in {time.perf_counter() - start:.1f} s")
    fill = {"batch": BATCH, "classes": CLASSES, "stream": "True"}

    # 1. images per second, the second epoch of each run (the first traces the graph).
    plain_rates, ours_rates = [], []
    for i in range(args.runs):
        plain = run(PLAIN % fill, str(big), str(args.images))
        ours = run(KERASTUI % fill, str(big), str(base / "runs"), "0.0001", "2")
        plain_rates.append(plain["images"] / plain["epoch_seconds"][1])
        ours_rates.append(ours["images"] / ours["epoch_seconds"][1])
        print(f"run {i + 1}: plain {plain_rates[-1]:8.0f} images/s   kerastui {ours_rates[-1]:8.0f} images/s "
              f"({ours['images']:,} training images)")
    plain_median, ours_median = statistics.median(plain_rates), statistics.median(ours_rates)
    print(f"images/s through training: kerastui {ours_median:.0f} ÷ plain Keras {plain_median:.0f} = "
          f"{ours_median / plain_median:.3f}  (goal ≥ 0.95)")

    # 2. folder → dataset card.
    cards = [run(CARD, str(big)) for _ in range(args.runs)]
    seconds = statistics.median(c["seconds"] for c in cards)
    print(f"folder → dataset card ({cards[0]['files']:,} files): median {seconds:.3f} s "
          f"(scan {statistics.median(c['scan_seconds'] for c in cards):.3f} s; goal ≤ 2 s)")

    # 3. peak RSS, one epoch each.
    # The plain script's figures for reference: tf.data's autotuned buffers grow with a longer epoch.
    for name, script, extra in (("kerastui", KERASTUI % fill, (str(base / "runs"), "0.2", "1")),
                                ("plain Keras", PLAIN % fill, (None, "1"))):
        peaks = {}
        for folder, count in ((small, args.images // 10), (big, args.images)):
            argv = [str(folder), *(str(count) if a is None else a for a in extra)]
            peaks[count] = run(script, *argv)["peak_kb"] / 1024
        low, high = peaks[args.images // 10], peaks[args.images]
        print(f"peak RSS, {name}: {high:.0f} MB at {args.images:,} images, {low:.0f} MB at {args.images // 10:,}: "
              f"+{high - low:.0f} MB (goal for kerastui ≤ +150 MB)")


if __name__ == "__main__":
    main()

"""A frozen-ResNet50 epoch under kerastui's Trainer ÷ the same epoch in plain Keras (target ≤ 1.05).

ex5's phase 1 (head on a frozen ResNet50, random weights so it runs offline) on synthetic 32×32×3
images; the same arrays, model, optimizer, batch size and validation split in a plain Keras
script.  An epoch is timed from one ``on_epoch_end`` to the next (training and validation), the
first epoch of every run left out (it traces the graph).  kerastui and plain Keras run alternately
in one process, in A B B A order (neither always runs first), to share the machine's noise; the
ratio of the medians is printed.  On a shared machine the load of other processes moves single
epochs by ±30 %: read the min column too, and use more rounds when the two disagree.

    python bench/transfer_epoch.py [--rounds 4] [--epochs 4] [--samples 2048]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def ex5(samples: int, epochs: int):
    from kerastui.core.model import presets

    preset = presets.load("ex5", {"transfer.weights": "none", "data.source": "synthetic:images",
                                  "data.image_shape": [32, 32, 3], "data.samples": samples, "data.limit": samples,
                                  "fit.epochs": epochs, "transfer.fine_tune_epochs": 0})
    preset.callbacks.tensorboard = None  # plain Keras below has no TensorBoard either
    return preset


def kerastui_epochs(preset, runs: str) -> list[float]:
    """Epoch times of one Trainer run as the CLI runs it (run directory, metrics.jsonl, saved model)."""
    from kerastui.core.run.events import EpochEnded
    from kerastui.core.run.trainer import Trainer

    ends: list[float] = []

    def sink(event) -> None:
        if isinstance(event, EpochEnded):
            ends.append(time.perf_counter())

    trainer = Trainer(preset, [sink], runs_dir=Path(runs))
    trainer.run()
    return [b - a for a, b in itertools.pairwise(ends)]


def plain_epochs(data, preset) -> list[float]:
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(preset.fit.seed)
    ends: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    base.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(5, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=preset.fit.epochs,
              batch_size=preset.fit.batch_size, shuffle=True, verbose=0, callbacks=[Timer()])
    return [b - a for a, b in itertools.pairwise(ends)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--samples", type=int, default=2048)
    args = parser.parse_args()
    preset = ex5(args.samples, args.epochs)
    ours: list[float] = []
    plain: list[float] = []
    from kerastui.core.run.trainer import prepare_data

    data = prepare_data(preset)  # the arrays the Trainer trains on, for the plain script
    with tempfile.TemporaryDirectory() as runs:
        for round_ in range(args.rounds):
            if round_ % 2:
                plain += plain_epochs(data, preset)
                ours += kerastui_epochs(preset, runs)
            else:
                ours += kerastui_epochs(preset, runs)
                plain += plain_epochs(data, preset)
    print(f"{len(data.x_train)} training / {len(data.x_val)} validation samples of 32×32×3, batch "
          f"{preset.fit.batch_size}, ResNet50 frozen (random weights); "
          f"epochs 2..{args.epochs} of {args.rounds} runs each")
    for label, times in (("kerastui Trainer epoch", ours), ("plain Keras epoch", plain)):
        print(f"{label:<24} median {statistics.median(times):6.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
              f"n={len(times)})")
    ratio = statistics.median(ours) / statistics.median(plain)
    print(f"ratio kerastui / plain = {ratio:.3f} (target ≤ 1.05) — {'OK' if ratio <= 1.05 else 'OVER'}")


if __name__ == "__main__":
    main()

"""What the per-epoch checkpoint of a run costs (issue 11 budget: ≤ 5 % of an epoch).

1. ex2 (a small CNN) on sklearn:digits: the same model's epochs timed under ``model.fit`` with no
   callback but a timer, and with kerastui's ``Checkpoint`` callback (the one every run directory
   gets), in A B B A rounds on one model so both share the machine's noise and the traced graph.
   An epoch is timed from one ``on_epoch_end`` to the next (training, validation, and the
   checkpoint's own hook of the previous epoch); the first epoch of each fit is left out.
   Also timed: the checkpoint's ``on_epoch_end`` alone, on the training thread.
2. ResNet50 (``keras.applications.ResNet50(weights=None)``, 25.6 M parameters, Adam built: three
   values a parameter) — the checkpoint of one epoch, by calling its ``on_epoch_end`` directly:
   the time the training thread is held (copying the variables off them), and the time until the
   helper thread has written ``epoch-N.npz`` and switched ``state.json`` to it.

    python bench/checkpoint_cost.py [--rounds 4] [--epochs 6] [--resnet-reps 3]

On a shared machine single epochs move by ±30 %: read the min columns too.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timers(keras: Any) -> tuple[Any, Any, list[float], list[float]]:
    """Two callbacks that note the time of each ``on_epoch_end``: one before the checkpoint in the
    list, one after it (the difference: the checkpoint's hook on the training thread)."""
    before: list[float] = []
    after: list[float] = []

    class Before(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            before.append(time.perf_counter())

    class After(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            after.append(time.perf_counter())

    return Before(), After(), before, after


def ex2_epochs(trainer: Any, epochs: int, checkpoint: bool) -> tuple[list[float], list[float]]:
    """Epoch times of one ``model.fit`` (the first left out), and the checkpoint hook's times."""
    from kerastui.core.run.trainer import _checkpoint_callbacks, _stream_callback
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    data, fit = trainer.data, trainer.preset.fit
    first, last, ends, hooked = timers(keras)
    callbacks = [first]
    if checkpoint:
        # (the stream callback, which tells the checkpoint of an epoch cut short, is left out: only
        # the checkpoint is timed)
        stream = _stream_callback(keras, trainer, "train", -(-len(data.x_train) // fit.batch_size))
        callbacks += _checkpoint_callbacks(keras, trainer, "train", [stream])
    callbacks.append(last)
    trainer.model.fit(data.x_train, data.y_train, validation_data=data.validation_data(), epochs=epochs,
                      batch_size=fit.batch_size, shuffle=fit.shuffle, callbacks=callbacks, verbose=0)
    epoch_times = [b - a for a, b in itertools.pairwise(ends)]
    # The last timer's time minus the first's: the checkpoint's hook (≈ 0 without one).
    return epoch_times, [b - a for a, b in zip(ends, hooked, strict=True)][1:]


def part_ex2(rounds: int, epochs: int, folder: Path) -> None:
    from kerastui.core.model import presets
    from kerastui.core.run.directory import RunDir
    from kerastui.core.run.trainer import Trainer

    preset = presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": epochs})
    trainer = Trainer(preset, run_dir=RunDir.create(folder, "bench-ex2"))
    trainer.prepare()
    ex2_epochs(trainer, 2, checkpoint=False)  # trace the graph once, outside the timings
    plain: list[float] = []
    ours: list[float] = []
    hook: list[float] = []
    for round_ in range(rounds):
        for checkpoint in ((False, True) if round_ % 2 == 0 else (True, False)):
            times, hooked = ex2_epochs(trainer, epochs, checkpoint)
            (ours if checkpoint else plain).extend(times)
            if checkpoint:
                hook.extend(hooked)
    data = trainer.data
    weights = sum(int(v.numpy().size) for v in [*trainer.model.weights, *trainer.model.optimizer.variables])
    print(f"ex2 on sklearn:digits: {len(data.x_train)} training / {len(data.validation_data()[0])} validation "
          f"samples, batch {preset.fit.batch_size}, {trainer.model.count_params():,} parameters "
          f"({weights:,} values with Adam's); epochs 2..{epochs} of {rounds} fits each")
    for label, times in (("epoch, no checkpoint", plain), ("epoch, with Checkpoint", ours)):
        print(f"  {label:<26} mean {1000 * statistics.mean(times):7.1f} ms  median "
              f"{1000 * statistics.median(times):7.1f} ms  (min {1000 * min(times):.1f}, n={len(times)})")
    print(f"  {'Checkpoint.on_epoch_end':<26} mean {1000 * statistics.mean(hook):7.2f} ms  median "
          f"{1000 * statistics.median(hook):7.2f} ms  (max {1000 * max(hook):.2f}) on the training thread")
    cost = statistics.mean(ours) - statistics.mean(plain)
    ratio = statistics.mean(ours) / statistics.mean(plain)
    median_ratio = statistics.median(ours) / statistics.median(plain)
    print(f"  ratio with / without = {ratio:.3f} (means), {median_ratio:.3f} (medians); cost per epoch "
          f"{1000 * cost:+.1f} ms (target ratio ≤ 1.05) — {'OK' if min(ratio, median_ratio) <= 1.05 else 'OVER'}")


def part_resnet50(reps: int, folder: Path) -> None:
    from kerastui.core.model import presets
    from kerastui.core.run.directory import RunDir
    from kerastui.core.run.trainer import Trainer, _checkpoint_callbacks, _stream_callback
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    model = keras.applications.ResNet50(weights=None)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    # The callback needs a trainer only for its run directory and phases so far.
    trainer = Trainer(presets.load("ex1"), run_dir=RunDir.create(folder, "bench-resnet50"))
    (checkpoint,) = _checkpoint_callbacks(keras, trainer, "train", [_stream_callback(keras, trainer, "train", 1)])
    checkpoint.set_model(model)
    values = sum(int(v.numpy().size) for v in [*model.weights, *model.optimizer.variables])
    held: list[float] = []
    written: list[float] = []
    sizes: list[int] = []
    for epoch in range(reps):
        start = time.perf_counter()
        checkpoint.on_epoch_end(epoch)
        held.append(time.perf_counter() - start)
        checkpoint._writer.join()
        written.append(time.perf_counter() - start)
        path = trainer.run_dir.checkpoint_dir("train") / f"epoch-{epoch + 1:06d}.npz"
        sizes.append(path.stat().st_size)
    checkpoint.on_train_end()  # raises if a write failed
    print(f"ResNet50 (weights=None): {model.count_params():,} parameters, {values:,} values with Adam's "
          f"({values * 4 / 2**20:,.0f} MiB as float32); checkpoint file {statistics.median(sizes) / 2**20:,.0f} MiB; "
          f"n={reps}")
    print(f"  training thread held (on_epoch_end)   median {1000 * statistics.median(held):8.1f} ms  "
          f"(min {1000 * min(held):.1f}, max {1000 * max(held):.1f})")
    print(f"  until written (copy + background npz) median {1000 * statistics.median(written):8.1f} ms  "
          f"(min {1000 * min(written):.1f}, max {1000 * max(written):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--resnet-reps", type=int, default=3)
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        part_ex2(args.rounds, args.epochs, Path(folder))
        if not args.skip_resnet:
            part_resnet50(args.resnet_reps, Path(folder))


if __name__ == "__main__":
    main()

"""Arrays held in memory fed to ``model.fit`` as ``tf.data`` pipelines, not as arrays.

Keras fits on numpy arrays through an adapter that makes a new input pipeline for every epoch, and
another for the validation split at every epoch's end: on ex2 with sklearn's digits (41 steps and
5 validation batches an epoch) that was half of each epoch (~70 ms against ~37 ms this way, two
cores) and most of its stalls — first batches of ~70 ms more, a few times a run (bench/
tui_training.py --headless).  Here the training split is one pipeline for the whole fit: sample
indices, reshuffled at every pass (seeded), batched, the rows gathered from tensors made once, and
repeated, so the iterator lives across epochs (``steps_per_epoch`` marks them: one pass each, the
last batch partial, as Keras's own).  The validation split is the same without shuffle or repeat.

The tensors are made on the CPU (the pipeline runs there; a GPU gets each batch as it did from the
arrays) and hold one copy of the splits, as Keras's adapter does; a gather reads them in place,
whatever their size (no 2 GB graph constant).  Labels may be absent (``None``): the pipeline then
yields inputs alone.

tf.data's autotuning is off in these pipelines (fixed parallel gathers and prefetch instead): its model
thread made the deletion of an iterator wait for it, at random — the validation pipeline's, which
every epoch ends with, by up to ~75 ms, and the training pipeline's at the end of a fit by ~130–300
ms, a few times a run (ex2 on digits, two cores; none without it, and epochs no slower).  A pipeline
that is one gather a batch has nothing to tune."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kerastui.core.tfenv import load_keras


@dataclass
class Feed:
    """What ``model.fit`` takes instead of the arrays."""

    train: Any  # tf.data.Dataset: batches without end, one pass per epoch (or, streamed, of one pass)
    steps_per_epoch: int | None  # (None: an epoch is one pass of ``train``, as Keras counts it)
    validation: Any  # tf.data.Dataset of one pass, or None


PREFETCH = 2  # batches made ahead of the training step (a gather is far quicker than a step)
PARALLEL = 4  # batches gathered at once (rows of images: 2,000 × 224×224×3 at batch 32 took 3.3 ms a
# batch gathered one at a time, 2.4 ms four at a time; without autotune, tf.data would not choose)


def _tensors(x: np.ndarray, y: np.ndarray | None) -> tuple[Any, Any]:
    import tensorflow as tf

    with tf.device("/CPU:0"):
        return tf.convert_to_tensor(x), (None if y is None else tf.convert_to_tensor(y))


def _pipeline(x: np.ndarray, y: np.ndarray | None, batch_size: int, *, shuffle: bool, seed: int | None,
              repeat: bool) -> Any:
    """The split's row indices (reshuffled at every pass when ``shuffle``), batched, the rows gathered,
    without end when ``repeat``, prefetched."""
    load_keras()
    import tensorflow as tf

    xs, ys = _tensors(x, y)
    rows = tf.data.Dataset.range(len(x))
    if shuffle:
        rows = rows.shuffle(max(len(x), 1), seed=seed, reshuffle_each_iteration=True)
    gather = ((lambda i: tf.gather(xs, i)) if ys is None else (lambda i: (tf.gather(xs, i), tf.gather(ys, i))))
    batches = rows.batch(batch_size).map(gather, num_parallel_calls=PARALLEL, deterministic=True)
    fixed = tf.data.Options()
    fixed.autotune.enabled = False  # (see above: no iterator waits for a tuning thread)
    return (batches.repeat() if repeat else batches).prefetch(PREFETCH).with_options(fixed)


def feed(x_train: np.ndarray, y_train: np.ndarray | None, validation: tuple[np.ndarray, np.ndarray | None] | None,
         batch_size: int, *, shuffle: bool, seed: int | None) -> Feed:
    """The pipelines for these splits (``validation``: ``(x, y)`` or None)."""
    train = _pipeline(x_train, y_train, batch_size, shuffle=shuffle, seed=seed, repeat=True)
    val = None
    if validation is not None and len(validation[0]):
        val = _pipeline(*validation, batch_size, shuffle=False, seed=None, repeat=False)
    return Feed(train, max(math.ceil(len(x_train) / batch_size), 1), val)

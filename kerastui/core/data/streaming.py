"""Arrays fed to Keras batch by batch: ``tf.data`` over sample indices that reads each batch from the
(memory-mapped) array, so a 10 GB ``npy``/``npz`` is never copied whole into RAM.  Splits are index
arrays; scaling (pixel range, or the training split's mean and standard deviation, computed a slab
at a time) is applied per batch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.data.base import (
    Dataset,
    RawData,
    Streams,
    check_labels,
    encode_labels,
    plan_splits,
)
from kerastui.core.model.specs import DataSpec
from kerastui.core.tfenv import load_keras

TEST_SAMPLES = 256  # test samples kept as an array (predictions shown, saved models verified)
SLAB = 4096  # rows read at a time when computing statistics
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_SMALL = 128 * 1024  # glibc's starting threshold
MMAP_SETTLED = 32 * 1024 * 1024  # the ceiling glibc's own threshold rises to (64-bit): where a long run settles
SHUFFLE_BYTES = 64 * 1024 * 1024  # decoded samples a shuffle buffer may hold (a cache replayed from a file)


def _glibc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no C library to load
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


@contextlib.contextmanager
def memory_returned() -> Iterator[None]:
    """Around a Python loop over a streamed split (evaluation, predicting batch by batch): every block
    of 128 KiB or more (a batch of decoded images) goes back to the system when it is freed.

    glibc keeps freed batch buffers in per-thread heaps instead (its mmap threshold has risen to the
    batch size), so a pass over a large test split raised the run's peak RSS with the number of batches:
    20,000 64×64 JPEGs with a 20 % test split peaked 159–187 MB above 2,000 (measured, batch 64);
    with this, +8 to +24 MB (bench/image_folder.py and four more runs on the 2-core box).
    Training (Keras's own loop, as fast as plain Keras) is left alone; afterwards the threshold is fixed
    where glibc's own one settles.  glibc only; elsewhere it does nothing."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.malloc_trim(0)  # what training left free, back to the system first
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_SMALL)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_SETTLED)
        libc.malloc_trim(0)


def cache(ds: Any, file: Path | None) -> Any:
    """``ds.cache`` in ``file`` (its index and data files), else in memory.  A file cache is written during
    the first full pass and read by every later one, in this process or a resumed run's; a lock file left
    by a process that was killed mid-pass is removed (the run directory has one owner: its run's lock),
    where TensorFlow would refuse to start ("cache lockfile already exists")."""
    if file is None:
        return ds.cache()
    file.parent.mkdir(parents=True, exist_ok=True)
    for stale in file.parent.glob(f"{file.name}*.lockfile"):
        stale.unlink(missing_ok=True)
    return ds.cache(str(file))


def shuffle_buffer(count: int, sample_bytes: int) -> int:
    """Elements in a shuffle buffer of decoded samples: the whole split where it fits ``SHUFFLE_BYTES``,
    else as many as fit, at least 256 (a buffer of file paths or indices costs nothing: shuffle those)."""
    return max(1, min(count, max(256, SHUFFLE_BYTES // max(sample_bytes, 1))))


def prepare_array_streams(spec: DataSpec, raw: RawData, *, loss: str, image_size: tuple[int, int] | None = None,
                          rgb: bool = False, preprocess: Callable[..., Any] | None = None) -> Dataset:
    load_keras()
    import tensorflow as tf

    class_names = list(raw.class_names)
    mode = check_labels(spec, loss, raw.task, len(class_names))
    stratify = raw.task == "classification"
    y, yt, train, val, test = plan_splits(spec, raw.y_train, raw.y_test, len(class_names), stratify=stratify)
    test = np.sort(test)  # read in file order; the labels follow the same order
    if spec.classes:
        class_names = [class_names[c] for c in spec.classes]
    classes = len(class_names)
    x = raw.x_train
    xt = raw.x_test if raw.x_test is not None else x
    y_test_all = yt if yt is not None else y
    labels = encode_labels(np.maximum(y, 0), mode, classes)
    labels_t = labels if yt is None else encode_labels(np.maximum(yt, 0), mode, classes)

    feature_scale: tuple[np.ndarray, np.ndarray] | None = None
    if raw.kind == "image":
        pixel_max = float(raw.pixel_max or 255.0)

        def batch_arrays(a: np.ndarray) -> np.ndarray:
            a = np.asarray(a, dtype="float32")
            if a.ndim == 3:
                a = a[..., None]
            if rgb and a.shape[-1] == 1:
                a = np.repeat(a, 3, axis=-1)
            return a

        sample = batch_arrays(x[:1])
        size = tuple(image_size) if image_size is not None else tuple(sample.shape[1:3])
        shape: tuple[int, ...] = (*size, sample.shape[-1])

        def finish(t: Any) -> Any:
            if tuple(sample.shape[1:3]) != tuple(size):
                t = tf.image.resize(t, size)
            if preprocess is not None:
                return preprocess(t * (255.0 / pixel_max))
            return t / pixel_max if spec.normalize else t
    else:
        shape = tuple(int(d) for d in x.shape[1:])
        mean, std = (_mean_std(x, train) if spec.normalize
                     else (np.zeros(shape, "float32"), np.ones(shape, "float32")))
        if spec.normalize and raw.kind == "tabular":
            feature_scale = (mean, std)

        def batch_arrays(a: np.ndarray) -> np.ndarray:
            out: np.ndarray = ((np.asarray(a, dtype="float32") - mean) / std).astype("float32", copy=False)
            return out

        def finish(t: Any) -> Any:
            return t

    def make(split: str, batch_size: int, shuffle: bool) -> Any:
        index = {"train": train, "val": val, "test": test}[split]
        source, encoded = (xt, labels_t) if split == "test" else (x, labels)

        def gather(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            i = np.sort(i)  # a memory map reads sorted rows fastest; the batch's members stay random
            return batch_arrays(source[i]), encoded[i]

        def read(i: Any) -> tuple[Any, Any]:
            xb, yb = tf.numpy_function(gather, [i], (tf.float32, tf.as_dtype(encoded.dtype)), stateful=False)
            xb.set_shape((None, *(d for d in batch_arrays(source[:1]).shape[1:])))
            yb.set_shape((None, *encoded.shape[1:]))
            return finish(xb), yb

        ds = tf.data.Dataset.from_tensor_slices(index.astype("int64"))
        if shuffle:
            ds = ds.shuffle(max(len(index), 1), seed=spec.seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
        return ds.prefetch(tf.data.AUTOTUNE)

    first = test[:TEST_SAMPLES]
    x_test = np.asarray(finish(tf.constant(batch_arrays(xt[first]))) if len(first) else
                        np.zeros((0, *shape), "float32"), dtype="float32")
    counts = np.bincount(y[train], minlength=classes).tolist() if raw.task == "classification" else []
    streams = Streams(make=make, counts={"train": len(train), "val": len(val), "test": len(test)}, shape=shape,
                      array=x, class_counts=counts)
    return Dataset(
        source=spec.source, kind=raw.kind, task=raw.task,
        x_train=np.zeros((0, *shape), "float32"), y_train=labels[train],
        x_val=None, y_val=labels[val] if len(val) else None,
        x_test=x_test, y_test=labels_t[test], labels_test=np.asarray(y_test_all[test]),
        class_names=class_names, label_mode=mode, load_seconds=raw.load_seconds,
        feature_names=list(raw.feature_names), feature_scale=feature_scale, stream=streams,
    )


def _mean_std(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-position mean and standard deviation of ``x[rows]``, read a slab at a time (float64 sums)."""
    rows = np.sort(rows)
    total = np.zeros(x.shape[1:], "float64")
    squares = np.zeros(x.shape[1:], "float64")
    for start in range(0, len(rows), SLAB):
        part = np.asarray(x[rows[start:start + SLAB]], dtype="float64")
        total += part.sum(axis=0)
        squares += (part * part).sum(axis=0)
    n = max(len(rows), 1)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean * mean, 0.0))
    std[std == 0] = 1.0
    return mean.astype("float32"), std.astype("float32")

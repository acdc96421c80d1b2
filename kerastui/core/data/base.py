"""What every source shares, below the loaders: the prepared :class:`Dataset` and its parts
(:class:`RawData`, :class:`Streams`, :class:`DataInfo`, :class:`Preview`), label modes and their
encoding, and the seeded, stratified split plans.

``datasets`` (arrays in memory) and the streamed sources (``streaming``, ``imagefolder``,
``tfds_source``) all build on this module; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from kerastui.core.errors import DatasetError
from kerastui.core.model.specs import DataSpec


@dataclass
class RawData:
    """Arrays as the source gives them (images keep their pixel scale)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    kind: str  # "image" | "tabular" | "sequence"
    task: str  # "classification" | "regression"
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    pixel_max: float | None = None  # the value that maps to 1.0 when images are normalised
    load_seconds: float = 0.0


@dataclass
class Streams:
    """A source fed to Keras as ``tf.data`` pipelines rather than arrays held in memory."""

    # (split, batch_size, shuffle) → a batched, prefetched tf.data.Dataset of (inputs, encoded labels);
    # split is "train", "val" or "test".
    make: Callable[[str, int, bool], Any]
    counts: dict[str, int]  # samples per split: train, val, test
    shape: tuple[int, ...]  # one sample as the model gets it
    array: np.ndarray | None = None  # the memory-mapped source array the pipelines read, if any
    class_counts: list[int] = field(default_factory=list)  # training samples per class, when known
    # Where data.cache = "file" writes (``cache_dir/data-cache/SPLIT``): the run directory, which the trainer
    # sets once it exists; read when a pipeline is made.  None: the cache is kept in memory.
    cache_dir: Path | None = None


DATA_CACHE = "data-cache"  # the folder of a cache_dir where data.cache = "file" writes, one file prefix per split


@dataclass
class Dataset:
    """Prepared splits, ready for ``model.fit`` (arrays, or :class:`Streams` for large sources:
    then ``x_train``/``x_val`` are empty, ``x_test`` holds the first test samples only, and the
    labels are the whole splits' where the source knows them)."""

    source: str
    kind: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray  # integer labels (classification) or targets (regression)
    class_names: list[str]
    label_mode: str  # "categorical" | "sparse" | "binary" | "regression"
    load_seconds: float
    feature_names: list[str] = field(default_factory=list)
    # (mean, std) of the training features when normalised: a typed row is scaled the same way.
    feature_scale: tuple[np.ndarray, np.ndarray] | None = None
    stream: Streams | None = None
    # Files the source's scan left out: a damaged file by its name alone, any other with why in
    # parentheses ("dark/huge.png (20000×20000 = … pixels; data.max_image_pixels is …)").
    corrupt: list[str] = field(default_factory=list)

    def scale_row(self, values: ArrayLike) -> np.ndarray:
        """One tabular sample as the user wrote it → the model's input (normalised like training)."""
        row = np.asarray(values, dtype="float32").reshape(1, -1)
        if row.shape[1] != int(np.prod(self.input_shape)):
            names = f" ({', '.join(self.feature_names)})" if self.feature_names else ""
            raise DatasetError(f"a row of {self.source} has {int(np.prod(self.input_shape))} values{names}, "
                               f"got {row.shape[1]}")
        if self.feature_scale is not None:
            mean, std = self.feature_scale
            row = (row - mean.reshape(1, -1)) / std.reshape(1, -1)
        return row.reshape(1, *self.input_shape).astype("float32")

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.stream is not None:
            return tuple(self.stream.shape)
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def train_count(self) -> int:
        return self.stream.counts["train"] if self.stream is not None else len(self.x_train)

    @property
    def val_count(self) -> int:
        if self.stream is not None:
            return self.stream.counts["val"]
        return len(self.x_val) if self.x_val is not None else 0

    @property
    def test_count(self) -> int:
        return self.stream.counts["test"] if self.stream is not None else len(self.x_test)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def validation_data(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        return (self.x_val, self.y_val) if self.x_val is not None and len(self.x_val) else None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source, "kind": self.kind, "task": self.task,
            "input_shape": list(self.input_shape), "train": self.train_count,
            "val": self.val_count, "test": self.test_count,
            "dtype": str(self.x_train.dtype), "label_mode": self.label_mode,
            "load_seconds": round(self.load_seconds, 3),
        }
        if self.stream is not None:
            out["streamed"] = True
        if self.corrupt:
            out["corrupt"] = list(self.corrupt)
        if self.task == "classification":
            out["classes"] = self.num_classes
            out["class_names"] = list(self.class_names)
        return out


@dataclass(frozen=True)
class DataInfo:
    """What a source will give, known without loading it where possible."""

    kind: str
    task: str
    shape: tuple[int, ...]  # per-sample shape, before the channel axis and resize
    num_classes: int
    offline: bool  # True when loading needs no network right now
    note: str = ""


@dataclass
class Preview:
    """What the Data workspace shows: the prepared splits' summary and a few raw samples."""

    summary: dict[str, Any]
    class_counts: list[int]
    samples: np.ndarray  # raw samples: images in 0..1 (H, W, C) or tabular rows
    sample_labels: list[str]
    feature_names: list[str]


def batch_labels(mode: str, classes: int) -> Callable[[Any, Any], tuple[Any, Any]]:
    """A tf.data map over batches of (inputs, integer labels) giving the labels as the loss takes them:
    one-hot (``categorical``), a float column (``binary``), or as they are (``sparse``)."""
    import tensorflow as tf

    def encode(x: Any, y: Any) -> tuple[Any, Any]:
        if mode == "categorical":
            return x, tf.one_hot(y, classes)
        if mode == "binary":
            return x, tf.cast(tf.reshape(y, (-1, 1)), tf.float32)
        return x, y

    return encode


def label_mode_for(loss: str, task: str, one_hot: bool | None) -> str:
    if task == "regression":
        return "regression"
    if one_hot is True:
        return "categorical"
    if one_hot is False:
        return "sparse"
    name = loss.lower().replace("_", "")
    if "sparse" in name:
        return "sparse"
    if name.startswith("binary") or name in ("hinge", "squaredhinge"):
        return "binary"
    if "categorical" in name or name in ("kldivergence", "kld", "poisson", "categoricalhinge"):
        return "categorical"
    if name in ("mse", "mae", "meansquarederror", "meanabsoluteerror", "huber", "logcosh"):
        return "categorical"
    return "sparse"


def check_labels(spec: DataSpec, loss: str, task: str, total: int) -> str:
    """The label mode for ``loss``, after checking ``data.classes`` against the source's ``total``
    classes and a binary loss against the classes kept; shared by ``prepare`` and ``kerastui check``."""
    if spec.classes:
        if task != "classification":
            raise DatasetError(f"data.classes: {spec.source} is a regression source")
        bad = [c for c in spec.classes if not 0 <= c < total]
        if bad:
            raise DatasetError(f"data.classes: {bad} out of range; {spec.source} has classes 0..{total - 1}")
    mode = label_mode_for(loss, task, spec.one_hot)
    kept = len(spec.classes) if spec.classes else total
    if mode == "binary" and kept > 2:
        raise DatasetError(f"compile.loss {loss!r} is binary but {spec.source} has {kept} classes; "
                           "use categorical_crossentropy or sparse_categorical_crossentropy")
    return mode


def encode_labels(y: np.ndarray, mode: str, classes: int) -> np.ndarray:
    """Integer labels (targets, for regression) → what the model is trained on in ``mode``: one-hot
    float32 rows (categorical), a float32 column (binary), float32 (regression) or int64 (sparse)."""
    if mode == "categorical":
        out = np.zeros((len(y), classes), dtype="float32")  # not np.eye(classes): classes² floats
        out[np.arange(len(y)), y] = 1.0
        return out
    if mode == "binary":
        return y.astype("float32").reshape(-1, 1)
    if mode == "regression":
        return y.astype("float32")
    return y.astype("int64")


# Arrays larger than this are streamed from their memory map rather than copied into splits.
STREAM_BYTES = 512 * 2**20


# Sources that never come with a test split of their own (known without loading them).
NO_TEST_SPLIT = ("synthetic:", "sklearn:")


def require_test_split(spec: DataSpec) -> None:
    """A source without a test split of its own is split by data.test_split, which must then be > 0."""
    if spec.test_split <= 0:
        raise DatasetError(f"data.test_split: {spec.source} has no test split of its own, so test_split must be > 0")


def plan_splits(spec: DataSpec, y: np.ndarray, yt: np.ndarray | None, total: int, *, stratify: bool,
                val_given: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Index-level splits (of samples, or files): ``(y, yt, train, val, test)`` with the labels renumbered
    for data.classes (-1: left out), train/val indices into ``y`` and test indices into ``yt`` (or ``y``
    when the source has no test split).  Deterministic by data.seed, stratified by class."""
    rng = np.random.default_rng(spec.seed)
    train = np.arange(len(y))
    test = np.arange(len(yt)) if yt is not None else np.zeros(0, "int64")
    if spec.classes:
        lut = np.full(max(total, 1), -1, dtype="int64")
        lut[spec.classes] = np.arange(len(spec.classes))
        y = lut[y]
        train = np.flatnonzero(y >= 0)
        if yt is not None:
            yt = lut[yt]
            test = np.flatnonzero(yt >= 0)
        if len(train) == 0:
            raise DatasetError(f"data.classes: {spec.classes} keeps no sample of {spec.source}")
    if yt is None:
        require_test_split(spec)
        first, second = split_indices(y[train], spec.test_split, rng, stratify)
        train, test = train[first], train[second]
        if len(train) == 0 or len(test) == 0:
            raise DatasetError(f"data.test_split: {len(first) + len(second):,} sample(s) of {spec.source} leave "
                               f"{'no test' if len(test) == 0 else 'no training'} sample (test_split = "
                               f"{spec.test_split}); use more samples")
    if spec.limit:
        train = train[take_indices(y[train], spec.limit, rng, stratify)]
        test_labels = yt if yt is not None else y
        test = test[take_indices(test_labels[test], max(spec.limit // 4, 1), rng, stratify)]
    val = np.zeros(0, "int64")
    if not val_given and spec.validation_split > 0 and len(train) >= 4:
        first, second = split_indices(y[train], spec.validation_split, rng, stratify)
        train, val = train[first], train[second]
    else:
        train = train[rng.permutation(len(train))]
    return y, yt, train, val, test


def split_indices(y: np.ndarray, fraction: float, rng: np.random.Generator,
                  stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices (first, second) with ``fraction`` of the samples in the second, per class if stratified."""
    n = len(y)
    if not stratify:
        order = rng.permutation(n)
        cut = max(1, int(round(n * fraction)))
        if n >= 2:
            cut = min(cut, n - 1)  # both sides keep a sample
        return order[cut:], order[:cut]
    if n == 0:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    first, second = [], []
    # Each class's indices in ascending order, from one stable sort (not one scan per class).
    order = np.argsort(y, kind="stable")
    _, counts = np.unique(y[order], return_counts=True)
    for idx in np.split(order, np.cumsum(counts)[:-1]):
        idx = rng.permutation(idx)
        cut = int(round(len(idx) * fraction))
        if len(idx) > 1:
            cut = min(max(cut, 1), len(idx) - 1)
        second.append(idx[:cut])
        first.append(idx[cut:])
    a, b = np.concatenate(first), np.concatenate(second)
    return rng.permutation(a), rng.permutation(b)


def take_indices(y: np.ndarray, count: int, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """``count`` indices into ``y`` (all of them when there are no more), in random order, per class if stratified."""
    if count >= len(y):
        return rng.permutation(len(y))
    if not stratify:
        return rng.permutation(len(y))[:count]
    _, second = split_indices(y, count / len(y), rng, True)
    return second[:count]

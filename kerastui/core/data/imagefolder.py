"""Image folders (``images:DIR``): a scan that decodes no pixel, and a ``tf.data`` pipeline.

The scan lists the class sub-folders (the labels), the files of each, and ``test/`` and
``validation/`` (or ``val/``) sub-folders holding the same class folders when present; it checks
each file's header and end marker, so truncated or non-image files are counted and named before
training, not met mid-epoch.  The pipeline takes Keras's own steps
(``keras.utils.image_dataset_from_directory``): read and decode files in parallel, resize, batch,
prefetch; optionally cache the decoded images in memory or a file (``data.cache = "file"``: the run
directory's ``data-cache/`` — kept after the run, so ``kerastui resume`` reads it instead of decoding
again; delete it to reclaim the space; in memory when there is no run directory).  File paths are
shuffled before decoding (a buffer of paths costs nothing); a cache replays one order, so then the
decoded images are shuffled in a buffer bounded in bytes.  Splits are made at file level,
deterministic by ``data.seed``.  A small folder is decoded once into arrays through the same
pipeline; a large one (or ``data.stream = true``) is streamed.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.data.base import (
    STREAM_BYTES,
    Dataset,
    Preview,
    Streams,
    batch_labels,
    check_labels,
    encode_labels,
    plan_splits,
)
from kerastui.core.data.streaming import cache as cache_in
from kerastui.core.data.streaming import shuffle_buffer
from kerastui.core.errors import DatasetError
from kerastui.core.model.specs import DataSpec
from kerastui.core.tfenv import load_keras

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TRAIN_FOLDERS = ("train",)
TEST_FOLDERS = ("test",)
VALIDATION_FOLDERS = ("validation", "val")
HEAD_BYTES = 16384  # read at once by the header check (a whole small JPEG)
TEST_SAMPLES = 256  # test images kept decoded as an array when streaming (shown, verify a saved model)


@dataclass
class FolderScan:
    root: Path
    classes: list[str]
    # "train" (the pool the splits come from), and "val"/"test" where sub-folders give them:
    # (path, class index) per file, in sorted order.
    splits: dict[str, list[tuple[str, int]]]
    corrupt: list[str] = field(default_factory=list)  # relative to root
    seconds: float = 0.0

    def counts(self, split: str = "train") -> list[int]:
        out = [0] * len(self.classes)
        for _, label in self.splits.get(split, []):
            out[label] += 1
        return out

    @property
    def total(self) -> int:
        return sum(len(files) for files in self.splits.values())

    def first_image(self) -> str | None:
        for files in self.splits.values():
            if files:
                return files[0][0]
        return None


_SCANS: dict[tuple[Any, ...], FolderScan] = {}


def scan_folder(root: Path) -> FolderScan:
    """Classes, files per split and corrupt files of an image folder; no image is decoded.

    Cached while the folder and its class folders keep their modification times."""
    if not root.exists():
        raise DatasetError(f"images:{root}: directory not found")
    if not root.is_dir():
        raise DatasetError(f"images:{root}: not a directory (expected one sub-folder of images per class)")
    start = time.perf_counter()
    try:
        subfolders = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError as error:
        raise DatasetError(f"images:{root}: cannot list the folder ({error.strerror})") from None
    train_dir = next((root / n for n in TRAIN_FOLDERS if n in subfolders), root)
    test_dir = next((root / n for n in TEST_FOLDERS if n in subfolders), None)
    val_dir = next((root / n for n in VALIDATION_FOLDERS if n in subfolders), None)
    special = {*TRAIN_FOLDERS, *TEST_FOLDERS, *VALIDATION_FOLDERS}
    classes = (sorted(e.name for e in os.scandir(train_dir) if e.is_dir() and not e.name.startswith("."))
               if train_dir != root else [n for n in subfolders if n not in special])
    key = (str(root), *(_mtime(d) for d in (root, train_dir, test_dir, val_dir) if d is not None),
           *(_mtime(train_dir / c) for c in classes))
    if key in _SCANS:
        return _SCANS[key]
    if len(classes) < 2:
        raise DatasetError(f"images:{root}: needs at least two class sub-folders, found {len(classes)}")
    corrupt: list[str] = []
    splits: dict[str, list[tuple[str, int]]] = {}
    listed: list[tuple[str, list[tuple[str, int]]]] = []
    for split, folder in (("train", train_dir), ("val", val_dir), ("test", test_dir)):
        if folder is None:
            continue
        if folder != train_dir:
            extra = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
                           and e.name not in classes)
            if extra:
                raise DatasetError(f"images:{folder}: class folder {extra[0]!r} is not one of the training "
                                   f"classes ({', '.join(classes)})")
        files: list[tuple[str, int]] = []
        for label, name in enumerate(classes):
            class_dir = folder / name
            if not class_dir.is_dir():
                continue
            try:
                entries = sorted(e.name for e in os.scandir(class_dir) if e.is_file())
            except OSError as error:
                raise DatasetError(f"images:{class_dir}: cannot list the folder ({error.strerror})") from None
            files += [(os.path.join(class_dir, entry), label) for entry in entries
                      if os.path.splitext(entry)[1].lower() in IMAGE_SUFFIXES]
        listed.append((split, files))
    valid = {path: looks_like_image(path) for _, files in listed for path, _ in files}
    for split, files in listed:
        splits[split] = [(path, label) for path, label in files if valid[path]]
        corrupt += [os.path.relpath(path, root) for path, _ in files if not valid[path]]
    if len(splits["train"]) < 2:
        raise DatasetError(f"images:{root}: found {len(splits['train'])} readable images "
                           f"({', '.join(IMAGE_SUFFIXES)})")
    found = FolderScan(root, classes, splits, corrupt, time.perf_counter() - start)
    _SCANS[key] = found
    return found


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def looks_like_image(path: str) -> bool:
    """A JPEG, PNG, GIF or BMP header and, for the first three, the format's end marker: a file cut
    short, empty, or not an image at all is caught without decoding it."""
    try:
        with open(path, "rb", buffering=0) as handle:
            head = handle.read(HEAD_BYTES)  # a small image whole, in one system call
            size = len(head)
            if size == HEAD_BYTES:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - 32))
                tail = handle.read()
            else:
                tail = head[-32:]
    except OSError:
        return False
    if head[:3] == b"\xff\xd8\xff":
        return b"\xff\xd9" in tail
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" in tail
    if head[:4] == b"GIF8":
        return b";" in tail[-4:]
    if head[:2] == b"BM":
        return size > 26
    return False


def image_size_of(path: str) -> tuple[int, int]:
    """(height, width) from the file's header (Pillow reads no pixels), else by decoding it."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
            return int(height), int(width)
    except ImportError:  # pragma: no cover - Pillow comes with Keras's image utilities
        pass
    except Exception:  # noqa: BLE001
        raise DatasetError(f"images:{path}: not a readable image") from None
    load_keras()
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return int(image.shape[0]), int(image.shape[1])


def target_size(spec: DataSpec, found: FolderScan) -> tuple[int, int]:
    """data.resize, else the first image's size (every image is resized to it)."""
    if spec.resize:
        return int(spec.resize[0]), int(spec.resize[1])
    first = found.first_image()
    assert first is not None  # scan_folder refuses a folder without images
    return image_size_of(first)


def load_samples(paths: list[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """A few images for showing, decoded with Pillow, in 0..1 (N × H × W × 3) at the first one's size."""
    from PIL import Image

    out = []
    for path in paths:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            if size is None:
                size = (rgb.size[1], rgb.size[0])
            if (rgb.size[1], rgb.size[0]) != size:
                rgb = rgb.resize((size[1], size[0]))
            out.append(np.asarray(rgb, dtype="float32") / 255.0)
    return np.stack(out) if out else np.zeros((0, 1, 1, 3), "float32")


def image_pipeline(paths: list[str], labels: np.ndarray, size: tuple[int, int], scale: Callable[[Any], Any], *,
                   shuffle: bool, seed: int, cache: str | None = None, cache_file: Path | None = None) -> Any:
    """Unbatched ``(image, label)`` pairs: parallel read + decode + resize + scale; a file that fails to
    decode is skipped (the scan has named the ones it could tell)."""
    load_keras()
    import tensorflow as tf

    height, width = size

    def load(path: Any, label: Any) -> tuple[Any, Any]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, (height, width))
        image.set_shape((height, width, 3))
        return scale(image), label

    ds = tf.data.Dataset.from_tensor_slices((np.asarray(paths, dtype=object).astype(str), labels))
    if shuffle and cache is None:
        ds = ds.shuffle(max(len(paths), 1), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
    ds = ds.ignore_errors()
    if cache is not None:
        ds = cache_in(ds, cache_file if cache == "file" else None)
        if shuffle:  # the cache replays one order: shuffle the decoded images, a buffer bounded in bytes
            ds = ds.shuffle(shuffle_buffer(len(paths), height * width * 3 * 4), seed=seed,
                            reshuffle_each_iteration=True)
    return ds


def prepare_folder(spec: DataSpec, root: Path, *, loss: str, image_size: tuple[int, int] | None = None,
                   rgb: bool = False, preprocess: Callable[..., Any] | None = None,
                   cache_dir: Path | None = None) -> Dataset:
    """File-level splits of the folder → arrays (small folders) or :class:`Streams` (large ones)."""
    start = time.perf_counter()
    found = scan_folder(root)
    class_names = list(found.classes)
    mode = check_labels(spec, loss, "classification", len(class_names))
    pool = found.splits["train"]
    files = [p for p, _ in pool]
    y = np.array([label for _, label in pool], dtype="int64")
    given_test = found.splits.get("test")
    given_val = found.splits.get("val")
    yt = np.array([label for _, label in given_test], dtype="int64") if given_test is not None else None
    y, yt, train, val, test = plan_splits(spec, y, yt, len(class_names), stratify=True,
                                          val_given=given_val is not None)
    train_files = [files[i] for i in train]
    train_labels = y[train]
    if given_val is not None:
        val_files, val_labels = _given(given_val, spec, len(class_names))
    else:
        val_files, val_labels = [files[i] for i in val], y[val]
    if given_test is not None and yt is not None:
        test = np.sort(test)
        test_files, test_labels = [given_test[i][0] for i in test], yt[test]
    else:
        test_files, test_labels = [files[i] for i in test], y[test]
    if spec.classes:
        class_names = [class_names[c] for c in spec.classes]
    classes = len(class_names)
    size = tuple(image_size) if image_size is not None else target_size(spec, found)
    height, width = int(size[0]), int(size[1])

    def scale(image: Any) -> Any:
        if preprocess is not None:  # an application base expects 0..255 pixels
            return preprocess(image)
        return image / 255.0 if spec.normalize else image

    splits = {"train": (train_files, train_labels), "val": (val_files, val_labels), "test": (test_files, test_labels)}
    total = sum(len(f) for f, _ in splits.values())
    stream = spec.stream if spec.stream is not None else total * height * width * 3 * 4 > STREAM_BYTES
    if spec.cache is not None and not stream:
        stream = True  # a cache belongs to a pipeline
    shape = (height, width, 3)

    def pairs(split: str, shuffle: bool, cache: str | None = None) -> Any:
        paths, labels = splits[split]
        where = streams.cache_dir if stream else None
        cache_file = (where / "data-cache" / split) if where is not None else None
        return image_pipeline(paths, labels, (height, width), scale, shuffle=shuffle, seed=spec.seed,
                              cache=cache, cache_file=cache_file)

    def make(split: str, batch_size: int, shuffle: bool) -> Any:
        import tensorflow as tf

        batches = pairs(split, shuffle, spec.cache).batch(batch_size)
        return batches.map(batch_labels(mode, classes)).prefetch(tf.data.AUTOTUNE)

    def decoded(split: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        ds = pairs(split, False).batch(256)
        if limit is not None:
            ds = ds.take(math.ceil(limit / 256))
        xs, ys = [], []
        for images, labels in ds.as_numpy_iterator():
            xs.append(images)
            ys.append(labels)
        if not xs:
            return np.zeros((0, *shape), "float32"), np.zeros(0, "int64")
        x, labels_out = np.concatenate(xs).astype("float32", copy=False), np.concatenate(ys).astype("int64")
        return (x[:limit], labels_out[:limit]) if limit is not None else (x, labels_out)

    if not stream:
        x, y_tr = decoded("train")
        xv, y_v = decoded("val") if len(val_files) else (None, None)
        xt, y_t = decoded("test")
        return Dataset(
            source=spec.source, kind="image", task="classification",
            x_train=x, y_train=encode_labels(y_tr, mode, classes),
            x_val=xv, y_val=None if y_v is None else encode_labels(y_v, mode, classes),
            x_test=xt, y_test=encode_labels(y_t, mode, classes), labels_test=y_t,
            class_names=class_names, label_mode=mode, load_seconds=time.perf_counter() - start,
            corrupt=list(found.corrupt),
        )
    streams = Streams(make=make, counts={"train": len(train_files), "val": len(val_files), "test": len(test_files)},
                      shape=shape, class_counts=np.bincount(train_labels, minlength=classes).tolist(),
                      cache_dir=cache_dir)
    x_test, _ = decoded("test", TEST_SAMPLES)  # (read past any cache: a part read would be thrown away)
    return Dataset(
        source=spec.source, kind="image", task="classification",
        x_train=np.zeros((0, *shape), "float32"), y_train=encode_labels(train_labels, mode, classes),
        x_val=None, y_val=encode_labels(val_labels, mode, classes) if len(val_files) else None,
        x_test=x_test, y_test=encode_labels(test_labels, mode, classes), labels_test=np.asarray(test_labels),
        class_names=class_names, label_mode=mode, load_seconds=time.perf_counter() - start,
        stream=streams, corrupt=list(found.corrupt),
    )


def _given(files: list[tuple[str, int]], spec: DataSpec, total: int) -> tuple[list[str], np.ndarray]:
    """A validation/ sub-folder's files, renumbered for data.classes."""
    labels = np.array([label for _, label in files], dtype="int64")
    paths = [p for p, _ in files]
    if spec.classes:
        lut = np.full(max(total, 1), -1, dtype="int64")
        lut[spec.classes] = np.arange(len(spec.classes))
        labels = lut[labels]
        keep = labels >= 0
        paths = [p for p, k in zip(paths, keep, strict=True) if k]
        labels = labels[keep]
    return paths, labels


def preview_folder(spec: DataSpec, root: Path, *, loss: str, count: int = 8) -> Preview:
    """The dataset card from a scan: counts per split and class, corrupt files, the input shape, and
    ``count`` samples decoded with Pillow (TensorFlow is not loaded)."""
    start = time.perf_counter()
    found = scan_folder(root)
    class_names = list(found.classes)
    mode = check_labels(spec, loss, "classification", len(class_names))
    y = np.array([label for _, label in found.splits["train"]], dtype="int64")
    given_test, given_val = found.splits.get("test"), found.splits.get("val")
    yt = np.array([label for _, label in given_test], dtype="int64") if given_test is not None else None
    y, _, train, val, test = plan_splits(spec, y, yt, len(class_names), stratify=True,
                                         val_given=given_val is not None)
    val_count = len(_given(given_val, spec, len(class_names))[0]) if given_val is not None else len(val)
    if spec.classes:
        class_names = [class_names[c] for c in spec.classes]
    size = target_size(spec, found)
    rng = np.random.default_rng(spec.seed)
    shown = np.sort(rng.choice(train, size=min(count, len(train)), replace=False))
    pool = found.splits["train"]
    samples = load_samples([pool[i][0] for i in shown], size)
    summary: dict[str, Any] = {
        "source": spec.source, "kind": "image", "task": "classification", "input_shape": [*size, 3],
        "train": int(len(train)), "val": int(val_count), "test": int(len(test)), "dtype": "float32",
        "label_mode": mode, "load_seconds": round(found.seconds, 3), "classes": len(class_names),
        "class_names": class_names, "dtype_raw": "uint8 (files)", "files": found.total,
    }
    if found.corrupt:
        summary["corrupt"] = list(found.corrupt)
    summary["total_seconds"] = round(time.perf_counter() - start, 3)
    counts = np.bincount(y[train], minlength=len(class_names)).tolist()
    return Preview(summary, counts, samples, [class_names[int(y[i])] for i in shown], [])

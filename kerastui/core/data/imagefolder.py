"""Image folders (``images:DIR``): a scan that decodes no pixel, and a ``tf.data`` pipeline.

The scan lists the class sub-folders (the labels), the files of each, and ``test/`` and
``validation/`` (or ``val/``) sub-folders holding the same class folders when present; it checks
each file's header and end marker, so truncated or non-image files are counted and named before
training, not met mid-epoch.  A folder is data from a stranger: an image whose header gives more
than ``data.max_image_pixels`` pixels (a decompression bomb: 14 MB on disk, gigabytes decoded) is
left out unopened by the decoder, and so is what is no regular file — a symbolic link in a loop or
to nothing, a FIFO (opening one waits for a writer), a device, a link into /proc — each named with
why; the rest of its class loads.  The pipeline takes Keras's own steps
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

import contextlib
import errno
import math
import os
import stat
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.data.base import (
    DATA_CACHE,
    STREAM_BYTES,
    Dataset,
    Preview,
    Streams,
    batch_labels,
    check_labels,
    encode_labels,
    plan_splits,
)
from kerastui.core.data.sources import check_data_path, pseudo_root, special_file
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


def scan_folder(root: Path, max_pixels: int = DataSpec.max_image_pixels) -> FolderScan:
    """Classes, files per split and the files left out of an image folder; no image is decoded.

    Left out, each named in ``corrupt``: a file cut short or not an image (by name alone), an image
    whose header gives more than ``max_pixels`` pixels, and what is no regular file — a symbolic link
    to nothing or in a loop, a FIFO, a device, a socket, a link into /proc or /sys (never opened)
    — each with why.  Cached while the folder and its class folders keep their modification times."""
    check_data_path("images", root, "directory")
    if not root.is_dir():
        raise DatasetError(f"images:{root}: not a directory (expected one sub-folder of images per class)")
    start = time.perf_counter()
    subfolders = _subfolders(root)
    train_dir = next((root / n for n in TRAIN_FOLDERS if n in subfolders), root)
    test_dir = next((root / n for n in TEST_FOLDERS if n in subfolders), None)
    val_dir = next((root / n for n in VALIDATION_FOLDERS if n in subfolders), None)
    special = {*TRAIN_FOLDERS, *TEST_FOLDERS, *VALIDATION_FOLDERS}
    classes = _subfolders(train_dir) if train_dir != root else [n for n in subfolders if n not in special]
    key = (str(root), max_pixels, *(_mtime(d) for d in (root, train_dir, test_dir, val_dir) if d is not None),
           *(_mtime(train_dir / c) for c in classes))
    if key in _SCANS:
        return _SCANS[key]
    if len(classes) < 2:
        raise DatasetError(f"images:{root}: needs at least two class sub-folders, found {len(classes)}")
    # (path, class index, why it is left out: None for a regular file, whose header is checked next)
    listed: list[tuple[str, list[tuple[str, int, str | None]]]] = []
    for split, folder in (("train", train_dir), ("val", val_dir), ("test", test_dir)):
        if folder is None:
            continue
        if folder != train_dir:
            extra = [n for n in _subfolders(folder) if n not in classes]
            if extra:
                raise DatasetError(f"images:{folder}: class folder {extra[0]!r} is not one of the training "
                                   f"classes ({', '.join(classes)})")
        files: list[tuple[str, int, str | None]] = []
        for label, name in enumerate(classes):
            class_dir = folder / name
            if class_dir.is_dir():
                check_data_path("images", class_dir, "directory")  # a class folder linked into /proc
                files += [(path, label, why) for path, why in _image_files(class_dir)]
        listed.append((split, files))
    why = {path: reason if reason is not None else image_problem(path, max_pixels)
           for _, files in listed for path, _, reason in files}
    splits: dict[str, list[tuple[str, int]]] = {}
    corrupt: list[str] = []
    for split, files in listed:
        splits[split] = [(path, label) for path, label, _ in files if why[path] is None]
        for path, _, _ in files:
            reason = why[path]
            if reason is not None:
                relative = os.path.relpath(path, root)
                corrupt.append(relative if reason == DAMAGED else f"{relative} ({reason})")
    if len(splits["train"]) < 2:
        raise DatasetError(f"images:{root}: found {len(splits['train'])} readable images "
                           f"({', '.join(IMAGE_SUFFIXES)})")
    found = FolderScan(root, classes, splits, corrupt, time.perf_counter() - start)
    _SCANS[key] = found
    return found


def _subfolders(folder: Path) -> list[str]:
    """The sub-folders of ``folder`` (sorted, hidden ones left out); a symbolic link in a loop is none."""

    def is_dir(entry: os.DirEntry[str]) -> bool:
        try:
            return entry.is_dir()
        except OSError:
            return False

    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and is_dir(e))
    except OSError as error:
        raise DatasetError(f"images:{folder}: cannot list the folder ({error.strerror})") from None


def _image_files(folder: Path) -> list[tuple[str, str | None]]:
    """The files of a class folder named like images, sorted, each with why it is no regular file (None
    when it is one): nothing here opens a file, and a FIFO is never opened (that would wait for a writer)."""
    out: list[tuple[str, str | None]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if os.path.splitext(entry.name)[1].lower() not in IMAGE_SUFFIXES:
                    continue
                if entry.is_file(follow_symlinks=False):  # the file type from the listing: no system call
                    out.append((entry.path, None))
                    continue
                try:
                    mode = entry.stat().st_mode
                except OSError as error:
                    out.append((entry.path, _link_error(error)))
                    continue
                if stat.S_ISDIR(mode):
                    continue  # a folder named like an image is no file of this class
                kind = special_file(mode)
                top = pseudo_root(entry.path) if kind is None and entry.is_symlink() else None
                link = "a symbolic link to " if entry.is_symlink() else ""
                out.append((entry.path, f"{link}{kind}" if kind is not None
                            else f"a symbolic link into {top}" if top is not None else None))
    except OSError as error:
        raise DatasetError(f"images:{folder}: cannot list the folder ({error.strerror})") from None
    return sorted(out)


def _link_error(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link loop"
    if error.errno == errno.ENOENT:
        return "a symbolic link to nothing"
    return f"cannot open: {error.strerror}"


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


DAMAGED = "cut short, empty or not an image"  # named without a reason: "unreadable" says it
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers (they carry the size): C0-CF but for DHT (C4), JPG (C8) and DAC (CC).
JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_SEGMENTS = 4096  # markers walked before giving up on finding the frame header


def image_problem(path: str, max_pixels: int) -> str | None:
    """Why the file at ``path`` is left out, or None when it is a whole image of at most ``max_pixels``
    pixels: a JPEG, PNG, GIF or BMP header, its size, and for the first three the format's end marker;
    :data:`DAMAGED` for a file cut short, empty or not an image.  A few bytes are read, no pixel."""
    try:
        with _open_regular(path) as fd:
            head = os.read(fd, HEAD_BYTES)  # a small image whole, in one system call
            size = len(head)
            if size == HEAD_BYTES:
                size = os.fstat(fd).st_size
                tail = os.pread(fd, 32, max(0, size - 32))
            else:
                tail = head[-32:]
            dimensions = header_size(head, fd)
    except NotRegular as error:
        return str(error)
    except OSError:
        return DAMAGED
    if dimensions is None or 0 in dimensions:
        return DAMAGED
    width, height = dimensions
    if width * height > max_pixels:
        return f"{width}×{height} = {width * height:,} pixels; data.max_image_pixels is {max_pixels:,}"
    if head[:3] == JPEG_MAGIC:
        return None if b"\xff\xd9" in tail else DAMAGED
    if head[:8] == PNG_MAGIC:
        return None if b"IEND" in tail else DAMAGED
    if head[:4] == b"GIF8":
        return None if b";" in tail[-4:] else DAMAGED
    return None if size > 26 else DAMAGED  # BMP: the header is all there is to check


class NotRegular(OSError):
    """The path is no regular file (the message says what it is)."""


@contextlib.contextmanager
def _open_regular(path: str) -> Iterator[int]:
    """A file descriptor on ``path`` opened without waiting (a FIFO swapped in after the scan listed a
    file does not block) and checked to be a regular file before anything is read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(special_file(mode) or "a folder")
        yield fd
    finally:
        os.close(fd)


def header_size(head: bytes, fd: int | None = None) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG (IHDR), GIF (logical screen), BMP (info header) or
    JPEG (frame header; ``fd`` reads on past ``head`` when metadata comes first); None when ``head`` is
    none of these or holds no size."""
    if head[:8] == PNG_MAGIC:
        if len(head) < 24 or head[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if head[:4] == b"GIF8":
        if len(head) < 10:
            return None
        width, height = struct.unpack("<HH", head[6:10])
        return int(width), int(height)
    if head[:2] == b"BM":
        if len(head) < 26:
            return None
        if int.from_bytes(head[14:18], "little") == 12:  # the OS/2 core header: 16-bit sizes
            width, height = struct.unpack("<HH", head[18:22])
        else:  # a negative height is a top-down bitmap
            width, height = struct.unpack("<ii", head[18:26])
        return abs(int(width)), abs(int(height))
    if head[:3] == JPEG_MAGIC:
        return _jpeg_size(head, fd)
    return None


def _jpeg_size(head: bytes, fd: int | None) -> tuple[int, int] | None:
    """Walk the JPEG's marker segments to its frame header (SOFn: precision, height, width)."""
    pos = 2
    for _ in range(JPEG_SEGMENTS):
        chunk = head[pos:pos + 9]
        if len(chunk) < 9 and fd is not None and pos + 9 > len(head):
            chunk = os.pread(fd, 9, pos)
        if len(chunk) < 2 or chunk[0] != 0xFF:
            return None
        marker = chunk[1]
        if marker == 0xFF:  # a fill byte before the marker
            pos += 1
            continue
        if marker in JPEG_FRAMES:
            if len(chunk) < 9:
                return None
            height, width = struct.unpack(">HH", chunk[5:9])
            return int(width), int(height)
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA) or len(chunk) < 4:  # the end, or a scan before any frame header
            return None
        length = int.from_bytes(chunk[2:4], "big")
        if length < 2:
            return None
        pos += 2 + length
    return None


def image_size_of(path: str) -> tuple[int, int]:
    """(height, width) from the file's header; no pixel is read."""
    try:
        with _open_regular(path) as fd:
            dimensions = header_size(os.read(fd, HEAD_BYTES), fd)
    except OSError:
        dimensions = None
    if dimensions is None or 0 in dimensions:
        raise DatasetError(f"images:{path}: not a readable image")
    return dimensions[1], dimensions[0]


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
    found = scan_folder(root, spec.max_image_pixels)
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
        cache_file = (where / DATA_CACHE / split) if where is not None else None
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
    found = scan_folder(root, spec.max_image_pixels)
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

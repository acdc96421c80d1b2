"""Data sources: a ``source`` string → raw arrays → prepared train/validation/test splits.

Sources
    ``keras:mnist|fashion_mnist|cifar10|cifar100``  the real ``keras.datasets`` loaders and cache
    ``sklearn:iris|digits|wine|breast_cancer``      bundled with scikit-learn, always offline
    ``synthetic:classification|regression|images``  generated, learnable, seeded
    ``npz:PATH`` ``npy:X.npy,Y.npy`` ``npy:DIR``   the user's arrays (memory-mapped, not read into RAM)
    ``csv:PATH``                                    a table (delimiter sniffed, BOM, text labels, missing values)
    ``images:DIR``                                  one sub-folder of images per class (streamed)
    ``tfds:NAME``                                   TensorFlow Datasets, prepared in a data_dir (optional extra)

Raw loads are cached in the process (keyed by everything that changes them), so a second run
with the same source does not read or generate the data again.  Sources too large to hold as
arrays (image folders, big memory-mapped arrays, TFDS) become :class:`Streams`: ``tf.data``
pipelines that ``model.fit`` reads batch by batch.

This module is the data package's top: it loads the in-memory sources itself and hands image
folders, TFDS and large arrays to ``imagefolder``, ``tfds_source`` and ``streaming``.  What they
all share (the :class:`Dataset` types, label encoding, split plans) lives in ``base``, below them.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.data.base import (
    STREAM_BYTES,
    DataInfo,
    RawData,
    encode_labels,
    require_test_split,
    split_indices,
    take_indices,
)

# Callers reach these through ``datasets``, the data package's front door; they live in ``base``,
# below the streamed sources that share them.
from kerastui.core.data.base import Dataset as Dataset
from kerastui.core.data.base import Preview as Preview
from kerastui.core.data.base import check_labels as check_labels
from kerastui.core.data.base import plan_splits as plan_splits
from kerastui.core.data.imagefolder import prepare_folder, preview_folder, scan_folder, target_size
from kerastui.core.data.sources import (  # noqa: F401 - re-exported: the registry lives without numpy
    FILE_SOURCES,
    KERAS_DATASETS,
    KERAS_URLS,
    OFFLINE_FALLBACK,
    SKLEARN_DATASETS,
    SYNTHETIC,
    all_sources,
    check_data_path,
    keras_cache_dir,
    keras_cached,
    parse_source,
)
from kerastui.core.data.streaming import prepare_array_streams
from kerastui.core.data.tfds_source import describe_tfds, prepare_tfds
from kerastui.core.errors import DatasetError
from kerastui.core.evaluation import display_images
from kerastui.core.model.specs import DataSpec
from kerastui.core.resources import elements, require
from kerastui.core.tfenv import load_keras

# --------------------------------------------------------------------------- parsing sources


def describe(spec: DataSpec, base_dir: Path | None = None) -> DataInfo:
    """Kind, task, sample shape and classes, loading only the user's own files to find out."""
    scheme, name = parse_source(spec.source)
    if scheme == "keras":
        shape, classes, _, _ = KERAS_DATASETS[name]
        cached = keras_cached(name)
        note = "" if cached else f"not cached in {keras_cache_dir()}; needs a download"
        return DataInfo("image", "classification", shape, _kept_classes(spec, classes), cached, note)
    if scheme == "sklearn":
        shape, classes, kind = SKLEARN_DATASETS[name]
        return DataInfo(kind, "classification", shape, _kept_classes(spec, classes), True)
    if scheme == "synthetic":
        check_synthetic_size(spec, name)
        if name == "images":
            return DataInfo("image", "classification", tuple(spec.image_shape or (28, 28, 1)),
                            _kept_classes(spec, spec.num_classes or 5), True)
        task = "regression" if name == "regression" else "classification"
        classes = 0 if task == "regression" else _kept_classes(spec, spec.num_classes or 3)
        return DataInfo("tabular", task, (spec.features or 20,), classes, True)
    if scheme == "images":  # a scan of the folder: no image is decoded
        found = scan_folder(_resolve_path(name, base_dir), spec.max_image_pixels)
        return DataInfo("image", "classification", (*target_size(spec, found), 3),
                        _kept_classes(spec, len(found.classes)), True)
    if scheme == "tfds":
        info = describe_tfds(spec, name)
        return replace(info, num_classes=_kept_classes(spec, info.num_classes))
    raw = load_raw(spec, base_dir)
    classes = len(raw.class_names) if raw.task == "classification" else 0
    return DataInfo(raw.kind, raw.task, tuple(raw.x_train.shape[1:]), _kept_classes(spec, classes), True)


def _kept_classes(spec: DataSpec, classes: int) -> int:
    return len(spec.classes) if spec.classes else classes


# --------------------------------------------------------------------------- raw loading

_CACHE: dict[tuple[Any, ...], RawData] = {}


def clear_cache() -> None:
    _CACHE.clear()


def load_raw(spec: DataSpec, base_dir: Path | None = None) -> RawData:
    scheme, name = parse_source(spec.source)
    key: tuple[Any, ...] = (scheme, name)
    if scheme == "synthetic":
        key += (spec.samples, spec.features, spec.num_classes, tuple(spec.image_shape or ()), spec.noise, spec.seed)
    elif scheme == "npy":
        stats = []
        for file in _npy_files(name, base_dir).values():
            stats.append((str(file), file.stat().st_mtime_ns if file.exists() else None))
        key = (scheme, tuple(stats), spec.kind)
    elif scheme in FILE_SOURCES:
        path = _resolve_path(name, base_dir)
        stat = path.stat() if path.exists() else None
        key = (scheme, str(path), stat.st_mtime_ns if stat else None, spec.label_column,
               tuple(spec.resize or ()), spec.kind, spec.missing, spec.max_image_pixels)
    if key in _CACHE:
        return _CACHE[key]
    start = time.perf_counter()
    loaders: dict[str, Callable[..., RawData]] = {
        "keras": _load_keras, "sklearn": _load_sklearn, "synthetic": _load_synthetic,
        "npz": _load_npz, "csv": _load_csv, "images": _load_image_dir,
    }
    if scheme == "tfds":
        raise DatasetError(f"{spec.source}: TensorFlow Datasets are streamed; they have no raw arrays")
    if scheme == "npy":
        raw = _load_npy(spec, name, base_dir)
    elif scheme in FILE_SOURCES:
        raw = loaders[scheme](spec, _resolve_path(name, base_dir))
    else:
        raw = loaders[scheme](spec, name)
    raw.load_seconds = time.perf_counter() - start
    _CACHE[key] = raw
    return raw


def _resolve_path(text: str, base_dir: Path | None) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None and not path.exists() and (base_dir / path).exists():
        path = base_dir / path
    return path


def _load_keras(spec: DataSpec, name: str) -> RawData:
    keras = load_keras()
    module = getattr(keras.datasets, name)
    try:
        # get_file prints "Downloading data from …" and a progress bar on stdout: keep stdout ours.
        with contextlib.redirect_stdout(io.StringIO()):
            (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception:  # noqa: BLE001 - any download/cache failure (its type, "Exception", says nothing)
        files = " or ".join(KERAS_DATASETS[name][2][:1])
        raise DatasetError(
            f"keras:{name} is not in the Keras cache and could not be downloaded; "
            f"put {files} from {KERAS_URLS[name]} in {keras_cache_dir()}/, or use an offline source such as "
            f"{OFFLINE_FALLBACK}"
        ) from None
    return RawData(x_train, y_train.reshape(-1).astype("int64"), x_test, y_test.reshape(-1).astype("int64"),
                   "image", "classification", list(KERAS_DATASETS[name][3]), pixel_max=255.0)


def _load_sklearn(spec: DataSpec, name: str) -> RawData:
    from sklearn import datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    if name == "digits":
        return RawData(bunch.images.astype("float32"), bunch.target.astype("int64"), None, None, "image",
                       "classification", [str(n) for n in bunch.target_names], pixel_max=16.0)
    return RawData(bunch.data.astype("float32"), bunch.target.astype("int64"), None, None, "tabular",
                   "classification", [str(n) for n in bunch.target_names],
                   feature_names=[str(n) for n in bunch.feature_names])


def check_synthetic_size(spec: DataSpec, name: str) -> None:
    """Refuse, before generating anything, a synthetic set that would not fit in memory."""
    samples = spec.samples or 1000
    classes = spec.num_classes or (5 if name == "images" else 3)
    if name != "regression" and classes > samples:
        raise DatasetError(f"data.num_classes: {classes:,} classes need at least as many samples; "
                           f"data.samples is {samples:,}")
    if name == "images":
        shape = list(spec.image_shape or (28, 28, 1))
        # float64 templates and noise while generating, uint8 kept, float32 once scaled.
        require(elements(samples, *shape) * _SYNTHETIC_IMAGE_BYTES,
                f"data.samples × data.image_shape ({samples:,} × {shape})")
        return
    # float64 while generating, float32 kept, split and standardised copies.
    require(elements(samples, spec.features or 20) * _SYNTHETIC_TABLE_BYTES,
            f"data.samples × data.features ({samples:,} × {spec.features or 20:,})")


# Peak bytes per generated value (see check_synthetic_size).
_SYNTHETIC_TABLE_BYTES = 24
_SYNTHETIC_IMAGE_BYTES = 28


def _load_synthetic(spec: DataSpec, name: str) -> RawData:
    check_synthetic_size(spec, name)
    rng = np.random.default_rng(spec.seed)
    noise = 1.0 if spec.noise is None else spec.noise
    if name == "images":
        return _synthetic_images(spec, rng, noise)
    samples = spec.samples or 1000
    features = spec.features or 20
    if name == "regression":
        x = rng.normal(size=(samples, features)).astype("float32")
        w = rng.normal(size=(features,))
        y = (x @ w + 0.5 * np.sin(x[:, 0] * 2) + rng.normal(scale=0.1 * noise, size=samples)).astype("float32")
        return RawData(x, y, None, None, "tabular", "regression",
                       feature_names=[f"x{i}" for i in range(features)])
    classes = spec.num_classes or 3
    # Gaussian blobs whose centres sit ~sqrt(2*features) noise-widths apart: learnable, not trivial.
    centres = rng.normal(size=(classes, features))
    y = rng.integers(0, classes, size=samples)
    x = (centres[y] + rng.normal(scale=noise, size=(samples, features))).astype("float32")
    return RawData(x, y.astype("int64"), None, None, "tabular", "classification",
                   [f"class {i}" for i in range(classes)], feature_names=[f"x{i}" for i in range(features)])


def _synthetic_images(spec: DataSpec, rng: np.random.Generator, noise: float) -> RawData:
    shape = tuple(spec.image_shape or (28, 28, 1))
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise DatasetError(f"data.image_shape must be [height, width] or [height, width, channels], got {list(shape)}")
    h, w, c = shape
    classes = spec.num_classes or 5
    samples = spec.samples or 1000
    # Each class is a coarse 4x4 random pattern blown up to the image size, plus pixel noise.
    coarse = rng.uniform(size=(classes, 4, 4, c))
    rows = np.minimum(np.arange(h) * 4 // h, 3)
    cols = np.minimum(np.arange(w) * 4 // w, 3)
    templates = coarse[:, rows][:, :, cols]
    y = rng.integers(0, classes, size=samples)
    x = 0.6 * templates[y] + 0.4 * noise * rng.uniform(size=(samples, h, w, c))
    x = np.clip(x / max(0.6 + 0.4 * noise, 1e-6) * 255.0, 0, 255).astype("uint8")
    if c == 1 and spec.image_shape is not None and len(spec.image_shape) == 2:
        x = x[..., 0]
    return RawData(x, y.astype("int64"), None, None, "image", "classification",
                   [f"pattern {i}" for i in range(classes)], pixel_max=255.0)


def _load_npz(spec: DataSpec, path: Path) -> RawData:
    check_data_path("npz", path, "file")
    try:
        arrays = _npz_arrays(path)
    except Exception as error:  # noqa: BLE001
        raise DatasetError(f"npz:{path}: not a readable .npz file ({error})") from None
    return _arrays_raw(spec, f"npz:{path}", arrays)


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The members of an .npz: stored (uncompressed, as ``np.savez`` writes them) members memory-mapped
    in place, compressed ones read (``np.load`` would read every member into memory)."""
    import struct
    import zipfile

    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            handle.seek(info.header_offset)
            local = handle.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            handle.seek(info.header_offset + 30 + name_len + extra_len)
            out[name] = _memmap_npy(handle, path)
    return out


def _memmap_npy(handle: Any, path: Path) -> np.ndarray:
    """The .npy array starting at ``handle``'s position, memory-mapped (read if it holds objects)."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (pickled), which kerastui does not load")
    if not shape or int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, order="F" if fortran else "C", offset=handle.tell())


def _npy_files(text: str, base_dir: Path | None) -> dict[str, Path]:
    """``npy:X.npy,Y.npy`` or ``npy:DIR`` (x.npy/y.npy, or x_train.npy/y_train.npy and optionally the tests)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 2:
        return {"x": _resolve_path(parts[0], base_dir), "y": _resolve_path(parts[1], base_dir)}
    if len(parts) != 1:
        raise DatasetError(f"npy:{text}: expected npy:X.npy,Y.npy or npy:FOLDER")
    folder = _resolve_path(parts[0], base_dir)
    check_data_path("npy", folder, "folder")
    if not folder.is_dir():
        raise DatasetError(f"npy:{folder}: expected a folder with x.npy and y.npy, or npy:X.npy,Y.npy")
    found = {p.stem: p for p in folder.glob("*.npy")}
    return found


def _load_npy(spec: DataSpec, text: str, base_dir: Path | None) -> RawData:
    files = _npy_files(text, base_dir)
    arrays: dict[str, np.ndarray] = {}
    for key, file in files.items():
        check_data_path("npy", file, "file")
        try:
            arrays[key] = np.load(file, mmap_mode="r", allow_pickle=False)
        except Exception as error:  # noqa: BLE001
            raise DatasetError(f"npy:{file}: not a readable .npy file ({error})") from None
    return _arrays_raw(spec, f"npy:{text}", arrays)


def _arrays_raw(spec: DataSpec, where: str, arrays: dict[str, np.ndarray]) -> RawData:
    """x/y (and x_test/y_test) arrays → RawData; x stays memory-mapped, the labels are read."""
    if "x_train" in arrays and "y_train" in arrays:
        x, y = arrays["x_train"], arrays["y_train"]
        xt, yt = arrays.get("x_test"), arrays.get("y_test")
    elif "x" in arrays and "y" in arrays:
        x, y, xt, yt = arrays["x"], arrays["y"], None, None
    else:
        raise DatasetError(f"{where}: expected arrays x_train/y_train (and x_test/y_test) or x/y, "
                           f"found {', '.join(arrays) or 'none'}")
    if len(x) != len(y):
        raise DatasetError(f"{where}: x has {len(x)} samples but y has {len(y)}")
    if (xt is None) != (yt is None):
        raise DatasetError(f"{where}: has {'x_test' if xt is not None else 'y_test'} without "
                           f"{'y_test' if xt is not None else 'x_test'}; give both or neither")
    if xt is not None and yt is not None and len(xt) != len(yt):
        raise DatasetError(f"{where}: x_test has {len(xt)} samples but y_test has {len(yt)}")
    if xt is not None and xt.shape[1:] != x.shape[1:]:
        raise DatasetError(f"{where}: x_test's samples are {list(xt.shape[1:])}, x's {list(x.shape[1:])}")
    kind = _array_kind(spec, where, x)
    if kind == "tabular" and x.ndim > 2:
        x = x.reshape(len(x), -1)
        xt = None if xt is None else xt.reshape(len(xt), -1)
    y, yt = np.asarray(y), None if yt is None else np.asarray(yt)  # labels are small: read them
    task, y_all, names = _labels(np.concatenate([y, yt]) if yt is not None else y)
    y, yt = (y_all[: len(y)], y_all[len(y):]) if yt is not None else (y_all, None)
    pixel_max = None
    if kind == "image":
        pixel_max = 255.0 if x.dtype == np.uint8 else _chunked_max(x) if x.size else None
    return RawData(x, y, xt, yt, kind, task, names, pixel_max=pixel_max)


def _array_kind(spec: DataSpec, where: str, x: np.ndarray) -> str:
    """data.kind, checked against the array's shape; else the guess: (N, F) tabular, (N, T, F)
    sequences (uint8 (N, H, W): grey images), (N, H, W, C) images."""
    if spec.kind is None:
        if x.ndim >= 4:
            return "image"
        if x.ndim == 3:
            return "image" if x.dtype == np.uint8 else "sequence"
        return "tabular"
    if spec.kind == "sequence" and x.ndim != 3:
        raise DatasetError(f"data.kind: \"sequence\" needs x of shape (samples, steps, features); "
                           f"{where} has {list(x.shape)}")
    if spec.kind == "image" and x.ndim not in (3, 4):
        raise DatasetError(f"data.kind: \"image\" needs x of shape (samples, height, width(, channels)); "
                           f"{where} has {list(x.shape)}")
    if spec.kind == "tabular" and x.ndim < 2:
        raise DatasetError(f"data.kind: \"tabular\" needs x of shape (samples, features); {where} has "
                           f"{list(x.shape)}")
    return spec.kind


def _chunked_max(x: np.ndarray, rows: int = 4096) -> float:
    """The largest value of a (memory-mapped) array, read a slab at a time."""
    return float(max(np.max(x[i:i + rows]) for i in range(0, len(x), rows)))


def _labels(y: np.ndarray) -> tuple[str, np.ndarray, list[str]]:
    """Integer or string labels → classification with names; floats → regression."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot in the file
        y = np.argmax(y, axis=1)
    y = y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y
    if y.dtype.kind in "OUS":
        names, idx = np.unique(y.astype(str), return_inverse=True)
        return "classification", idx.astype("int64"), [str(n) for n in names]
    if y.dtype.kind == "f" and not np.allclose(y, np.round(y)):
        return "regression", y.astype("float32"), []
    values = np.unique(y)
    if len(values) > 50 and y.dtype.kind == "f":
        return "regression", y.astype("float32"), []
    if values.min() >= 0 and values.max() < max(len(values) * 2, 2):
        count = int(values.max()) + 1
        return "classification", y.astype("int64"), [str(i) for i in range(count)]
    idx = np.searchsorted(values, y)
    return "classification", idx.astype("int64"), [str(v) for v in values]


MISSING = ("", "na", "n/a", "nan", "null", "none", "?", "-")
CSV_DELIMITERS = ",;\t|"


def _load_csv(spec: DataSpec, path: Path) -> RawData:
    import csv

    check_data_path("csv", path, "file")
    try:
        # utf-8-sig: a byte-order mark written by Excel and others is not part of the first name.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(65536)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS)
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(handle, dialect))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"csv:{path}: cannot read ({error})") from None
    numbered = [(n, [v.strip() for v in r]) for n, r in enumerate(rows, start=1) if r and any(v.strip() for v in r)]
    if not numbered:
        raise DatasetError(f"csv:{path}: the file is empty")
    width = len(numbered[0][1])
    if width < 2:
        raise DatasetError(f"csv:{path}: line {numbered[0][0]} parses as one column ({numbered[0][1][0][:40]!r}); "
                           "expected a label and at least one feature separated by , ; tab or |")
    column = spec.label_column
    # With a label column index, a first row whose features are all numbers is data, not a header.
    has_header = not isinstance(column, int) or not (-width <= column < width) or not all(
        _is_float(v) or v.lower() in MISSING for i, v in enumerate(numbered[0][1]) if i != column % width)
    if has_header:
        header = numbered[0][1]
        numbered = numbered[1:]
    else:
        header = [f"x{i}" for i in range(width)]
    if len(numbered) < 2:
        raise DatasetError(f"csv:{path}: needs {'a header row and ' if has_header else ''}at least two data rows")
    if isinstance(column, int):
        if not -width <= column < width:
            raise DatasetError(f"csv:{path}: label_column {column} is out of range; the rows have {width} columns")
        li = column % width
    else:
        name = column or header[-1]
        if name not in header:
            raise DatasetError(f"csv:{path}: label column {name!r} not in the header ({', '.join(header)})")
        li = header.index(name)
    if not has_header:
        header[li] = "label"
    features = [h for i, h in enumerate(header) if i != li]
    x = np.empty((len(numbered), len(features)), dtype="float32")
    keep = np.ones(len(numbered), dtype=bool)
    labels = []
    for k, (r, row) in enumerate(numbered):
        if len(row) != width:
            raise DatasetError(f"csv:{path}: line {r} has {len(row)} fields, "
                               f"{'the header has' if has_header else 'the first line has'} {width}")
        if row[li].lower() in MISSING:
            if spec.missing != "drop":
                raise DatasetError(f"csv:{path}: line {r}, column {header[li]!r}: the label is missing "
                                   "(set data.missing = \"drop\" to leave such rows out)")
            keep[k] = False
        for j, (i, v) in enumerate((i, v) for i, v in enumerate(row) if i != li):
            if v.lower() in MISSING:
                if spec.missing == "error":
                    raise DatasetError(f"csv:{path}: line {r}, column {header[i]!r}: missing value "
                                       "(set data.missing = \"drop\" or \"mean\")")
                x[k, j] = np.nan
                if spec.missing == "drop":
                    keep[k] = False
                continue
            try:
                x[k, j] = float(v)
            except ValueError:
                raise DatasetError(f"csv:{path}: line {r}, column {header[i]!r}: {v!r} is not a number") from None
        labels.append(row[li])
    x = x[keep]
    labels = [v for v, kept in zip(labels, keep, strict=True) if kept]
    if len(labels) < 2:
        raise DatasetError(f"csv:{path}: fewer than two rows are left once rows with missing values are dropped")
    if spec.missing == "mean":
        counted = np.maximum((~np.isnan(x)).sum(axis=0), 1)
        means = np.nansum(x, axis=0) / counted  # a column with no value at all: 0
        rows_nan, cols_nan = np.where(np.isnan(x))
        x[rows_nan, cols_nan] = means[cols_nan]
    arr = np.array(labels)
    if all(_is_float(v) for v in labels):
        arr = arr.astype("float64")
    task, y, names = _labels(arr)
    return RawData(x, y, None, None, "tabular", task, names, feature_names=features)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True



def _load_image_dir(spec: DataSpec, path: Path) -> RawData:
    """The folder's images decoded into uint8 arrays at data.resize or the first image's size: the scan's
    files (a validation/ folder's join the training pool, a test/ folder's are the test split), so no
    file it left out — damaged, over data.max_image_pixels, no regular file — is opened."""
    found = scan_folder(path, spec.max_image_pixels)
    pool = found.splits["train"] + found.splits.get("val", [])
    test = found.splits.get("test")
    size = target_size(spec, found)
    count = len(pool) + len(test or [])
    what = "data.resize" if spec.resize else f"images:{path} (set data.resize to shrink them)"
    require(elements(count, *size, 3) * 2, f"{what}: {count:,} images of {size[0]}×{size[1]}×3")
    load_keras()
    import tensorflow as tf

    def decoded(files: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
        images = []
        for file, _ in files:
            try:
                image = tf.io.decode_image(tf.io.read_file(file), channels=3, expand_animations=False)
            except Exception:  # noqa: BLE001 - its header and end marker looked right; its pixels are not
                raise DatasetError(f"images:{file}: not a readable image") from None
            if tuple(image.shape[:2]) != size:
                image = tf.cast(tf.image.resize(image, size), tf.uint8)
            images.append(image.numpy())
        return np.stack(images) if images else np.zeros((0, *size, 3), "uint8"), np.array(
            [label for _, label in files], dtype="int64")

    x, y = decoded(pool)
    xt, yt = decoded(test) if test else (None, None)
    return RawData(x, y, xt, yt, "image", "classification", list(found.classes), pixel_max=255.0)


# --------------------------------------------------------------------------- preparation


def prepare(
    spec: DataSpec,
    *,
    loss: str = "categorical_crossentropy",
    base_dir: Path | None = None,
    image_size: tuple[int, int] | None = None,
    rgb: bool = False,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load (cached) and split, scale and shape the data for a model.

    ``image_size``/``rgb``/``preprocess`` come from a transfer base: images are resized, grey
    images get three channels, and the base's ``preprocess_input`` replaces plain scaling.
    Image folders, TFDS and large memory-mapped arrays come back as :class:`Streams`
    (``cache_dir``: where ``data.cache = "file"`` keeps decoded samples, e.g. the run directory).
    """
    scheme, name = parse_source(spec.source)
    if scheme == "images":
        return prepare_folder(spec, _resolve_path(name, base_dir), loss=loss, image_size=image_size, rgb=rgb,
                              preprocess=preprocess, cache_dir=cache_dir)
    if scheme == "tfds":
        return prepare_tfds(spec, name, loss=loss, image_size=image_size, rgb=rgb, preprocess=preprocess,
                            cache_dir=cache_dir)
    raw = load_raw(spec, base_dir)
    if scheme in ("npz", "npy") and streams_arrays(spec, raw):
        return prepare_array_streams(spec, raw, loss=loss, image_size=image_size, rgb=rgb, preprocess=preprocess)
    rng = np.random.default_rng(spec.seed)
    x, y, xt, yt = raw.x_train, raw.y_train, raw.x_test, raw.y_test
    class_names = list(raw.class_names)
    mode = check_labels(spec, loss, raw.task, len(class_names))
    if spec.classes:
        x, y = _keep_classes(x, y, spec.classes)
        if xt is not None and yt is not None:  # a source gives both test arrays or neither
            xt, yt = _keep_classes(xt, yt, spec.classes)
        if len(y) == 0:
            raise DatasetError(f"data.classes: {spec.classes} keeps no sample of {spec.source}")
        class_names = [class_names[c] for c in spec.classes]
    stratify = raw.task == "classification"
    if xt is None or yt is None:
        require_test_split(spec)
        train_idx, test_idx = split_indices(y, spec.test_split, rng, stratify)
        x, y, xt, yt = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
        if len(x) == 0 or len(xt) == 0:
            raise DatasetError(f"data.test_split: {len(train_idx) + len(test_idx):,} sample(s) of {spec.source} leave "
                               f"{'no test' if len(xt) == 0 else 'no training'} sample (test_split = "
                               f"{spec.test_split}); use more samples")
    if spec.limit:
        keep = take_indices(y, spec.limit, rng, stratify)
        x, y = x[keep], y[keep]
        keep_t = take_indices(yt, max(spec.limit // 4, 1), rng, stratify)
        xt, yt = xt[keep_t], yt[keep_t]
    xv: np.ndarray | None = None
    yv: np.ndarray | None = None
    if spec.validation_split > 0 and len(x) >= 4:
        train_idx, val_idx = split_indices(y, spec.validation_split, rng, stratify)
        x, xv, y, yv = x[train_idx], x[val_idx], y[train_idx], y[val_idx]
        if len(xv) == 0:  # one sample per class: nothing to hold out
            xv = yv = None
    else:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    feature_scale: tuple[np.ndarray, np.ndarray] | None = None
    if raw.kind == "image":
        _check_image_size(x, xv, xt, image_size, rgb)
        scale = _image_scaler(raw, spec, preprocess)
        x = _shape_images(x, scale, image_size, rgb)
        xv = None if xv is None else _shape_images(xv, scale, image_size, rgb)
        xt = _shape_images(xt, scale, image_size, rgb)
    else:
        x, xv, xt, feature_scale = _standardise(x, xv, xt, spec.normalize)
    classes = len(class_names)
    if mode == "categorical":
        count = sum(len(a) for a in (y, yv, yt) if a is not None)
        require(elements(count, classes) * 4, f"data: one-hot labels for {count:,} samples × {classes:,} classes")
    return Dataset(
        source=spec.source, kind=raw.kind, task=raw.task,
        x_train=x, y_train=encode_labels(y, mode, classes),
        x_val=xv, y_val=None if yv is None else encode_labels(yv, mode, classes),
        x_test=xt, y_test=encode_labels(yt, mode, classes), labels_test=np.asarray(yt),
        class_names=class_names, label_mode=mode, load_seconds=raw.load_seconds,
        feature_names=list(raw.feature_names), feature_scale=feature_scale,
    )


def streams_arrays(spec: DataSpec, raw: RawData) -> bool:
    """Whether ``raw``'s arrays are fed as a stream: data.stream, else when x is memory-mapped and large."""
    if spec.stream is not None:
        return spec.stream
    return isinstance(raw.x_train, np.memmap) and raw.x_train.nbytes > STREAM_BYTES


def _check_image_size(x: np.ndarray, xv: np.ndarray | None, xt: np.ndarray, size: tuple[int, int] | None,
                      rgb: bool) -> None:
    """The float32 images a model gets, resized: refused before resizing if they cannot fit."""
    count = sum(len(a) for a in (x, xv, xt) if a is not None)
    height, width = size or x.shape[1:3]
    channels = 3 if rgb else (x.shape[3] if x.ndim == 4 else 1)
    what = "transfer: the images at the base's size" if size else "the images"
    # float32 results plus one float32 image being scaled at a time per array.
    require(elements(count, height, width, channels) * 4 * 2,
            f"{what}: {count:,} images of {height}×{width}×{channels} as float32")


def _keep_classes(x: np.ndarray, y: np.ndarray, keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isin(y, keep)
    remap = {c: i for i, c in enumerate(keep)}
    return x[mask], np.array([remap[int(v)] for v in y[mask]], dtype="int64")


def _image_scaler(raw: RawData, spec: DataSpec,
                  preprocess: Callable[[np.ndarray], np.ndarray] | None) -> Callable[[np.ndarray], np.ndarray]:
    pixel_max = raw.pixel_max or 255.0

    def scale(a: np.ndarray) -> np.ndarray:
        a = a.astype("float32")
        if preprocess is not None:  # an application base expects 0..255 pixels
            return preprocess(a * (255.0 / pixel_max))
        return a / pixel_max if spec.normalize else a

    return scale


def _shape_images(a: np.ndarray, scale: Callable[[np.ndarray], np.ndarray], size: tuple[int, int] | None,
                  rgb: bool) -> np.ndarray:
    if a.ndim == 3:  # (N, H, W) → (N, H, W, 1): conv layers need the channel axis
        a = a[..., None]
    if rgb and a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    if size is not None and tuple(a.shape[1:3]) != tuple(size):
        a = _resize(a.astype("float32"), size)
    return scale(a)


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    load_keras()
    import tensorflow as tf

    out = [tf.image.resize(a[i:i + 512], size).numpy() for i in range(0, len(a), 512)]
    return np.concatenate(out).astype("float32")


def _standardise(x: np.ndarray, xv: np.ndarray | None, xt: np.ndarray, normalise: bool
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    x = x.astype("float32")
    xv = None if xv is None else xv.astype("float32")
    xt = xt.astype("float32")
    if not normalise:
        return x, xv, xt, None
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, None if xv is None else (xv - mean) / std, (xt - mean) / std, (mean, std)


def class_counts(data: Dataset) -> list[int]:
    """Training samples per class (classification), from the encoded labels."""
    if data.task != "classification":
        return []
    if data.stream is not None and (data.stream.class_counts or not len(data.y_train)):
        return list(data.stream.class_counts)
    y = np.asarray(data.y_train)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1).astype("int64")
    counts: list[int] = np.bincount(labels, minlength=data.num_classes).tolist()
    return counts


def preview(spec: DataSpec, *, loss: str = "categorical_crossentropy", base_dir: Path | None = None,
            count: int = 8) -> Preview:
    start = time.perf_counter()
    scheme, name = parse_source(spec.source)
    if scheme == "images":  # from a scan: only the samples shown are decoded, TensorFlow is not loaded
        return preview_folder(spec, _resolve_path(name, base_dir), loss=loss, count=count)
    data = prepare(spec, loss=loss, base_dir=base_dir)
    if data.stream is not None and scheme == "tfds":
        summary = data.summary()
        summary["total_seconds"] = round(time.perf_counter() - start, 3)
        summary["dtype_raw"] = str(data.x_test.dtype)
        shown = data.x_test[:count]
        labels = [data.class_names[int(v)] for v in data.labels_test[:count]]
        return Preview(summary, class_counts(data), shown if data.kind != "image" else _unit(shown), labels, [])
    raw = load_raw(spec, base_dir)
    summary = data.summary()
    summary["total_seconds"] = round(time.perf_counter() - start, 3)
    summary["dtype_raw"] = str(raw.x_train.dtype)
    rng = np.random.default_rng(spec.seed)
    idx = np.sort(rng.choice(len(raw.x_train), size=min(count, len(raw.x_train)), replace=False))
    samples = raw.x_train[idx]
    if raw.kind == "image":
        samples = samples.astype("float32") / float(raw.pixel_max or 255.0)
        if samples.ndim == 3:
            samples = samples[..., None]
    names = raw.class_names
    labels = [names[int(v)] if raw.task == "classification" and int(v) < len(names) else f"{float(v):.3g}"
              for v in raw.y_train[idx]]
    return Preview(summary, class_counts(data), samples, labels, list(raw.feature_names))


def _unit(x: np.ndarray) -> np.ndarray:
    return display_images(x) if len(x) else x

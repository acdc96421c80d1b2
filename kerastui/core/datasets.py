"""Data sources: a ``source`` string → raw arrays → prepared train/validation/test splits.

Sources
    ``keras:mnist|fashion_mnist|cifar10|cifar100``  the real ``keras.datasets`` loaders and cache
    ``sklearn:iris|digits|wine|breast_cancer``      bundled with scikit-learn, always offline
    ``synthetic:classification|regression|images``  generated, learnable, seeded
    ``npz:PATH`` ``csv:PATH`` ``images:DIR``        the user's files

Raw loads are cached in the process (keyed by everything that changes them), so a second run
with the same source does not read or generate the data again.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from kerastui.core.errors import DatasetError
from kerastui.core.sources import (  # noqa: F401 - re-exported: the registry lives without numpy
    FILE_SOURCES,
    KERAS_DATASETS,
    KERAS_URLS,
    OFFLINE_FALLBACK,
    SKLEARN_DATASETS,
    SYNTHETIC,
    all_sources,
    keras_cache_dir,
    keras_cached,
    parse_source,
)
from kerastui.core.specs import DataSpec


@dataclass
class RawData:
    """Arrays as the source gives them (images keep their pixel scale)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    kind: str  # "image" | "tabular"
    task: str  # "classification" | "regression"
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    pixel_max: float | None = None  # the value that maps to 1.0 when images are normalised
    load_seconds: float = 0.0


@dataclass
class Dataset:
    """Prepared splits, ready for ``model.fit``."""

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
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def validation_data(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        return (self.x_val, self.y_val) if self.x_val is not None and len(self.x_val) else None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source, "kind": self.kind, "task": self.task,
            "input_shape": list(self.input_shape), "train": int(len(self.x_train)),
            "val": int(len(self.x_val)) if self.x_val is not None else 0, "test": int(len(self.x_test)),
            "dtype": str(self.x_train.dtype), "label_mode": self.label_mode,
            "load_seconds": round(self.load_seconds, 3),
        }
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
    elif scheme in FILE_SOURCES:
        path = _resolve_path(name, base_dir)
        stat = path.stat() if path.exists() else None
        key = (scheme, str(path), stat.st_mtime_ns if stat else None, spec.label_column,
               tuple(spec.resize or ()))
    if key in _CACHE:
        return _CACHE[key]
    start = time.perf_counter()
    loaders: dict[str, Callable[..., RawData]] = {
        "keras": _load_keras, "sklearn": _load_sklearn, "synthetic": _load_synthetic,
        "npz": _load_npz, "csv": _load_csv, "images": _load_image_dir,
    }
    loader = loaders[scheme]
    if scheme in FILE_SOURCES:
        raw = loader(spec, _resolve_path(name, base_dir))
    else:
        raw = loader(spec, name)
    raw.load_seconds = time.perf_counter() - start
    _CACHE[key] = raw
    return raw


def _resolve_path(text: str, base_dir: Path | None) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None and not path.exists() and (base_dir / path).exists():
        path = base_dir / path
    return path


def _load_keras(spec: DataSpec, name: str) -> RawData:
    from kerastui.core.tfenv import load_keras

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
    from kerastui.core.resources import elements, require

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


def _need_file(path: Path, what: str, scheme: str) -> None:
    if not path.exists():
        raise DatasetError(f"{scheme}:{path}: {what} not found")


def _load_npz(spec: DataSpec, path: Path) -> RawData:
    _need_file(path, "file", "npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as error:  # noqa: BLE001
        raise DatasetError(f"npz:{path}: not a readable .npz file ({error})") from None
    if "x_train" in arrays and "y_train" in arrays:
        x, y = arrays["x_train"], arrays["y_train"]
        xt, yt = arrays.get("x_test"), arrays.get("y_test")
    elif "x" in arrays and "y" in arrays:
        x, y, xt, yt = arrays["x"], arrays["y"], None, None
    else:
        raise DatasetError(f"npz:{path}: expected arrays x_train/y_train (and x_test/y_test) or x/y, "
                           f"found {', '.join(arrays) or 'none'}")
    if len(x) != len(y):
        raise DatasetError(f"npz:{path}: x has {len(x)} samples but y has {len(y)}")
    if (xt is None) != (yt is None):
        raise DatasetError(f"npz:{path}: has {'x_test' if xt is not None else 'y_test'} without "
                           f"{'y_test' if xt is not None else 'x_test'}; give both or neither")
    if xt is not None and yt is not None and len(xt) != len(yt):
        raise DatasetError(f"npz:{path}: x_test has {len(xt)} samples but y_test has {len(yt)}")
    kind = "image" if x.ndim >= 3 else "tabular"
    task, y_all, names = _labels(np.concatenate([y, yt]) if yt is not None else y)
    y, yt = (y_all[: len(y)], y_all[len(y):]) if yt is not None else (y_all, None)
    pixel_max = 255.0 if x.dtype == np.uint8 else float(np.max(x)) if kind == "image" and x.size else None
    return RawData(x, y, xt, yt, kind, task, names, pixel_max=pixel_max)


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


def _load_csv(spec: DataSpec, path: Path) -> RawData:
    import csv

    _need_file(path, "file", "csv")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"csv:{path}: cannot read ({error})") from None
    if len([r for r in rows if r]) < 3:
        raise DatasetError(f"csv:{path}: needs a header row and at least two data rows")
    header = rows[0]
    numbered = [(n, r) for n, r in enumerate(rows[1:], start=2) if r]
    column = spec.label_column or header[-1]
    if column not in header:
        raise DatasetError(f"csv:{path}: label column {column!r} not in the header ({', '.join(header)})")
    li = header.index(column)
    features = [h for i, h in enumerate(header) if i != li]
    x = np.empty((len(numbered), len(features)), dtype="float32")
    labels = []
    for k, (r, row) in enumerate(numbered):
        if len(row) != len(header):
            raise DatasetError(f"csv:{path}: line {r} has {len(row)} fields, the header has {len(header)}")
        values = [v for i, v in enumerate(row) if i != li]
        try:
            x[k] = [float(v) for v in values]
        except ValueError:
            bad = next(v for v in values if not _is_float(v))
            raise DatasetError(f"csv:{path}: line {r}: {bad!r} is not a number") from None
        labels.append(row[li])
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


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _load_image_dir(spec: DataSpec, path: Path) -> RawData:
    _need_file(path, "directory", "images")
    if not path.is_dir():
        raise DatasetError(f"images:{path}: not a directory (expected one sub-folder of images per class)")
    try:
        classes = sorted(d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError as error:
        raise DatasetError(f"images:{path}: cannot list the folder ({error.strerror})") from None
    if len(classes) < 2:
        raise DatasetError(f"images:{path}: needs at least two class sub-folders, found {len(classes)}")
    from kerastui.core.tfenv import load_keras

    load_keras()
    import tensorflow as tf

    images, labels = [], []
    size = tuple(spec.resize) if spec.resize else None
    try:
        labelled = [(label, file) for label, name in enumerate(classes) for file in sorted((path / name).iterdir())
                    if file.suffix.lower() in IMAGE_SUFFIXES]
    except OSError as error:
        raise DatasetError(f"images:{error.filename or path}: cannot list the folder ({error.strerror})") from None
    files = [file for _, file in labelled]
    if files:
        from kerastui.core.resources import elements, require

        # Every image is decoded at the first one's size (or data.resize): uint8 RGB, then stacked.
        shape = size
        if shape is None:
            try:
                first = tf.io.decode_image(tf.io.read_file(str(files[0])), channels=3, expand_animations=False)
                shape = tuple(int(d) for d in first.shape[:2])
            except Exception:  # noqa: BLE001 - reported as unreadable below
                shape = (1, 1)
        what = "data.resize" if size is not None else f"images:{path} (set data.resize to shrink them)"
        require(elements(len(files), *shape, 3) * 2, f"{what}: {len(files):,} images of {shape[0]}×{shape[1]}×3")
    for label, file in labelled:
        try:
            image = tf.io.decode_image(tf.io.read_file(str(file)), channels=3, expand_animations=False)
        except Exception:  # noqa: BLE001
            raise DatasetError(f"images:{file}: not a readable image") from None
        if size is None:
            size = tuple(int(d) for d in image.shape[:2])
        if tuple(image.shape[:2]) != size:
            image = tf.cast(tf.image.resize(image, size), tf.uint8)
        images.append(image.numpy())
        labels.append(label)
    if len(images) < 2:
        raise DatasetError(f"images:{path}: found {len(images)} images ({', '.join(IMAGE_SUFFIXES)})")
    return RawData(np.stack(images), np.array(labels, dtype="int64"), None, None, "image", "classification",
                   classes, pixel_max=255.0)


# --------------------------------------------------------------------------- preparation


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


def prepare(
    spec: DataSpec,
    *,
    loss: str = "categorical_crossentropy",
    base_dir: Path | None = None,
    image_size: tuple[int, int] | None = None,
    rgb: bool = False,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Dataset:
    """Load (cached) and split, scale and shape the data for a model.

    ``image_size``/``rgb``/``preprocess`` come from a transfer base: images are resized, grey
    images get three channels, and the base's ``preprocess_input`` replaces plain scaling.
    """
    raw = load_raw(spec, base_dir)
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
        if spec.test_split <= 0:
            raise DatasetError(f"data.test_split: {spec.source} has no test split of its own, "
                               "so test_split must be > 0")
        train_idx, test_idx = _split(y, spec.test_split, rng, stratify)
        x, y, xt, yt = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
        if len(x) == 0 or len(xt) == 0:
            raise DatasetError(f"data.test_split: {len(train_idx) + len(test_idx):,} sample(s) of {spec.source} leave "
                               f"{'no test' if len(xt) == 0 else 'no training'} sample (test_split = "
                               f"{spec.test_split}); use more samples")
    if spec.limit:
        keep = _take(y, spec.limit, rng, stratify)
        x, y = x[keep], y[keep]
        keep_t = _take(yt, max(spec.limit // 4, 1), rng, stratify)
        xt, yt = xt[keep_t], yt[keep_t]
    xv: np.ndarray | None = None
    yv: np.ndarray | None = None
    if spec.validation_split > 0 and len(x) >= 4:
        train_idx, val_idx = _split(y, spec.validation_split, rng, stratify)
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
        from kerastui.core.resources import elements, require

        count = sum(len(a) for a in (y, yv, yt) if a is not None)
        require(elements(count, classes) * 4, f"data: one-hot labels for {count:,} samples × {classes:,} classes")
    return Dataset(
        source=spec.source, kind=raw.kind, task=raw.task,
        x_train=x, y_train=_encode(y, mode, classes),
        x_val=xv, y_val=None if yv is None else _encode(yv, mode, classes),
        x_test=xt, y_test=_encode(yt, mode, classes), labels_test=np.asarray(yt),
        class_names=class_names, label_mode=mode, load_seconds=raw.load_seconds,
        feature_names=list(raw.feature_names), feature_scale=feature_scale,
    )


def _check_image_size(x: np.ndarray, xv: np.ndarray | None, xt: np.ndarray, size: tuple[int, int] | None,
                      rgb: bool) -> None:
    """The float32 images a model gets, resized: refused before resizing if they cannot fit."""
    from kerastui.core.resources import elements, require

    count = sum(len(a) for a in (x, xv, xt) if a is not None)
    height, width = size or x.shape[1:3]
    channels = 3 if rgb else (x.shape[3] if x.ndim == 4 else 1)
    what = "transfer: the images at the base's size" if size else "the images"
    # float32 results plus one float32 image being scaled at a time per array.
    require(elements(count, height, width, channels) * 4 * 2,
            f"{what}: {count:,} images of {height}×{width}×{channels} as float32")


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


def _keep_classes(x: np.ndarray, y: np.ndarray, keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isin(y, keep)
    remap = {c: i for i, c in enumerate(keep)}
    return x[mask], np.array([remap[int(v)] for v in y[mask]], dtype="int64")


def _split(y: np.ndarray, fraction: float, rng: np.random.Generator, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
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


def _take(y: np.ndarray, count: int, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    if count >= len(y):
        return rng.permutation(len(y))
    if not stratify:
        return rng.permutation(len(y))[:count]
    _, second = _split(y, count / len(y), rng, True)
    return second[:count]


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
    from kerastui.core.tfenv import load_keras

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


def _encode(y: np.ndarray, mode: str, classes: int) -> np.ndarray:
    if mode == "categorical":
        out = np.zeros((len(y), classes), dtype="float32")  # not np.eye(classes): classes² floats
        out[np.arange(len(y)), y] = 1.0
        return out
    if mode == "binary":
        return y.astype("float32").reshape(-1, 1)
    if mode == "regression":
        return y.astype("float32")
    return y.astype("int64")



def class_counts(data: Dataset) -> list[int]:
    """Training samples per class (classification), from the encoded labels."""
    if data.task != "classification":
        return []
    y = np.asarray(data.y_train)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1).astype("int64")
    counts: list[int] = np.bincount(labels, minlength=data.num_classes).tolist()
    return counts


@dataclass
class Preview:
    """What the Data workspace shows: the prepared splits' summary and a few raw samples."""

    summary: dict[str, Any]
    class_counts: list[int]
    samples: np.ndarray  # raw samples: images in 0..1 (H, W, C) or tabular rows
    sample_labels: list[str]
    feature_names: list[str]


def preview(spec: DataSpec, *, loss: str = "categorical_crossentropy", base_dir: Path | None = None,
            count: int = 8) -> Preview:
    start = time.perf_counter()
    data = prepare(spec, loss=loss, base_dir=base_dir)
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

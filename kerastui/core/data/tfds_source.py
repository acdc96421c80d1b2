"""``tfds:NAME``: a TensorFlow Datasets dataset prepared in a data_dir, streamed to Keras.

Needs the optional extra (``pip install "kerastui[tfds]"``).  Nothing is downloaded here: a
dataset is read from its prepared folder (``data.data_dir``, ``$TFDS_DATA_DIR`` or
``~/tensorflow_datasets``) with ``tfds.builder_from_directory``, which needs no network and no
builder code; a dataset that is not there is one line saying what to prepare and where.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.data.base import (
    DATA_CACHE,
    DataInfo,
    Dataset,
    Streams,
    batch_labels,
    check_labels,
    encode_labels,
)
from kerastui.core.data.sources import check_data_path, tfds_data_dir
from kerastui.core.data.streaming import cache as cache_in
from kerastui.core.data.streaming import shuffle_buffer
from kerastui.core.errors import DatasetError
from kerastui.core.model.specs import DataSpec
from kerastui.core.tfenv import load_keras

TEST_SAMPLES = 256


def _tfds() -> Any:
    load_keras()
    try:
        import tensorflow_datasets as tfds  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise DatasetError("tfds: sources need TensorFlow Datasets: pip install \"kerastui[tfds]\" "
                           "(or pip install tensorflow-datasets)") from None
    return tfds


def _version_key(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in path.name.split("."))
    except ValueError:
        return (-1,)


def prepared_folder(spec: DataSpec, name: str) -> Path:
    """The newest prepared version folder of ``name`` (NAME, NAME/CONFIG, or with /VERSION) under the data_dir."""
    root = tfds_data_dir(spec.data_dir)
    folder = root / name
    infos = [p.parent for p in folder.glob("dataset_info.json")] or \
        [p.parent for p in folder.glob("*/dataset_info.json")] or \
        [p.parent for p in folder.glob("*/*/dataset_info.json")]
    if not infos:
        base = name.split("/")[0]
        raise DatasetError(
            f"tfds:{name} is not prepared in {root}; on a machine with internet run "
            f"`tfds build {base} --data_dir {root}` and copy {root / base} here (or set data.data_dir "
            "to the folder that holds it)")
    found = max(infos, key=_version_key)
    for entry in sorted(found.iterdir()):  # TFDS opens these: no FIFO, device or link into /proc among them
        if not entry.is_dir():
            check_data_path("tfds", entry, "file")
    return found


def _builder(spec: DataSpec, name: str) -> Any:
    tfds = _tfds()
    folder = prepared_folder(spec, name)
    try:
        return tfds.builder_from_directory(str(folder))
    except Exception as error:  # noqa: BLE001 - a damaged or foreign folder
        raise DatasetError(f"tfds:{name}: cannot read the prepared dataset in {folder} ({error})") from None


def _keys(builder: Any, spec: DataSpec, name: str) -> tuple[str | None, str | None]:
    """(input, label) feature names when data.as_supervised is false; (None, None) when it is true."""
    info = builder.info
    if spec.as_supervised:
        if not info.supervised_keys:
            raise DatasetError(f"tfds:{name} has no supervised keys; set data.as_supervised = false")
        return None, None
    tfds = _tfds()

    features = info.features
    labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    inputs = [k for k in features if k not in labels]
    if not labels or not inputs:
        raise DatasetError(f"tfds:{name}: data.as_supervised = false needs a class label and an input feature; "
                           f"it has {', '.join(features)}")
    return inputs[0], labels[0]


def _features(builder: Any, spec: DataSpec, name: str) -> tuple[tuple[int | None, ...], list[str], str]:
    tfds = _tfds()

    info = builder.info
    input_key, label_key = _keys(builder, spec, name)
    if input_key is None:
        input_key, label_key = info.supervised_keys[0], info.supervised_keys[1]
    feature = info.features[input_key]
    label = info.features[label_key]
    shape = tuple(feature.shape)
    if not isinstance(label, tfds.features.ClassLabel):
        raise DatasetError(f"tfds:{name}: its label {label_key!r} is not a class label; kerastui trains "
                           "classifiers on TFDS sources")
    kind = "image" if len(shape) == 3 else "sequence" if len(shape) == 2 else "tabular"
    return shape, list(label.names), kind


def describe_tfds(spec: DataSpec, name: str) -> DataInfo:
    builder = _builder(spec, name)
    shape, names, kind = _features(builder, spec, name)
    if spec.resize and kind == "image":
        shape = (int(spec.resize[0]), int(spec.resize[1]), shape[2])
    if any(d is None for d in shape):
        raise DatasetError(f"tfds:{name}: its samples vary in size {list(shape)}; set data.resize = [height, width]")
    return DataInfo(kind, "classification", tuple(int(d) for d in shape if d is not None), len(names), True)


def _split_names(builder: Any, spec: DataSpec, name: str) -> dict[str, str]:
    splits = builder.info.splits
    train = spec.split or "train"
    if train.split("[")[0] not in splits:
        raise DatasetError(f"data.split: tfds:{name} has no split {train!r}; it has {', '.join(splits)}")
    test_own = "test" if "test" in splits and train != "test" else None
    val_own = "validation" if "validation" in splits and train != "validation" else None
    test_pct = 0 if test_own else int(round(spec.test_split * 100))
    if not test_own and test_pct <= 0:
        raise DatasetError(f"data.test_split: tfds:{name} has no test split of its own, so test_split must be > 0")
    val_pct = 0 if val_own else int(round(spec.validation_split * (100 - test_pct)))
    cut = 100 - test_pct - val_pct
    if "[" in train:  # a slice of its own: no further slicing
        return {"train": train, "val": val_own or "", "test": test_own or ""}
    return {"train": f"{train}[:{cut}%]" if cut < 100 else train,
            "val": val_own or (f"{train}[{cut}%:{100 - test_pct}%]" if val_pct else ""),
            "test": test_own or f"{train}[{100 - test_pct}%:]"}


def prepare_tfds(spec: DataSpec, name: str, *, loss: str, image_size: tuple[int, int] | None = None,
                 rgb: bool = False, preprocess: Callable[..., Any] | None = None,
                 cache_dir: Path | None = None) -> Dataset:
    start = time.perf_counter()
    import tensorflow as tf

    builder = _builder(spec, name)
    shape, class_names, kind = _features(builder, spec, name)
    mode = check_labels(spec, loss, "classification", len(class_names))
    input_key, label_key = _keys(builder, spec, name)
    splits = _split_names(builder, spec, name)
    counts = {k: (int(builder.info.splits[v].num_examples) if v else 0) for k, v in splits.items()}
    if counts["test"] == 0 and not splits["test"]:
        raise DatasetError(f"tfds:{name}: no test split; name one or use a split that can be sliced")
    size = tuple(image_size) if image_size is not None else tuple(spec.resize) if spec.resize else None
    if kind == "image":
        channels = 3 if rgb else int(shape[2] or 3)
        height, width = (int(size[0]), int(size[1])) if size is not None else (shape[0], shape[1])
        if height is None or width is None:
            raise DatasetError(f"tfds:{name}: its images vary in size; set data.resize = [height, width]")
        out_shape: tuple[int, ...] = (int(height), int(width), channels)
    else:
        out_shape = tuple(int(d) for d in shape if d is not None)
    classes = len(class_names)
    sample_bytes = 4 * math.prod(out_shape)  # float32 as fed; the decoded uint8 files take no more
    if spec.classes:
        keep = tf.constant(spec.classes, dtype=tf.int64)
        class_names = [class_names[c] for c in spec.classes]
        classes = len(class_names)

    def features(x: Any, y: Any) -> tuple[Any, Any]:
        y = tf.cast(y, tf.int64)
        if spec.classes:
            y = tf.cast(tf.argmax(tf.cast(tf.equal(keep, y), tf.int32)), tf.int64)
        if kind == "image":
            x = tf.cast(x, tf.float32)
            if rgb and x.shape[-1] == 1:
                x = tf.image.grayscale_to_rgb(x)
            if tuple(x.shape[:2]) != out_shape[:2]:
                x = tf.image.resize(x, out_shape[:2])
            x = preprocess(x) if preprocess is not None else x / 255.0 if spec.normalize else x
        else:
            x = tf.cast(x, tf.float32)
        return x, y

    def pairs(split: str, shuffle: bool, cache: str | None = None) -> Any:
        ds = builder.as_dataset(split=splits[split], as_supervised=spec.as_supervised, shuffle_files=shuffle)
        if not spec.as_supervised:
            ds = ds.map(lambda d: (d[input_key], d[label_key]))
        if spec.classes:
            ds = ds.filter(lambda x, y: tf.reduce_any(tf.equal(tf.cast(y, tf.int64), keep)))
        # Examples come decoded: a shuffle buffer holds images, so it is bounded in bytes, and without a
        # cache it shuffles them before they are resized and turned into float32.
        if shuffle and cache is None:
            ds = ds.shuffle(shuffle_buffer(counts[split], sample_bytes), seed=spec.seed, reshuffle_each_iteration=True)
        ds = ds.map(features, num_parallel_calls=tf.data.AUTOTUNE)
        if cache is not None:
            where = streams.cache_dir
            file = where / DATA_CACHE / f"tfds-{split}" if cache == "file" and where is not None else None
            ds = cache_in(ds, file)
            if shuffle:
                ds = ds.shuffle(shuffle_buffer(counts[split], sample_bytes), seed=spec.seed,
                                reshuffle_each_iteration=True)
        return ds

    def make(split: str, batch_size: int, shuffle: bool) -> Any:
        batches = pairs(split, shuffle, spec.cache).batch(batch_size)
        return batches.map(batch_labels(mode, classes)).prefetch(tf.data.AUTOTUNE)

    streams = Streams(make=make, counts=counts, shape=out_shape, cache_dir=cache_dir)
    xs, ys = [], []
    for x, y in pairs("test", False).batch(TEST_SAMPLES).take(1).as_numpy_iterator():  # past any cache
        xs.append(x)
        ys.append(y)
    x_test = np.concatenate(xs).astype("float32") if xs else np.zeros((0, *out_shape), "float32")
    y_first = np.concatenate(ys).astype("int64") if ys else np.zeros(0, "int64")
    return Dataset(
        source=spec.source, kind=kind, task="classification",
        x_train=np.zeros((0, *out_shape), "float32"), y_train=np.zeros(0, "int64"), x_val=None, y_val=None,
        x_test=x_test, y_test=encode_labels(y_first, mode, classes), labels_test=y_first,
        class_names=class_names, label_mode=mode, load_seconds=time.perf_counter() - start, stream=streams,
    )

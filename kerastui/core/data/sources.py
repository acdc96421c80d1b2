"""The registry of data sources, importable without numpy (the TUI lists it before its first frame)."""

from __future__ import annotations

import os
from pathlib import Path

from kerastui.core.errors import DatasetError

KERAS_DATASETS = {
    # name: (image shape, classes, files in the Keras cache, label names)
    "mnist": ((28, 28), 10, ["mnist.npz"], [str(i) for i in range(10)]),
    "fashion_mnist": ((28, 28), 10, ["fashion-mnist/train-images-idx3-ubyte.gz"],
                      ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                       "Sneaker", "Bag", "Ankle boot"]),
    "cifar10": ((32, 32, 3), 10, ["cifar-10-batches-py-target", "cifar-10-batches-py"],
                ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]),
    "cifar100": ((32, 32, 3), 100, ["cifar-100-python-target", "cifar-100-python"], [str(i) for i in range(100)]),
}
KERAS_URLS = {
    "mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/ (4 files into fashion-mnist/)",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}
SKLEARN_DATASETS = {
    # name: (shape, classes, kind)
    "iris": ((4,), 3, "tabular"),
    "digits": ((8, 8), 10, "image"),
    "wine": ((13,), 3, "tabular"),
    "breast_cancer": ((30,), 2, "tabular"),
}
SYNTHETIC = ("classification", "regression", "images")
# npy:X.npy,Y.npy (or npy:DIR holding x.npy/y.npy or x_train.npy/y_train.npy/x_test.npy/y_test.npy)
FILE_SOURCES = ("npz", "npy", "csv", "images")
OFFLINE_FALLBACK = "sklearn:digits or synthetic:images"


# --------------------------------------------------------------------------- parsing sources


def parse_source(source: str) -> tuple[str, str]:
    scheme, sep, rest = source.partition(":")
    if not sep or not rest:
        raise DatasetError(f"data.source {source!r}: expected SCHEME:NAME, "
                           "e.g. sklearn:iris, keras:mnist, npz:data.npz")
    if scheme == "keras" and rest not in KERAS_DATASETS:
        raise DatasetError(f"data.source {source!r}: unknown Keras dataset; "
                           f"known: {', '.join(KERAS_DATASETS)}")
    if scheme == "sklearn" and rest not in SKLEARN_DATASETS:
        raise DatasetError(f"data.source {source!r}: unknown scikit-learn dataset; "
                           f"known: {', '.join(SKLEARN_DATASETS)}")
    if scheme == "synthetic" and rest not in SYNTHETIC:
        raise DatasetError(f"data.source {source!r}: unknown synthetic dataset; known: {', '.join(SYNTHETIC)}")
    if scheme == "tfds" and not rest.split("/")[0].isidentifier():
        raise DatasetError(f"data.source {source!r}: expected tfds:NAME (a TensorFlow Datasets name, "
                           "e.g. tfds:mnist or tfds:mnist/3.0.1)")
    if scheme not in ("keras", "sklearn", "synthetic", "tfds", *FILE_SOURCES):
        raise DatasetError(f"data.source {source!r}: unknown scheme {scheme!r}; "
                           "use keras, sklearn, synthetic, tfds, npz, npy, csv or images")
    return scheme, rest


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"


def keras_cached(name: str) -> bool:
    folder = keras_cache_dir()
    return any((folder / f).exists() for f in KERAS_DATASETS[name][2])


def all_sources() -> list[str]:
    return ([f"keras:{n}" for n in KERAS_DATASETS] + [f"sklearn:{n}" for n in SKLEARN_DATASETS]
            + [f"synthetic:{n}" for n in SYNTHETIC] + [f"{s}:PATH" for s in FILE_SOURCES] + ["tfds:NAME"])


def tfds_data_dir(data_dir: str | None) -> Path:
    """Where TensorFlow Datasets keeps prepared datasets: data.data_dir, $TFDS_DATA_DIR or ~/tensorflow_datasets."""
    text = data_dir or os.environ.get("TFDS_DATA_DIR") or str(Path.home() / "tensorflow_datasets")
    return Path(text).expanduser()


def tfds_prepared(data_dir: str | None = None) -> list[str]:
    """NAME/VERSION of every dataset prepared under a TFDS data_dir (a folder holding dataset_info.json)."""
    root = tfds_data_dir(data_dir)
    found = []
    try:
        for info in sorted(root.glob("*/*/dataset_info.json")) + sorted(root.glob("*/*/*/dataset_info.json")):
            parts = info.parent.relative_to(root).parts
            found.append("/".join(parts))
    except OSError:
        return []
    return found

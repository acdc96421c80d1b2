"""The registry of data sources, importable without numpy (the TUI lists it before its first frame)."""

from __future__ import annotations

import os
import stat
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
# Kernel pseudo-filesystems: their files are made up as they are read (some never end, some wait).
PSEUDO_ROOTS = ("/proc", "/sys")


# --------------------------------------------------------------------------- parsing sources


def parse_source(source: str) -> tuple[str, str]:
    """``SCHEME:NAME`` split and checked against the registry above: a mistyped name of a bundled
    data set (``sklearn:digitz``) or scheme is refused here, in one line with the closest known name,
    without importing numpy, scikit-learn or TensorFlow (the CLI asks before it loads TensorFlow)."""
    scheme, sep, rest = source.partition(":")
    if not sep or not rest:
        raise DatasetError(f"data.source {source!r}: expected SCHEME:NAME, "
                           "e.g. sklearn:iris, keras:mnist, npz:data.npz")
    named = {"keras": ("Keras dataset", tuple(KERAS_DATASETS)),
             "sklearn": ("scikit-learn dataset", tuple(SKLEARN_DATASETS)),
             "synthetic": ("synthetic dataset", SYNTHETIC)}
    if scheme in named and rest not in named[scheme][1]:
        what, known = named[scheme]
        raise DatasetError(f"data.source {source!r}: unknown {what}{_did_you_mean(rest, known)}; "
                           f"known: {', '.join(known)}")
    if scheme == "tfds" and not rest.split("/")[0].isidentifier():
        raise DatasetError(f"data.source {source!r}: expected tfds:NAME (a TensorFlow Datasets name, "
                           "e.g. tfds:mnist or tfds:mnist/3.0.1)")
    schemes = ("keras", "sklearn", "synthetic", "tfds", *FILE_SOURCES)
    if scheme not in schemes:
        raise DatasetError(f"data.source {source!r}: unknown scheme {scheme!r}{_did_you_mean(scheme, schemes)}; "
                           "use keras, sklearn, synthetic, tfds, npz, npy, csv or images")
    return scheme, rest


def _did_you_mean(text: str, known: tuple[str, ...]) -> str:
    """`` (did you mean 'digits'?)`` for the closest known name, or nothing."""
    import difflib

    close = difflib.get_close_matches(text.lower(), known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- the user's files


def special_file(mode: int) -> str | None:
    """What a file that is neither a regular file nor a folder is (from its ``st_mode``), else None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def pseudo_root(path: str | Path) -> str | None:
    """The kernel pseudo-filesystem (/proc, /sys) that ``path`` leads into once its links are followed."""
    real = os.path.realpath(path)
    return next((top for top in PSEUDO_ROOTS if real == top or real.startswith(top + "/")), None)


def check_data_path(scheme: str, path: Path, what: str = "file") -> os.stat_result:
    """Refuse in one line, before a byte is read, a data path that is missing or that is no regular file
    or folder: a device (/dev/zero reads for ever), a FIFO (opening one waits for a writer), a socket,
    or anything under /proc or /sys.  ``what`` ("file", "folder", "directory") is what the source
    expects: a folder given where a file is expected is refused too.  Symbolic links are followed."""
    where = f"{scheme}:{path}"
    try:
        info = path.stat()
    except FileNotFoundError:
        dangling = path.is_symlink()
        raise DatasetError(f"{where}: {what} not found{' (a symbolic link to nothing)' if dangling else ''}") from None
    except OSError as error:  # a symbolic link loop, a folder without permission, ...
        raise DatasetError(f"{where}: cannot open ({error.strerror})") from None
    except ValueError:  # the OS takes no path with a NUL character in it
        raise DatasetError(f"{where}: not a path (it holds a NUL character)") from None
    kind = special_file(info.st_mode)
    if kind is not None:
        raise DatasetError(f"{where}: is {kind}, not a regular file or folder; data is read only from files "
                           "and folders")
    top = pseudo_root(path)
    if top is not None:
        raise DatasetError(f"{where}: is under {top}, a kernel pseudo-filesystem, not data; data is read only from "
                           "files and folders")
    if what == "file" and stat.S_ISDIR(info.st_mode):
        raise DatasetError(f"{where}: is a folder; expected a file")
    return info


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

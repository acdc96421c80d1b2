"""Export a preset as a plain, runnable Keras script: no kerastui import, the workbench's
choices written out as the code a person would write — what the user takes away.

The script is built from values, never from pasted text (DESIGN.md's trust boundary): every
value the preset holds is written as a literal (:func:`_lit`: ``repr``/``ascii``), every name
written as code is checked first (layer types and keyword arguments against Keras's own
registry, the one ``kerastui check`` uses; anything else is written as a string), and nothing
from the preset reaches a comment or the docstring.  The generated text is parsed before it is
handed out.

For the sources kerastui holds in memory (keras, sklearn, synthetic, npz, npy, csv) the script
loads, splits, scales and encodes the data as :func:`kerastui.core.data.datasets.prepare` does:
the split functions are kerastui's own (their source is copied into the script), with the same
seeds, so the script trains on the same samples in the same order and its history and test
metrics are kerastui's.  Image folders and TFDS are streamed by Keras's and TFDS's own loaders.

Custom code the preset names (``compile.custom_metrics``, ``model.subclass``) is copied beside
the script by :func:`write_script` and loaded relative to the script's folder, so the script runs
on another machine.
"""

from __future__ import annotations

import ast
import contextlib
import filecmp
import inspect
import keyword
import math
import os
import re
from pathlib import Path
from typing import Any

from kerastui.core.check import check
from kerastui.core.data import base as data_base
from kerastui.core.data import datasets
from kerastui.core.data.base import DataInfo, label_mode_for
from kerastui.core.data.feed import PARALLEL, PREFETCH
from kerastui.core.data.sources import KERAS_DATASETS, SKLEARN_DATASETS, parse_source, tfds_data_dir
from kerastui.core.devices import float32_outputs
from kerastui.core.errors import KerasTUIError, ModelError
from kerastui.core.model import kerasobjects
from kerastui.core.model import layers as catalogue
from kerastui.core.model.parts import INPUT_TYPES
from kerastui.core.model.specs import DataSpec, LayerSpec, ObjectSpec, Preset, split_ref
from kerastui.core.model.transfer import KNOWN_BASES, base_constructor, min_size, transfer_image_shape
from kerastui.core.tfenv import QUIET_ENV, load_keras

# Sources kerastui holds as arrays in memory: the script reproduces their splits exactly.
ARRAY_SOURCES = ("keras", "sklearn", "synthetic", "npz", "npy", "csv")
# kerastui's functions the script carries as they are (their source, copied): one home for each rule.
CARRIED = (data_base.split_indices, data_base.take_indices, datasets._labels)
# What the copy of a custom code file beside the script may be called (else custom_N.py).
SAFE_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.py")

HEADER = '''"""A Keras training script exported by kerastui (kerastui export-script).

Plain Keras: it does not import kerastui.  Run it with python from any folder: the Python files
it loads are read from its own folder, what it writes goes to the current folder.
"""

from __future__ import annotations

import os

'''


# --------------------------------------------------------------------------- the public functions


def export_script(preset: Preset) -> str:
    """The script's text.  Raises :class:`KerasTUIError` (one line naming the preset and key) for a
    name that cannot be written as code: a layer type, keyword argument or compile class that is
    not Keras's, or a value that is not plain data."""
    try:
        text = _script(preset)
    except KerasTUIError as error:
        raise KerasTUIError(_located(preset, str(error))) from None
    try:
        ast.parse(text)
    except SyntaxError as error:  # pragma: no cover - the generator's own bug, never the preset's text
        raise KerasTUIError(f"{preset.where}: export-script wrote invalid Python (line {error.lineno}); "
                            "please report this") from None
    return text


def check_exportable(preset: Preset) -> None:
    """Refuse what ``kerastui train`` would refuse before training, in train's one line: the checks
    of ``kerastui check`` (:func:`kerastui.core.check.check`)."""
    result = check(preset)
    if not result.ok:
        raise KerasTUIError(result.error or f"{preset.where}: check failed")


def custom_files(preset: Preset) -> list[tuple[str, Path]]:
    """The Python files the preset's custom code lives in, each as (its name beside the script, where
    it is now), in the order the refs name them; one file named twice is copied once."""
    out: list[tuple[str, Path]] = []
    for ref in _custom_refs(preset):
        source = _code_path(split_ref(ref)[0], preset.base_dir)
        if any(os.path.abspath(source) == os.path.abspath(s) for _, s in out):
            continue
        name = source.name if SAFE_FILE.fullmatch(source.name) else f"custom_{len(out) + 1}.py"
        taken = {n for n, _ in out}
        stem, number = name[:-3], 2
        while name in taken:
            name, number = f"{stem}_{number}.py", number + 1
        out.append((name, source))
    return out


def write_script(preset: Preset, path: Path, *, validate: bool = True) -> Path:
    """Write the script to ``path`` and copy the custom code files it loads beside it (named by
    :func:`custom_files`); returns the script's path.  ``validate``: refuse first what train would refuse
    (:func:`check_exportable`).  The script is written through a temporary file created afresh
    (never through a link planted at its name) and renamed over ``path``.  A file of the same name
    beside it that differs from the one to copy is not overwritten: that is refused in one line."""
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise KerasTUIError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise KerasTUIError(f"{path}: is a directory")
    if validate:
        check_exportable(preset)
    text = export_script(preset)
    copies = [(path.parent / name, source) for name, source in custom_files(preset)]
    for target, source in copies:
        if not source.is_file():
            raise KerasTUIError(f"{preset.where}: {source} not found (the script loads it)")
        if target == path:
            raise KerasTUIError(f"{path}: the script would replace {source.name}, which it loads; "
                                "give the script another name")
        if target.exists() and not _same_file(target, source):
            raise KerasTUIError(f"{target}: exists and differs from {source}, which the script loads from its "
                                "folder; write the script to another folder or remove that file")
    for target, source in copies:
        if not target.exists():
            _write_atomically(target, source.read_bytes())
    _write_atomically(path, text.encode("utf-8"))
    return path


def _same_file(target: Path, source: Path) -> bool:
    try:
        return os.path.samefile(target, source) or filecmp.cmp(target, source, shallow=False)
    except OSError:
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a stale one (or a link someone planted): replaced, never followed
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as error:
        raise KerasTUIError(f"{path}: cannot write ({error.strerror or error})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def streamed(preset: Preset) -> bool:
    """Whether the script feeds tf.data pipelines (image folders, TFDS) rather than arrays."""
    return parse_source(preset.data.source)[0] in ("images", "tfds")


# --------------------------------------------------------------------------- values and names as code


def _lit(value: Any, key: str) -> str:
    """``value`` as a Python literal of ASCII characters only (strings through ``ascii``: control,
    bidi and line-separator characters become escapes).  Only plain data is written; ``key`` names
    the preset key of anything else."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value)) if math.isfinite(value) else f"float({str(float(value))!r})"
    if isinstance(value, str):
        return ascii(str(value))
    if isinstance(value, (list, tuple)):
        items = [_lit(v, key) for v in value]
        if isinstance(value, tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise KerasTUIError(f"{key}: a table's keys must be strings to be written into a script")
        return "{" + ", ".join(f"{_lit(k, key)}: {_lit(v, key)}" for k, v in value.items()) + "}"
    raise KerasTUIError(f"{key}: a {type(value).__name__} value cannot be written into a script")


def _is_name(text: str) -> bool:
    """Whether ``text`` can be written as a Python name (a keyword argument's, an attribute's)."""
    return text.isidentifier() and not keyword.iskeyword(text) and text.isascii()


def _args(kwargs: dict[str, Any], key: str) -> str:
    """Keyword arguments as code: ``a=1, b='x'``; a keyword that is no Python name goes in ``**{...}``."""
    named = [f"{k}={_lit(v, f'{key}.{k}')}" for k, v in kwargs.items() if _is_name(k)]
    other = {k: v for k, v in kwargs.items() if not _is_name(k)}
    if other:
        named.append(f"**{_lit(other, key)}")
    return ", ".join(named)


def _tupled(value: Any) -> Any:
    """TOML arrays become tuples where Keras wants shapes and sizes (as the builder does)."""
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return value


def _located(preset: Preset, message: str) -> str:
    return message if message.startswith(preset.where) else f"{preset.where}: {message}"


# --------------------------------------------------------------------------- the script


def _script(preset: Preset) -> str:
    if preset.devices.precision != "float32":
        preset = float32_outputs(preset)  # the output layers in float32, as the trainer builds them
    env = "\n".join(f"os.environ.setdefault({_lit(k, 'env')}, {_lit(v, 'env')})" for k, v in QUIET_ENV.items())
    lines = [HEADER + env, "",
             "from pathlib import Path  # noqa: E402", "",
             "import numpy as np  # noqa: E402",
             "import keras  # noqa: E402", "",
             "HERE = Path(__file__).resolve().parent  # the Python files this script loads are read from here",
             f"TITLE = {_lit(preset.title, 'title')}",
             f"PRESET = {_lit(preset.name, 'preset')}",
             f"SEED = {_lit(preset.fit.seed, 'fit.seed')}",
             f"DATA_SEED = {_lit(preset.data.seed, 'data.seed')}",
             "keras.utils.set_random_seed(SEED)"]
    return "\n".join([*lines, _data(preset), _model(preset), _compile_fit(preset)]).rstrip() + "\n"


# --------------------------------------------------------------------------- data


def _data(preset: Preset) -> str:
    scheme, name = parse_source(preset.data.source)
    lines = ["", "", "# ---------------------------------------------------------------- data"]
    if scheme == "images":
        return "\n".join(lines + _images(preset, name))
    if scheme == "tfds":
        return "\n".join(lines + _tfds(preset, name))
    return "\n".join(lines + _arrays(preset, scheme, name))


def _arrays(preset: Preset, scheme: str, name: str) -> list[str]:
    """An in-memory source as ``datasets.prepare`` makes it: loaded, kept classes, split (test,
    limit, validation: kerastui's own functions, one generator seeded by data.seed), scaled,
    labels encoded."""
    spec = preset.data
    info = datasets.describe(spec, preset.base_dir)  # kind, task and classes, as the trainer sees them
    lines = _carried() + _load(spec, scheme, name, preset.base_dir)
    classification = info.task == "classification"
    lines += ["", f"STRATIFY = {classification}  # stratified by class",
              f"TEST_SPLIT = {_lit(spec.test_split, 'data.test_split')}",
              f"VALIDATION_SPLIT = {_lit(spec.validation_split, 'data.validation_split')}",
              f"LIMIT = {_lit(spec.limit, 'data.limit')}",
              f"KEEP = {_lit(list(spec.classes) if spec.classes else None, 'data.classes')}",
              "",
              "# Every split is a list of indices into the source's arrays (x, y; x_test, y_test for a source",
              "# with its own test split), drawn from one generator seeded by DATA_SEED in kerastui's order.",
              "rng = np.random.default_rng(DATA_SEED)",
              "train_index = np.arange(len(y))",
              "test_index = np.arange(len(y_test)) if y_test is not None else None",
              "if KEEP:  # data.classes: the classes kept, numbered in this order",
              "    number = {c: i for i, c in enumerate(KEEP)}",
              "    y = np.array([number.get(int(v), -1) for v in y], dtype='int64')",
              "    train_index = np.flatnonzero(y >= 0)",
              "    if y_test is not None:",
              "        y_test = np.array([number.get(int(v), -1) for v in y_test], dtype='int64')",
              "        test_index = np.flatnonzero(y_test >= 0)",
              "if test_index is None:  # no test split of its own: data.test_split of the samples",
              "    first, second = split_indices(y[train_index], TEST_SPLIT, rng, STRATIFY)",
              "    train_index, test_index = train_index[first], train_index[second]",
              "    x_test, y_test = x, y",
              "if LIMIT:  # data.limit training samples, a quarter as many test samples",
              "    train_index = train_index[take_indices(y[train_index], LIMIT, rng, STRATIFY)]",
              "    test_index = test_index[take_indices(y_test[test_index], max(LIMIT // 4, 1), rng, STRATIFY)]",
              "val_index = None",
              "if VALIDATION_SPLIT > 0 and len(train_index) >= 4:",
              "    first, second = split_indices(y[train_index], VALIDATION_SPLIT, rng, STRATIFY)",
              "    train_index, val_index = train_index[first], train_index[second]",
              "    if len(val_index) == 0:  # one sample per class: nothing to hold out",
              "        val_index = None",
              "else:",
              "    train_index = train_index[rng.permutation(len(train_index))]",
              "x_train, y_train = x[train_index], y[train_index]",
              "x_val, y_val = (x[val_index], y[val_index]) if val_index is not None else (None, None)",
              "x_test, y_test = x_test[test_index], y_test[test_index]"]
    lines += _scale(preset, info)
    mode = label_mode_for(preset.compile.loss_name, info.task, spec.one_hot)
    lines += ["", f"LABEL_MODE = {_lit(mode, 'compile.loss')}",
              f"NUM_CLASSES = {_lit(info.num_classes, 'data')}", "",
              "",
              "def encode(labels):",
              "    # class indices as the loss takes them: one-hot rows, a float column, or as they are",
              "    if LABEL_MODE == 'categorical':",
              "        out = np.zeros((len(labels), NUM_CLASSES), dtype='float32')",
              "        out[np.arange(len(labels)), labels] = 1.0",
              "        return out",
              "    if LABEL_MODE == 'binary':",
              "        return labels.astype('float32').reshape(-1, 1)",
              "    if LABEL_MODE == 'regression':",
              "        return labels.astype('float32')",
              "    return labels.astype('int64')",
              "",
              "",
              "y_train, y_test = encode(y_train), encode(y_test)",
              "y_val = encode(y_val) if y_val is not None else None",
              "validation = (x_val, y_val) if x_val is not None else None",
              "input_shape = tuple(x_train.shape[1:])",
              "print('data:', x_train.shape, x_test.shape)",
              "print('split: train', len(x_train), 'validation', 0 if x_val is None else len(x_val), "
              "'test', len(x_test))"]
    return lines


def _carried() -> list[str]:
    """kerastui's own split and label functions, their source copied (not re-written)."""
    lines: list[str] = []
    for function in CARRIED:
        try:
            source = inspect.getsource(function)
            tree = ast.parse(source)
        except (OSError, TypeError, SyntaxError):
            tree = None
        # The source read must be the function's own (a file changed since it was imported is not).
        if tree is None or [(type(n), n.name) for n in tree.body if isinstance(n, ast.FunctionDef)] != [
                (ast.FunctionDef, function.__name__)] or len(tree.body) != 1:
            raise KerasTUIError(f"export-script: the source of {function.__module__}.{function.__name__} cannot be "
                                "read as it was loaded (kerastui changed on disk?); start kerastui again")
        lines += ["", "", *source.rstrip().splitlines()]
    return lines + ["", ""]


def _path(text: str, base: Path) -> str:
    """A data path as kerastui resolves it (relative to the current folder, else the preset's), absolute."""
    path = Path(text).expanduser()
    if not path.is_absolute() and not path.exists() and (base / path).exists():
        path = base / path
    return os.path.abspath(path)


def _load(spec: DataSpec, scheme: str, name: str, base: Path) -> list[str]:
    """x, y (and x_test, y_test, or None) as kerastui's loaders give them; PIXEL_MAX for images."""
    if scheme == "keras":
        if name not in KERAS_DATASETS or not _is_name(name):  # parse_source refuses others already
            raise KerasTUIError(f"data.source: unknown Keras dataset {name!r}")
        return [f"(x, y), (x_test, y_test) = keras.datasets.{name}.load_data()",
                "y, y_test = y.reshape(-1).astype('int64'), y_test.reshape(-1).astype('int64')",
                "PIXEL_MAX = 255.0"]
    if scheme == "sklearn":
        if name not in SKLEARN_DATASETS or not _is_name(name):
            raise KerasTUIError(f"data.source: unknown scikit-learn dataset {name!r}")
        lines = ["from sklearn import datasets  # noqa: E402", "", f"bunch = datasets.load_{name}()"]
        if name == "digits":
            return lines + ["x, y = bunch.images.astype('float32'), bunch.target.astype('int64')", "PIXEL_MAX = 16.0",
                            "x_test = y_test = None"]
        return lines + ["x, y = bunch.data.astype('float32'), bunch.target.astype('int64')", "x_test = y_test = None"]
    if scheme == "synthetic":
        return _synthetic(spec, name) + ["x_test = y_test = None"]
    if scheme == "csv":
        return _csv(spec, _path(name, base))
    return _npz_npy(spec, scheme, name, base)


def _synthetic(spec: DataSpec, name: str) -> list[str]:
    """kerastui's generator (datasets._load_synthetic), seeded by data.seed."""
    samples = spec.samples or 1000
    noise = 1.0 if spec.noise is None else spec.noise
    lines = ["gen = np.random.default_rng(DATA_SEED)", f"SAMPLES = {_lit(samples, 'data.samples')}",
             f"NOISE = {_lit(noise, 'data.noise')}"]
    if name == "images":
        given = list(spec.image_shape or (28, 28, 1))
        shape = [*given, 1] if len(given) == 2 else given
        return lines + [
            "# each class is a coarse 4x4 pattern blown up to the image size, plus pixel noise",
            f"CLASSES = {_lit(spec.num_classes or 5, 'data.num_classes')}",
            f"HEIGHT, WIDTH, CHANNELS = {_lit(tuple(shape), 'data.image_shape')}",
            "coarse = gen.uniform(size=(CLASSES, 4, 4, CHANNELS))",
            "rows = np.minimum(np.arange(HEIGHT) * 4 // HEIGHT, 3)",
            "cols = np.minimum(np.arange(WIDTH) * 4 // WIDTH, 3)",
            "templates = coarse[:, rows][:, :, cols]",
            "y = gen.integers(0, CLASSES, size=SAMPLES)",
            "x = 0.6 * templates[y] + 0.4 * NOISE * gen.uniform(size=(SAMPLES, HEIGHT, WIDTH, CHANNELS))",
            "x = np.clip(x / max(0.6 + 0.4 * NOISE, 1e-6) * 255.0, 0, 255).astype('uint8')",
            *(["x = x[..., 0]  # data.image_shape has no channel axis"] if len(given) == 2 else []),
            "y = y.astype('int64')",
            "PIXEL_MAX = 255.0"]
    lines += [f"FEATURES = {_lit(spec.features or 20, 'data.features')}",
              "x = gen.normal(size=(SAMPLES, FEATURES)).astype('float32')" if name == "regression" else ""]
    if name == "regression":
        return [line for line in lines if line] + [
            "w = gen.normal(size=(FEATURES,))",
            "y = (x @ w + 0.5 * np.sin(x[:, 0] * 2) + gen.normal(scale=0.1 * NOISE, size=SAMPLES)).astype('float32')"]
    return [line for line in lines if line] + [
        "# Gaussian blobs, one per class",
        f"CLASSES = {_lit(spec.num_classes or 3, 'data.num_classes')}",
        "centres = gen.normal(size=(CLASSES, FEATURES))",
        "y = gen.integers(0, CLASSES, size=SAMPLES)",
        "x = (centres[y] + gen.normal(scale=NOISE, size=(SAMPLES, FEATURES))).astype('float32')",
        "y = y.astype('int64')"]


def _npz_npy(spec: DataSpec, scheme: str, name: str, base: Path) -> list[str]:
    """``npz:FILE``, ``npy:X.npy,Y.npy`` or ``npy:DIR``: x/y, or x_train/y_train (with x_test/y_test)."""
    if scheme == "npz":
        lines = [f"arrays = np.load({_lit(_path(name, base), 'data.source')}, allow_pickle=False)"]
    else:
        parts = [part.strip() for part in name.split(",")]
        if len(parts) == 2:
            files = {"x": _path(parts[0], base), "y": _path(parts[1], base)}
        else:
            folder = Path(_path(parts[0], base))
            files = {p.stem: str(p) for p in sorted(folder.glob("*.npy"))}
        lines = [f"FILES = {_lit(files, 'data.source')}",
                 "arrays = {key: np.load(path, mmap_mode='r', allow_pickle=False) for key, path in FILES.items()}"]
    lines += ["if 'x_train' in arrays and 'y_train' in arrays:",
              "    x, y = arrays['x_train'], arrays['y_train']",
              "    x_test = arrays['x_test'] if 'x_test' in arrays else None",
              "    y_test = arrays['y_test'] if 'y_test' in arrays else None",
              "else:",
              "    x, y, x_test, y_test = arrays['x'], arrays['y'], None, None",
              *_array_kind(spec),
              "y, y_test = np.asarray(y), None if y_test is None else np.asarray(y_test)",
              "task, y_all, class_names = _labels(np.concatenate([y, y_test]) if y_test is not None else y)",
              "y, y_test = (y_all[:len(y)], y_all[len(y):]) if y_test is not None else (y_all, None)",
              "if KIND == 'image':",
              "    PIXEL_MAX = 255.0 if x.dtype == np.uint8 else float(np.max(x)) if x.size else 255.0"]
    return lines


def _array_kind(spec: DataSpec) -> list[str]:
    """The arrays' kind as kerastui reads it (datasets._array_kind; data.kind wins); tabular arrays flat."""
    guess = ("'image' if x.ndim >= 4 or (x.ndim == 3 and x.dtype == np.uint8) "
             "else 'sequence' if x.ndim == 3 else 'tabular'")
    return [f"KIND = {_lit(spec.kind, 'data.kind')}" if spec.kind else f"KIND = {guess}",
            "if KIND == 'tabular' and x.ndim > 2:",
            "    x = x.reshape(len(x), -1)",
            "    x_test = None if x_test is None else x_test.reshape(len(x_test), -1)"]


def _csv(spec: DataSpec, path: str) -> list[str]:
    """A table read as kerastui reads it (datasets._load_csv): delimiter sniffed, a byte-order mark
    dropped, a header unless data.label_column is an index and the first row is numbers, the label
    column (data.label_column, else the last), missing values as data.missing says."""
    return ["import csv  # noqa: E402", "",
            f"PATH = {_lit(path, 'data.source')}",
            f"LABEL_COLUMN = {_lit(spec.label_column, 'data.label_column')}",
            f"MISSING_RULE = {_lit(spec.missing, 'data.missing')}",
            "MISSING = ('', 'na', 'n/a', 'nan', 'null', 'none', '?', '-')",
            "",
            "",
            "def is_number(text):",
            "    try:",
            "        float(text)",
            "    except ValueError:",
            "        return False",
            "    return True",
            "",
            "",
            "with open(PATH, newline='', encoding='utf-8-sig') as handle:",
            "    sample = handle.read(65536)",
            "    handle.seek(0)",
            "    try:",
            "        dialect = csv.Sniffer().sniff(sample, delimiters=',;\\t|')",
            "    except csv.Error:",
            "        dialect = csv.excel",
            "    rows = [[v.strip() for v in r] for r in csv.reader(handle, dialect)",
            "            if r and any(v.strip() for v in r)]",
            "width = len(rows[0])",
            "has_header = not isinstance(LABEL_COLUMN, int) or not (-width <= LABEL_COLUMN < width) or not all(",
            "    is_number(v) or v.lower() in MISSING for i, v in enumerate(rows[0]) if i != LABEL_COLUMN % width)",
            "header = rows.pop(0) if has_header else [f'x{i}' for i in range(width)]",
            "if isinstance(LABEL_COLUMN, int):",
            "    label = LABEL_COLUMN % width",
            "else:",
            "    label = header.index(LABEL_COLUMN or header[-1])",
            "x = np.array([[np.nan if v.lower() in MISSING else float(v) for i, v in enumerate(r) if i != label]",
            "              for r in rows], dtype='float32')",
            "labels = np.array([r[label] for r in rows])",
            "keep = np.array([r[label].lower() not in MISSING for r in rows], dtype=bool)",
            "if MISSING_RULE == 'drop':",
            "    keep &= ~np.isnan(x).any(axis=1)",
            "x, labels = x[keep], labels[keep]",
            "if MISSING_RULE == 'mean':  # a column with no value at all: 0",
            "    means = np.nansum(x, axis=0) / np.maximum((~np.isnan(x)).sum(axis=0), 1)",
            "    gaps = np.where(np.isnan(x))",
            "    x[gaps] = means[gaps[1]]",
            "if all(is_number(v) for v in labels):",
            "    labels = labels.astype('float64')",
            "task, y, class_names = _labels(labels)",
            "x_test = y_test = None"]


def _scale(preset: Preset, info: DataInfo) -> list[str]:
    """Images: a channel axis, 0..1 pixels (data.normalize) or the transfer base's input; tables and
    sequences: float32, standardised by the training split's mean and deviation (data.normalize)."""
    spec = preset.data
    scheme = parse_source(spec.source)[0]
    runtime_kind = scheme in ("npz", "npy")  # decided from the arrays, as kerastui does
    image = ["", "", "def images(a):",
             "    if a.ndim == 3:  # (N, H, W): a channel axis for Conv2D",
             "        a = a[..., None]"]
    if preset.transfer is not None:
        shape = info.shape if len(info.shape) == 3 else (*info.shape, 1)
        h, w, c = transfer_image_shape(preset.transfer, shape)
        image = ["import tensorflow as tf  # noqa: E402", *image,
                 *(["    if a.shape[-1] == 1:  # the base takes three channels",
                    "        a = np.repeat(a, 3, axis=-1)"] if c == 3 else []),
                 f"    if tuple(a.shape[1:3]) != {_lit((h, w), 'transfer.input_shape')}:",
                 "        a = a.astype('float32')",
                 f"        a = np.concatenate([tf.image.resize(a[i:i + 512], {_lit((h, w), 'transfer.input_shape')})"
                 ".numpy() for i in range(0, len(a), 512)]).astype('float32')",
                 "    a = a.astype('float32')",
                 f"    return keras.applications.{_preprocess_module(preset)}.preprocess_input("
                 "a * (255.0 / PIXEL_MAX))"]
    else:
        image += ["    a = a.astype('float32')",
                  "    return a / PIXEL_MAX" if spec.normalize else "    return a"]
    image += ["", "", "x_train, x_test = images(x_train), images(x_test)",
              "x_val = images(x_val) if x_val is not None else None"]
    table = ["x_train, x_test = x_train.astype('float32'), x_test.astype('float32')",
             "x_val = x_val.astype('float32') if x_val is not None else None"]
    if spec.normalize:
        table += ["mean, std = x_train.mean(axis=0), x_train.std(axis=0)",
                  "std[std == 0] = 1.0",
                  "x_train, x_test = (x_train - mean) / std, (x_test - mean) / std",
                  "x_val = (x_val - mean) / std if x_val is not None else None"]
    if runtime_kind:
        return ["", "if KIND == 'image':", *["    " + line if line else "" for line in image],
                "else:  # tabular features or sequences: standardised per position", *["    " + line for line in table]]
    return image if info.kind == "image" else ["", *table]


def _preprocess_module(preset: Preset) -> str:
    """The keras.applications module whose preprocess_input the transfer base takes (checked name)."""
    assert preset.transfer is not None
    base = preset.transfer.base
    module = KNOWN_BASES.get(base, (None,))[0]
    if module is None:
        module = base_constructor(base).__module__.rsplit(".", 1)[-1]
        if not hasattr(load_keras().applications, module):
            raise KerasTUIError(f"transfer.base: {base!r}: its preprocess_input is not in keras.applications")
    if not _is_name(module):  # pragma: no cover - Keras's own module names
        raise KerasTUIError(f"transfer.base: {base!r} cannot be written into a script")
    return module


# --------------------------------------------------------------------------- streamed sources


def _scaling(preset: Preset, module_var: str = "x") -> tuple[list[str], str]:
    """The per-batch scaling of a pipeline (kerastui's: 0..1 pixels, or the transfer base's
    preprocess_input on 0..255 ones) and the image size line(s) it needs."""
    spec = preset.data
    if preset.transfer is not None:
        module = _preprocess_module(preset)
        if preset.transfer.input_shape:
            size = [f"IMAGE_SIZE = {_lit(tuple(int(d) for d in preset.transfer.input_shape[:2]), 'transfer')}"]
        else:
            smallest = _lit(min_size(preset.transfer.base), "transfer.base")
            size = [f"IMAGE_SIZE = tuple(max(int(d), {smallest}) for d in IMAGE_SIZE)  # the base's smallest input"]
        return size, f"keras.applications.{module}.preprocess_input({module_var})"
    return [], f"{module_var} / 255.0" if spec.normalize else module_var


def _encode_lines(preset: Preset) -> list[str]:
    mode = label_mode_for(preset.compile.loss_name, "classification", preset.data.one_hot)
    if mode == "categorical":
        return ["def encode(x, y):", "    return x, tf.one_hot(y, len(CLASS_NAMES))"]
    if mode == "binary":
        return ["def encode(x, y):", "    return x, tf.cast(tf.reshape(y, (-1, 1)), tf.float32)"]
    return ["def encode(x, y):", "    return x, y"]


def _feed(preset: Preset) -> list[str]:
    """Batch, cache and prefetch the unbatched (image, label) pipelines train_ds, val_ds, test_ds."""
    spec, fit = preset.data, preset.fit
    lines = ["", "", "def feed(ds, split, shuffle=False):",
             "    ds = ds.ignore_errors()  # a file that cannot be decoded is skipped"]
    if spec.cache == "memory":
        lines += ["    ds = ds.cache()"]
    elif spec.cache == "file":
        lines += ["    os.makedirs('data-cache', exist_ok=True)",
                  "    ds = ds.cache(os.path.join('data-cache', split))"]
    if spec.cache is not None:
        lines += ["    if shuffle:  # the cache replays one order",
                  "        ds = ds.shuffle(1024, seed=DATA_SEED, reshuffle_each_iteration=True)"]
    lines += [f"    return ds.batch({_lit(fit.batch_size, 'fit.batch_size')}).map(encode).prefetch(tf.data.AUTOTUNE)",
              "", "",
              "train_ds = feed(train_ds, 'train', shuffle=True)",
              "val_ds = feed(val_ds, 'val') if val_ds is not None else None",
              "test_ds = feed(test_ds, 'test')",
              "validation = val_ds",
              "input_shape = tuple(train_ds.element_spec[0].shape[1:])",
              "print('data:', CLASS_NAMES, input_shape)"]
    return lines


def _images(preset: Preset, name: str) -> list[str]:
    """images:DIR: class sub-folders; test/ and validation/ (or val/) sub-folders when present, else
    file-level splits by Keras's image_dataset_from_directory (seeded by data.seed, not kerastui's
    stratified plan); resized to data.resize or the first image's size; streamed."""
    spec = preset.data
    size_lines, scale = _scaling(preset)
    test = _lit(spec.test_split, "data.test_split")
    val = _lit(spec.validation_split, "data.validation_split")
    lines = ["import tensorflow as tf  # noqa: E402", "",
             f"ROOT = {_lit(_path(name, preset.base_dir), 'data.source')}",
             "IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')",
             f"TEST_SPLIT, VALIDATION_SPLIT = {test}, {val}",
             "",
             "",
             "def sub(*names):",
             "    return next((os.path.join(ROOT, n) for n in names if os.path.isdir(os.path.join(ROOT, n))), None)",
             "",
             "",
             "TRAIN_DIR, TEST_DIR, VAL_DIR = sub('train') or ROOT, sub('test'), sub('validation', 'val')",
             "CLASS_NAMES = sorted(d for d in os.listdir(TRAIN_DIR) if os.path.isdir(os.path.join(TRAIN_DIR, d))",
             "                     and not d.startswith('.') and (TRAIN_DIR != ROOT or d not in "
             "('train', 'test', 'validation', 'val')))"]
    if spec.classes:
        lines += [f"CLASS_NAMES = [CLASS_NAMES[i] for i in {_lit(list(spec.classes), 'data.classes')}]"]
    if spec.resize:
        lines += [f"IMAGE_SIZE = {_lit(tuple(int(d) for d in spec.resize), 'data.resize')}"]
    else:
        lines += ["first = min(f for f in os.listdir(os.path.join(TRAIN_DIR, CLASS_NAMES[0]))",
                  "            if f.lower().endswith(IMAGE_SUFFIXES))",
                  "IMAGE_SIZE = keras.utils.load_img(os.path.join(TRAIN_DIR, CLASS_NAMES[0], first)).size[::-1]  "
                  "# (height, width) of the first image"]
    lines += size_lines
    lines += ["",
              "",
              "def folder(path, **kwargs):",
              "    # unbatched (image, label) pairs: 0..255 float pixels resized to IMAGE_SIZE, class indices",
              "    return keras.utils.image_dataset_from_directory(path, class_names=CLASS_NAMES,",
              "                                                    image_size=IMAGE_SIZE, batch_size=None,",
              "                                                    seed=DATA_SEED, verbose=False, **kwargs)",
              "",
              "",
              "# splits at file level, fixed by DATA_SEED (Keras shuffles the file list with it; a held-out subset",
              "# keeps that order)",
              "val_ds = folder(VAL_DIR, shuffle=False) if VAL_DIR else None",
              "if TEST_DIR:",
              "    test_ds = folder(TEST_DIR, shuffle=False)",
              "    if val_ds is None and VALIDATION_SPLIT > 0:",
              "        train_ds, val_ds = folder(TRAIN_DIR, validation_split=VALIDATION_SPLIT, subset='both')",
              "    else:",
              "        train_ds = folder(TRAIN_DIR)",
              "elif val_ds is None and VALIDATION_SPLIT > 0:",
              "    held_out = TEST_SPLIT + VALIDATION_SPLIT * (1 - TEST_SPLIT)",
              "    train_ds, held = folder(TRAIN_DIR, validation_split=held_out, subset='both')",
              "    n_test = int(round(int(held.cardinality()) * TEST_SPLIT / held_out))",
              "    test_ds, val_ds = held.take(n_test), held.skip(n_test)",
              "else:",
              "    train_ds, test_ds = folder(TRAIN_DIR, validation_split=TEST_SPLIT, subset='both')",
              "",
              "",
              "def scale(x, y):",
              f"    return {scale}, y",
              "",
              "",
              *_encode_lines(preset),
              "",
              "",
              "train_ds, test_ds = train_ds.map(scale), test_ds.map(scale)",
              "val_ds = val_ds.map(scale) if val_ds is not None else None"]
    return lines + _feed(preset)


def _tfds(preset: Preset, name: str) -> list[str]:
    """tfds:NAME from a prepared data_dir: its own test/validation splits, else percent slices of the
    training split (kerastui's); images cast to float32, resized when asked, scaled."""
    spec = preset.data
    data_dir = str(tfds_data_dir(spec.data_dir))
    size_lines, scale = _scaling(preset)
    train = spec.split or "train"
    test_pct = int(round(spec.test_split * 100))
    lines = ["import tensorflow as tf  # noqa: E402",
             "import tensorflow_datasets as tfds  # noqa: E402", "",
             f"NAME, DATA_DIR, TRAIN = {_lit(name, 'data.source')}, {_lit(data_dir, 'data.data_dir')}, "
             f"{_lit(train, 'data.split')}",
             "info = tfds.builder(NAME, data_dir=DATA_DIR).info  # prepared there: nothing is downloaded",
             "CLASS_NAMES = info.features[info.supervised_keys[1]].names",
             "own_test = 'test' in info.splits and TRAIN != 'test'",
             "own_val = 'validation' in info.splits and TRAIN != 'validation'",
             f"test_pct = 0 if own_test else {_lit(test_pct, 'data.test_split')}",
             f"val_pct = 0 if own_val else int(round({_lit(spec.validation_split, 'data.validation_split')} "
             "* (100 - test_pct)))",
             "cut = 100 - test_pct - val_pct",
             "splits = [TRAIN if cut == 100 or '[' in TRAIN else f'{TRAIN}[:{cut}%]',",
             "          'test' if own_test else f'{TRAIN}[{100 - test_pct}%:]']",
             "if own_val or val_pct:",
             "    splits.append('validation' if own_val else f'{TRAIN}[{cut}%:{100 - test_pct}%]')",
             "loaded = tfds.load(NAME, split=splits, data_dir=DATA_DIR, as_supervised=True, download=False,",
             "                   shuffle_files=False)",
             "train_ds, test_ds = loaded[0], loaded[1]",
             "val_ds = loaded[2] if len(loaded) > 2 else None",
             "train_ds = train_ds.shuffle(1024, seed=DATA_SEED, reshuffle_each_iteration=True)"]
    resize = _lit(tuple(int(d) for d in spec.resize), "data.resize") if spec.resize else None
    image = ["    x = tf.cast(x, tf.float32)"]
    if preset.transfer is not None:
        lines += ["IMAGE_SIZE = " + (resize or "tuple(info.features[info.supervised_keys[0]].shape[:2])")]
        lines += size_lines
        image += ["    if x.shape[-1] == 1:", "        x = tf.image.grayscale_to_rgb(x)",
                  "    x = tf.image.resize(x, IMAGE_SIZE)"]
    elif resize:
        image += [f"    x = tf.image.resize(x, {resize})"]
    lines += ["", "", "def scale(x, y):", *image, f"    return {scale}, y", "", "", *_encode_lines(preset), "", "",
              "train_ds, test_ds = train_ds.map(scale), test_ds.map(scale)",
              "val_ds = val_ds.map(scale) if val_ds is not None else None"]
    return lines + _feed(preset)


# --------------------------------------------------------------------------- model


def _custom_refs(preset: Preset) -> list[str]:
    refs = list(preset.compile.custom_metrics)
    if preset.model.type == "subclass" and preset.model.subclass:
        refs.append(preset.model.subclass)
    return refs


def _code_path(file: str, base: Path) -> Path:
    """Where a custom code file is, as kerastui's usercode.load_object finds it."""
    path = Path(file).expanduser()
    return path if path.is_absolute() else base / path


def _layer(spec: LayerSpec, where: str) -> str:
    """``keras.layers.Type(kwargs)``: the type and keywords checked against Keras's registry first."""
    if spec.type in INPUT_TYPES:
        raise ModelError(f"{where}: Input must be the first layer")
    try:
        catalogue.check_kwargs(spec.type, spec.kwargs)
    except ModelError as error:
        raise ModelError(f"{where}: {error}") from None
    if not _is_name(spec.type):  # pragma: no cover - every class in Keras's registry has a Python name
        raise ModelError(f"{where}: layer type {spec.type!r} cannot be written into a script")
    kwargs = {k: _tupled(v) for k, v in spec.kwargs.items()}
    if spec.name:
        kwargs["name"] = spec.name
    return f"keras.layers.{spec.type}({_args(kwargs, where)})"


def _input(spec: LayerSpec | None, where: str) -> str:
    """``keras.Input(...)``: the spec's shape, else the data's (input_shape), as the builder makes it."""
    kwargs = dict(spec.kwargs) if spec else {}
    shape = kwargs.pop("shape", None)
    unknown = set(kwargs) - {"dtype", "sparse"}
    if "batch_shape" in kwargs:
        raise ModelError(f"{where}: use shape (without the batch axis), not batch_shape")
    if unknown:
        raise ModelError(f"{where}: Input has no argument {sorted(unknown)[0]!r}; it takes shape and dtype")
    text = "input_shape" if shape is None else _lit((shape,) if isinstance(shape, int) else tuple(shape), where)
    if spec is not None and spec.name:
        kwargs["name"] = spec.name
    rest = _args(kwargs, where)
    return f"keras.Input(shape={text}{', ' + rest if rest else ''})"


def _model(preset: Preset) -> str:
    model = preset.model
    lines = ["", "", "# ---------------------------------------------------------------- model", ""]
    files = {os.path.abspath(source): name for name, source in custom_files(preset)}

    def loaded(ref: str) -> str:
        file, cls = split_ref(ref)
        name = files[os.path.abspath(_code_path(file, preset.base_dir))]
        return f"load_class({_lit(name, 'compile.custom_metrics')}, {_lit(cls, 'compile.custom_metrics')})"

    if _custom_refs(preset):
        lines += ["import importlib.util  # noqa: E402", "", "",
                  "def load_class(file_name, class_name):",
                  "    # a class from a Python file in this script's folder (export-script copied it there)",
                  "    path = HERE / file_name",
                  "    spec = importlib.util.spec_from_file_location(path.stem, path)",
                  "    module = importlib.util.module_from_spec(spec)",
                  "    spec.loader.exec_module(module)",
                  "    return getattr(module, class_name)",
                  "", ""]
    if preset.compile.custom_metrics:
        lines += [f"CUSTOM_METRICS = [{', '.join(loaded(ref) for ref in preset.compile.custom_metrics)}]"]
    precision = preset.devices.precision
    if precision != "float32":
        lines += [f"keras.mixed_precision.set_global_policy({_lit(precision, 'devices.precision')})"
                  "  # while the model is built"]
    if preset.transfer is not None:
        lines += _transfer_model(preset)
    elif model.type == "subclass":
        assert model.subclass is not None  # check_preset: a subclass model names its class
        lines += [f"ModelClass = {loaded(model.subclass)}",
                  f"model = ModelClass({_args(model.kwargs, 'model.kwargs')})",
                  "model(keras.ops.zeros((1, *input_shape)))  # build the weights"]
    elif model.type == "functional":
        lines += _functional(preset)
    else:
        specs = list(model.layers)
        first = specs.pop(0) if specs and specs[0].type in INPUT_TYPES else None
        offset = 1 if first is not None else 0
        entries = [_input(first, "model.layers[0]")]
        entries += [_layer(spec, f"model.layers[{i}]") for i, spec in enumerate(specs, start=offset)]
        lines += ["model = keras.Sequential([", *[f"    {entry}," for entry in entries], "])"]
    if precision != "float32":
        lines += ["keras.mixed_precision.set_global_policy('float32')"]
    if model.summary:
        lines += ["model.summary()"]
    lines += ["print('PARAMS', model.count_params())"]
    return "\n".join(lines)


def _functional(preset: Preset) -> list[str]:
    """Layers called on the tensors they name (``inputs``), else on the one before; every tensor kept
    in ``tensors`` under its layer's name (a string: a name never becomes a Python name)."""
    lines = ["tensors = {}  # by layer name", "inputs = []"]
    previous: str | None = None
    for i, spec in enumerate(preset.model.layers):
        where = f"model.layers[{i}]"
        key = _lit(spec.name, f"{where}.name")
        if spec.type in INPUT_TYPES:
            lines += [f"tensors[{key}] = {_input(spec, where)}", f"inputs.append(tensors[{key}])"]
        else:
            if spec.inputs:
                args = [f"tensors[{_lit(name, f'{where}.inputs')}]" for name in spec.inputs]
            elif previous is not None:
                args = [f"tensors[{previous}]"]
            else:
                lines += [f"inputs.append({_input(None, where)})"]
                args = ["inputs[-1]"]
            arg = args[0] if len(args) == 1 else f"[{', '.join(args)}]"
            lines += [f"tensors[{key}] = {_layer(spec, where)}({arg})"]
        previous = key
    names: list[Any] = list(preset.model.outputs or []) or [preset.model.layers[-1].name]
    outputs = [f"tensors[{_lit(name, 'model.outputs')}]" for name in names]
    out = outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"
    return lines + [f"model = keras.Model(inputs if len(inputs) > 1 else inputs[0], {out})"]


def _transfer_model(preset: Preset) -> list[str]:
    t = preset.transfer
    assert t is not None
    base_constructor(t.base)  # a keras.applications model, or refused in one line
    if not _is_name(t.base):  # pragma: no cover - keras.applications' own names
        raise KerasTUIError(f"transfer.base: {t.base!r} cannot be written into a script")
    weights: str | None = t.weights
    if t.weights in ("none", "", "random"):
        weights = None
    elif t.weights != "imagenet":
        weights = str(Path(t.weights).expanduser())
    lines = [f"base = keras.applications.{t.base}(include_top=False, weights={_lit(weights, 'transfer.weights')}, "
             "input_shape=input_shape)",
             f"base.trainable = {not t.freeze}",
             "inputs = keras.Input(shape=input_shape, name='image')",
             "x = base(inputs, training=False)  # BatchNormalization in inference mode"]
    lines += [f"x = {_layer(spec, f'model.layers[{i}]')}(x)" for i, spec in enumerate(preset.model.layers)]
    return lines + ["model = keras.Model(inputs, x)"]


# --------------------------------------------------------------------------- compile, fit, evaluate, save


def _keras_object(kind: str, value: str | ObjectSpec, key: str, **extra: Any) -> str:
    """A compile entry as code: a name stays a string; a table is ``keras.<module>.Class(k=v, ...)``, its
    class and keywords checked against Keras's registry first."""
    if isinstance(value, str):
        return _lit(value, key)
    kerasobjects.check_kwargs(kind, value, key)
    if not _is_name(value.type):  # pragma: no cover - every class in Keras's registry has a Python name
        raise ModelError(f"{key}.type: {value.type!r} cannot be written into a script")
    module = {"metric": "metrics", "optimizer": "optimizers", "loss": "losses"}[kind]
    return f"keras.{module}.{value.type}({_args({**value.kwargs, **extra}, key)})"


def _optimizer(optimizer: str | ObjectSpec, learning_rate: float | None) -> str:
    config = {"learning_rate": learning_rate} if learning_rate is not None else {}
    if isinstance(optimizer, str):
        return f"keras.optimizers.get({_lit({'class_name': optimizer, 'config': config}, 'compile.optimizer')})"
    return _keras_object("optimizer", optimizer, "compile.optimizer", **config)


def _callbacks(preset: Preset) -> list[str]:
    cb = preset.callbacks
    # Each epoch's numbers, printed by name as repr shows them (Keras's own progress lines print a metric's
    # name as it is: a name's control characters would reach the terminal).
    lines = ["callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(",
             "    'epoch', epoch + 1, {name: round(float(value), 4) for name, value in logs.items()}))]"]
    made = []
    if cb.early_stopping is not None:
        e = cb.early_stopping
        made.append(("EarlyStopping", "", {"monitor": e.monitor, "patience": e.patience, "min_delta": e.min_delta,
                                           "restore_best_weights": e.restore_best_weights}, "callbacks.early_stopping"))
    if cb.reduce_lr is not None:
        r = cb.reduce_lr
        made.append(("ReduceLROnPlateau", "", {"monitor": r.monitor, "factor": r.factor, "patience": r.patience,
                                               "min_lr": r.min_lr}, "callbacks.reduce_lr"))
    if cb.checkpoint is not None:
        c = cb.checkpoint
        made.append(("ModelCheckpoint", _lit(c.filename, "callbacks.checkpoint.filename") + ", ",
                     {"monitor": c.monitor, "save_best_only": c.save_best_only}, "callbacks.checkpoint"))
    lines += [f"callbacks.append(keras.callbacks.{name}({first}{_args(kwargs, key)}))"
              for name, first, kwargs, key in made]
    if cb.tensorboard is not None:
        t = cb.tensorboard
        lines += [f"LOG_DIR = {_lit(t.log_dir or 'logs', 'callbacks.tensorboard.log_dir')}",
                  f"callbacks.append(keras.callbacks.TensorBoard(log_dir=LOG_DIR, "
                  f"histogram_freq={_lit(t.histogram_freq, 'callbacks.tensorboard.histogram_freq')}))",
                  "print('view the logs: tensorboard --logdir', ascii(LOG_DIR))"]
    return lines


def _compile_fit(preset: Preset) -> str:
    c, f = preset.compile, preset.fit
    metrics = [_keras_object("metric", m, f"compile.metrics[{i}]") for i, m in enumerate(c.metrics)]
    if c.custom_metrics:  # one instance of each class, after the built-in ones (as the trainer compiles)
        metrics.append("*(cls() for cls in CUSTOM_METRICS)")
    metrics_code = f"[{', '.join(metrics)}]"
    loss = _keras_object("loss", c.loss, "compile.loss")
    lines = ["", "", "# ---------------------------------------------------------------- compile and fit", "",
             f"EPOCHS = {_lit(f.epochs, 'fit.epochs')}",
             f"BATCH_SIZE = {_lit(f.batch_size, 'fit.batch_size')}",
             f"optimizer = {_optimizer(c.optimizer, c.learning_rate)}",
             f"model.compile(optimizer=optimizer, loss={loss}, metrics={metrics_code})",
             *_callbacks(preset)]
    pipelines = streamed(preset)  # batched and shuffled by the pipeline
    data = "train_ds"
    batching = "" if pipelines else "steps_per_epoch=STEPS_PER_EPOCH, shuffle=False, "
    if not pipelines:  # arrays in memory: fed as the run feeds them (kerastui/core/data/feed.py), the same batches
        lines += ["", "import tensorflow as tf  # noqa: E402", "", "",
                  "def feed(x, y, shuffle, repeat):",
                  '    """Arrays as tf.data, as kerastui\'s run feeds them to fit: the rows\' indices, reshuffled at',
                  "    every pass (seeded) when asked, batched, the rows gathered from tensors made once; without",
                  "    end when asked (an epoch is then one pass: steps_per_epoch).\"\"\"",
                  "    with tf.device('/CPU:0'):",
                  "        x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)",
                  "    rows = tf.data.Dataset.range(len(x))",
                  "    if shuffle:",
                  "        rows = rows.shuffle(max(len(x), 1), seed=SEED, reshuffle_each_iteration=True)",
                  "    batches = rows.batch(BATCH_SIZE).map(lambda i: (tf.gather(x, i), tf.gather(y, i)),",
                  f"                                         num_parallel_calls={PARALLEL}, deterministic=True)",
                  "    options = tf.data.Options()",
                  "    options.autotune.enabled = False  # no iterator waits for tf.data's tuning thread as it ends",
                  f"    return (batches.repeat() if repeat else batches).prefetch({PREFETCH}).with_options(options)",
                  "", "",
                  "# One pipeline for the whole fit (repeated: an epoch is one pass), faster than fit(x, y)",
                  f"train_ds = feed(x_train, y_train, {_lit(f.shuffle, 'fit.shuffle')}, repeat=True)",
                  "STEPS_PER_EPOCH = max(-(-len(x_train) // BATCH_SIZE), 1)",
                  "if validation is not None:",
                  "    validation = feed(*validation, False, repeat=False)"]
    lines += [f"history = model.fit({data}, validation_data=validation, epochs=EPOCHS, {batching}"
              "callbacks=callbacks, verbose=0)"]
    t = preset.transfer
    if t is not None and t.fine_tune_last > 0 and t.fine_tune_epochs > 0:
        lines += ["", "# fine-tune: the last layers of the base, BatchNormalization kept frozen",
                  f"FINE_TUNE_LAST = {_lit(t.fine_tune_last, 'transfer.fine_tune_last')}",
                  "base.trainable = True",
                  "cut = max(len(base.layers) - FINE_TUNE_LAST, 0)",
                  "for i, layer in enumerate(base.layers):",
                  "    layer.trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)",
                  f"model.compile(optimizer={_optimizer(c.optimizer, t.fine_tune_learning_rate)}, loss={loss}, "
                  f"metrics={metrics_code})",
                  *([] if pipelines else [  # a new pipeline, its shuffle from the start, as the run makes one a phase
                      f"train_ds = feed(x_train, y_train, {_lit(f.shuffle, 'fit.shuffle')}, repeat=True)"
                      "  # the phase's own pipeline, as kerastui's run has"]),
                  f"fine_tuned = model.fit({data}, validation_data=validation, initial_epoch=EPOCHS, "
                  f"epochs={_lit(preset.planned_epochs, 'transfer.fine_tune_epochs')}, {batching}"
                  "callbacks=callbacks, verbose=0)"]
    test = "test_ds" if pipelines else "x_test, y_test, batch_size=256"
    lines += ["", "# ---------------------------------------------------------------- evaluate and save", "",
              f"test = model.evaluate({test}, return_dict=True, verbose=0)",
              "print('test:', {name: float(value) for name, value in test.items()})",
              "model.save('model.keras')"]
    for fmt in preset.save.formats:
        if fmt == "h5":
            lines.append("model.save('model.h5')  # HDF5 (legacy); save .keras first: .h5 drops the optimizer")
        elif fmt == "savedmodel":
            lines.append("model.export('model_savedmodel')  # SavedModel, for TF Serving: tf.saved_model.load(...)")
    return "\n".join(lines)

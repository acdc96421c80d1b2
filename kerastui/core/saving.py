"""Save a model as ``.keras``, ``.h5`` or a SavedModel export, reload it, and prove that the
reloaded model predicts what the original does.

Saves leave no debris, and the target's name never stops holding a complete model:

* ``.keras`` / ``.h5``: the model is written to ``.STEM.tmp-PID.keras`` (``.h5``) beside the target
  and renamed over it (one atomic rename(2)) only when complete.
* SavedModel, a folder, which rename(2) cannot put over a non-empty folder: the export is written
  to ``.NAME.tmp-PID`` beside the target, and the two names are then *exchanged* in one atomic
  step (Linux ``renameat2(RENAME_EXCHANGE)``, macOS ``renamex_np(RENAME_SWAP)``). Up to that
  instant NAME is the old complete export, from it on the new complete one; the old one, now
  under the temporary name, is removed afterwards. NAME stays a plain folder (no symlink), which
  works for a folder written by anything else and for every reader (``tf.saved_model.load``,
  ``TFSMLayer``, TF Serving). Where the system cannot exchange two names (another OS, a
  filesystem without the flag) NAME is moved to ``.NAME.old-PID`` and the export renamed in: a
  crash in the microseconds between the two renames leaves the old export only as
  ``.NAME.old-PID``, and the next save in that folder puts it back under its name. (A reader
  already inside the old export when it is replaced can fail as its files go; a reader that
  arrives at any instant finds a whole one.)
* A save killed half-way (``kill -9``, a crash) leaves its temporary name behind. Every save first
  sweeps the target's folder of names of exactly that pattern and kind (a file for ``.keras``/``.h5``,
  a folder for an export) whose process is gone, or started after the name was last written (a
  reused PID, as PID 1 in a container): a running save's files are never touched.
* Only what the user named is replaced: a SavedModel never goes over a file or over a folder that
  holds something other than a SavedModel, a ``.keras``/``.h5`` never over a folder.

Loading refuses what Keras's safe mode refuses (a ``Lambda`` layer is Python code stored in the
file) with :class:`UnsafeModelError`, and a SavedModel export of anyone's making likewise
(:class:`UnsafeSavedModelError`: its graph is TensorFlow operations that run when it is loaded and
called, and an operation can read or write any file); ``safe_mode=False`` opens such a file, one call
at a time. ``save_and_verify`` reloads its own export of a moment ago with safe mode off: that graph
is the model's own, not a stranger's.
"""

from __future__ import annotations

import copy
import errno
import os
import re
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kerastui.core.errors import SaveError, one_line
from kerastui.core.model.builder import custom_metric_classes, layer_rows, parameter_counts, specs_from_model
from kerastui.core.tfenv import load_keras

if TYPE_CHECKING:
    import ctypes

    from kerastui.core.model.builder import LayerRow
    from kerastui.core.model.specs import LayerSpec, Preset


SAFE_MODE_HINT = "open it only if you trust the file (safe_mode=False)"
TRUST_MODEL_HINT = "pass --trust-model if you trust"  # … PATH: how `kerastui train --model PATH` is told


class UnsafeModelError(SaveError):
    """A model file that Keras loads only with safe mode off: it stores Python code that runs on load."""

    code = "the Python code"  # what opening it runs (a question to the user names it)
    stored = "Python code stored in the file that runs when it is loaded"

    def __init__(self, path: Path, what: str, hint: str = SAFE_MODE_HINT) -> None:
        self.path = Path(path)
        self.what = what
        self.hint = hint
        super().__init__(f"{path}: contains {what}, {self.stored}; refused in safe mode: {hint}")

    def for_training(self) -> UnsafeModelError:
        """The same refusal telling ``kerastui train --model`` how to trust the file."""
        return type(self)(self.path, self.what, f"{TRUST_MODEL_HINT} {self.path}")


class UnsafeSavedModelError(UnsafeModelError):
    """A SavedModel export: loading it runs its graph's operations (a ``saved_model_init_op`` on load,
    the ``serve`` graph on every call), which can read, write or delete files like Python code can."""

    code = "the SavedModel's graph (TensorFlow operations)"
    stored = "a graph of TensorFlow operations stored in the folder that run when it is loaded and called"

    def __init__(self, path: Path, what: str = "a SavedModel's graph", hint: str = SAFE_MODE_HINT) -> None:
        super().__init__(path, what, hint)


SUFFIX = {"keras": ".keras", "h5": ".h5", "savedmodel": ""}
# .keras before .h5: Keras 3's legacy .h5 writer strips the optimizer out of the model's compile
# config, so a .keras saved after it would reload with RMSprop (we also restore the config).
ORDER = ("keras", "h5", "savedmodel")


@dataclass
class SaveResult:
    format: str
    path: str
    bytes: int
    save_seconds: float
    load_seconds: float
    max_abs_diff: float | None
    same: bool | None
    optimizer: str | None = None
    tfsm_max_abs_diff: float | None = None
    verify_seconds: float = 0.0  # predicting the batch with the reloaded model(s) and comparing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_of(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if p.suffix == ".keras":
        return "keras"
    if p.suffix in (".h5", ".hdf5"):
        return "h5"
    if p.is_dir() or p.suffix == "":
        return "savedmodel"
    raise SaveError(f"{p}: unknown model format (use .keras, .h5 or a SavedModel directory)")


def default_path(folder: Path, fmt: str, stem: str = "model") -> Path:
    return folder / (f"{stem}{SUFFIX[fmt]}" if fmt != "savedmodel" else f"{stem}_savedmodel")


def save_model(model: Any, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    path = Path(path).expanduser()
    fmt = fmt or format_of(path)
    if fmt not in SUFFIX:
        raise SaveError(f"{path}: unknown format {fmt!r}")
    if not path.parent.is_dir():
        raise SaveError(f"{path}: folder {path.parent} does not exist")
    _check_target(path, fmt)
    sweep_debris(path.parent)
    tmp = temporary_path(path, fmt)
    _remove(tmp)  # a link someone planted at its name (or a stale one): removed, never written through
    try:
        if fmt == "keras":
            model.save(tmp)
        elif fmt == "h5":
            _save_h5(model, tmp)
        else:
            model.export(str(tmp), format="tf_saved_model", verbose=False)
        _replace(tmp, path)
    except SaveError:
        raise
    except Exception as error:  # noqa: BLE001 - disk full, permissions, unserialisable layer…
        raise SaveError(f"{path}: could not save as {fmt}: {one_line(error)}") from None
    finally:
        _remove(tmp)  # the unfinished file, or the old export the exchange moved here
    return path


def temporary_path(path: Path, fmt: str) -> Path:
    """Where a save writes before the rename: hidden, beside the target, named by this process."""
    if fmt == "savedmodel":
        return path.with_name(f".{path.name}.tmp-{os.getpid()}")
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{SUFFIX[fmt]}")


def _check_target(path: Path, fmt: str) -> None:
    """Replace only what the user named: never a file by a folder, or a folder of other things."""
    if fmt != "savedmodel":
        if path.is_dir():
            raise SaveError(f"{path}: is a directory; choose another name")
        return
    if os.path.lexists(path) and not path.is_dir():
        raise SaveError(f"{path}: is a file; choose another name or delete it")
    if path.is_dir() and not (path / "saved_model.pb").is_file() and any(path.iterdir()):
        raise SaveError(f"{path}: is a folder that holds no SavedModel (no saved_model.pb); choose another name")


# .STEM.tmp-PID.keras / .STEM.tmp-PID.h5 / .NAME.tmp-PID (an export) / .NAME.old-PID (the old export
# kept while a new one is renamed in where names cannot be exchanged)
_DEBRIS = re.compile(r"^\.(?P<name>.+)\.(?:tmp-(?P<tpid>[0-9]+)(?:\.keras|\.h5)?|old-(?P<opid>[0-9]+))$")


def sweep_debris(folder: Path) -> list[Path]:
    """Remove what interrupted saves left in ``folder``: temporary names of a process that is gone.

    An old export left only as ``.NAME.old-PID`` (NAME missing) is put back under NAME instead."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _DEBRIS.match(entry.name)
        if match is None or entry.is_symlink():
            continue
        folder_kind = match["opid"] is not None or not entry.name.endswith((".keras", ".h5"))
        if entry.is_dir() != folder_kind:
            continue  # the name fits, the kind does not: not ours
        path = Path(entry.path)
        if not _stale(path, int(match["tpid"] or match["opid"])):
            continue
        if match["opid"] is not None:
            original = folder / match["name"]
            if not os.path.lexists(original):
                try:
                    os.rename(path, original)
                except OSError:
                    pass  # kept as it is: the only copy of that export
                continue
        _remove(path)
        removed.append(path)
    return removed


def _stale(path: Path, pid: int) -> bool:
    """True when no running process can be writing ``path``: its PID is gone (or a zombie), or
    the process with that PID started after the name was last written (the PID was reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: alive
    except (OSError, OverflowError):
        return False  # not a valid PID: not a name this module wrote
    stat = _proc_stat(pid)
    if stat is None:
        return False
    state, started = stat
    if state == "Z":
        return True
    try:
        written = path.lstat().st_mtime
    except OSError:
        return False
    return started is not None and written < started - 2.0  # 2 s: clock-tick and btime rounding


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """(state, start time in seconds since the epoch) from Linux /proc; None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        state, ticks = fields[0], int(fields[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return state, boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _save_h5(model: Any, path: Path) -> None:
    """Keras's .h5 writer pops ``optimizer`` out of ``model._compile_config``; put it back."""
    saved = copy.copy(getattr(getattr(model, "_compile_config", None), "config", None))
    try:
        model.save(path)
    finally:
        if saved is not None:
            model._compile_config.config.clear()
            model._compile_config.config.update(saved)


def _replace(tmp: Path, path: Path) -> None:
    """Put the finished ``tmp`` under ``path`` in one step; for a folder, ``tmp`` then holds the old one."""
    if not tmp.is_dir():
        os.replace(tmp, path)
        return
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    if exchange(tmp, path):
        return
    backup = path.with_name(f".{path.name}.old-{os.getpid()}")
    os.replace(path, backup)
    try:
        os.replace(tmp, path)
    except OSError:
        os.replace(backup, path)
        raise
    _remove(backup)


AT_FDCWD = -100
RENAME_EXCHANGE = 2  # linux/fs.h
RENAME_SWAP = 2  # macOS stdio.h


@cache
def _libc() -> ctypes.CDLL:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing names in one atomic step; False where the system or filesystem cannot."""
    import ctypes

    libc = _libc()
    try:
        if sys.platform.startswith("linux"):
            function = libc.renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            result = function(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
        elif sys.platform == "darwin":
            function = libc.renamex_np
            function.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            result = function(os.fsencode(a), os.fsencode(b), RENAME_SWAP)
        else:
            return False
    except AttributeError:  # a C library without the call (glibc < 2.28)
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _remove(path: Path) -> None:
    """Remove a name this module wrote; a symlink is unlinked, never followed."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


def load_model(path: str | os.PathLike[str], fmt: str | None = None, custom_objects: dict[str, Any] | None = None,
               safe_mode: bool = True) -> Any:
    """A ``keras.Model`` for .keras/.h5; the loaded SavedModel object for an export.

    ``safe_mode=False`` lets Keras run Python code stored in the file (a ``Lambda`` layer), and
    loads a SavedModel (whose graph runs); by default such a file raises :class:`UnsafeModelError`
    (:class:`UnsafeSavedModelError` for every SavedModel, before TensorFlow reads it)."""
    keras = load_keras()
    path = Path(path).expanduser()
    if not path.exists():
        raise SaveError(f"{path}: not found")
    fmt = fmt or format_of(path)
    try:
        if fmt == "savedmodel":
            _check_export(path, safe_mode)
            import tensorflow as tf

            return tf.saved_model.load(str(path))
        _check_file(path, fmt)
        return keras.saving.load_model(path, custom_objects=custom_objects or {}, compile=True, safe_mode=safe_mode)
    except SaveError:
        raise
    except Exception as error:  # noqa: BLE001
        if safe_mode and "safe_mode=False" in str(error):
            raise UnsafeModelError(path, _unsafe_what(str(error))) from None
        if isinstance(error, zipfile.BadZipFile):
            raise SaveError(f"{path}: not a valid .keras file ({one_line(error)})") from None
        raise SaveError(f"{path}: cannot load as {fmt}: {_missing_class(error) or one_line(error)}") from None


def _check_export(path: Path, safe_mode: bool) -> None:
    """A SavedModel folder, opened only with safe mode off: its graph runs when loaded and called."""
    if not (path / "saved_model.pb").is_file():
        raise SaveError(f"{path}: not a SavedModel directory (no saved_model.pb)")
    if safe_mode:
        raise UnsafeSavedModelError(path)


def load_for_training(path: str | os.PathLike[str], custom_objects: dict[str, Any] | None = None, *,
                      trusted: bool = False) -> Any:
    """A ``keras.Model`` to train further (``kerastui train --model PATH``), loaded only as far as
    the user trusts it: a file storing code (a ``Lambda``), and any SavedModel, needs ``trusted``
    (``--trust-model``); refused otherwise with :class:`UnsafeModelError` naming the flag.

    A SavedModel export becomes a Keras model ``Input → TFSMLayer(serve)``: its variables train, and
    the run's ``.keras`` holds the TFSMLayer (reloaded with safe mode off: the run is trusted)."""
    path = Path(path).expanduser()
    fmt = format_of(path) if path.exists() else None
    try:
        if fmt == "savedmodel":
            _check_export(path, safe_mode=not trusted)
            return _trainable_export(path)
        return load_model(path, fmt, custom_objects, safe_mode=not trusted)
    except UnsafeModelError as error:
        raise error.for_training() from None


def _trainable_export(path: Path) -> Any:
    """The export's ``serve`` endpoint as a Keras model whose variables train (trusted: it loads)."""
    keras = load_keras()
    path = path.resolve()  # the TFSMLayer's config names it: the run's .keras reloads it from anywhere
    try:
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serve")
    except Exception as error:  # noqa: BLE001 - no serve endpoint, a damaged export…
        raise SaveError(f"{path}: cannot load as savedmodel: {one_line(error)}") from None
    signature: tuple[Any, ...] = tuple(getattr(layer.call_endpoint_fn, "input_signature", None) or ())
    if len(signature) != 1 or getattr(signature[0], "shape", None) is None or signature[0].shape.rank is None:
        raise SaveError(f"{path}: cannot train it further: its 'serve' endpoint does not take one tensor "
                        "of known rank (not written by model.export)")
    # Keras names the TFSMLayer's copies of the variables after TensorFlow's ("dense/kernel:0"
    # becomes "dense_kernel:0"); an optimizer's slot names ("…:0_momentum") refuse the ':'.
    for variable in layer.weights:
        for attribute in ("_name", "_path"):
            value = getattr(variable, attribute, None)
            if isinstance(value, str):
                setattr(variable, attribute, value.replace(":", "_"))
    spec = signature[0]
    inputs = keras.Input(tuple(spec.shape[1:]), dtype=spec.dtype.name)
    return keras.Model(inputs, layer(inputs), name="savedmodel")


def _check_file(path: Path, fmt: str) -> None:
    """A file that is not a whole archive of its format says so before Keras guesses (at "File not found")."""
    if path.is_dir():
        return  # an unzipped .keras folder: Keras reads it (or says why not)
    reason = "empty file" if path.stat().st_size == 0 else None
    if reason is None and fmt == "keras":
        if not zipfile.is_zipfile(path):
            reason = "not a zip archive: truncated, or not written by Keras"
        else:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = set(archive.namelist())
            except (zipfile.BadZipFile, OSError) as error:
                reason = one_line(error)
            else:
                if "config.json" not in names:
                    reason = "a zip archive without config.json: not written by Keras"
    elif reason is None and fmt == "h5":
        import h5py

        if not h5py.is_hdf5(str(path)):
            reason = "no HDF5 signature: truncated, or not an HDF5 file"
        else:
            try:
                with h5py.File(path, "r"):
                    pass
            except OSError as error:
                reason = one_line(error)
    if reason is not None:
        raise SaveError(f"{path}: not a valid .{fmt} file ({reason})")


def _unsafe_what(text: str) -> str:
    if "TFSMLayer" in text:
        return "a TFSMLayer (it loads another SavedModel)"
    if "lambda" in text.lower():
        return "a Lambda layer"
    return "an object that Keras loads only with safe mode off"


def _missing_class(error: Exception) -> str | None:
    text = str(error)
    match = (re.search(r"Could not locate (?:class|function) '([^']+)'", text)
             or re.search(r"Unknown (?:metric|layer|object)[^:]*: '?([A-Za-z_][\w]*)", text))
    if match:
        return f"custom class {match.group(1)!r} is not available; load the preset (or file) that defines it"
    return None


@dataclass
class OpenedModel:
    """A model file opened for work: a Keras model (.keras/.h5) or a SavedModel export."""

    path: str
    format: str
    model: Any
    load_seconds: float
    bytes: int
    rows: list[LayerRow]  # per layer (empty for a SavedModel)
    counts: dict[str, int]
    input_shape: tuple[int | None, ...] | None
    output_shape: tuple[int | None, ...] | None
    specs: list[LayerSpec] | None = None  # editable LayerSpecs when every layer maps onto the catalogue
    read_only_reason: str | None = None
    optimizer: str | None = None
    custom_objects: dict[str, Any] | None = None
    safe_mode: bool = True  # False: the user chose to run the code stored in this file

    @property
    def is_keras(self) -> bool:
        return self.format != "savedmodel"

    @property
    def trusted_code(self) -> str | None:
        """What of this file runs because the user trusted it; None when it was opened in safe mode."""
        if self.safe_mode:
            return None
        return (UnsafeSavedModelError if self.format == "savedmodel" else UnsafeModelError).code

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.model, np.asarray(x, dtype="float32"), self.format)


def open_model(path: str | os.PathLike[str], preset: Preset | None = None, *, safe_mode: bool = True) -> OpenedModel:
    """Load a model file with the preset's custom objects (its custom metrics, its subclass).

    ``safe_mode=False`` (asked of the user for this one file, each time) runs the code the file
    stores, a ``Lambda`` layer's Python or a SavedModel's graph; otherwise such a file raises
    :class:`UnsafeModelError` (every SavedModel: :class:`UnsafeSavedModelError`)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise SaveError(f"{path}: not found")
    fmt = format_of(path)
    custom = custom_metric_classes(preset) if preset is not None else {}
    start = time.perf_counter()
    model = load_model(path, fmt, custom, safe_mode=safe_mode)
    seconds = time.perf_counter() - start
    opened = OpenedModel(str(path), fmt, model, seconds, size_on_disk(path), [], {}, None, None, custom_objects=custom,
                         safe_mode=safe_mode)
    if fmt == "savedmodel":
        _describe_export(opened)
        opened.read_only_reason = "a SavedModel export holds a traced graph: inference only (evaluate, predict)"
        return opened
    opened.rows = layer_rows(model)
    opened.counts = parameter_counts(model)
    opened.input_shape = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    opened.output_shape = tuple(model.output_shape[1:]) if hasattr(model, "output_shape") else None
    opened.optimizer = type(model.optimizer).__name__ if getattr(model, "optimizer", None) else None
    opened.specs, opened.read_only_reason = specs_from_model(model)
    return opened


def _describe_export(opened: OpenedModel) -> None:
    model = opened.model
    serve = getattr(model, "serve", None)
    if serve is None:
        raise SaveError(f"{opened.path}: the SavedModel has no 'serve' endpoint (not written by model.export)")
    try:
        spec = serve.input_signature[0] if serve.input_signature else None
        opened.input_shape = tuple(spec.shape[1:]) if spec is not None else None
    except Exception:  # noqa: BLE001 - exports of other tools
        opened.input_shape = None
    variables = list(getattr(model, "variables", []) or [])
    trainable = list(getattr(model, "trainable_variables", []) or [])
    total = int(sum(np.prod(v.shape) for v in variables))
    train = int(sum(np.prod(v.shape) for v in trainable))
    opened.counts = {"total": total, "trainable": train, "non_trainable": total - train}


def predict(loaded: Any, x: np.ndarray, fmt: str, batch_size: int = 256) -> np.ndarray:
    if fmt == "savedmodel":
        import tensorflow as tf

        outs = [np.asarray(loaded.serve(tf.constant(x[i:i + batch_size]))) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)
    # An eager call: no predict function to trace for a model that is used once.
    outs = [np.asarray(loaded(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs)


def predict_tfsm_layer(path: Path, x: np.ndarray) -> np.ndarray:
    keras = load_keras()
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serve")
    return np.asarray(layer(x))


def size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


def target_paths(folder: Path, formats: list[str], stem: str = "model") -> list[Path]:
    """Where ``save_and_verify`` writes each format (to ask before overwriting)."""
    return [default_path(folder, fmt, stem) for fmt in sorted(dict.fromkeys(formats), key=ORDER.index)]


def save_and_verify(model: Any, folder: Path, formats: list[str], x: np.ndarray | None, *,
                    custom_objects: dict[str, Any] | None = None, verify: bool = True, stem: str = "model",
                    tolerance: float = 1e-6, safe_mode: bool = True) -> list[SaveResult]:
    """Save in each format (``.keras`` first), reload each file and compare predictions on ``x``.

    ``safe_mode=False`` reloads with Keras's safe mode off: only for a model whose stored code the
    user already chose to run (a file opened with ``safe_mode=False``), which the saved file repeats.
    ``verify=False`` only saves (``x`` may then be None)."""
    if verify and x is None:
        raise ValueError("save_and_verify: verify needs samples to predict")
    folder.mkdir(parents=True, exist_ok=True)
    reference = predict(model, x, "keras") if verify and x is not None else None
    results = []
    for fmt in sorted(dict.fromkeys(formats), key=ORDER.index):
        path = default_path(folder, fmt, stem)
        start = time.perf_counter()
        save_model(model, path, fmt)
        saved_in = time.perf_counter() - start
        result = SaveResult(fmt, str(path), size_on_disk(path), round(saved_in, 4), 0.0, None, None)
        if x is not None and reference is not None:
            start = time.perf_counter()
            # Its own export, written by this call a moment ago: its graph is this model's.
            loaded = load_model(path, fmt, custom_objects, safe_mode=safe_mode and fmt != "savedmodel")
            result.load_seconds = round(time.perf_counter() - start, 4)
            start = time.perf_counter()
            diff = float(np.max(np.abs(predict(loaded, x, fmt) - reference))) if len(x) else 0.0
            result.max_abs_diff = diff
            result.same = diff <= tolerance
            if fmt == "savedmodel":
                result.tfsm_max_abs_diff = (float(np.max(np.abs(predict_tfsm_layer(path, x) - reference)))
                                            if len(x) else 0.0)
                result.same = result.same and result.tfsm_max_abs_diff <= tolerance
            result.verify_seconds = round(time.perf_counter() - start, 4)
            if fmt != "savedmodel":
                result.optimizer = type(loaded.optimizer).__name__ if getattr(loaded, "optimizer", None) else None
        results.append(result)
    return results

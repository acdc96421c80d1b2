"""Save a model as ``.keras``, ``.h5`` or a SavedModel export, reload it, and prove that the
reloaded model predicts what the original does.

Writes are atomic: the model goes to a temporary name beside the target and is renamed over
it only when complete, so a failed or interrupted save never damages an existing file.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.errors import SaveError, one_line
from kerastui.core.tfenv import load_keras

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


def format_of(path: str | os.PathLike) -> str:
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


def save_model(model, path: str | os.PathLike, fmt: str | None = None) -> Path:
    path = Path(path).expanduser()
    fmt = fmt or format_of(path)
    if not path.parent.is_dir():
        raise SaveError(f"{path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{SUFFIX[fmt]}")
    try:
        if fmt == "keras":
            model.save(tmp)
        elif fmt == "h5":
            _save_h5(model, tmp)
        elif fmt == "savedmodel":
            model.export(str(tmp), format="tf_saved_model", verbose=False)
        else:
            raise SaveError(f"{path}: unknown format {fmt!r}")
        _replace(tmp, path)
    except SaveError:
        raise
    except Exception as error:  # noqa: BLE001 - disk full, permissions, unserialisable layer…
        raise SaveError(f"{path}: could not save as {fmt}: {one_line(error)}") from None
    finally:
        _remove(tmp)
    return path


def _save_h5(model, path: Path) -> None:
    """Keras's .h5 writer pops ``optimizer`` out of ``model._compile_config``; put it back."""
    saved = copy.copy(getattr(getattr(model, "_compile_config", None), "config", None))
    try:
        model.save(path)
    finally:
        if saved is not None:
            model._compile_config.config.clear()
            model._compile_config.config.update(saved)


def _replace(tmp: Path, path: Path) -> None:
    if tmp.is_dir():
        backup = path.with_name(f".{path.name}.old-{os.getpid()}")
        if path.exists():
            os.replace(path, backup)
        try:
            os.replace(tmp, path)
        except OSError:
            if backup.exists():
                os.replace(backup, path)
            raise
        _remove(backup)
    else:
        if path.is_dir():
            raise SaveError(f"{path}: is a directory")
        os.replace(tmp, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


def load_model(path: str | os.PathLike, fmt: str | None = None, custom_objects: dict | None = None):
    """A ``keras.Model`` for .keras/.h5; the loaded SavedModel object for an export."""
    keras = load_keras()
    path = Path(path).expanduser()
    if not path.exists():
        raise SaveError(f"{path}: not found")
    fmt = fmt or format_of(path)
    try:
        if fmt == "savedmodel":
            import tensorflow as tf

            if not (path / "saved_model.pb").is_file():
                raise SaveError(f"{path}: not a SavedModel directory (no saved_model.pb)")
            return tf.saved_model.load(str(path))
        return keras.saving.load_model(path, custom_objects=custom_objects or {}, compile=True)
    except SaveError:
        raise
    except Exception as error:  # noqa: BLE001
        raise SaveError(f"{path}: cannot load as {fmt}: {_missing_class(error) or one_line(error)}") from None


def _missing_class(error: Exception) -> str | None:
    import re

    text = str(error)
    match = re.search(r"Could not locate (?:class|function) '([^']+)'", text) or re.search(r"Unknown (?:metric|layer|object)[^:]*: '?([A-Za-z_][\w]*)", text)
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
    rows: list  # builder.LayerRow per layer (empty for a SavedModel)
    counts: dict[str, int]
    input_shape: tuple | None
    output_shape: tuple | None
    specs: list | None = None  # editable LayerSpecs when every layer maps onto the catalogue
    read_only_reason: str | None = None
    optimizer: str | None = None
    custom_objects: dict[str, Any] | None = None

    @property
    def is_keras(self) -> bool:
        return self.format != "savedmodel"

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.model, np.asarray(x, dtype="float32"), self.format)


def open_model(path: str | os.PathLike, preset=None) -> OpenedModel:
    """Load a model file with the preset's custom objects (its custom metrics, its subclass)."""
    from kerastui.core.builder import custom_metric_classes, layer_rows, parameter_counts, specs_from_model

    path = Path(path).expanduser()
    if not path.exists():
        raise SaveError(f"{path}: not found")
    fmt = format_of(path)
    custom = custom_metric_classes(preset) if preset is not None else {}
    start = time.perf_counter()
    model = load_model(path, fmt, custom)
    seconds = time.perf_counter() - start
    opened = OpenedModel(str(path), fmt, model, seconds, size_on_disk(path), [], {}, None, None, custom_objects=custom)
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


def predict(loaded, x: np.ndarray, fmt: str, batch_size: int = 256) -> np.ndarray:
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


def save_and_verify(model, folder: Path, formats: list[str], x: np.ndarray, *,
                    custom_objects: dict | None = None, verify: bool = True, stem: str = "model",
                    tolerance: float = 1e-6) -> list[SaveResult]:
    """Save in each format (``.keras`` first), reload each file and compare predictions on ``x``."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = predict(model, x, "keras") if verify else None
    results = []
    for fmt in sorted(dict.fromkeys(formats), key=ORDER.index):
        path = default_path(folder, fmt, stem)
        start = time.perf_counter()
        save_model(model, path, fmt)
        saved_in = time.perf_counter() - start
        result = SaveResult(fmt, str(path), size_on_disk(path), round(saved_in, 4), 0.0, None, None)
        if verify:
            start = time.perf_counter()
            loaded = load_model(path, fmt, custom_objects)
            result.load_seconds = round(time.perf_counter() - start, 4)
            start = time.perf_counter()
            diff = float(np.max(np.abs(predict(loaded, x, fmt) - reference))) if len(x) else 0.0
            result.max_abs_diff = diff
            result.same = diff <= tolerance
            if fmt == "savedmodel":
                result.tfsm_max_abs_diff = float(np.max(np.abs(predict_tfsm_layer(path, x) - reference))) if len(x) else 0.0
                result.same = result.same and result.tfsm_max_abs_diff <= tolerance
            result.verify_seconds = round(time.perf_counter() - start, 4)
            if fmt != "savedmodel":
                result.optimizer = type(loaded.optimizer).__name__ if getattr(loaded, "optimizer", None) else None
        results.append(result)
    return results

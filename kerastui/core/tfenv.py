"""Import TensorFlow and Keras quietly, once.

TensorFlow writes absl/oneDNN/CUDA notices straight to file descriptor 2 while it is imported,
even with ``TF_CPP_MIN_LOG_LEVEL=3``.  A TUI must never show them, and a headless run prints
clean output, so the import happens with fd 2 pointed at a temporary file.  What TensorFlow
wrote is kept in :data:`IMPORT_LOG` and replayed only when the import fails.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import warnings
from types import ModuleType

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
}

IMPORT_LOG = ""
_lock = threading.Lock()
_keras: ModuleType | None = None
_cpu_only = False


def keep_off_gpus() -> None:
    """This process's TensorFlow never touches a GPU (the TUI: it builds models only to show
    shapes; run processes own the devices).  Effective when called before TensorFlow's devices are
    initialised — before the import, or after it but before the first op."""
    global _cpu_only
    _cpu_only = True
    if _keras is not None:
        _hide_gpus()


def _hide_gpus() -> None:
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except (RuntimeError, ValueError):  # devices already initialised (a test process): nothing to do
        pass


def quiet_environment() -> None:
    """Set the variables TensorFlow reads at import; the user's own settings win."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def _silence_python_loggers() -> None:
    for name in ("tensorflow", "absl", "h5py", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
        absl.logging.set_stderrthreshold("error")
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")
    warnings.filterwarnings("ignore", module=r"tensorflow(\..*)?")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(input_shape|input_dim|HDF5|legacy).*")


def load_keras() -> ModuleType:
    """Return the ``keras`` module, importing TensorFlow first with its noise captured."""
    global _keras, IMPORT_LOG
    if _keras is not None:
        return _keras
    with _lock:
        if _keras is not None:
            return _keras
        quiet_environment()
        with tempfile.TemporaryFile(mode="w+b") as capture:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):  # pragma: no cover - closed stderr
                pass
            saved = _redirect_fd2(capture.fileno())
            try:
                import tensorflow  # noqa: F401, I001 - TensorFlow first, as the docstring says
                import keras
            except Exception as error:
                _restore_fd2(saved)
                capture.seek(0)
                IMPORT_LOG = capture.read().decode(errors="replace")
                raise ImportError(f"TensorFlow/Keras failed to import: {error}") from error
            _restore_fd2(saved)
            capture.seek(0)
            IMPORT_LOG = capture.read().decode(errors="replace")
        _silence_python_loggers()
        if _cpu_only:
            _hide_gpus()
        module: ModuleType = keras
        _keras = module
        return module


def _redirect_fd2(target: int) -> int | None:
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no fd 2 at all
        return None
    os.dup2(target, 2)
    return saved


def _restore_fd2(saved: int | None) -> None:
    if saved is None:  # pragma: no cover
        return
    os.dup2(saved, 2)
    os.close(saved)


def start_runtime() -> None:
    """Run one tiny op, so TensorFlow's runtime and thread pools start in the calling thread
    (they inherit its scheduling priority) rather than in whichever thread needs them first."""
    load_keras()
    import tensorflow as tf

    tf.constant(0.0) + 1.0


def versions() -> dict[str, str]:
    keras = load_keras()
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "backend": keras.config.backend()}


def devices() -> list[dict[str, str]]:
    """Physical devices with a human name where TensorFlow knows one (GPU model names)."""
    load_keras()
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices():
        entry = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            try:
                details = tf.config.experimental.get_device_details(device)
                entry["model"] = str(details.get("device_name", ""))
                if "compute_capability" in details:
                    entry["compute_capability"] = ".".join(map(str, details["compute_capability"]))
            except Exception:  # noqa: BLE001 - details are best effort
                pass
        found.append(entry)
    return found

"""One error family for everything a user can get wrong; each renders as one line."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class KerasTUIError(Exception):
    """A problem the user can fix; ``str(error)`` is one line that names what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class PresetError(KerasTUIError):
    """A preset file that cannot be read or holds a bad key or value."""

    def __init__(self, where: str, key: str | None, reason: str) -> None:
        self.where = where
        self.key = key
        self.reason = reason
        location = f"{where}: {key}" if key else where
        super().__init__(f"{location}: {reason}")


class DatasetError(KerasTUIError):
    """A data source that cannot be loaded."""


class ModelError(KerasTUIError):
    """A model spec that Keras rejects."""


class TransferError(KerasTUIError):
    """A keras.applications base or its weights that cannot be loaded."""


class SaveError(KerasTUIError):
    """A model file that cannot be written or read back."""


def one_line(error: BaseException) -> str:
    """Keras and TensorFlow errors often span many lines; keep the first meaningful one."""
    text = _ANSI.sub("", str(error)).strip()
    if not text:
        return type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Keras wraps errors raised inside call(): "Exception encountered when calling X.call().", the
    # reason on the next line, then the arguments; keep the reason.
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    for line in lines:
        if not line.startswith(("Traceback", "File ")):
            text = line
            break
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:397] + "..."

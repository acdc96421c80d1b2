"""One error family for everything a user can get wrong; each renders as one line."""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

from kerastui.core.text import visible

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A value quoted in a message (a path, a source string, a repr) longer than this is cut in the
# middle: a 50,000-character data.source must not become a 100 KB error line.
LONG_TOKEN = 200
MAX_LINE = 600


def shorten(text: str, limit: int = MAX_LINE) -> str:
    """One line of at most ``limit`` characters; over-long words are cut in the middle.  The text
    quotes strangers (file names, keys, values read from files): its control characters are shown
    (``visible``), so an error line never retitles a terminal or sets its clipboard."""
    words = []
    for word in visible(text).split():
        if len(word) > LONG_TOKEN:
            word = f"{word[:120]}…{word[-40:]} ({len(word):,} characters)"
        words.append(word)
    line = " ".join(words)
    return line if len(line) <= limit else line[:limit - 1] + "…"


class KerasTUIError(Exception):
    """A problem the user can fix; ``str(error)`` is one line that names what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(shorten(message))


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


class ResourceError(KerasTUIError):
    """Data or a model that would not fit in this machine's memory (refused before allocating)."""


# --------------------------------------------------------------------------- what is being processed

_PROCESSING: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("kerastui_processing",
                                                                                      default=None)


@contextlib.contextmanager
def processing(where: str, key: str) -> Iterator[None]:
    """Name the file and key being worked on, for an ``internal error:`` line if one happens."""
    token = _PROCESSING.set((where, key))
    try:
        yield
    except Exception as error:
        # The innermost block names the place; the outer ones keep it.
        if not hasattr(error, "kerastui_processing"):
            with contextlib.suppress(AttributeError, TypeError):
                error.kerastui_processing = (where, key)  # type: ignore[attr-defined]
        raise
    finally:
        _PROCESSING.reset(token)


def being_processed(error: BaseException | None = None) -> tuple[str, str] | None:
    """``(file, key)`` being processed when ``error`` was raised, or of the innermost open block."""
    place = getattr(error, "kerastui_processing", None)
    return place if place is not None else _PROCESSING.get()


def cache_dir() -> Path:
    """kerastui's own logs: ``$XDG_CACHE_HOME/kerastui`` (``~/.cache/kerastui``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kerastui"


def crash_log_path() -> Path:
    return cache_dir() / "last-error.log"


def internal_error_line(error: BaseException) -> str:
    """For a bug of ours: the full traceback written to a log, and one line naming what was being
    processed (file and key) and where that log is.  The CLI and the TUI both say it this way."""
    path = crash_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
        where = str(path)
    except OSError:
        where = "(unwritable)"
    place = being_processed(error)
    at = f" while processing {place[0]}: {place[1]}" if place else ""
    return f"internal error{at}: {user_message(error)} (full traceback in {where})"


def user_message(error: BaseException) -> str:
    """How ``error`` reads in one line: a :class:`KerasTUIError`'s own text (it already names what
    and where), anything else as ``ExceptionType: first meaningful line``."""
    if isinstance(error, KerasTUIError):
        return str(error)
    name, text = type(error).__name__, one_line(error)
    return name if text == name else f"{name}: {text}"  # an exception with no text: its type alone


def plain_message(error: BaseException) -> str:
    """``error`` for the screen: its own words, without the exception's class name unless the words
    need it (an empty text, or a bare value such as a KeyError's ``'units'``).  User code errors and
    internal errors keep the class (``user_message``): there it is the information."""
    if isinstance(error, KerasTUIError):
        return str(error)
    text = one_line(error)
    name = type(error).__name__
    if text == name or " " not in text.strip() or len(text) < 12:
        return user_message(error)
    return text


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
    return shorten(text, 400)

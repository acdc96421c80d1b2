"""A user's own Python: a ``.py`` file run as a fresh module, a class taken from ``file.py:Name``,
and an exception it raises placed at its file and line.

The model builder (a subclassed model, custom metric classes) and the metric checker both run
user code through here.  Headless: imports Keras lazily (through ``tfenv``), never textual,
rich or plotext.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from kerastui.core.errors import ModelError, one_line, user_message
from kerastui.core.model.specs import split_ref
from kerastui.core.tfenv import load_keras

# A frame whose file name contains one of these is Keras's, TensorFlow's or kerastui's, not the user's.
LIBRARY_PARTS = ("site-packages", "kerastui/core", "<frozen")
# How TensorFlow names a place in the message of an error raised at graph run time.
_FILE_LINE = re.compile(r'File "([^"]+)", line (\d+)')


# --------------------------------------------------------------------------- running user files


def load_module(path: Path) -> ModuleType:
    """Run the user's ``.py`` file as a fresh module and return it; the user's own exception propagates.

    Keras is imported first, with kerastui's environment settings (the file imports it).  Each
    call re-reads the file, so edits are seen.  The module is named after the file and its
    absolute path (``kerastui_user_<stem>_<hash>``) and registered in ``sys.modules`` under that
    name, where Keras and pickle look classes up; a file that fails leaves nothing there.
    """
    load_keras()
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"kerastui_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise ModelError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_object(ref: str, base_dir: Path, key: str) -> Any:
    """What ``Name`` is in ``file.py`` of the ref ``file.py:Name`` (``file.py`` relative to ``base_dir``).

    Failures raise :class:`ModelError` starting with ``key``: the file missing, an exception
    while running it (at its file and line), or no such name.
    """
    file, name = split_ref(ref)
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise ModelError(f"{key}: {path} not found (needed for class {name})")
    try:
        module = load_module(path)
    except Exception as error:  # noqa: BLE001 - user code
        raise ModelError(f"{key}: {user_code_location(error, path)}: {user_message(error)}") from None
    obj = getattr(module, name, None)
    if obj is None:
        raise ModelError(f"{key}: {path} defines no {name}")
    return obj


# --------------------------------------------------------------------------- placing an exception


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (each resolved, as far as it can be)."""
    return _resolved(a) == _resolved(b)


def _resolved(path: str | Path) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(path)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what it was raised from or while handling, and so on (each once)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _outside_libraries(filename: str) -> bool:
    return not any(part in filename for part in LIBRARY_PARTS)


def user_frame(error: BaseException, paths: Sequence[str | Path] | None = None
               ) -> tuple[str, int, BaseException] | None:
    """The innermost traceback frame in user code: (file, line, the exception it belongs to).

    User code is the files ``paths`` (none when the list is empty) or, with ``paths=None``, any
    file outside Keras, TensorFlow and kerastui's core.  Follows the exception chain (a wrapper
    raised ``from`` the user's error, or while handling it) and, for errors TensorFlow raises at
    graph run time, the ``File "…", line N`` lines of the message.
    """
    is_user: Callable[[str], bool]
    if paths is None:
        is_user = _outside_libraries
    else:
        wanted = {_resolved(p) for p in paths}
        if not wanted:
            return None

        def is_user(filename: str) -> bool:
            return _resolved(filename) in wanted

    for link in _chain(error):
        chosen = None
        for frame in traceback.extract_tb(link.__traceback__):
            if is_user(frame.filename):
                chosen = (frame.filename, frame.lineno or 0, link)
        if chosen is not None:
            return chosen
    for link in _chain(error):
        matches = [(file, int(line)) for file, line in _FILE_LINE.findall(str(link)) if is_user(file)]
        if matches:
            return (*matches[-1], link)
    return None


def user_code_location(error: BaseException, path: Path | None = None) -> str:
    """``file:line`` of ``error`` in user code (the file ``path``, or any outside Keras, TensorFlow
    and kerastui): a syntax error's own place, else the innermost user frame, else the innermost
    frame of all, else ``path``."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}"
    found = user_frame(error, None if path is None else [path])
    if found is not None:
        return f"{found[0]}:{found[1]}"
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        return f"{frames[-1].filename}:{frames[-1].lineno}"
    return str(path or "?")


def describe_error(error: BaseException, paths: Sequence[str | Path] | None = None, prefix: str = "") -> str | None:
    """``file:line: ExceptionType: message`` (``file:line: prefix: ExceptionType: message`` with a
    prefix) for an exception raised in user code (see :func:`user_frame`), else None.  The type
    and message are those of the exception raised at that line."""
    found = user_frame(error, paths)
    if found is None:
        return None
    file, line, cause = found
    return f"{file}:{line}: {prefix + ': ' if prefix else ''}{type(cause).__name__}: {_message(cause)}"


def _message(error: BaseException) -> str:
    """The reason, without TensorFlow's "Detected at node … defined at" traceback text."""
    text = str(error)
    for marker in ("\nDetected at node", "Detected at node"):
        if marker in text:
            text = text.split(marker)[0]
    return one_line(Exception(text)) if text.strip() else one_line(error)

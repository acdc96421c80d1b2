"""Checkpoint files: what a run resumes from, and how the newest intact one is found.

A phase's folder (``checkpoints/PHASE/``) holds ``epoch-NNNNNN.npz`` files — the model's and its
optimizer's values (``arr_0``…) and, as ``__state__``, the checkpoint's own state in JSON (phase,
epoch, the phases so far, the callbacks' state, and the metrics rows of every epoch up to it) —
plus ``state.json``, a copy of the newest file's state naming it.  Each file is written under a
temporary name and renamed when complete; ``state.json`` moves on only after that, and the older
file is removed last.  So a kill at any moment leaves at least one complete checkpoint, and a
damaged ``state.json`` loses nothing: every npz carries its state.
"""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core.errors import KerasTUIError
from kerastui.core.run.directory import inside, read_json, write_atomic, write_new

STATE = "__state__"
POINTER = "state.json"  # in a phase's folder: a copy of the newest checkpoint's state, naming it
FILE = re.compile(r"^epoch-(\d{6})\.npz$")


def file_name(epoch: int) -> str:
    return f"epoch-{epoch:06d}.npz"


def write_file(path: Path, arrays: Sequence[Any], state: dict[str, Any] | None = None) -> None:
    """``arrays`` (and ``state``) to ``path`` through a temporary file created afresh (never through a
    link planted at its name), renamed over ``path`` once complete."""
    named: dict[str, Any] = {f"arr_{i}": a for i, a in enumerate(arrays)}
    if state is not None:
        named[STATE] = np.array(json.dumps(state))
    write_new(path, lambda handle: np.savez(handle, **named), "write the checkpoint")


def write(folder: Path, arrays: Sequence[Any], state: dict[str, Any], best: Sequence[Any] | None = None) -> None:
    """A phase's checkpoint of ``state["epoch"]``: the npz, then ``state.json``, then the older npz gone."""
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(int(state["epoch"]))
    state = {**state, "weights": name}
    write_file(folder / name, arrays, state)
    if best is not None:
        write_file(folder / "best.npz", best)
    write_atomic(folder / POINTER, json.dumps(state))
    for old in folder.glob("epoch-*.npz"):
        if old.name != name:
            with contextlib.suppress(OSError):
                old.unlink()
    for tmp in folder.glob(".*.tmp"):  # left by a process killed while writing (this one's are renamed)
        with contextlib.suppress(OSError):
            tmp.unlink()


def read_arrays(path: Path) -> tuple[list[Any], dict[str, Any] | None]:
    """The values and the embedded state of a checkpoint file, every byte checked (a file cut short
    or altered raises :class:`KerasTUIError` naming it)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            names = [n for n in stored.files if n.startswith("arr_")]
            arrays = [stored[f"arr_{i}"] for i in range(len(names))]
            state = json.loads(str(stored[STATE])) if STATE in stored.files else None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as error:
        reason = str(error).split("\n")[0] or type(error).__name__
        raise KerasTUIError(f"{path}: cannot read the checkpoint ({reason})") from None
    if state is not None and not isinstance(state, dict):
        raise KerasTUIError(f"{path}: cannot read the checkpoint (its state is not an object)")
    return arrays, state


@dataclass
class Found:
    """The checkpoint a resume continues from."""

    phase: str
    epoch: int
    path: Path
    state: dict[str, Any]
    arrays: list[Any]
    dropped: list[str] = field(default_factory=list)  # what could not be used, one phrase each


def newest_intact(folders: dict[str, Path], root: Path) -> tuple[Found | None, list[str]]:
    """The newest checkpoint that reads back whole, over the phases in order (a later phase is
    newer): ``(found or None, what was passed over)``.  Only files of the folders, within ``root``
    (the run's directory), are read: a folder that is a link out of it is passed over.
    ``state.json`` is a hint, not a need: one naming a file outside its folder is damage."""
    candidates: list[tuple[int, int, str, Path]] = []
    dropped: list[str] = []
    for rank, (phase, folder) in enumerate(folders.items()):
        if folder.exists() and not inside(folder, root):
            dropped.append(f"checkpoints of {phase} lead outside the run (a link): not read")
            continue
        try:
            names = sorted(p.name for p in folder.iterdir())
        except OSError:
            continue
        for name in names:
            matched = FILE.match(name)
            if matched is not None:
                candidates.append((rank, int(matched.group(1)), phase, folder / name))
        pointer = folder / POINTER
        if pointer.is_symlink():
            dropped.append(f"{pointer.name} of {phase} is a link: not read")
        elif pointer.exists():
            hint = read_json(pointer)
            weights = hint.get("weights")
            if not isinstance(weights, str) or not isinstance(hint.get("epoch"), int):
                dropped.append(f"{pointer.name} of {phase} unreadable")
            elif FILE.match(weights) is None:
                dropped.append(f"{pointer.name} of {phase} names a file outside its folder: ignored")
    for _, epoch, phase, path in sorted(candidates, reverse=True):
        if path.is_symlink() or not path.is_file():
            dropped.append(f"{path.name} not a plain file")
            continue
        try:
            arrays, state = read_arrays(path)
        except KerasTUIError:
            dropped.append(f"{path.parent.name}/{path.name} damaged")
            continue
        if state is None:  # written by an earlier version: its state is in state.json, if that names it
            pointer = path.parent / POINTER
            hint = {} if pointer.is_symlink() else read_json(pointer)
            state = hint if hint.get("weights") == path.name else {}
        state = {**state, "phase": phase, "epoch": epoch, "weights": path.name}
        return Found(phase, epoch, path, state, arrays, dropped), dropped
    return None, dropped

"""Run directories: ``preset.toml`` (resolved), ``metrics.jsonl`` (a line per epoch),
``summary.json``, the saved model and TensorBoard logs.  Written by every run, TUI or CLI."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerastui.core.events import EpochEnded, Event
from kerastui.core.metricnames import lower_is_better
from kerastui.core.specs import Preset, split_ref


def default_runs_dir() -> Path:
    """``$KERASTUI_RUNS`` or ``$XDG_DATA_HOME/kerastui/runs``."""
    if os.environ.get("KERASTUI_RUNS"):
        return Path(os.environ["KERASTUI_RUNS"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "kerastui" / "runs"


class RunDir:
    """One run's folder; also a sink that appends each ``EpochEnded`` to ``metrics.jsonl``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.metrics_path = path / "metrics.jsonl"

    @classmethod
    def create(cls, runs_dir: Path, preset_name: str) -> RunDir:
        runs_dir = Path(runs_dir).expanduser()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", preset_name or "run").strip("-") or "run"
        for n in range(1000):
            path = runs_dir / (f"{stamp}-{slug}" if n == 0 else f"{stamp}-{slug}-{n}")
            try:
                path.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover
            raise RuntimeError(f"cannot create a run directory in {runs_dir}")
        return cls(path)

    def write_preset(self, preset: Preset) -> Path:
        from kerastui.core.presets import save

        return save(absolute_refs(preset), self.path / "preset.toml")

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpochEnded):
            line = {"phase": event.phase, "epoch": event.epoch + 1, "seconds": round(event.seconds, 4), **event.logs}
            with self.metrics_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.path / "summary.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"


def absolute_refs(preset: Preset) -> Preset:
    """A copy whose ``file.py:Class`` and file-source paths are absolute, so it runs from anywhere."""

    out = copy.deepcopy(preset)
    base = preset.base_dir

    def fix(ref: str) -> str:
        file, cls = split_ref(ref)
        path = Path(file).expanduser()
        return f"{path if path.is_absolute() else (base / path).resolve()}:{cls}"

    out.compile.custom_metrics = [fix(r) for r in out.compile.custom_metrics]
    if out.model.subclass:
        out.model.subclass = fix(out.model.subclass)
    scheme, _, rest = out.data.source.partition(":")
    if scheme in ("npz", "csv", "images"):
        path = Path(rest).expanduser()
        if not path.is_absolute() and (base / path).exists():
            out.data.source = f"{scheme}:{(base / path).resolve()}"
    return out


@dataclass(frozen=True)
class RunInfo:
    path: Path
    preset: str
    started: str
    epochs: int
    seconds: float | None
    test: dict[str, Any]
    best_val: dict[str, float]
    status: str


def read_metrics(path: Path) -> list[dict[str, Any]]:
    file = Path(path) / "metrics.jsonl"
    if not file.is_file():
        return []
    rows = []
    for line in file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
    return rows


def list_runs(runs_dir: Path | None = None) -> list[RunInfo]:
    runs_dir = Path(runs_dir or default_runs_dir()).expanduser()
    if not runs_dir.is_dir():
        return []
    found = []
    for path in sorted((p for p in runs_dir.iterdir() if p.is_dir()), reverse=True):
        summary: dict[str, Any] = {}
        if (path / "summary.json").is_file():
            try:
                summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                summary = {}
        metrics = read_metrics(path)
        best: dict[str, float] = {}
        for row in metrics:
            for key, value in row.items():
                if key.startswith("val_") and isinstance(value, (int, float)) and math.isfinite(value):
                    better = min if lower_is_better(key) else max
                    best[key] = better(best.get(key, value), value)
        found.append(RunInfo(
            path=path, preset=summary.get("preset", path.name), started=summary.get("started", path.name[:15]),
            epochs=len(metrics), seconds=summary.get("seconds"), test=summary.get("test", {}), best_val=best,
            status=summary.get("status", "incomplete" if not summary else "completed"),
        ))
    return found

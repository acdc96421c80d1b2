"""Run directories — the source of truth about a run, whoever started it (the TUI or the CLI).

A run directory holds:

- ``preset.toml``: the resolved preset (file references absolute);
- ``events.jsonl``: every event the trainer emits, one JSON object a line, flushed per line;
- ``status.json``: pid, host, state, epoch, heartbeat — rewritten atomically;
- ``metrics.jsonl``: a line per epoch; ``summary.json`` at the end;
- ``checkpoints/PHASE/``: Keras's ``BackupAndRestore`` files plus ``state.json`` (what makes
  the run resumable); the saved model; ``tensorboard/``; ``output.log`` for a detached run.

Exactly one process writes a run directory: it holds an exclusive ``flock`` on ``.lock`` for
its whole life, so "is it live?" is a question the kernel answers, not a stale pid.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerastui.core.errors import KerasTUIError
from kerastui.core.model.metricnames import best_epoch, lower_is_better
from kerastui.core.model.specs import Preset, split_ref
from kerastui.core.run.events import EpochEnded, Event, event_from_json, event_to_json

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# What a run is doing (``starting``, ``running``) or how it ended.  ``died``: the status says it
# runs, but no process holds the run's lock (killed, power cut).
LIVE_STATES = ("starting", "running")
END_STATES = ("completed", "stopped", "interrupted", "failed", "died")
RESUMABLE = ("interrupted", "died", "failed")
# A metrics.jsonl row's fields that are not metrics.
ROW_FIELDS = ("phase", "epoch", "seconds", "batches", "peak_memory")
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_STALE = 30.0  # a run on another host is taken as died after this long without a heartbeat


def default_runs_dir() -> Path:
    """``$KERASTUI_RUNS`` or ``$XDG_DATA_HOME/kerastui/runs``."""
    if os.environ.get("KERASTUI_RUNS"):
        return Path(os.environ["KERASTUI_RUNS"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "kerastui" / "runs"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: readers see the old or the new file,
    never half of one; on failure (disk full) no temporary file is left and the path is named."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KerasTUIError(f"{path}: cannot write ({error.strerror or error})") from None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; {} when missing or unreadable (a run writes them atomically)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def jsonable(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null (in summaries, status files, ``--json`` output)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def check_runs_dir(runs_dir: Path) -> Path:
    """The runs folder, or one line on why no run can go there (checked before anything slow)."""
    runs_dir = Path(runs_dir).expanduser()
    if runs_dir.is_symlink() and not runs_dir.exists():
        raise KerasTUIError(f"{runs_dir}: the runs folder is a broken symbolic link (to {os.readlink(runs_dir)})")
    if runs_dir.exists() and not runs_dir.is_dir():
        raise KerasTUIError(f"{runs_dir}: is a file, not a folder for runs")
    existing = next((p for p in [runs_dir, *runs_dir.parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise KerasTUIError(f"{runs_dir}: cannot be created ({existing} is a file)")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise KerasTUIError(f"{runs_dir}: cannot be written ({existing} is not writable)")
    return runs_dir


class RunBusy(KerasTUIError):
    """Another process writes this run directory."""


class RunDir:
    """One run's folder.  Also the run's sink: each event goes to ``events.jsonl`` (flushed per
    line) and each ``EpochEnded`` to ``metrics.jsonl`` too."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.metrics_path = self.path / "metrics.jsonl"
        self.events_path = self.path / "events.jsonl"
        self.status_path = self.path / "status.json"
        self.summary_path = self.path / "summary.json"
        self.preset_path = self.path / "preset.toml"
        self.output_path = self.path / "output.log"
        self._lock_handle: Any = None
        self._events: Any = None
        self._status: dict[str, Any] = {}
        self._status_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._beating = threading.Event()

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, runs_dir: Path, preset_name: str) -> RunDir:
        """A new, empty run directory; two runs started in the same second get two."""
        runs_dir = check_runs_dir(runs_dir)
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise KerasTUIError(f"{runs_dir}: is a file, not a folder for runs") from None
        except OSError as error:
            raise KerasTUIError(f"{runs_dir}: cannot create the runs folder ({error.strerror})") from None
        if not runs_dir.is_dir():
            raise KerasTUIError(f"{runs_dir}: is not a folder for runs")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", preset_name or "run").strip("-.") or "run"
        for n in range(1000):
            path = runs_dir / (f"{stamp}-{slug}" if n == 0 else f"{stamp}-{slug}-{n}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise KerasTUIError(f"{path}: cannot create the run directory ({error.strerror})") from None
            return cls(path)
        raise KerasTUIError(f"{runs_dir}: 1000 runs named {stamp}-{slug} already exist")  # pragma: no cover

    def write_preset(self, preset: Preset) -> Path:
        from kerastui.core.model.presets import save

        try:
            return save(absolute_refs(preset), self.preset_path)
        except OSError as error:
            raise KerasTUIError(f"{self.preset_path}: cannot write ({error.strerror})") from None

    # ------------------------------------------------------------------ the one writer

    def acquire(self) -> None:
        """Become this directory's only writer, or raise :class:`RunBusy` naming the live one."""
        path = self.path / ".lock"
        try:
            handle = path.open("a+")
        except OSError as error:
            raise KerasTUIError(f"{path}: cannot open the run's lock ({error.strerror})") from None
        for attempt in range(10):  # a reader's probe holds it for microseconds: retry briefly
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 9:
                    handle.close()
                    status = read_json(self.status_path)
                    raise RunBusy(f"{self.path}: run is live (pid {status.get('pid', '?')} on "
                                  f"{status.get('host', '?')}); stop it first (kerastui stop {self.name})") from None
                time.sleep(0.05)
        self._lock_handle = handle

    def release(self) -> None:
        self.stop_heartbeat()
        if self._events is not None:
            with contextlib.suppress(OSError):
                self._events.close()
            self._events = None
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def locked(self) -> bool:
        """Whether a process holds this run's lock (it is live)."""
        path = self.path / ".lock"
        if not path.exists():
            return False
        try:
            with path.open("a+") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                return False
        except OSError:
            return False

    # ------------------------------------------------------------------ status

    def set_status(self, **fields: Any) -> None:
        """Merge ``fields`` into ``status.json`` (rewritten atomically, with a fresh heartbeat)."""
        with self._status_lock:
            if not self._status:
                self._status = read_json(self.status_path)
            self._status.update(fields)
            self._status["heartbeat"] = round(time.time(), 3)
            write_atomic(self.status_path, json.dumps(jsonable(self._status)))

    def start_heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        def beat() -> None:
            while not self._beating.wait(every):
                with contextlib.suppress(KerasTUIError):  # a full disk: the run's own writes say so
                    self.set_status()

        self._beating.clear()
        self._heartbeat = threading.Thread(target=beat, name="kerastui-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._beating.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=1.0)
        self._heartbeat = None

    def status(self) -> dict[str, Any]:
        """``status.json`` as it should be read: a live-looking state whose process is gone is ``died``."""
        status = read_json(self.status_path)
        state = status.get("state")
        if state is None:
            if self.summary_path.exists():  # a run from before status files
                summary = read_json(self.summary_path)
                status = {"state": state_of(summary.get("status", "completed")), "epoch": summary.get("epochs_run")}
            else:
                status = {"state": "died" if not self.locked() else "running"}
            return status
        if state in LIVE_STATES and not self.locked():
            same_host = status.get("host") in (None, socket.gethostname())
            pid = status.get("pid")
            if same_host:
                # "starting": the launcher wrote it and the run process has not taken the lock yet.
                if not (state == "starting" and isinstance(pid, int) and pid_alive(pid)):
                    status["state"] = "died"
            elif time.time() - float(status.get("heartbeat", 0)) > HEARTBEAT_STALE:
                status["state"] = "died"
        return status

    # ------------------------------------------------------------------ the sink

    def __call__(self, event: Event) -> None:
        if self._events is None:
            try:
                self._events = self.events_path.open("a", encoding="utf-8")
            except OSError as error:
                raise KerasTUIError(f"{self.events_path}: cannot write ({error.strerror})") from None
        try:
            if isinstance(event, EpochEnded):
                line = {"phase": event.phase, "epoch": event.epoch + 1, "seconds": round(event.seconds, 4),
                        **({"batches": event.batches} if event.batches is not None else {}),
                        **({"peak_memory": event.peak_memory} if event.peak_memory is not None else {}), **event.logs}
                with self.metrics_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(line) + "\n")
            self._events.write(json.dumps(event_to_json(event)) + "\n")
            self._events.flush()
        except OSError as error:
            path = self.metrics_path if isinstance(event, EpochEnded) else self.events_path
            raise KerasTUIError(f"{path}: cannot write ({error.strerror})") from None

    def write_summary(self, summary: dict[str, Any]) -> Path:
        write_atomic(self.summary_path, json.dumps(summary, indent=2, default=str))
        return self.summary_path

    def truncate_to(self, epochs: int) -> None:
        """Keep only the first ``epochs`` epochs in ``metrics.jsonl`` and ``events.jsonl`` (before a
        resume from the checkpoint of that epoch: an epoch logged after it is run again)."""
        rows = [r for r in read_metrics(self.path) if int(r.get("epoch", 0)) <= epochs]
        write_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        kept = []
        for line in _lines(self.events_path):
            if line.get("type") in ("EpochEnded", "BatchEnded") and int(line.get("epoch", 0)) >= epochs:
                continue
            kept.append(line)
        write_atomic(self.events_path, "".join(json.dumps(r) + "\n" for r in kept))

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    def checkpoint_dir(self, phase: str) -> Path:
        return self.path / "checkpoints" / phase

    def events(self) -> list[Event]:
        """Every event of the log (a line cut short by a crash is skipped)."""
        out = []
        for line in _lines(self.events_path):
            event = event_from_json(line)
            if event is not None:
                out.append(event)
        return out


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for raw in text.splitlines():
        raw = raw.strip()
        if raw:
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                yield value


def state_of(outcome: str) -> str:
    """The status file's state for a trainer's result status (``running`` in a summary: it died)."""
    return {"early_stopping": "completed", "nan": "failed", "running": "died"}.get(outcome, outcome)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) answers too: look at its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class EventFollower:
    """Reads a run's ``events.jsonl`` as it grows: each :meth:`poll` returns the events of the
    complete lines written since the last one."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[Event]:
        try:
            with self.run.events_path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for its end
        out = []
        for raw in lines:
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            event = event_from_json(value) if isinstance(value, dict) else None
            if event is not None:
                out.append(event)
        return out


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
    epochs: int  # epochs done
    seconds: float | None  # duration: to the end, or so far for a live run
    test: dict[str, Any]
    best_val: dict[str, float]
    status: str  # the run's state: starting, running, completed, stopped, interrupted, failed, died
    outcome: str = ""  # the trainer's own word when it ended: completed, early_stopping, nan, …
    epochs_planned: int | None = None
    heartbeat_age: float | None = None  # seconds since the run process last wrote its status
    pid: int | None = None
    host: str = ""
    dataset: str = ""
    phase: str = ""
    error: str | None = None
    best: dict[str, Any] = field(default_factory=dict)  # {"metric", "value", "epoch"}: the headline
    devices: tuple[str, ...] = ()  # where it trains: ("GPU:0", "GPU:1"), ("CPU:0",); () before it started
    gpus: tuple[int, ...] = ()  # the GPUs it uses, numbered as nvidia-smi does
    peak_memory: int | None = None  # bytes: the highest per-epoch peak of device memory (None without GPU)
    # Its settings, from the resolved preset, and its model's size, from its summary.
    optimizer: str = ""
    learning_rate: float | None = None
    batch_size: int | None = None
    params: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable({
            "run": self.name, "path": str(self.path), "state": self.status, "outcome": self.outcome,
            "preset": self.preset, "dataset": self.dataset, "started": self.started, "epochs": self.epochs,
            "epochs_planned": self.epochs_planned, "phase": self.phase, "pid": self.pid, "host": self.host,
            "heartbeat_age": None if self.heartbeat_age is None else round(self.heartbeat_age, 1),
            "best": self.best, "test": self.test, "seconds": self.seconds, "error": self.error,
            "devices": list(self.devices), "gpus": list(self.gpus), "peak_memory": self.peak_memory,
            "optimizer": self.optimizer, "learning_rate": self.learning_rate, "batch_size": self.batch_size,
            "params": self.params,
        })
        return out


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


def run_info(path: Path) -> RunInfo:
    """What ``kerastui runs`` and the Runs workspace show of one run directory."""
    run = RunDir(path)
    summary = read_json(run.summary_path)
    status = run.status()
    metrics = read_metrics(path)
    best: dict[str, float] = {}
    for row in metrics:
        for column, value in row.items():
            if column.startswith("val_") and isinstance(value, (int, float)) and math.isfinite(value):
                better = min if lower_is_better(column) else max
                best[column] = better(best.get(column, value), value)
    headline: dict[str, Any] = {}
    key: str | None = next((k for k in ("val_accuracy", "val_loss") if k in best), next(iter(sorted(best)), None))
    if key is not None:
        epoch = best_epoch([float(r.get(key, math.nan)) for r in metrics], key)
        headline = {"metric": key, "value": best[key], "epoch": epoch}
    preset = summary.get("preset") or status.get("preset") or path.name
    dataset = (summary.get("data") or {}).get("source") or status.get("dataset") or ""
    started = summary.get("started") or status.get("started_at") or path.name[:15]
    seconds = summary.get("seconds")
    heartbeat = status.get("heartbeat")
    age = time.time() - float(heartbeat) if isinstance(heartbeat, (int, float)) else None
    state = str(status.get("state", "died"))
    if state in LIVE_STATES and isinstance(status.get("started"), (int, float)):
        seconds = time.time() - float(status["started"])
    elif seconds is None and isinstance(status.get("started"), (int, float)) and isinstance(heartbeat, (int, float)):
        seconds = float(heartbeat) - float(status["started"])
    return RunInfo(
        path=path, preset=str(preset), started=str(started), epochs=len(metrics), seconds=seconds,
        test=summary.get("test", {}) if state not in LIVE_STATES else {}, best_val=best, status=state,
        outcome=str(status.get("outcome") or summary.get("status") or ""),
        epochs_planned=status.get("epochs_planned"), heartbeat_age=age, pid=status.get("pid"),
        host=str(status.get("host", "")), dataset=str(dataset), phase=str(status.get("phase", "")),
        error=status.get("error") or summary.get("error"), best=headline,
        devices=tuple(str(d) for d in status.get("devices") or (summary.get("devices") or {}).get("devices") or ()),
        gpus=tuple(int(g) for g in status.get("gpus") or () if isinstance(g, int)),
        peak_memory=max((int(r["peak_memory"]) for r in metrics if isinstance(r.get("peak_memory"), int)),
                        default=None),
        params=(summary.get("model") or {}).get("total"),
        **_settings(path, status),
    )


def _settings(path: Path, status: dict[str, Any]) -> dict[str, Any]:
    """Optimizer, learning rate and batch size: from the status (runs write them when they start), else
    from the run's resolved preset (runs of earlier versions)."""
    known = status.get("settings")
    if isinstance(known, dict):
        return {"optimizer": str(known.get("optimizer") or ""), "learning_rate": known.get("learning_rate"),
                "batch_size": known.get("batch_size")}
    try:
        data = tomllib.loads((Path(path) / "preset.toml").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    compile_, fit = data.get("compile") or {}, data.get("fit") or {}
    optimizer = compile_.get("optimizer", "adam")
    rate = compile_.get("learning_rate")
    if isinstance(optimizer, dict):  # { type = "SGD", learning_rate = 0.01, ... }
        rate = optimizer.get("learning_rate", rate)
        optimizer = optimizer.get("type", "")
    return {"optimizer": str(optimizer), "learning_rate": float(rate) if isinstance(rate, (int, float)) else None,
            "batch_size": fit.get("batch_size", 32) if isinstance(fit.get("batch_size", 32), int) else None}


_INFO_CACHE: dict[Path, tuple[tuple[int, int], RunInfo]] = {}


def _cached_info(path: Path) -> RunInfo:
    """``run_info``, read again only when the run's status file changed (a run rewrites it last,
    after its summary, when it ends or resumes); a live run always (its heartbeat's age, and whether
    its process still exists, change without any file changing)."""
    try:
        stat = (path / "status.json").stat()
        key = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (0, 0)
    hit = _INFO_CACHE.get(path)
    if hit is not None and hit[0] == key and key != (0, 0) and not hit[1].live:
        return hit[1]
    info = run_info(path)
    _INFO_CACHE[path] = (key, info)
    return info


def list_runs(runs_dir: Path | None = None) -> list[RunInfo]:
    """Every run in ``runs_dir``: live ones first, then the newest first (finished runs' rows are
    cached in this process until their status file changes)."""
    runs_dir = Path(runs_dir or default_runs_dir()).expanduser()
    try:
        with os.scandir(runs_dir) as entries:
            names = sorted((entry.name for entry in entries if entry.is_dir()), reverse=True)
    except OSError:
        return []
    found = sorted((_cached_info(runs_dir / name) for name in names), key=lambda r: not r.live)
    _LAST_LIST[runs_dir] = found
    return found


_LAST_LIST: dict[Path, list[RunInfo]] = {}


def last_listed(runs_dir: Path | None = None) -> list[RunInfo] | None:
    """What ``list_runs`` last returned for ``runs_dir`` in this process (None: never read): shown at
    once while the directory is read again."""
    return _LAST_LIST.get(Path(runs_dir or default_runs_dir()).expanduser())


def live_runs(runs_dir: Path | None = None) -> list[RunInfo]:
    return [r for r in list_runs(runs_dir) if r.live]


def find_run(text: str, runs_dir: Path | None = None) -> RunDir:
    """RUN as the user types it: a directory name, a unique prefix of one, ``last``, or a path."""
    runs_dir = Path(runs_dir or default_runs_dir()).expanduser()
    as_path = Path(text).expanduser()
    if (as_path.is_absolute() or os.sep in text) and as_path.is_dir():
        return RunDir(as_path)
    names = sorted((p.name for p in runs_dir.iterdir() if p.is_dir()), reverse=True) if runs_dir.is_dir() else []
    if not names:
        raise KerasTUIError(f"{runs_dir}: no runs yet")
    if text == "last":
        return RunDir(runs_dir / names[0])
    if text in names:
        return RunDir(runs_dir / text)
    matches = [n for n in names if n.startswith(text)]
    if len(matches) == 1:
        return RunDir(runs_dir / matches[0])
    if not matches:
        raise KerasTUIError(f"{text}: no run of that name in {runs_dir} (kerastui runs lists them)")
    raise KerasTUIError(f"{text}: matches {len(matches)} runs ({', '.join(matches[:3])}"
                        f"{', …' if len(matches) > 3 else ''}); type more of the name")

"""Sweeps: a preset's ``[sweep]`` section turned into an Optuna study whose trials are ordinary runs.

A sweep is a study (in a storage every machine of the sweep reaches) and, on each machine that
works on it, a folder ``<runs_dir>/sweeps/<name>/``:

- ``sweep.json``: its name, when it was made, its storage (a PostgreSQL URL with the password
  removed, or the journal file), this machine's number of slots;
- ``journal.log``: the study itself, when no ``--storage`` was given (Optuna's journal file);
- ``preset.toml``: the preset swept (the study keeps the same text, for machines that join);
- ``workers/slot-N.{lock,json,log}``: one worker loop per slot — a detached process (its own
  session, like a run) that holds the lock while it lives, says who it is, and writes its log.

Each trial is a run in the runs folder (``kerastui runs`` lists it, attach/stop/resume work on it),
its status tagged with ``sweep`` and ``trial``; the study's trials hold the trial's host, slot,
device, run directory and epoch (user attributes) and its objective per epoch (intermediate values).

:class:`SweepClient` starts, joins, resumes, stops, finds and opens sweeps; :class:`Sweep` is one
opened sweep — :meth:`Sweep.trials` (the live trial table, cheap to call again: the storage stays
open and a journal is read on from where it was), :meth:`Sweep.importances`, :meth:`Sweep.best`,
:meth:`Sweep.best_preset`.  A storage URL's password is never written anywhere: workers and trial
runs get the URL through their environment (``KERASTUI_SWEEP_STORAGE``), never their arguments.

Optuna is imported only when a study is opened: listing sweeps loads nothing heavy.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kerastui.core.errors import KerasTUIError, PresetError
from kerastui.core.model import presets
from kerastui.core.model.specs import Preset, SweepSpec
from kerastui.core.model.sweepspace import (
    Dimension,
    check_parallel,
    dimensions,
    direction,
    objective,
    timeout_seconds,
    trials_wanted,
)
from kerastui.core.run.directory import (
    SWEEPS,
    RunDir,
    absolute_refs,
    default_runs_dir,
    hostname,
    jsonable,
    pid_alive,
    process_start,
    read_json,
    write_atomic,
)
from kerastui.core.run.status import RunStatus

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

# The environment of a worker and of its trials' run processes (never their arguments: `ps` shows those).
ENV_SWEEP = "KERASTUI_SWEEP"  # the sweep's name: this run is one of its trials
ENV_TRIAL = "KERASTUI_TRIAL"  # the trial's number
ENV_STORAGE = "KERASTUI_SWEEP_STORAGE"  # the storage: a journal file's path, or a database URL (password and all)
ENV_SLOT_DEVICE = "KERASTUI_SLOT_DEVICE"  # what the worker's slot runs on: "GPU 1", "CPU 0-3"
ENV_SLOT_CPUS = "KERASTUI_SLOT_CPUS"  # the CPUs a CPU slot is pinned to: "0,1"

SWEEP_FILE = "sweep.json"
JOURNAL_FILE = "journal.log"
PRESET_FILE = "preset.toml"
WORKERS = "workers"
ASK_LOCK = ".ask.lock"
ATTRS = "kerastui"  # the study's user attribute holding the sweep's own facts
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
CONNECT_SECONDS = 10  # a database that does not answer in this long is unreachable


class SweepError(KerasTUIError):
    """A sweep that cannot be started, found, reached or continued (one line: what and why)."""


# --------------------------------------------------------------------------- storage


def database_url(text: str) -> str:
    """A PostgreSQL URL as SQLAlchemy takes it with psycopg 3 (``postgresql://`` → ``postgresql+psycopg://``);
    one line naming what is accepted otherwise."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise SweepError(f"--storage {_safe(text)}: not a URL; give postgresql://USER@HOST[:PORT]/DATABASE "
                         "(several machines share the study there)")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql+"):
        return text
    raise SweepError(f"--storage {redact(text)}: {scheme}:// is not supported; give postgresql://USER@HOST/DATABASE "
                     "(without --storage the study is a journal file in the runs folder)")


def redact(url: str) -> str:
    """The URL with its password removed (``postgresql+psycopg://user@host/db``): safe to show and store."""
    bare = re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", url)  # what looks like a password, removed
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        shown = str(parsed._replace(password=None).render_as_string(hide_password=False))  # (URL is a namedtuple)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses
        return bare
    return shown if not parsed.password or str(parsed.password) not in shown else bare


def password_of(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001
        return None
    return str(password) if password else None


def _safe(text: str, url: str | None = None) -> str:
    """``text`` with the password of ``url`` (or of ``text`` itself) replaced by ``***``."""
    secret = password_of(url if url is not None else text)
    return text.replace(secret, "***") if secret else text


class Storage:
    """Where a sweep's study lives: a journal file (one machine) or a PostgreSQL database."""

    def __init__(self, spec: str) -> None:
        self.spec = spec  # a journal's path or a database URL, password included: never shown, never written
        self.journal = not spec.startswith(("postgresql", "postgres"))
        self.url = spec if self.journal else database_url(spec)
        self._raw: Any = None
        self._storage: BaseStorage | None = None

    @property
    def label(self) -> str:
        """What is shown and stored: the journal's path, or the URL without its password."""
        return self.spec if self.journal else redact(self.url)

    @property
    def optuna(self) -> BaseStorage:
        """The Optuna storage, opened once (one line saying why when it cannot be reached)."""
        if self._storage is None:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            if self.journal:
                from optuna.storages import JournalStorage
                from optuna.storages.journal import JournalFileBackend

                try:
                    Path(self.spec).parent.mkdir(parents=True, exist_ok=True)
                    self._storage = JournalStorage(JournalFileBackend(self.spec))
                except OSError as error:
                    raise SweepError(f"{self.spec}: cannot open the sweep's journal ({error.strerror})") from None
            else:
                from optuna.storages import RDBStorage

                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        self._raw = RDBStorage(self.url, engine_kwargs={
                            "pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_SECONDS}})
                except Exception as error:  # noqa: BLE001 - the driver's own words, in one line
                    raise SweepError(f"--storage {self.label}: cannot connect ({self.reason(error)})") from None
                self._storage = self._raw
        return self._storage

    def reason(self, error: BaseException) -> str:
        """A storage error in one line, the password removed, SQLAlchemy's boilerplate left out."""
        text = str(getattr(error, "orig", None) or error)
        text = text.split("(Background on this error", 1)[0]
        text = re.sub(r"^\(?[\w.]+Error\)?\s*", "", text.strip())
        text = text.removeprefix("connection failed: ")
        hint = ("; give the password in --storage, or set PGPASSWORD (or ~/.pgpass)"
                if "password" in text and "failed" in text else "")
        return _safe(" ".join(text.split()), self.url)[:300] + hint

    @contextlib.contextmanager
    def lock(self, folder: Path, name: str) -> Iterator[None]:
        """The sweep's one lock: while held, no other worker anywhere counts or asks trials."""
        if self.journal:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / ASK_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)
            return
        self.optuna  # noqa: B018 - connects
        from sqlalchemy import text

        key = int.from_bytes(hashlib.sha256(f"kerastui-sweep:{name}".encode()).digest()[:8], "big", signed=True)
        with self._raw.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


# --------------------------------------------------------------------------- the sweep's folder


def sweeps_dir(runs_dir: Path | None = None) -> Path:
    return Path(runs_dir or default_runs_dir()).expanduser() / SWEEPS


class SweepDir:
    """One sweep's folder on this machine: every file name of it is here."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.sweep_path = self.path / SWEEP_FILE
        self.journal_path = self.path / JOURNAL_FILE
        self.preset_path = self.path / PRESET_FILE
        self.workers_path = self.path / WORKERS

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def runs_dir(self) -> Path:
        return self.path.parent.parent

    def info(self) -> dict[str, Any]:
        return read_json(self.sweep_path)

    def write_info(self, info: dict[str, Any]) -> None:
        write_atomic(self.sweep_path, json.dumps(jsonable(info), indent=2))

    def worker_lock(self, slot: int) -> Path:
        return self.workers_path / f"slot-{slot}.lock"

    def worker_file(self, slot: int) -> Path:
        return self.workers_path / f"slot-{slot}.json"

    def worker_log(self, slot: int) -> Path:
        return self.workers_path / f"slot-{slot}.log"

    def workers(self) -> list[WorkerInfo]:
        """This machine's workers, live or not (one per slot that ever ran)."""
        out = []
        for path in sorted(self.workers_path.glob("slot-*.json")) if self.workers_path.is_dir() else []:
            data = read_json(path)
            slot = data.get("slot")
            if not isinstance(slot, int):
                continue
            live = held(self.worker_lock(slot)) or worker_alive(data.get("pid"), data.get("pid_start"))
            out.append(WorkerInfo(slot, data.get("pid"), data.get("pid_start"), str(data.get("device") or ""), live))
        return out


@dataclass(frozen=True)
class WorkerInfo:
    slot: int
    pid: Any
    pid_start: Any
    device: str
    live: bool


def held(path: Path) -> bool:
    """Whether a process holds the ``flock`` on ``path`` (a worker is alive)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def worker_alive(pid: Any, started: Any) -> bool:
    """Whether process ``pid`` is the sweep worker that started at ``started`` (pids are reused)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 or not pid_alive(pid):
        return False
    if isinstance(started, int) and process_start(pid) not in (None, started):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:  # no /proc: a live pid of that start time is all there is to go on
        return True
    return b"sweep" in command and b"worker" in command


# --------------------------------------------------------------------------- slots


@dataclass(frozen=True)
class Slot:
    """Where one worker's trials run: a GPU (``CUDA_VISIBLE_DEVICES``) or a share of the CPUs."""

    index: int
    device: str  # "GPU 1", "CPU 0-1"
    env: dict[str, str] = field(default_factory=dict)


def plan_slots(parallel: int | str, preset: Preset, where: str = "preset") -> list[Slot]:
    """This machine's slots: ``"gpus"`` one per visible GPU; a number N, the GPUs in turn (when the
    preset trains on GPUs and there are any) or the CPUs split N ways."""
    gpus = [] if preset.devices.gpus == "none" else visible_gpus()
    if parallel == "gpus":
        if not gpus:
            raise PresetError(where, "sweep.parallel", '"gpus", but no GPU is visible here (NVML); give a number of '
                                                       "trials at once instead")
        if preset.devices.gpus not in ("all", [0]):
            raise PresetError(where, "devices.gpus", 'a sweep with parallel = "gpus" gives each trial one GPU: '
                                                     'devices.gpus must be "all"')
        count = len(gpus)
    else:
        count = int(parallel)
    if gpus:
        return [Slot(i, f"GPU {gpus[i % len(gpus)]}", {"CUDA_VISIBLE_DEVICES": str(gpus[i % len(gpus)])})
                for i in range(count)]
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    slots = []
    for i in range(count):
        share = cpus[i * len(cpus) // count:(i + 1) * len(cpus) // count] or [cpus[i % len(cpus)]]
        threads = str(len(share))
        label = f"CPU {share[0]}" if len(share) == 1 else f"CPU {share[0]}-{share[-1]}"
        slots.append(Slot(i, label, {ENV_SLOT_CPUS: ",".join(map(str, share)), "OMP_NUM_THREADS": threads,
                                     "TF_NUM_INTRAOP_THREADS": threads,
                                     "TF_NUM_INTEROP_THREADS": str(min(2, len(share)))}))
    return slots


def visible_gpus() -> list[int]:
    """The GPUs this machine shows (nvidia-smi's numbers, within ``CUDA_VISIBLE_DEVICES`` when set)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [e.strip() for e in visible.split(",") if e.strip()]
        return [int(e) for e in entries if e.isdigit()]
    from kerastui.core.devices import sample_once

    return [gpu.index for gpu in sample_once().gpus]


# --------------------------------------------------------------------------- the trial table


@dataclass(frozen=True)
class TrialRow:
    """One trial as the sweep's table shows it (``kerastui sweep status``, the TUI's Sweeps view)."""

    number: int
    state: RunStatus  # completed, pruned, failed; running (or its run's own live state), interrupted, died
    params: dict[str, Any]
    value: float | None  # the objective: its best epoch's (completed), the last reported (pruned)
    best_so_far: float | None  # the best value of the completed trials numbered up to this one
    epoch: int | None  # epochs reported so far
    epochs_planned: int | None
    intermediate: dict[int, float]  # the objective per epoch (1-based), from the storage
    host: str
    device: str
    seconds: float | None
    run_dir: str | None
    error: str | None = None
    origin: str = ""  # "preset": trial 0, the preset's own values

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable({
            "number": self.number, "state": self.state, "params": self.params, "value": self.value,
            "best_so_far": self.best_so_far, "epoch": self.epoch, "epochs_planned": self.epochs_planned,
            "objective": {str(k): v for k, v in sorted(self.intermediate.items())}, "host": self.host,
            "device": self.device, "seconds": None if self.seconds is None else round(self.seconds, 3),
            "run_dir": self.run_dir, "error": self.error, "origin": self.origin or None,
        })
        return out


_STATES = {"COMPLETE": RunStatus.COMPLETED, "PRUNED": RunStatus.PRUNED, "FAIL": RunStatus.FAILED,
           "WAITING": RunStatus.STARTING, "RUNNING": RunStatus.RUNNING}


def best_value(values: Sequence[float], goal: str) -> tuple[float, int] | None:
    """(value, 1-based epoch) of the best finite value for ``goal`` (``minimize``/``maximize``); the
    first on a tie — kerastui's best-epoch rule, with the sweep's direction."""
    finite = [(v, e) for e, v in enumerate(values, start=1) if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return None
    if goal == "minimize":
        return min(finite)
    value, epoch = min(finite, key=lambda pair: (-pair[0], pair[1]))
    return value, epoch


def better(a: float, b: float, goal: str) -> bool:
    return a < b if goal == "minimize" else a > b


# --------------------------------------------------------------------------- an opened sweep


class Sweep:
    """One sweep: its study (opened once, read on incrementally) and its folder on this machine."""

    def __init__(self, folder: SweepDir, storage: Storage) -> None:
        self.dir = folder
        self.name = folder.name
        self.storage = storage
        self._study: optuna.Study | None = None
        self._facts: dict[str, Any] | None = None
        self._preset: Preset | None = None

    # ------------------------------------------------------------------ the study

    @property
    def study(self) -> optuna.Study:
        if self._study is None:
            import optuna

            try:
                self._study = optuna.load_study(study_name=self.name, storage=self.storage.optuna,
                                                sampler=optuna.samplers.RandomSampler())
            except KeyError:
                raise SweepError(f"{self.name}: no such sweep in {self.storage.label}") from None
        return self._study

    @property
    def facts(self) -> dict[str, Any]:
        """What the sweep itself records in its study (shared by every machine): its preset, target…"""
        if self._facts is None:
            facts = self.study.user_attrs.get(ATTRS)
            if not isinstance(facts, dict):
                raise SweepError(f"{self.name}: the study in {self.storage.label} is not a kerastui sweep")
            self._facts = facts
        return self._facts

    def refresh(self) -> dict[str, Any]:
        """The sweep's facts as the storage holds them now (stop flags, targets change)."""
        self._facts = None
        return self.facts

    def set_facts(self, **changes: Any) -> None:
        facts = copy.deepcopy(self.refresh())
        facts.update(changes)
        self.study.set_user_attr(ATTRS, jsonable(facts))
        self._facts = facts

    @property
    def preset(self) -> Preset:
        """The preset swept (each trial is it with the trial's values set)."""
        if self._preset is None:
            text = self.facts.get("preset")
            if not isinstance(text, str):
                raise SweepError(f"{self.name}: the study holds no preset")
            self._preset = presets.loads(text, where=f"sweep {self.name}")
            self._preset.name = str(self.facts.get("preset_name") or self.name)
        return self._preset

    @property
    def spec(self) -> SweepSpec:
        spec = self.preset.sweep
        assert spec is not None
        return spec

    @property
    def objective(self) -> str:
        return str(self.facts.get("objective") or objective(self.preset))

    @property
    def direction(self) -> str:
        return str(self.facts.get("direction") or direction(self.preset))

    @property
    def target(self) -> int | None:
        """How many trials in all (None: until the timeout)."""
        value = self.facts.get("trials")
        return value if isinstance(value, int) else None

    def dimensions(self) -> list[Dimension]:
        return dimensions(self.spec, self.preset.where)

    def trial_preset(self, params: dict[str, Any], number: int | None = None) -> Preset:
        """The preset with a trial's values set (the ``--set`` machinery, checked like one)."""
        text = self.facts["preset"]
        preset = presets.loads(text, where=f"sweep {self.name}" + (f" trial {number}" if number is not None else ""),
                               overrides=dict(params))
        base = str(self.facts.get("preset_name") or self.name)
        preset.name = f"{self.name}-t{number}" if number is not None else base
        return preset

    # ------------------------------------------------------------------ reading

    def frozen_trials(self) -> list[FrozenTrial]:
        try:
            return list(self.study.get_trials(deepcopy=False))
        except SweepError:
            raise
        except Exception as error:  # noqa: BLE001 - a storage gone away: one line
            raise SweepError(f"{self.name}: cannot read the study ({self.storage.reason(error)})") from None

    def trials(self) -> list[TrialRow]:
        """The trial table: every trial of every machine, numbered; a trial of this machine still
        running shows its run's own state (starting, running, stopping, interrupted, died)."""
        goal = self.direction
        planned = self.preset.planned_epochs
        me = hostname()
        rows = []
        best: float | None = None
        now = time.time()
        for t in sorted(self.frozen_trials(), key=lambda t: t.number):
            attrs = t.user_attrs
            state = _STATES.get(t.state.name, RunStatus.FAILED)
            run_dir = attrs.get("run_dir") if isinstance(attrs.get("run_dir"), str) else None
            host = str(attrs.get("host") or "")
            active: float | None = None
            if state == RunStatus.RUNNING and run_dir and host == me and Path(run_dir).is_dir():
                status = RunDir(Path(run_dir)).status()
                run_state = status.get("state")
                if isinstance(run_state, RunStatus) and run_state not in (RunStatus.COMPLETED, RunStatus.PRUNED,
                                                                          RunStatus.STOPPED, RunStatus.FAILED):
                    state = run_state  # (an ended run whose worker has not told the study yet: still running)
                if isinstance(run_state, RunStatus) and not run_state.live and isinstance(
                        status.get("active_seconds"), (int, float)):
                    active = float(status["active_seconds"])  # a run waiting for its resume: the time it trained
            value = t.value if t.state.name == "COMPLETE" else (
                t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
            if t.state.name == "COMPLETE" and value is not None and (best is None or better(value, best, goal)):
                best = value
            start = t.datetime_start.timestamp() if t.datetime_start is not None else None
            end = t.datetime_complete.timestamp() if t.datetime_complete is not None else None
            seconds = active if active is not None else (end or now) - start if start is not None else None
            epoch = attrs.get("epoch")
            rows.append(TrialRow(
                number=t.number, state=state, params=dict(t.params), value=value, best_so_far=best,
                epoch=epoch if isinstance(epoch, int) else (max(t.intermediate_values) if t.intermediate_values
                                                            else None),
                epochs_planned=planned, intermediate=dict(t.intermediate_values), host=host,
                device=str(attrs.get("device") or ""), seconds=seconds, run_dir=run_dir,
                error=str(attrs["error"]) if attrs.get("error") else None, origin=str(attrs.get("origin") or "")))
        return rows

    def best(self) -> TrialRow | None:
        """The completed trial with the best value (the first of equals)."""
        best: TrialRow | None = None
        for row in self.trials():
            if row.state == RunStatus.COMPLETED and row.value is not None and (
                    best is None or best.value is None or better(row.value, best.value, self.direction)):
                best = row
        return best

    def best_preset(self) -> Preset:
        """The preset of the best trial: the swept preset with its values, without the ``[sweep]``."""
        row = self.best()
        if row is None:
            raise SweepError(f"{self.name}: no trial has completed yet")
        preset = self.trial_preset(row.params)
        preset.sweep = None
        preset.name = f"{self.name}-best"
        note = f"sweep {self.name}, trial {row.number}: {self.objective} {row.value:.6g}"
        preset.description = f"{preset.description.rstrip()}\n\n{note}".strip()
        return preset

    def importances(self) -> dict[str, float]:
        """Each parameter's importance for the objective (Optuna's default evaluator); {} until two
        trials have completed."""
        import optuna

        completed = [t for t in self.frozen_trials() if t.state.name == "COMPLETE"]
        if len(completed) < 2:
            return {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return {k: float(v) for k, v in optuna.importance.get_param_importances(self.study).items()}
        except (ValueError, RuntimeError):  # one value for every trial, or a single parameter value
            return {}

    def snapshot(self) -> tuple[list[TrialRow], RunStatus]:
        """The trial table and the sweep's state, read in the one order that never shows a finished
        sweep as died: whether this machine's workers live first, the trials after (a worker that
        tells its last trial and leaves between the two readings is then seen working, or done)."""
        live_workers = any(w.live for w in self.dir.workers())
        rows = self.trials()
        return rows, self._state(rows, live_workers)

    def state(self) -> RunStatus:
        """The sweep's state in the run vocabulary: running, stopping, completed, stopped, or died
        (trials remain but no worker here works on them: ``sweep resume`` continues it)."""
        return self.snapshot()[1]

    def _state(self, rows: list[TrialRow], live_workers: bool) -> RunStatus:
        facts = self.refresh()
        live_trials = any(r.state.live for r in rows)
        finished = sum(1 for r in rows if r.state in (RunStatus.COMPLETED, RunStatus.PRUNED, RunStatus.FAILED))
        target = self.target
        if facts.get("stopped"):
            return RunStatus.STOPPING if live_workers or live_trials else RunStatus.STOPPED
        if target is not None and finished >= target and not live_trials and not live_workers:
            return RunStatus.COMPLETED
        if live_workers or any(r.state == RunStatus.RUNNING and r.host != hostname() for r in rows):
            return RunStatus.RUNNING
        if self.out_of_time() and not live_trials:
            return RunStatus.COMPLETED
        return RunStatus.DIED

    def out_of_time(self) -> bool:
        timeout = self.facts.get("timeout")
        if not isinstance(timeout, (int, float)):
            return False
        return self.clock() >= timeout

    def clock(self) -> float:
        """Seconds the sweep has been going (its stops not counted)."""
        clock = self.facts.get("clock") or {}
        used = float(clock.get("used") or 0.0)
        since = clock.get("since")
        return used + (time.time() - float(since) if isinstance(since, (int, float)) else 0.0)

    def summary(self) -> dict[str, Any]:
        """The sweep as one JSON object: name, storage (no password), state, objective, every trial, the best."""
        rows, state = self.snapshot()
        best = self.best_of(rows)
        finished = sum(1 for r in rows if r.state in (RunStatus.COMPLETED, RunStatus.PRUNED, RunStatus.FAILED))
        out: dict[str, Any] = jsonable({
            "name": self.name, "storage": self.storage.label, "state": state,
            "preset": self.facts.get("preset_name"), "objective": self.objective, "direction": self.direction,
            "trials_planned": self.target, "trials_ended": finished,
            "counts": {s.value: sum(1 for r in rows if r.state == s) for s in RunStatus if any(r.state == s
                                                                                                for r in rows)},
            "trials": [r.to_json() for r in rows],
            "best": None if best is None else {"number": best.number, "value": best.value, "params": best.params,
                                               "run_dir": best.run_dir, "host": best.host},
            "sweep_dir": str(self.dir.path),
        })
        return out

    def best_of(self, rows: list[TrialRow]) -> TrialRow | None:
        best: TrialRow | None = None
        for row in rows:
            if row.state == RunStatus.COMPLETED and row.value is not None and (
                    best is None or best.value is None or better(row.value, best.value, self.direction)):
                best = row
        return best


# --------------------------------------------------------------------------- the client


class SweepClient:
    """Sweeps in one runs folder: start, join, resume, stop, find, open — for the CLI and the TUI."""

    def __init__(self, runs_dir: Path | None = None) -> None:
        self.runs_dir = Path(runs_dir).expanduser() if runs_dir is not None else default_runs_dir()

    @property
    def folder(self) -> Path:
        return sweeps_dir(self.runs_dir)

    # ------------------------------------------------------------------ finding

    def sweeps(self) -> list[SweepDir]:
        """This machine's sweeps, newest first."""
        if not self.folder.is_dir():
            return []
        found = [SweepDir(p) for p in self.folder.iterdir() if (p / SWEEP_FILE).is_file()]
        return sorted(found, key=lambda d: (float(d.info().get("created") or 0.0), d.name), reverse=True)

    def find(self, text: str) -> SweepDir:
        """NAME as the user types it: a sweep's name, a unique prefix of one, or ``last``."""
        found = self.sweeps()
        if not found:
            raise SweepError(f"{self.folder}: no sweeps yet (kerastui sweep start PRESET makes one)")
        if text == "last":
            return found[0]
        names = [d.name for d in found]
        if text in names:
            return found[names.index(text)]
        matches = [d for d in found if d.name.startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SweepError(f"{text}: no sweep of that name in {self.folder} (kerastui sweep status lists them)")
        raise SweepError(f"{text}: matches {len(matches)} sweeps ({', '.join(d.name for d in matches[:3])}); "
                         "type more of the name")

    def open(self, text: str, storage: str | None = None) -> Sweep:
        """A sweep of this machine by NAME; ``storage`` (a URL with its password) when its own has none."""
        folder = self.find(text)
        return Sweep(folder, Storage(self.storage_of(folder, storage)))

    def storage_of(self, folder: SweepDir, given: str | None = None) -> str:
        """The storage to reach a sweep's study: the one given, ``$KERASTUI_SWEEP_STORAGE``, or its own
        (a database URL stored without its password: PGPASSWORD or ~/.pgpass supply it)."""
        info = folder.info()
        if given:
            return given
        if os.environ.get(ENV_STORAGE) and os.environ.get(ENV_SWEEP) in (None, folder.name):
            return os.environ[ENV_STORAGE]
        stored = info.get("storage")
        if not isinstance(stored, str) or not stored:
            raise SweepError(f"{folder.sweep_path}: names no storage")
        return stored

    # ------------------------------------------------------------------ starting

    def start(self, preset: Preset, *, name: str | None = None, storage: str | None = None) -> Sweep:
        """A new sweep of ``preset`` (its ``[sweep]`` section): everything is checked before anything is
        made; then the study (trial 0 = the preset's own values), this machine's folder and its workers."""
        where = preset.where
        spec = preset.sweep
        if spec is None:
            raise PresetError(where, "sweep", "no [sweep] section: add one with a [sweep.space] (README: Sweeps)")
        name = name or f"{preset.name or 'sweep'}-{time.strftime('%Y%m%d-%H%M%S')}"
        check_name(name)
        folder = SweepDir(self.folder / name)
        if folder.path.exists():
            raise SweepError(f"{name}: a sweep of that name exists in {self.folder} (kerastui sweep resume {name} "
                             "continues it)")
        parallel = check_parallel(spec.parallel, where)
        slots = plan_slots(parallel, preset, where)
        dims = dimensions(spec, where)
        target = trials_wanted(preset, where)
        store = Storage(storage or str(folder.journal_path))
        if not store.journal:
            store.optuna  # noqa: B018 - unreachable: one line now, nothing made
        own, notes = own_values(preset, dims)
        resolved = absolute_refs(preset)
        text = presets.dumps(resolved)
        import optuna

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            folder.path.mkdir()
        except FileExistsError:
            raise SweepError(f"{name}: a sweep of that name exists in {self.folder}") from None
        except OSError as error:
            raise SweepError(f"{folder.path}: cannot create the sweep's folder ({error.strerror})") from None
        try:
            goal: Literal["minimize", "maximize"] = "minimize" if direction(preset) == "minimize" else "maximize"
            study = optuna.create_study(storage=store.optuna, study_name=name, direction=goal)
        except optuna.exceptions.DuplicatedStudyError:
            folder.path.rmdir()
            raise SweepError(f"{name}: {store.label} already holds a study of that name (sweep join {name} "
                             "--storage … works on it from another machine)") from None
        except Exception as error:  # noqa: BLE001 - the storage's own words
            with contextlib.suppress(OSError):
                for leftover in folder.path.iterdir():
                    leftover.unlink()
                folder.path.rmdir()
            raise SweepError(f"{name}: cannot create the study in {store.label} ({store.reason(error)})") from None
        now = time.time()
        study.set_user_attr(ATTRS, jsonable({
            "preset": text, "preset_name": preset.name or name, "trials": target,
            "timeout": timeout_seconds(spec.timeout, where), "objective": objective(preset),
            "direction": direction(preset), "created": now, "stopped": False,
            "clock": {"used": 0.0, "since": now}, "notes": notes}))
        study.enqueue_trial(own, user_attrs={"origin": "preset"})
        resolved.name = preset.name
        with contextlib.suppress(OSError):
            presets.save(resolved, folder.preset_path)
        folder.write_info({"name": name, "created": now, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "host": hostname(), "storage": store.label, "parallel": parallel,
                           "preset": preset.name, "runs_dir": str(self.runs_dir), "joined": False})
        sweep = Sweep(folder, store)
        sweep._study = study
        self.launch_workers(sweep, slots)
        return sweep

    def join(self, name: str, storage: str, *, parallel: int | str | None = None) -> Sweep:
        """Add this machine's slots to a sweep whose study is in ``storage`` (a database)."""
        check_name(name)
        store = Storage(storage)
        if store.journal:
            raise SweepError("sweep join: --storage must be the sweep's database URL (postgresql://…)")
        folder = SweepDir(self.folder / name)
        sweep = Sweep(folder, store)
        if sweep.facts.get("stopped"):  # (no such study, or not a sweep: one line, nothing made)
            raise SweepError(f"{name}: the sweep is stopped; kerastui sweep resume {name} continues it (here, "
                             "with --storage, or on the machine that started it)")
        preset = sweep.preset
        parallel = check_parallel(parallel if parallel is not None else sweep.spec.parallel, preset.where,
                                  "--parallel")
        slots = plan_slots(parallel, preset, preset.where)
        if folder.path.exists() and any(w.live for w in folder.workers()):
            raise SweepError(f"{name}: this machine already works on it ({self.describe_workers(folder)})")
        folder.path.mkdir(parents=True, exist_ok=True)
        info = folder.info()
        folder.write_info({**info, "name": name, "created": info.get("created") or time.time(),
                           "created_at": info.get("created_at") or time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "host": hostname(), "storage": store.label, "parallel": parallel,
                           "preset": preset.name, "runs_dir": str(self.runs_dir), "joined": True})
        with contextlib.suppress(OSError):
            presets.save(preset, folder.preset_path)
        self.launch_workers(sweep, slots)
        return sweep

    def resume(self, text: str, *, parallel: int | str | None = None, trials: int | None = None,
               storage: str | None = None) -> tuple[Sweep, int]:
        """Continue a sweep on this machine: its stop flag cleared, workers started for its free slots
        (they first adopt this machine's trials whose worker died, resuming their runs).  The sweep and
        how many workers started."""
        sweep = self.open(text, storage)
        folder = sweep.dir
        info = folder.info()
        preset = sweep.preset
        parallel = check_parallel(parallel if parallel is not None else info.get("parallel", sweep.spec.parallel),
                                  preset.where, "--parallel")
        slots = plan_slots(parallel, preset, preset.where)
        changes: dict[str, Any] = {}
        if trials is not None:
            changes["trials"] = trials
        facts = sweep.refresh()
        if facts.get("stopped"):
            clock = dict(facts.get("clock") or {})
            changes.update(stopped=False, clock={"used": float(clock.get("used") or 0.0), "since": time.time()})
        if changes:
            sweep.set_facts(**changes)
        if sweep.state() == RunStatus.COMPLETED:
            return sweep, 0
        live = {w.slot for w in folder.workers() if w.live}
        free = [s for s in slots if s.index not in live]
        if free:
            folder.write_info({**info, "parallel": parallel})
            self.launch_workers(sweep, free)
        return sweep, len(free)

    def stop(self, text: str, *, storage: str | None = None, wait: float = 60.0) -> dict[str, Any]:
        """Stop a sweep everywhere: no trial starts any more; running trials are interrupted (their
        checkpoint written, resumable) and stay the sweep's (``sweep resume`` continues them).  This
        machine's workers and trial runs are signalled now; other machines' see the stop within seconds."""
        from kerastui.core.run.client import RunClient

        sweep = self.open(text, storage)
        facts = sweep.refresh()
        if not facts.get("stopped"):
            clock = dict(facts.get("clock") or {})
            since = clock.get("since")
            used = float(clock.get("used") or 0.0) + (time.time() - float(since)
                                                       if isinstance(since, (int, float)) else 0.0)
            sweep.set_facts(stopped=True, clock={"used": used, "since": None})
        signalled = []
        for worker in sweep.dir.workers():
            if worker.live and worker_alive(worker.pid, worker.pid_start):
                with contextlib.suppress(OSError):
                    os.kill(int(worker.pid), signal.SIGTERM)
                    signalled.append(worker.slot)
        client = RunClient(self.runs_dir)
        interrupted = []
        me = hostname()
        for row in sweep.trials():
            if row.host == me and row.run_dir and row.state.live and not trial_owned(row, sweep):
                with contextlib.suppress(KerasTUIError):
                    client.interrupt(Path(row.run_dir))
                    interrupted.append(row.number)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and (any(w.live for w in sweep.dir.workers())
                                               or any(r.state.live and r.host == me for r in sweep.trials())):
            time.sleep(0.2)
        return {"name": sweep.name, "workers": signalled, "interrupted": interrupted,
                "state": sweep.state()}

    # ------------------------------------------------------------------ workers

    def launch_workers(self, sweep: Sweep, slots: Sequence[Slot]) -> list[int]:
        """One detached worker process per slot (its own session: it outlives the terminal); the
        storage reaches it through its environment, never its arguments.  Their pids."""
        folder = sweep.dir
        folder.workers_path.mkdir(parents=True, exist_ok=True)
        pids = []
        for slot in slots:
            env = {**os.environ, ENV_SWEEP: sweep.name, ENV_STORAGE: sweep.storage.spec,
                   ENV_SLOT_DEVICE: slot.device, **slot.env}
            env.pop(ENV_TRIAL, None)
            if ENV_SLOT_CPUS not in slot.env:
                env.pop(ENV_SLOT_CPUS, None)
            command = [sys.executable, "-m", "kerastui", "sweep", "worker", sweep.name, "--slot", str(slot.index),
                       "--runs-dir", str(self.runs_dir)]
            try:  # (never through a link planted at its name)
                log = os.fdopen(os.open(folder.worker_log(slot.index), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                        | getattr(os, "O_NOFOLLOW", 0), 0o644), "ab")
            except OSError as error:
                raise SweepError(f"{folder.worker_log(slot.index)}: cannot write ({error.strerror})") from None
            with log:
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                           start_new_session=True, close_fds=True)
            # Who works the slot, until the worker says so itself: it is live from now on, never "died".
            write_atomic(folder.worker_file(slot.index), json.dumps(jsonable({
                "slot": slot.index, "pid": process.pid, "pid_start": process_start(process.pid),
                "host": hostname(), "device": slot.device, "started": time.time()})))
            pids.append(process.pid)
        return pids

    def describe_workers(self, folder: SweepDir) -> str:
        live = [w for w in folder.workers() if w.live]
        return f"{len(live)} worker(s): " + ", ".join(f"slot {w.slot} on {w.device} (pid {w.pid})" for w in live)

    def wait(self, sweep: Sweep, *, poll: float = 1.0) -> dict[str, Any]:
        """Until the sweep has ended here (completed, stopped, or no worker left): its summary."""
        while True:
            state = sweep.state()
            if not state.live:
                return sweep.summary()
            time.sleep(poll)


def trial_owned(row: TrialRow, sweep: Sweep) -> bool:
    """Whether a live worker of this machine works on trial ``row``."""
    for t in sweep.frozen_trials():
        if t.number == row.number:
            return worker_alive(t.user_attrs.get("worker_pid"), t.user_attrs.get("worker_start"))
    return False


def check_name(name: str) -> None:
    if not NAME.fullmatch(name) or name == "last":
        raise SweepError(f"--name {name[:60]!r}: a sweep's name takes letters, digits, '_', '.' and '-' "
                         "(100 at most, not 'last')")


def own_values(preset: Preset, dims: list[Dimension]) -> tuple[dict[str, Any], list[str]]:
    """Trial 0's values: the preset's own for each key of the space (a learning rate the preset leaves
    to its optimizer: the optimizer's default), and notes on any that the sampler must choose."""
    data = preset.to_dict()
    own: dict[str, Any] = {}
    notes: list[str] = []
    for d in dims:
        try:
            value = presets.lookup(data, d.key, preset.where)
        except KeyError:
            value = default_learning_rate(preset) if d.key == "compile.learning_rate" else None
            if value is None:
                notes.append(f"trial 0: {d.key} is not in the preset; the sampler chooses it")
                continue
        if d.choices is not None and not any(type(value) is type(c) and value == c for c in d.choices):
            notes.append(f"trial 0: {d.key} = {value!r} is not among the choices; the sampler chooses it")
            continue
        if d.choices is None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            notes.append(f"trial 0: {d.key} = {value!r} is not a number; the sampler chooses it")
            continue
        own[d.key] = value
    return own, notes


def default_learning_rate(preset: Preset) -> float | None:
    """The learning rate the preset's optimizer takes when the preset gives none (Keras's default)."""
    try:
        from kerastui.core.model.kerasobjects import make_optimizer

        optimizer = make_optimizer(preset.compile.optimizer)
        import numpy as np

        return float(str(np.asarray(optimizer.learning_rate, dtype=np.float32)))  # 0.001, not 0.0010000000474…
    except Exception:  # noqa: BLE001 - not known: the sampler chooses it (said in a note)
        return None


def make_sampler(sweep: Sweep, number: int) -> Any:
    """The sweep's sampler for the ask of trial ``number``: seeded per trial when the sweep has a seed
    (two workers never draw the same values); one order of points for a grid or a QMC sequence."""
    import optuna

    spec = sweep.spec
    seed = spec.seed
    # (a grid and a QMC sequence are one order of points, the same in every worker: one seed)
    trial_seed = None if seed is None else (seed if spec.sampler in ("grid", "qmc") else seed + number)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=trial_seed)
    if spec.sampler == "grid":
        grid = {d.key: d.grid() for d in sweep.dimensions()}
        return optuna.samplers.GridSampler(grid, seed=trial_seed)  # type: ignore[arg-type]
    if spec.sampler == "cmaes":
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            raise KerasTUIError("sweep.sampler: cmaes needs the cmaes package (pip install cmaes)")
        return optuna.samplers.CmaEsSampler(seed=trial_seed, warn_independent_sampling=False)
    if spec.sampler == "qmc":
        with warnings.catch_warnings():  # (experimental, says Optuna)
            warnings.simplefilter("ignore")
            return optuna.samplers.QMCSampler(seed=trial_seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=trial_seed)


def make_pruner(sweep_spec: SweepSpec, epochs: int) -> Any:
    """The sweep's pruner (the same in every worker and every trial's run)."""
    import optuna

    if sweep_spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=sweep_spec.startup_trials,
                                           n_warmup_steps=sweep_spec.warmup_epochs)
    if sweep_spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, sweep_spec.warmup_epochs),
                                              max_resource=max(1, epochs))
    return optuna.pruners.NopPruner()

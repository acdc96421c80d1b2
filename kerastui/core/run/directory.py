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
import errno
import fcntl
import json
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISLNK, S_ISREG
from typing import IO, Any

from kerastui.core.errors import KerasTUIError
from kerastui.core.model.presets import save
from kerastui.core.model.specs import Preset, split_ref
from kerastui.core.run.events import EpochEnded, Event, event_from_json, event_to_json
from kerastui.core.run.history import best, event_of, fold, row_logs, row_of, spans
from kerastui.core.run.status import RunStatus, status_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HEARTBEAT_SECONDS = 2.0
HEARTBEAT_STALE = 30.0  # a run on another host is taken as died after this long without a heartbeat
SWEEPS = "sweeps"  # the one folder of a runs folder that is not a run: its sweeps (kerastui.core.run.sweep)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
PROC = Path("/proc/self/stat").exists()  # Linux: a process is proven by what /proc says of it
COMMAND_WAIT = 5.0  # seconds a stop waits for a process launched a moment ago to show its command line


class Damaged(KerasTUIError):
    """A file of a run directory cannot be read as kerastui writes it (the message says which, why)."""


def hostname() -> str:
    """This machine's name as kerastui records it (a run's status, a sweep's trials): ``$KERASTUI_HOST``
    overrides the system's (a container's random name; several 'machines' on one in tests)."""
    return os.environ.get("KERASTUI_HOST") or socket.gethostname()


def default_runs_dir() -> Path:
    """``$KERASTUI_RUNS`` or ``$XDG_DATA_HOME/kerastui/runs``."""
    if os.environ.get("KERASTUI_RUNS"):
        return Path(os.environ["KERASTUI_RUNS"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "kerastui" / "runs"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: readers see the old or the new file,
    never half of one; on failure (disk full) no temporary file is left and the path is named."""
    write_new(path, lambda handle: handle.write(text.encode("utf-8")))


def write_new(path: Path, write: Callable[[IO[bytes]], object], what: str = "write") -> None:
    """``path`` replaced whole by what ``write`` puts in a binary handle.  The handle is a temporary
    file beside it created afresh (``O_EXCL | O_NOFOLLOW``: a link someone planted at its name is
    removed, never written through), renamed over ``path`` once complete (a link at ``path`` is
    replaced, not followed).  On failure no temporary file is left, and one line names ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # a stale one, or a link: removed, never followed
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KerasTUIError(f"{path}: cannot {what} ({error.strerror or error})") from None


def open_append(path: Path, *, binary: bool = False) -> IO[Any]:
    """``path`` opened to append to, created if missing: never through a link someone planted at its
    name (the link is replaced by a new file, its target untouched), and only a plain file (a FIFO
    there would block the run).  :class:`OSError` as ``open`` raises it."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        remove_link(path)
        fd = os.open(path, flags, 0o644)
    if not S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a plain file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab") if binary else os.fdopen(fd, "a", encoding="utf-8")


def remove_link(path: Path) -> None:
    """A symbolic link at ``path`` removed (never its target): the names a run writes are the run's."""
    with contextlib.suppress(FileNotFoundError):
        if S_ISLNK(os.lstat(path).st_mode):
            os.unlink(path)


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, is ``folder`` or lies within it (links resolved too)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def read_plain(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the plain file at ``path`` — never read through a link planted at its name, nor
    from a FIFO or a device (which would block or never end): :class:`OSError` saying which.
    ``limit``: a file of more bytes is not read whole (OSError)."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "a symbolic link, not read") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a plain file")
        if limit is None:
            return handle.read()
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise OSError(errno.EFBIG, f"more than {limit} bytes")
        return data


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; {} when missing or unreadable (a run writes them atomically)."""
    try:
        value = json.loads(read_plain(path).decode("utf-8"))
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
        self.lock_path = self.path / ".lock"
        self.checkpoints_path = self.path / "checkpoints"
        self.model_path = self.path / "model.keras"
        self.predictions_path = self.path / "predictions.json"
        self.samples_path = self.path / "samples.npy"
        self._lock_handle: Any = None
        # Merged into every status write (a signal handler sets "stopping" without taking a lock).
        self.overlay: dict[str, Any] = {}
        self._span: tuple[float, float] | None = None  # (active seconds before this process, its start)
        self._events: Any = None
        self._metrics: Any = None  # metrics.jsonl, open for appending (the sink's)
        self._status: dict[str, Any] = {}
        self._status_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._beating = threading.Event()  # set: the heartbeat thread ends
        self._nudged = threading.Event()  # set: the heartbeat thread writes the status now

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
        try:
            return save(absolute_refs(preset), self.preset_path)
        except OSError as error:
            raise KerasTUIError(f"{self.preset_path}: cannot write ({error.strerror})") from None

    # ------------------------------------------------------------------ the one writer

    def acquire(self) -> None:
        """Become this directory's only writer, or raise :class:`RunBusy` naming the live one."""
        path = self.lock_path
        try:  # never through a link planted at its name
            handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | os.O_CLOEXEC, 0o644), "a+")
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise KerasTUIError(f"{path}: is a symbolic link, not the run's lock; nothing is written through "
                                    "it (remove the link to use this run)") from None
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
        self._close_logs()
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def locked(self) -> bool:
        """Whether a process holds this run's lock (it is live)."""
        path = self.lock_path
        if not path.is_file() or path.is_symlink():
            return False
        try:
            with path.open("r") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                return False
        except OSError:
            return False

    # ------------------------------------------------------------------ status

    def set_status(self, *, every: float = 0.0, **fields: Any) -> None:
        """Merge ``fields`` into ``status.json`` (rewritten atomically, with a fresh heartbeat).
        ``every``: written only if the last write is that many seconds old (the heartbeat writes the
        rest soon: epochs of a fraction of a second do not cost a file each), and then by the heartbeat
        thread where it runs (the training thread does not wait for a file to be renamed)."""
        with self._status_lock:
            if not self._status or self._lock_handle is None:  # only the run's own process may trust its copy
                self._status = read_json(self.status_path)
            self._status.update(fields)
            self._status.update(self.overlay)
            now = time.time()
            last = self._status.get("heartbeat")
            if every and isinstance(last, (int, float)) and now - last < every:
                return
            beat = self._heartbeat
            if every and beat is not None and beat is not threading.current_thread() and beat.is_alive():
                self._nudged.set()
                return
            self._status["heartbeat"] = round(now, 3)
            if self._span is not None:
                self._status["active_seconds"] = round(self._span[0] + now - self._span[1], 3)
            write_atomic(self.status_path, json.dumps(jsonable(self._status)))

    def begin_span(self, before: float) -> None:
        """This process trains now: ``active_seconds`` counts on from ``before`` (its earlier processes')."""
        self._span = (before, time.time())

    def end_span(self) -> None:
        self.set_status()
        self._span = None

    def start_heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        def beat() -> None:
            while True:
                self._nudged.wait(every)
                self._nudged.clear()
                if self._beating.is_set():
                    return
                with contextlib.suppress(KerasTUIError):  # a full disk: the run's own writes say so
                    self.set_status()

        self._beating.clear()
        self._nudged.clear()
        self._heartbeat = threading.Thread(target=beat, name="kerastui-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._beating.set()
        self._nudged.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=1.0)
        self._heartbeat = None

    def status(self) -> dict[str, Any]:
        """``status.json`` as it should be read: ``state`` a :class:`RunStatus`; a live-looking state
        whose process is gone is ``died``; a file that is not what kerastui writes is ``damaged``, with
        the reason in ``error``."""
        try:
            status = read_status(self.status_path)
        except Damaged as error:
            return {"state": RunStatus.DAMAGED, "error": str(error)}
        state = RunStatus.parse(status.get("state"))
        if state is None:
            if self.summary_path.exists():  # a run from before status files
                summary = read_json(self.summary_path)
                return {"state": status_of(str(summary.get("status") or "completed")),
                        "epoch": summary.get("epochs_run")}
            return {"state": RunStatus.RUNNING if self.locked() else RunStatus.DIED}
        status["state"] = state
        if state.live and not self.locked():
            same_host = status.get("host") in (None, hostname())
            heartbeat = status.get("heartbeat")
            if same_host:
                # "starting": the launcher wrote it and the run process has not taken the lock yet — if
                # that process is still there (a pid alone may since name any other process).
                if not (state == RunStatus.STARTING and self.run_by(status.get("pid"), status.get("pid_start"))):
                    status["state"] = RunStatus.DIED
            elif time.time() - float(heartbeat if isinstance(heartbeat, (int, float)) else 0) > HEARTBEAT_STALE:
                status["state"] = RunStatus.DIED
        return status

    def run_by(self, pid: object, started: object, *, to_signal: bool = False) -> bool:
        """Whether process ``pid`` is this run's: it started when ``started`` says (the ``pid_start``
        its status recorded: a pid is reused, the pair is not), it is a kerastui process, and it holds
        this run's lock or was launched to run this directory (a start time alone proves nothing:
        whoever writes the status can copy one from /proc).  Without /proc (not Linux), a live pid is
        all there is to go on.

        A process launched a moment ago may not show its command line yet (the kernel lets its
        launcher go on just before it sets it): read as a status, such a process is the run's;
        ``to_signal``, it is waited for (a few seconds at most) and must prove it."""
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            return False
        if not PROC:  # pragma: no cover - Linux has /proc
            return pid_alive(pid)
        if not isinstance(started, int) or isinstance(started, bool) or process_start(pid) != started:
            return False
        if not pid_alive(pid) or kernel_thread(pid):
            return False
        command = process_command(pid)
        deadline = time.monotonic() + (COMMAND_WAIT if to_signal else 0.0)
        while not command and time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.01)
            command = process_command(pid)
        if not command:
            return not to_signal
        if not _is_kerastui(command):
            return False
        return pid in lock_holders(self.lock_path) or self._names_this_run(pid, command)

    def _names_this_run(self, pid: int, command: list[str]) -> bool:
        """Whether a command line (``kerastui resume RUN``, ``kerastui train RUN/preset.toml --run-dir
        RUN``: as :func:`~kerastui.core.run.process.launch` starts one) names this run's directory."""
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = "/"
        here = os.path.realpath(self.path)
        for arg in command[1:]:
            found = os.path.realpath(os.path.join(cwd, arg))
            if here in (found, os.path.dirname(found)):
                return True
        return False

    # ------------------------------------------------------------------ the sink

    def __call__(self, event: Event) -> None:
        if self._events is None:
            try:
                self._events = open_append(self.events_path)
            except OSError as error:
                raise KerasTUIError(f"{self.events_path}: cannot write ({error.strerror})") from None
        try:
            if isinstance(event, EpochEnded):
                if event.batches is not None:  # an epoch cut short is not an epoch
                    return
                if self._metrics is None:  # (kept open, as the events: an epoch costs no open and close)
                    self._metrics = open_append(self.metrics_path)
                self._metrics.write(json.dumps(jsonable(row_of(event))) + "\n")
                self._metrics.flush()
            self._events.write(json.dumps(event_to_json(event)) + "\n")
            self._events.flush()
        except OSError as error:
            path = self.metrics_path if isinstance(event, EpochEnded) else self.events_path
            self._close_logs()  # (a row half in a handle's buffer is not written later)
            raise KerasTUIError(f"{path}: cannot write ({error.strerror})") from None

    def _close_logs(self) -> None:
        """The sink's handles of the two logs closed (opened again at the next event)."""
        for handle in (self._events, self._metrics):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._events = self._metrics = None

    def write_summary(self, summary: dict[str, Any]) -> Path:
        write_atomic(self.summary_path, json.dumps(summary, indent=2, default=str))
        return self.summary_path

    def intact_rows(self, epochs: int) -> list[dict[str, Any]]:
        """``metrics.jsonl``'s rows of epochs 1..``epochs`` that read back whole (each epoch once)."""
        return [r for r in metrics_rows(self.path)[0] if r["epoch"] <= epochs]

    def rewrite_logs(self, rows: list[dict[str, Any]]) -> list[str]:
        """Make ``metrics.jsonl`` and ``events.jsonl`` agree with ``rows`` (epochs 1..N, a resume's
        checkpoint): each epoch once, as the rows say; what came after epoch N (or could not be
        read) dropped.  What was dropped, one phrase each."""
        epochs = len(rows)
        logged, damage, cut = metrics_rows(self.path)
        later = [r["epoch"] for r in logged if r["epoch"] > epochs]
        dropped = [f"epoch{'s' if len(later) > 1 else ''} {spans(later)} logged after the checkpoint"] if later else []
        dropped += damage + ([cut] if cut else [])
        self._close_logs()  # the sink's handles would write on into the replaced files
        write_atomic(self.metrics_path, "".join(json.dumps(jsonable(r)) + "\n" for r in rows))
        authoritative = {int(r["epoch"]) - 1: r for r in rows}
        kept: list[dict[str, Any]] = []
        written: set[int] = set()

        def epoch_line(epoch: int) -> dict[str, Any]:
            written.add(epoch)
            return event_to_json(event_of(authoritative[epoch]))

        bad_lines = 0
        for line in _lines(self.events_path, skip_bad=False):
            if line is None:
                bad_lines += 1
                continue
            kind, epoch = line.get("type"), line.get("epoch")
            if kind in ("EpochEnded", "BatchEnded"):
                if not isinstance(epoch, int) or epoch >= epochs:
                    continue
                if kind == "EpochEnded":
                    if epoch in written:
                        continue
                    kept += [epoch_line(e) for e in range(epoch) if e not in written]
                    kept.append(epoch_line(epoch))
                    continue
            kept.append(line)
        kept += [epoch_line(e) for e in range(epochs) if e not in written]
        if bad_lines:
            dropped.append(f"{bad_lines} unreadable line(s) of {self.events_path.name}")
        write_atomic(self.events_path, "".join(json.dumps(r) + "\n" for r in kept))
        return dropped

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    def checkpoint_dir(self, phase: str) -> Path:
        return self.checkpoints_path / phase

    def own_folder(self, folder: Path) -> Path:
        """``folder``, inside this run's directory, made a folder of the run to write in: each of its
        parts below the run's directory a real folder (a link at one, planted by whoever else can
        write here, is replaced by a new folder; its target is never written to)."""
        try:
            parts = Path(folder).relative_to(self.path).parts
        except ValueError:
            raise KerasTUIError(f"{folder}: not inside the run directory {self.path}") from None
        current = self.path
        for part in parts:
            current = current / part
            try:
                remove_link(current)
                with contextlib.suppress(FileExistsError):
                    current.mkdir()
            except OSError as error:
                raise KerasTUIError(f"{current}: cannot create the folder ({error.strerror})") from None
            if current.is_symlink() or not current.is_dir():
                raise KerasTUIError(f"{current}: is not a folder; the run cannot write there")
        return Path(folder)

    def events(self) -> list[Event]:
        """Every event of the log (a line cut short by a crash is skipped)."""
        out = []
        for line in _lines(self.events_path):
            event = event_from_json(line) if line is not None else None
            if event is not None:
                out.append(event)
        return out


def _lines(path: Path, *, skip_bad: bool = True) -> Iterator[dict[str, Any] | None]:
    """The JSON objects of a JSON-lines file; a line that is not one is skipped (or, ``skip_bad``
    false, None stands for it)."""
    try:
        text = read_plain(path).decode("utf-8", errors="replace")
    except OSError:
        return
    for raw in text.splitlines():
        raw = raw.strip()
        if raw:
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if isinstance(value, dict):
                yield value
            elif not skip_bad:
                yield None


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


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/PID/stat`` field 22): with the
    pid, it names one process for good (a pid is reused; the pair is not).  None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def kernel_thread(pid: int) -> bool:
    """Whether process ``pid`` is a kernel thread (``PF_KTHREAD`` in ``/proc/PID/stat``'s flags)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return bool(int(stat.rpartition(")")[2].split()[6]) & 0x00200000)
    except (OSError, ValueError, IndexError):
        return False


def process_command(pid: int) -> list[str]:
    """Process ``pid``'s command line ([] when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0")[:-1]]


def _is_kerastui(command: list[str]) -> bool:
    """``python -m kerastui …`` (how runs are launched) or the ``kerastui`` script."""
    return command[1:3] == ["-m", "kerastui"] or any(Path(a).name == "kerastui" for a in command[:2])


def lock_holders(path: Path) -> set[int]:
    """The pids that hold a ``flock`` on the file at ``path`` (not through a link), as the kernel
    lists them in ``/proc/locks``."""
    try:
        inode = os.lstat(path).st_ino
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return set()
    holders = set()
    for line in lines:
        fields = line.split()  # "1: FLOCK  ADVISORY  WRITE 1764 fe:00:2147721 0 EOF" ("->" marks a waiter)
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            pid, held = int(fields[4]), int(fields[5].rsplit(":", 1)[1])
        except (ValueError, IndexError):
            continue
        if held == inode:
            holders.add(pid)
    return holders


class EventFollower:
    """Reads a run's ``events.jsonl`` as it grows: each :meth:`poll` returns the events of the
    complete lines written since the last one.  A log replaced meanwhile (a resume rewrites it to
    agree with its checkpoint) is read again from its start, and :attr:`replaced` says so once."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self.replaced = False  # the last poll started the log again (the events before it are void)

    def poll(self) -> list[Event]:
        self.replaced = False
        try:
            stat = os.stat(self.run.events_path)
        except OSError:
            return []
        if self._inode is not None and (stat.st_ino != self._inode or stat.st_size < self._offset):
            self._offset, self._partial, self.replaced = 0, b"", True
        self._inode = stat.st_ino
        if stat.st_size == self._offset:
            return []
        try:
            with self.run.events_path.open("rb") as handle:
                if os.fstat(handle.fileno()).st_ino != self._inode:  # replaced between the two looks
                    self._inode, self._offset, self._partial, self.replaced = None, 0, b"", True
                    return []
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
    status: RunStatus
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
    sweep: str = ""  # a sweep's trial: its sweep's name and its number (kerastui.core.run.sweep)
    trial: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def live(self) -> bool:
        return self.status.live

    @property
    def resumable(self) -> bool:
        return self.status.resumable

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable({
            "run": self.name, "path": str(self.path), "state": self.status, "outcome": self.outcome,
            "preset": self.preset, "dataset": self.dataset, "started": self.started, "epochs": self.epochs,
            "epochs_planned": self.epochs_planned, "phase": self.phase, "pid": self.pid, "host": self.host,
            "heartbeat_age": None if self.heartbeat_age is None else round(self.heartbeat_age, 1),
            "best": self.best, "test": self.test, "seconds": self.seconds, "error": self.error,
            "devices": list(self.devices), "gpus": list(self.gpus), "peak_memory": self.peak_memory,
            "optimizer": self.optimizer, "learning_rate": self.learning_rate, "batch_size": self.batch_size,
            "params": self.params, "sweep": self.sweep or None, "trial": self.trial,
        })
        return out


# What kerastui writes in a run's JSON files, field by field: (types, in words).  A field of another
# type makes the run ``damaged`` (listed with the reason) instead of breaking whoever reads it.
_NUMBER = ((int, float), "a number")
_TEXT = ((str,), "text")
_WHOLE = ((int,), "a whole number")
_OBJECT = ((dict,), "an object")
_LIST = ((list,), "a list")
STATUS_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "state": _TEXT, "pid": _WHOLE, "host": _TEXT, "heartbeat": _NUMBER, "started": _NUMBER, "started_at": _TEXT,
    "preset": _TEXT, "dataset": _TEXT, "epochs_planned": _WHOLE, "epoch": _WHOLE, "phase": _TEXT,
    "error": _TEXT, "outcome": _TEXT, "devices": _LIST, "gpus": _LIST, "settings": _OBJECT,
    "active_seconds": _NUMBER, "ended": _NUMBER, "resumes": _WHOLE, "model": _TEXT, "pid_start": _WHOLE,
    "sweep": _TEXT, "trial": _WHOLE,
}
SUMMARY_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "preset": _TEXT, "status": _TEXT, "epochs_run": _WHOLE, "started": _TEXT, "seconds": _NUMBER, "error": _TEXT,
    "test": _OBJECT, "data": _OBJECT, "model": _OBJECT, "devices": _OBJECT, "history": _OBJECT,
}


def _checked(data: dict[str, Any], fields: dict[str, tuple[tuple[type, ...], str]], path: Path) -> dict[str, Any]:
    for key, (types, words) in fields.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)
                                  or (isinstance(value, float) and not math.isfinite(value))):
            raise Damaged(f"{path.name}: {key!r} is not {words}")
    return data


def _strict_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, None when missing; :class:`Damaged` when it is anything else."""
    try:
        text = read_plain(path).decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise Damaged(f"{path.name}: unreadable ({getattr(error, 'strerror', None) or error})") from None
    try:
        value = json.loads(text)
    except ValueError:
        raise Damaged(f"{path.name}: not JSON") from None
    if not isinstance(value, dict):
        raise Damaged(f"{path.name}: not a JSON object")
    return value


def read_status(path: Path) -> dict[str, Any]:
    """``status.json`` checked field by field ({} when missing); :class:`Damaged` otherwise."""
    found = _strict_json(path)
    if found is None:
        return {}
    status = _checked(found, STATUS_FIELDS, path)
    if status.get("state") is not None and RunStatus.parse(status["state"]) is None:
        raise Damaged(f"{path.name}: state {str(status['state'])[:20]!r} is not a run state")
    if not all(isinstance(d, str) for d in status.get("devices") or ()):
        raise Damaged(f"{path.name}: 'devices' is not a list of names")
    if not all(isinstance(g, int) and not isinstance(g, bool) for g in status.get("gpus") or ()):
        raise Damaged(f"{path.name}: 'gpus' is not a list of GPU numbers")
    return status


def read_summary(path: Path) -> dict[str, Any]:
    """``summary.json`` checked field by field ({} when missing); :class:`Damaged` otherwise."""
    found = _strict_json(path)
    if found is None:
        return {}
    summary = _checked(found, SUMMARY_FIELDS, path)
    for key in ("data", "model"):
        inner = summary.get(key) or {}
        for name, value in inner.items():
            if name in ("source", "name") and not isinstance(value, str):
                raise Damaged(f"{path.name}: {key}.{name} is not text")
            if name == "total" and (not isinstance(value, int) or isinstance(value, bool)):
                raise Damaged(f"{path.name}: {key}.{name} is not a whole number")
    return summary


def metrics_rows(path: Path) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """``metrics.jsonl``'s whole-epoch rows, each epoch once (a later row of an epoch replaces an
    earlier one), in epoch order; its damage, one phrase each; and its last line when a kill cut it
    short (not damage: the process was killed writing it).  A partial epoch (``batches``, written by
    earlier versions) is not an epoch."""
    file = Path(path) / "metrics.jsonl"
    try:
        text = read_plain(file).decode("utf-8", errors="replace")
    except OSError:
        return [], [], None
    lines = text.split("\n")
    by_epoch: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    cut: str | None = None
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            if all(not rest.strip() for rest in lines[number:]):  # the last line
                cut = f"metrics.jsonl line {number} cut short"
            else:
                problems.append(f"metrics.jsonl line {number} not JSON")
            continue
        epoch = row.get("epoch") if isinstance(row, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
            problems.append(f"metrics.jsonl line {number} has no epoch number")
            continue
        if any(not (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))
               for k, v in row.items() if k not in ("phase",)):
            problems.append(f"metrics.jsonl line {number} holds a value that is not a number")
            continue
        if not isinstance(row.get("phase", ""), str):
            problems.append(f"metrics.jsonl line {number}: 'phase' is not text")
            continue
        if row.get("batches") is not None:
            continue
        by_epoch[epoch] = row
    return [by_epoch[e] for e in sorted(by_epoch)], problems, cut


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """``metrics.jsonl``'s whole-epoch rows that read back (see :func:`metrics_rows`)."""
    return metrics_rows(path)[0]


def run_info(path: Path) -> RunInfo:
    """What ``kerastui runs`` and the Runs workspace show of one run directory: never raises; a run
    whose files are not what kerastui writes is ``damaged``, with the reason."""
    try:
        return _run_info(path)
    except Damaged as error:
        return _damaged(path, str(error))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
        return _damaged(path, f"unreadable ({type(error).__name__}: {error})")


def _damaged(path: Path, reason: str) -> RunInfo:
    return RunInfo(path=path, preset=path.name, started=path.name[:15], epochs=0, seconds=None, test={},
                   best_val={}, status=RunStatus.DAMAGED, error=" ".join(reason.split())[:200])


def _run_info(path: Path) -> RunInfo:
    run = RunDir(path)
    status = run.status()
    if status["state"] == RunStatus.DAMAGED:
        raise Damaged(str(status.get("error")))
    summary = read_summary(run.summary_path)
    metrics, damage, _ = metrics_rows(path)
    if damage:
        raise Damaged(damage[0])
    history: dict[str, list[float]] = {}
    for row in metrics:
        fold(history, row["epoch"] - 1, row_logs(row))
    best_val = {}
    for column in history:
        if column.startswith("val_"):
            found = best(history, column)
            if found:
                best_val[column] = float(found["value"])
    state: RunStatus = status["state"]
    preset = summary.get("preset") or status.get("preset") or path.name
    dataset = (summary.get("data") or {}).get("source") or status.get("dataset") or ""
    started = summary.get("started") or status.get("started_at") or path.name[:15]
    heartbeat = status.get("heartbeat")
    age = time.time() - float(heartbeat) if isinstance(heartbeat, (int, float)) else None
    active = status.get("active_seconds")
    if isinstance(active, (int, float)):  # every span a process trained it, resumes included
        seconds: float | None = float(active) + (max(0.0, age) if state.live and age is not None else 0.0)
    elif state.live and isinstance(status.get("started"), (int, float)):
        seconds = time.time() - float(status["started"])
    else:
        seconds = summary.get("seconds")
        if seconds is None and isinstance(status.get("started"), (int, float)) and isinstance(heartbeat, (int, float)):
            seconds = float(heartbeat) - float(status["started"])
    test = summary.get("test") or {}
    return RunInfo(
        path=path, preset=str(preset), started=str(started), epochs=len(metrics), seconds=seconds,
        test={k: v for k, v in test.items() if isinstance(v, (int, float, str))} if not state.live else {},
        best_val=best_val, status=state,
        outcome=str(status.get("outcome") or summary.get("status") or ""),
        epochs_planned=status.get("epochs_planned"), heartbeat_age=age, pid=status.get("pid"),
        host=str(status.get("host") or ""), dataset=str(dataset), phase=str(status.get("phase") or ""),
        error=status.get("error") or summary.get("error"), best=best(history),
        devices=tuple(status.get("devices") or (summary.get("devices") or {}).get("devices") or ()),
        gpus=tuple(status.get("gpus") or ()),
        peak_memory=max((int(r["peak_memory"]) for r in metrics if isinstance(r.get("peak_memory"), int)),
                        default=None),
        params=(summary.get("model") or {}).get("total"),
        sweep=str(status.get("sweep") or ""), trial=status.get("trial"),
        **_settings(path, status),
    )


def _settings(path: Path, status: dict[str, Any]) -> dict[str, Any]:
    """Optimizer, learning rate and batch size: from the status (runs write them when they start), else
    from the run's resolved preset (runs of earlier versions)."""
    known = status.get("settings")
    if isinstance(known, dict):
        rate, batch = known.get("learning_rate"), known.get("batch_size")
        return {"optimizer": str(known.get("optimizer") or ""),
                "learning_rate": float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None,
                "batch_size": batch if isinstance(batch, int) and not isinstance(batch, bool) else None}
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


_INFO_CACHE: dict[Path, tuple[tuple[int, ...], RunInfo]] = {}


def _cached_info(path: Path) -> RunInfo:
    """``run_info``, read again only when the run's status file changed (a run rewrites it last,
    after its summary, when it ends or resumes); a live run always (its heartbeat's age, and whether
    its process still exists, change without any file changing)."""
    key: tuple[int, ...] = ()
    for name in ("status.json", "summary.json", "metrics.jsonl"):
        try:
            stat = (path / name).stat()
            key += (stat.st_mtime_ns, stat.st_size)
        except OSError:
            key += (0, 0)
    hit = _INFO_CACHE.get(path)
    if hit is not None and hit[0] == key and key[:2] != (0, 0) and not hit[1].live:
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
            names = sorted((entry.name for entry in entries if entry.is_dir() and entry.name != SWEEPS), reverse=True)
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
    names = (sorted((p.name for p in runs_dir.iterdir() if p.is_dir() and p.name != SWEEPS), reverse=True)
             if runs_dir.is_dir() else [])
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

"""The run client: the one way the TUI and the CLI launch, follow, stop, resume and list runs.

Plain Python.  A run is a process and a directory (:mod:`kerastui.core.run.process`,
:mod:`kerastui.core.run.directory`); this is what the rest of kerastui holds to reach one:

- :meth:`RunClient.launch` / :meth:`RunClient.resume` start a run process detached from the terminal;
- :meth:`RunClient.follow` yields what a run does as it does it — :class:`Events` (typed events
  read from its log, a batch at a time) and, last, :class:`Ended` (its final status) — replaying
  its history first, so following a run from its start, mid-way or after it ended is one loop;
- :meth:`RunClient.outcome` reads how a run that ended came out (its result, or why there is none);
- :meth:`RunClient.stop`, :meth:`RunClient.runs`, :meth:`RunClient.live`, :meth:`RunClient.find`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import KerasTUIError
from kerastui.core.run.directory import (
    EventFollower,
    RunDir,
    RunInfo,
    default_runs_dir,
    find_run,
    list_runs,
    read_json,
    read_plain,
    read_summary,
)
from kerastui.core.run.events import Event
from kerastui.core.run.process import RUN_NICE, Launched, check_resumable, launch, stop
from kerastui.core.run.status import RunStatus
from kerastui.core.run.watch import DirWatch

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.trainer import RunResult

FOLLOW_SECONDS = 0.05  # how often a followed run's event log is read without a watch on its folder
WATCH_SECONDS = 0.1  # with one (inotify), at least this often: a run on another host writes unseen (NFS)
STATUS_SECONDS = 0.5  # how often its status is read (has its process ended?)


@dataclass(frozen=True)
class Events:
    """Events a followed run wrote since the last ones (its whole history, the first time)."""

    run_dir: Path
    events: list[Event]
    reset: bool = False  # the run's log was replaced (a resume rewrote it): these events start it again


@dataclass(frozen=True)
class Ended:
    """A followed run ended: its status as read then (``state`` a :class:`RunStatus`)."""

    run_dir: Path
    status: dict[str, Any]

    @property
    def state(self) -> RunStatus:
        state = self.status.get("state")
        return state if isinstance(state, RunStatus) else RunStatus.DIED


Followed = Events | Ended


@dataclass
class Outcome:
    """How a run that ended came out: its result (from ``summary.json``), or the one line saying
    why it has none; and whether its saved model may be loaded back."""

    run_dir: RunDir
    state: RunStatus
    result: RunResult | None = None
    error: str | None = None
    model_saved: bool = False
    trusted: bool = False
    predictions: list[dict[str, Any]] = field(default_factory=list)


class RunClient:
    """Runs in one runs folder (``$KERASTUI_RUNS`` or the user's data folder by default)."""

    def __init__(self, runs_dir: Path | None = None, *, nice: int = RUN_NICE) -> None:
        self.runs_dir = Path(runs_dir).expanduser() if runs_dir is not None else default_runs_dir()
        self.nice = nice  # how much nicer than this process its runs are (the TUI's key presses come first)
        # The runs this client launched or resumed trusted: trust is the user's word to this process, never
        # read back from a run directory (status.json's "trusted" records it; anyone who can write the
        # folder could set it).
        self._trusted: set[Path] = set()

    # ------------------------------------------------------------------ starting

    def launch(self, preset: Preset, *, model_path: str | None = None, trusted: bool = False) -> Launched:
        """A new run of ``preset`` in its own process and directory."""
        launched = launch(preset, runs_dir=self.runs_dir, model_path=model_path, trusted=trusted, nice=self.nice)
        if trusted:
            self._trusted.add(launched.run_dir.path.resolve())
        return launched

    def resumable(self, run: Path | RunDir) -> tuple[RunDir, Preset, dict[str, Any]]:
        """The run, its preset and its status, when it may be resumed; else one line saying why not."""
        from kerastui.core.model import presets  # (tomli-w and the validators: not to list runs)

        run_dir = run if isinstance(run, RunDir) else RunDir(run)
        status = check_resumable(run_dir)
        preset = presets.load(run_dir.preset_path)
        preset.name = str(status.get("preset") or preset.name)
        return run_dir, preset, status

    def resume(self, run: Path | RunDir, preset: Preset, *, trusted: bool = False) -> Launched:
        """Continue an interrupted, died or failed run in its own directory, in a new process
        (``trusted``: the user trusts it now — a run started trusted is asked about again: its status file
        is no witness)."""
        run_dir = run if isinstance(run, RunDir) else RunDir(run)
        if trusted:
            self._trusted.add(run_dir.path.resolve())
        return launch(preset, resume=run_dir, trusted=trusted, nice=self.nice)

    def trusts(self, run: Path | RunDir) -> bool:
        """Whether this client launched or resumed ``run`` trusted (its model may be loaded back with
        safe mode off)."""
        return (run.path if isinstance(run, RunDir) else Path(run)).resolve() in self._trusted

    # ------------------------------------------------------------------ controlling, listing

    def stop(self, run: Path | RunDir) -> int:
        """Ask a live run to finish its batch, evaluate, save and stop; the pid asked."""
        return stop(run if isinstance(run, RunDir) else RunDir(run))

    def interrupt(self, run: Path | RunDir) -> int:
        """Ask a live run to finish its batch, write its checkpoint and leave (``interrupted``, resumable:
        a sweep that stops keeps its trials for ``sweep resume``); the pid asked."""
        return stop(run if isinstance(run, RunDir) else RunDir(run), signal.SIGTERM)

    def runs(self) -> list[RunInfo]:
        """Every run, live ones first, then newest first (a damaged one listed as ``damaged``)."""
        return list_runs(self.runs_dir)

    def live(self) -> list[RunInfo]:
        return [r for r in self.runs() if r.live]

    def find(self, text: str) -> RunDir:
        """RUN as the user types it: a directory name, a unique prefix, ``last``, or a path."""
        return find_run(text, self.runs_dir)

    # ------------------------------------------------------------------ following

    def follow(self, run_dir: Path, process: subprocess.Popen[bytes] | None = None, *,
               cancelled: Callable[[], bool] = lambda: False, poll: float = FOLLOW_SECONDS) -> Iterator[Followed]:
        """What the run in ``run_dir`` does, as it does it: its history first, then its events as it
        writes them, until its status says it ended (then :class:`Ended`, and the iterator ends).
        Its log is read when the run writes to its folder (inotify: at once), else every ``poll``
        seconds, and at least every WATCH_SECONDS."""
        run = RunDir(run_dir)
        # (what it reads: the event log, and the status for the run's end; not its output or metrics)
        with DirWatch(run.path, names=(run.events_path.name, run.status_path.name)) as watch:
            yield from self._follow(run, process, cancelled, poll, watch)

    def _follow(self, run: RunDir, process: subprocess.Popen[bytes] | None, cancelled: Callable[[], bool],
                poll: float, watch: DirWatch) -> Iterator[Followed]:
        follower = EventFollower(run)
        last_status = 0.0
        while not cancelled():
            events = follower.poll()
            if events or follower.replaced:
                yield Events(run.path, events, reset=follower.replaced)
            now = time.monotonic()
            if now - last_status >= STATUS_SECONDS:
                last_status = now
                if process is not None:
                    process.poll()  # reap it: an exited child must not look alive
                status = run.status()
                if not status["state"].live:
                    events = follower.poll()  # what it wrote last
                    if events:
                        yield Events(run.path, events)
                    yield Ended(run.path, status)
                    return
            if watch.active:
                watch.wait(min(WATCH_SECONDS, last_status + STATUS_SECONDS - time.monotonic()))
            else:
                time.sleep(poll)

    def outcome(self, run_dir: Path, status: dict[str, Any]) -> Outcome:
        """How the run that ended came out (read from its directory)."""
        from kerastui.core.run.trainer import RunResult  # numpy and the data package: not to list runs

        run = RunDir(run_dir)
        state = status.get("state")
        state = state if isinstance(state, RunStatus) else RunStatus.DIED
        out = Outcome(run, state, trusted=self.trusts(run))
        try:
            summary = read_summary(run.summary_path)
        except KerasTUIError as error:
            out.error = f"{run.path}: {error}"
            return out
        if state in (RunStatus.DIED, RunStatus.DAMAGED) or not summary:
            said = last_error_line(run.output_path)  # a run process that refused to start says why there
            resumable = " (kerastui resume, or r in Runs, continues it)" if run.checkpoints_path.is_dir() else ""
            out.error = (str(status.get("error")) if state == RunStatus.DAMAGED else
                         said or f"the run process ended without a result ({state}); see {run.output_path}{resumable}")
            return out
        result = RunResult.from_json(summary)
        result.run_dir = str(run.path)  # where it is, whatever its summary says
        out.result = result
        if state == RunStatus.FAILED and result.status != "nan":
            out.error = str(status.get("error") or result.error or "the run failed")
            return out
        out.model_saved = (run.model_path.is_file() and not run.model_path.is_symlink()  # (a link leads out)
                           and result.status != "interrupted")
        try:
            loaded = json.loads(read_plain(run.predictions_path).decode("utf-8"))
        except (OSError, ValueError):
            loaded = []
        out.predictions = [p for p in loaded if isinstance(p, dict)] if isinstance(loaded, list) else []
        return out


def last_error_line(path: Path) -> str | None:
    """The ``kerastui: error:`` line a run process wrote to its output, if any."""
    try:
        lines = read_plain(path).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("kerastui: error:"):
            return line.removeprefix("kerastui: error:").strip()
    return None


def run_preset_name(run_dir: Path) -> str | None:
    """The preset name a run's status records (its preset.toml is named "preset")."""
    name = read_json(RunDir(run_dir).status_path).get("preset")
    return str(name) if isinstance(name, str) and name else None

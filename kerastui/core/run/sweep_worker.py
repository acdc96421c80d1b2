"""A sweep's worker loop: one per slot of a machine, a detached process of its own
(``kerastui sweep worker NAME --slot N``, started by :class:`~kerastui.core.run.sweep.SweepClient`).

Its loop, until the sweep has its trials, runs out of time or is stopped:

1. under the sweep's one lock (a file lock beside a journal; a PostgreSQL advisory lock), take a
   trial: first a trial of this machine whose worker died (adopted: its run is followed if it still
   runs, resumed from its checkpoint if it died, told if it ended), else a new one from Optuna's
   ``ask`` (the queued trial 0 first: the preset's own values) while fewer than ``trials`` exist —
   so however workers and machines die and come back, the sweep has exactly ``trials`` trials;
2. launch the trial's run through the run client (its process and directory; the sweep's name, the
   trial's number and the storage in its environment: its reporter sink tells the study the
   objective each epoch and stops the run ``pruned`` when the pruner says so), and wait for it;
3. tell the study how it ended: completed (the objective's best epoch, kerastui's best rule with the
   sweep's direction), pruned (also a run stopped by hand), failed; a run that died or was
   interrupted is resumed from its checkpoint, not started again.

SIGTERM, SIGINT, SIGHUP (``kerastui sweep stop``): the trial's run is interrupted (its checkpoint
written), the trial stays the sweep's, and the worker leaves; ``sweep resume`` goes on with it.
The slot's CPUs or GPU were chosen by the launcher (``CUDA_VISIBLE_DEVICES``, an affinity mask): the
worker's runs inherit them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from kerastui.core.errors import KerasTUIError
from kerastui.core.model.sweepspace import distributions
from kerastui.core.run.client import RunClient
from kerastui.core.run.directory import (
    RunDir,
    hostname,
    jsonable,
    process_start,
    read_json,
    read_metrics,
    write_atomic,
)
from kerastui.core.run.history import history_of
from kerastui.core.run.status import RunStatus
from kerastui.core.run.sweep import (
    ENV_SLOT_CPUS,
    ENV_SLOT_DEVICE,
    ENV_STORAGE,
    ENV_TRIAL,
    Storage,
    Sweep,
    SweepDir,
    best_value,
    make_sampler,
    sweeps_dir,
    worker_alive,
)
from kerastui.core.text import visible

POLL = 0.1  # how often a child run is looked at (its end is seen this soon)
FLAG_SECONDS = 2.0  # how often the study's stop flag is read
MAX_RESUMES = 3  # a trial whose run dies this many times in a row without a new epoch fails
RETRY_SECONDS = 600.0  # a storage that does not answer for this long ends the worker
INTERRUPT_WAIT = 300.0  # a run asked to leave (a stop) gets this long to write its checkpoint

T = TypeVar("T")


@dataclass
class Claim:
    """A trial this worker works on now."""

    number: int
    params: dict[str, Any]
    run_dir: str | None = None
    adopted: bool = False


class Worker:
    def __init__(self, runs_dir: Path, name: str, slot: int) -> None:
        self.runs_dir = Path(runs_dir)
        self.folder = SweepDir(sweeps_dir(self.runs_dir) / name)
        self.sweep = Sweep(self.folder, Storage(os.environ.get(ENV_STORAGE) or str(self.folder.journal_path)))
        self.runs = RunClient(self.runs_dir, nice=0)  # (no terminal to keep responsive: trials at its priority)
        self.slot = slot
        self.device = os.environ.get(ENV_SLOT_DEVICE, "")
        self.host = hostname()
        self.pid = os.getpid()
        self.started = process_start(self.pid)
        self.stopping = False  # a signal asked this worker to leave
        self._flag_read = 0.0
        self._flag = False
        self._exiting: list[subprocess.Popen[bytes]] = []  # runs that recorded their end and are closing

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        self.folder.workers_path.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.folder.worker_lock(self.slot), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                       0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.say("another worker holds this slot; leaving")
            os.close(lock)
            return 0
        try:
            self._pin()
            write_atomic(self.folder.worker_file(self.slot), json.dumps(jsonable({
                "slot": self.slot, "pid": self.pid, "pid_start": self.started, "host": self.host,
                "device": self.device, "started": time.time()})))
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, self._signal)
            self.say(f"working on {self.sweep.name} ({self.sweep.storage.label}) on {self.device or 'this machine'}")
            while not self.stop_asked():
                claim = self._retry(self.claim, "taking a trial")
                if claim is None:
                    break
                if self.work_on(claim) == "left":
                    break
            self.say("stopped: the sweep was stopped" if self.stop_asked() else "done: no trial left to take")
            for process in self._exiting:  # (its runs' last processes: not left as zombies)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=60)
            return 0
        finally:
            os.close(lock)

    def _pin(self) -> None:
        cpus = os.environ.get(ENV_SLOT_CPUS)
        if cpus and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(0, {int(c) for c in cpus.split(",") if c.strip()})

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def say(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} slot {self.slot}: {visible(text, one_line=True)}", flush=True)

    def stop_asked(self) -> bool:
        """A signal came, or the study says the sweep stops (read every FLAG_SECONDS)."""
        if self.stopping:
            return True
        now = time.monotonic()
        if now - self._flag_read >= FLAG_SECONDS:
            self._flag_read = now
            with contextlib.suppress(Exception):  # a storage that does not answer: asked again later
                self._flag = bool(self.sweep.refresh().get("stopped"))
        return self._flag

    def _retry(self, action: Callable[[], T], what: str) -> T:
        """``action()``, tried again while the storage does not answer (a database restarting)."""
        deadline = time.monotonic() + RETRY_SECONDS
        wait = 1.0
        while True:
            try:
                return action()
            except KerasTUIError:
                raise
            except Exception as error:  # noqa: BLE001 - the storage's own failure: said, tried again
                if time.monotonic() > deadline or self.stopping:
                    raise KerasTUIError(f"{what}: {self.sweep.storage.reason(error)}") from None
                self.say(f"{what}: {self.sweep.storage.reason(error)}; trying again in {wait:.0f} s")
                time.sleep(wait)
                wait = min(60.0, wait * 2)

    # ------------------------------------------------------------------ taking a trial

    def claim(self) -> Claim | None:
        sweep = self.sweep
        with sweep.storage.lock(self.folder.path, sweep.name):
            facts = sweep.refresh()
            trials = sorted(sweep.frozen_trials(), key=lambda t: t.number)
            for t in trials:
                if t.state.name == "RUNNING" and self._orphan(t.user_attrs):
                    run_dir = t.user_attrs.get("run_dir")
                    claim = Claim(t.number, dict(t.params), run_dir if isinstance(run_dir, str) else None, True)
                    self._own(claim)
                    return claim
            if facts.get("stopped") or self.stopping or sweep.out_of_time():
                return None
            waiting = any(t.state.name == "WAITING" for t in trials)
            target = sweep.target
            if not waiting and target is not None and len(trials) >= target:
                return None
            study = sweep.study
            study.sampler = make_sampler(sweep, len(trials))
            with warnings.catch_warnings():  # trial 0's own value outside a range: kept, as the preset has it
                warnings.simplefilter("ignore")
                trial = study.ask(distributions(sweep.dimensions()))
            claim = Claim(trial.number, dict(trial.params))
            self._own(claim)
            return claim

    def _orphan(self, attrs: dict[str, Any]) -> bool:
        """A running trial no live worker works on: of this machine (or of none yet)."""
        host = attrs.get("host")
        if host is None:
            return True  # its worker died between asking it and saying whose it is (both under the lock)
        return host == self.host and not worker_alive(attrs.get("worker_pid"), attrs.get("worker_start"))

    def _own(self, claim: Claim) -> None:
        trial = self.sweep_trial(claim.number)
        for key, value in {"host": self.host, "slot": self.slot, "device": self.device, "worker_pid": self.pid,
                           "worker_start": self.started, "picked": time.time()}.items():
            trial.set_user_attr(key, value)

    def sweep_trial(self, number: int) -> Any:
        """Optuna's Trial object of trial ``number`` (to set attributes, report, tell)."""
        import optuna

        storage = self.sweep.storage.optuna
        study_id = storage.get_study_id_from_name(self.sweep.name)
        return optuna.trial.Trial(self.sweep.study, storage.get_trial_id_from_study_id_trial_number(study_id, number))

    # ------------------------------------------------------------------ running it

    def work_on(self, claim: Claim) -> str:
        """Run the trial to its end and tell the study ("told"), or leave it for a resume ("left")."""
        process: subprocess.Popen[bytes] | None = None
        run_dir = claim.run_dir or (self.find_run(claim.number) if claim.adopted else None)
        if run_dir is None or not Path(run_dir).is_dir():
            try:
                process, run_dir = self.launch(claim)
            except KerasTUIError as error:  # the trial's preset or runs folder refused: the trial fails
                self.tell(claim, None, RunStatus.FAILED, str(error))
                return "told"
        else:
            self.say(f"trial {claim.number}: adopted (run {Path(run_dir).name})")
        resumes = 0
        epochs = len(read_metrics(Path(run_dir)))
        while True:
            state = self.wait(Path(run_dir), process)
            if state is None:  # a stop: the run is asked to leave, resumable
                self.leave(claim, Path(run_dir), process)
                return "left"
            if state in (RunStatus.INTERRUPTED, RunStatus.DIED):
                if self.stop_asked():
                    return "left"
                now = len(read_metrics(Path(run_dir)))
                resumes = 0 if now > epochs else resumes + 1
                epochs = now
                if resumes > MAX_RESUMES:
                    self.tell(claim, run_dir, RunStatus.FAILED, f"its run {state} {MAX_RESUMES + 1} times in a row "
                                                                 "without a new epoch")
                    return "told"
                try:
                    process = self.resume(claim, Path(run_dir))
                except KerasTUIError as error:
                    if RunDir(Path(run_dir)).status()["state"].live:  # resumed by someone else (kerastui resume)
                        process = None
                        continue
                    self.tell(claim, run_dir, RunStatus.FAILED, str(error))
                    return "told"
                continue
            self._retry(lambda state=state: self.tell(claim, run_dir, state), "telling the study")  # type: ignore[misc]
            return "told"

    def launch(self, claim: Claim) -> tuple[subprocess.Popen[bytes], str]:
        preset = self.sweep.trial_preset(claim.params, claim.number)
        os.environ[ENV_TRIAL] = str(claim.number)
        launched = self.runs.launch(preset)
        run_dir = str(launched.run_dir.path)
        self._retry(lambda: self.sweep_trial(claim.number).set_user_attr("run_dir", run_dir), "recording the run")
        self.say(f"trial {claim.number}: started {launched.run_dir.name} (pid {launched.process.pid}) "
                 + ", ".join(f"{k}={v!r}" for k, v in claim.params.items()))
        return launched.process, run_dir

    def resume(self, claim: Claim, run_dir: Path) -> subprocess.Popen[bytes]:
        run, preset, _ = self.runs.resumable(run_dir)
        os.environ[ENV_TRIAL] = str(claim.number)
        launched = self.runs.resume(run, preset)
        self.say(f"trial {claim.number}: resumed {run.name} from its checkpoint (pid {launched.process.pid})")
        return launched.process

    def find_run(self, number: int) -> str | None:
        """The run a worker started for trial ``number`` before it could record it (it died between)."""
        wanted = f"{self.sweep.name}-t{number}"
        found = [p for p in self.runs_dir.iterdir() if p.is_dir() and read_json(p / "status.json").get("preset")
                 == wanted] if self.runs_dir.is_dir() else []
        return str(sorted(found)[-1]) if found else None

    def wait(self, run_dir: Path, process: subprocess.Popen[bytes] | None) -> RunStatus | None:
        """Until the run has ended (its state), or a stop is asked (None).  A run that has recorded its
        end (completed, pruned, stopped, failed) is done with: its interpreter may take a while more to
        close TensorFlow, and the slot's next trial starts meanwhile (the process is reaped later).  One
        to be resumed (interrupted, died) is waited for: its lock is free only when it has gone."""
        run = RunDir(run_dir)
        while True:
            self._reap()
            if process is not None:
                try:
                    process.wait(timeout=POLL)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(POLL * 5)
            state: RunStatus = run.status()["state"]
            if not state.live and (process is None or process.returncode is not None
                                   or state not in (RunStatus.INTERRUPTED, RunStatus.DIED)):
                if process is not None and process.returncode is None:
                    self._exiting.append(process)
                return state
            if self.stop_asked():
                return None

    def _reap(self) -> None:
        """Collect the runs that have ended and since exited (no zombie is left behind)."""
        self._exiting = [p for p in self._exiting if p.poll() is None]

    def leave(self, claim: Claim, run_dir: Path, process: subprocess.Popen[bytes] | None) -> None:
        """A stop: the run writes its checkpoint and leaves (interrupted); the trial stays running."""
        run = RunDir(run_dir)
        deadline = time.monotonic() + INTERRUPT_WAIT
        asked = False
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                break
            state = run.status()["state"]
            if not state.live:
                break
            if not asked:
                with contextlib.suppress(KerasTUIError):  # not yet its process's (starting): asked again
                    self.runs.interrupt(run_dir)
                    asked = True
            time.sleep(POLL)
        self.say(f"trial {claim.number}: left for a resume (run {run.name} {run.status()['state']})")

    # ------------------------------------------------------------------ telling

    def tell(self, claim: Claim, run_dir: str | None, state: RunStatus, error: str | None = None) -> None:
        """The study learns how the trial ended (a run's attributes first: a finished trial takes none)."""
        import optuna

        sweep = self.sweep
        trial = self.sweep_trial(claim.number)
        status = RunDir(Path(run_dir)).status() if run_dir else {}
        rows = read_metrics(Path(run_dir)) if run_dir else []
        values = history_of(rows).get(sweep.objective, [])
        attrs: dict[str, Any] = {"epochs": len(rows), "run_state": str(state)}
        value: float | None = None
        told = {RunStatus.PRUNED: optuna.trial.TrialState.PRUNED, RunStatus.STOPPED: optuna.trial.TrialState.PRUNED,
                RunStatus.COMPLETED: optuna.trial.TrialState.COMPLETE}.get(state, optuna.trial.TrialState.FAIL)
        if state == RunStatus.COMPLETED:
            found = best_value(values, sweep.direction)
            if found is None:
                told = optuna.trial.TrialState.FAIL
                logged = sorted(history_of(rows))
                error = f"{sweep.objective} was not logged (the run logged {', '.join(logged) or 'nothing'})"
            else:
                value, attrs["best_epoch"] = found
        elif told == optuna.trial.TrialState.FAIL and error is None:
            error = str(status.get("error") or f"its run ended {state}")
        if error:
            attrs["error"] = error[:500]
        for key, item in attrs.items():
            with contextlib.suppress(RuntimeError):  # finished already (told by another): nothing to add
                trial.set_user_attr(key, item)
        study = sweep.study
        with contextlib.suppress(RuntimeError):
            if told == optuna.trial.TrialState.COMPLETE:
                study.tell(claim.number, value, skip_if_finished=True)
            else:
                study.tell(claim.number, state=told, skip_if_finished=True)
        shown = f" {sweep.objective} {value:.6g}" if value is not None else (f": {error}" if error else "")
        self.say(f"trial {claim.number}: {told.name.lower()}{shown}")


def main(runs_dir: Path, name: str, slot: int) -> int:
    try:
        return Worker(runs_dir, name, slot).run()
    except KerasTUIError as error:
        print(f"{time.strftime('%H:%M:%S')} slot {slot}: error: {visible(str(error), one_line=True)}",
              file=sys.stderr, flush=True)
        return 1

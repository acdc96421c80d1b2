"""The run process: the one process that trains a run and writes its directory.

``kerastui train`` and ``kerastui resume`` are run processes; the TUI starts one detached from
its terminal (:func:`launch`) and follows its directory.  A run process holds the directory's
lock, keeps ``status.json`` current (state, epoch, heartbeat), and turns signals into an
orderly end:

- SIGINT, SIGTERM, SIGHUP: finish the batch, checkpoint, status ``interrupted``, exit 128+signal;
  a second SIGINT aborts at once (the checkpoint of the last epoch stays);
- SIGUSR1 (``kerastui stop``, the TUI's stop key): finish the batch, evaluate, save, ``stopped``.

A signal is honoured whenever it comes: one that arrives before anything trains is remembered and
applied when the trainer exists, and a run launched detached starts with these signals blocked, so
none of their default actions can end it before its handlers are in place.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import KerasTUIError
from kerastui.core.run.directory import RunDir, default_runs_dir, hostname, open_append, process_start
from kerastui.core.run.events import EpochEnded, Event, TrainEnded, TrainStarted
from kerastui.core.run.status import RunStatus, status_of

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.trainer import RunResult, Trainer

STOP_SIGNAL = signal.SIGUSR1
# A run started from the TUI runs this much nicer than the TUI: on a box where training takes every
# core, a key press still gets the CPU at once (the TUI idles otherwise, so the run loses nothing).
RUN_NICE = 5
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
HANDLED = (*INTERRUPTS, STOP_SIGNAL)
AGAIN_SECONDS = 0.01  # an interrupt Python could not raise where it landed is raised again this much later


class RunProcess:
    """Owns a run directory for the life of this process (``with RunProcess(...) as rp``)."""

    def __init__(self, run_dir: RunDir, *, on_signal: Callable[[int, bool], None] | None = None) -> None:
        self.run_dir = run_dir
        self._trainer: Trainer | None = None
        self.stop_asked = False  # SIGUSR1 came (before the trainer existed, perhaps)
        self.previous_seconds = 0.0  # resuming: the seconds its earlier processes trained
        self.signal: int | None = None  # the first interrupting signal received
        self.on_signal = on_signal  # (signum, second) → None: the CLI says what happens
        self._armed = False  # an interrupt with no trainer yet leaves at once (see arm)
        self._previous: dict[int, Any] = {}
        self._unraisable: Callable[[Any], Any] | None = None  # sys.unraisablehook as it was
        self._again = False  # an interrupt Python could not raise where it came: to raise again
        self._again_pipe: int | None = None  # a byte here asks the helper thread to raise it again
        self._raised = False  # a second Ctrl-C was raised (and said) once already

    def __enter__(self) -> RunProcess:
        self.run_dir.acquire()
        self._install()
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()
        self.run_dir.release()

    @property
    def trainer(self) -> Trainer | None:
        return self._trainer

    @trainer.setter
    def trainer(self, trainer: Trainer | None) -> None:
        """The trainer, from now on told of signals; one that came before it is applied to it now."""
        self._trainer = trainer
        if trainer is not None:
            trainer.previous_seconds = self.previous_seconds
            if self.signal is not None:
                trainer.request_stop("interrupted")
            elif self.stop_asked:
                trainer.request_stop("stopped")

    def arm(self) -> None:
        """Called by whoever holds this process (its status written, ready to record an end): from now
        on an interrupt that comes before the trainer exists (TensorFlow still importing) leaves at
        once, as ``KeyboardInterrupt`` — one that came earlier, while the lock was being taken, does so
        now.  Unarmed, an interrupt is remembered and applied to the trainer when it exists."""
        self._armed = True
        if self.signal is not None and self._trainer is None:
            raise KeyboardInterrupt

    # ------------------------------------------------------------------ status

    def starting(self, preset: Preset, *, resumed: bool = False, **fields: Any) -> None:
        """This process runs now (a resumed run keeps when it first started, and counts resumes)."""
        previous = self.run_dir.status() if resumed else {}
        before = previous.get("active_seconds")
        self.previous_seconds = float(before) if isinstance(before, (int, float)) else 0.0
        if self._trainer is not None:
            self._trainer.previous_seconds = self.previous_seconds
        first = ({"started": previous["started"], "started_at": previous.get("started_at")}
                 if resumed and previous.get("started") else
                 {"started": time.time(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        self.run_dir.begin_span(self.previous_seconds)
        self.run_dir.set_status(
            state=RunStatus.STARTING, pid=os.getpid(), pid_start=process_start(os.getpid()),
            host=hostname(), **first,
            **identity(preset), epoch=previous.get("epoch", 0), error=None, outcome=None, ended=None,
            signal=None, stopping=None, resumes=int(previous.get("resumes", 0)) + (1 if resumed else 0),
            resumed_at=time.time() if resumed else None, **fields)
        self.run_dir.start_heartbeat()

    def __call__(self, event: Event) -> None:
        """A sink: the status follows the events (the heartbeat thread keeps it fresh between)."""
        if isinstance(event, TrainStarted):
            self.run_dir.set_status(state=RunStatus.RUNNING, phase=event.phase, epoch=event.initial_epoch,
                                    steps=event.steps_per_epoch, devices=event.devices, gpus=event.gpus,
                                    replicas=event.replicas, precision=event.precision)
        elif isinstance(event, EpochEnded):
            self.run_dir.set_status(epoch=event.epoch + 1, every=1.0)
        elif isinstance(event, TrainEnded) and event.reason in ("interrupted", "stopped"):
            self.run_dir.set_status(state=RunStatus.STOPPING, stopping=event.reason)

    def finished(self, result: RunResult | None, error: str | None = None) -> None:
        """The end, whatever it was: state, outcome, the true epoch count, the reason of a failure."""
        self.run_dir.stop_heartbeat()
        if result is None and self.signal is not None and error is None:  # interrupted before any trainer
            fields: dict[str, Any] = {"state": RunStatus.INTERRUPTED, "outcome": "interrupted", "error": None}
        elif result is None:
            fields = {"state": RunStatus.FAILED, "outcome": "failed", "error": error}
        else:
            outcome = result.status if result.status != "running" else "failed"
            fields = {"state": status_of(outcome), "outcome": outcome, "epoch": result.epochs_run,
                      "error": error or result.error}
        if self.signal is not None and fields["state"] == RunStatus.INTERRUPTED:
            fields["signal"] = signal.Signals(self.signal).name
        self.run_dir.overlay.clear()
        try:
            self.run_dir.set_status(ended=time.time(), **fields)
            self.run_dir.end_span()
        except KerasTUIError:  # a full disk: the caller's error line names the file already
            pass

    # ------------------------------------------------------------------ signals

    def _install(self) -> None:
        for signum in HANDLED:
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # pragma: no cover - not the main thread
                pass
        self._unraisable = sys.unraisablehook
        sys.unraisablehook = self._unraised
        self._start_again_thread()
        # Launched with them blocked (see launch): handled now, so one that waited is delivered.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)

    def _unraised(self, unraisable: Any) -> None:
        """The ``KeyboardInterrupt`` an interrupt raises lands where Python cannot raise it (a weakref
        callback or a ``__del__`` that the garbage collector ran): Python would print it, traceback and
        all, as "ignored", and train on.  Nothing is printed; it is raised again on the main thread a
        moment later, once this hook has returned (raised in here, it would be lost again).  Anything
        else unraisable goes where it went."""
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self.signal is not None:
            self._raise_again()
            return
        (self._unraisable or sys.__unraisablehook__)(unraisable)

    def _start_again_thread(self) -> None:
        """A helper thread, idle on a pipe, that raises an interrupt again on the main thread when the
        hook asks (a byte on the pipe: a system call, safe wherever the hook runs, where starting a
        thread takes a lock the interrupted code may hold)."""
        import _thread
        import threading

        read, self._again_pipe = os.pipe()

        def serve() -> None:
            try:
                while os.read(read, 1):
                    time.sleep(AGAIN_SECONDS)  # (the hook has returned by then)
                    if self._again:
                        _thread.interrupt_main(signal.SIGINT)
            finally:
                os.close(read)

        threading.Thread(target=serve, name="kerastui-interrupt-again", daemon=True).start()

    def _raise_again(self) -> None:
        self._again = True
        if self._again_pipe is not None:
            with contextlib.suppress(OSError):
                os.write(self._again_pipe, b"!")

    def _restore(self) -> None:
        """The handlers as they were — unless a signal already ended the run: the process is on its
        way out (its status written), and a second Ctrl-C landing now must not end it by the default
        action halfway through its last words (exit 130, not a KeyboardInterrupt at shutdown)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_IGN if self.signal is not None and signum in INTERRUPTS else previous)
        self._previous.clear()
        self._again = False
        if self._unraisable is not None:
            sys.unraisablehook = self._unraisable
            self._unraisable = None
        if self._again_pipe is not None:  # (its thread reads the end of the pipe and ends)
            os.close(self._again_pipe)
            self._again_pipe = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.signal is not None:  # a second Ctrl-C, or one raised again
            self._again = False  # (raised now: nothing left to raise again)
            if self.on_signal is not None and not self._raised:
                self.on_signal(signum, True)
            self._raised = True
            raise KeyboardInterrupt
        trainer = self._trainer
        if signum == STOP_SIGNAL:
            self.stop_asked = True
            self.run_dir.overlay["state"] = RunStatus.STOPPING  # written by the next heartbeat
            if trainer is not None:
                trainer.request_stop("stopped")
            if self.on_signal is not None:
                self.on_signal(signum, False)
            return
        second = self.signal is not None
        if not second:
            self.signal = signum
        if self.on_signal is not None:
            self.on_signal(signum, second)
        self.run_dir.overlay["state"] = RunStatus.STOPPING
        if trainer is not None:
            trainer.request_stop("interrupted")
        elif not second and self._armed:  # nothing trains yet (TensorFlow still importing): leave now
            raise KeyboardInterrupt

    @property
    def exit_code(self) -> int:
        return 128 + (self.signal or signal.SIGINT)


def _settings(preset: Preset) -> dict[str, Any]:
    """What the runs table shows of a run's settings, kept in its status (no preset parsing to list runs)."""
    optimizer = preset.compile.optimizer
    rate = preset.compile.learning_rate
    if not isinstance(optimizer, str):  # a Keras class with its arguments
        given = optimizer.kwargs.get("learning_rate")
        rate = given if isinstance(given, (int, float)) else rate
        optimizer = optimizer.type
    return {"optimizer": optimizer, "learning_rate": rate, "batch_size": preset.fit.batch_size}


def identity(preset: Preset) -> dict[str, Any]:
    """What a run's status says of its preset: written the same by the launcher and the run process."""
    return {"preset": preset.name or preset.title or "preset", "dataset": preset.data.source,
            "epochs_planned": preset.planned_epochs, "settings": _settings(preset)}


# --------------------------------------------------------------------------- launching


@dataclass
class Launched:
    run_dir: RunDir
    process: subprocess.Popen[bytes]


def lower_priority(pid: int, nice: int) -> None:
    """Make process ``pid`` ``nice`` steps nicer than this one, at once (before its interpreter
    starts threads: they inherit the main thread's niceness).  On Linux with autogrouping (the
    default on desktops and many servers) a process in a session of its own, as a run is, also has
    a scheduling group of its own, and the CPU is shared between groups before niceness counts
    inside one: the group's niceness (``/proc/PID/autogroup``) is what puts a key press first."""
    nice = os.getpriority(os.PRIO_PROCESS, os.getpid()) + nice
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError:  # pragma: no cover - not permitted: it runs at our priority
        return
    with contextlib.suppress(OSError):  # no autogroups here (or not permitted): niceness alone
        Path(f"/proc/{pid}/autogroup").write_text(f"{min(nice, 19)}\n", encoding="ascii")


def launch(preset: Preset, *, runs_dir: Path | None = None, model_path: str | None = None,
           trusted: bool = False, resume: RunDir | None = None, nice: int = RUN_NICE) -> Launched:
    """Start a run process detached from this terminal: its own session (a hang-up of ours never
    reaches it), stdin closed, stdout and stderr into ``output.log`` in the run directory."""
    if resume is not None:
        run_dir = resume
        command = ["resume", str(run_dir.path)]
    else:
        run_dir = RunDir.create(Path(runs_dir) if runs_dir is not None else default_runs_dir(),
                                preset.name or "run")
        run_dir.write_preset(preset)
        command = ["train", str(run_dir.preset_path), "--run-dir", str(run_dir.path)]
        if model_path is not None:
            command += ["--model", model_path]
    if trusted:  # the user trusts the model to run code (its file's, its layers' SavedModels)
        command.append("--trust-model")
    try:
        log = open_append(run_dir.output_path, binary=True)
    except OSError as error:
        raise KerasTUIError(f"{run_dir.output_path}: cannot write ({error.strerror})") from None
    # The run process starts with the signals it handles blocked (a mask survives fork and exec): a
    # stop asked before its handlers exist waits for them instead of killing it.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        with log:
            process = subprocess.Popen([sys.executable, "-m", "kerastui", *command], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log, start_new_session=True, close_fds=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    if nice:  # (a sweep's worker has no terminal to keep responsive: its trials run at its priority)
        lower_priority(process.pid, nice)
    # Until the process takes the lock: "starting", with its pid (a follower must not read the
    # status of the run's previous process, "interrupted", as this one's end).
    fields = {} if resume is not None else {"started": time.time(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                             **identity(preset), "epoch": 0}
    run_dir.set_status(state=RunStatus.STARTING, pid=process.pid, pid_start=process_start(process.pid),
                       host=hostname(), **fields)
    return Launched(run_dir, process)


def stop(run_dir: RunDir, signum: int = STOP_SIGNAL) -> int:
    """Ask a live run to finish its batch, evaluate, save and stop (``signum`` SIGTERM: to write its
    checkpoint and leave, ``interrupted``, resumable); the pid asked."""
    status = run_dir.status()
    pid = status.get("pid")
    state = status.get("state")
    if not isinstance(state, RunStatus) or not state.live or not isinstance(pid, int):
        raise KerasTUIError(f"{run_dir.name}: not running ({state or 'unknown'})")
    if status.get("host") not in (None, hostname()):
        raise KerasTUIError(f"{run_dir.name}: runs on {status['host']}; stop it there")
    if not run_dir.run_by(pid, status.get("pid_start"), to_signal=True):  # a pid is reused; anyone may write a status
        raise KerasTUIError(f"{run_dir.name}: process {pid} is not this run's (not the kerastui process its "
                            "status recorded, holding its lock); nothing signalled")
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise KerasTUIError(f"{run_dir.name}: its process {pid} is gone") from None
    except PermissionError:
        raise KerasTUIError(f"{run_dir.name}: process {pid} belongs to another user") from None
    return pid


def check_resumable(run_dir: RunDir) -> dict[str, Any]:
    """The status of a run that ``resume`` may continue, or one line saying why not."""
    status = run_dir.status()
    state = status.get("state")
    if state == RunStatus.STARTING and status.get("pid") == os.getpid():
        return status  # launched to resume it: the launcher wrote "starting" with this process's pid
    if state == RunStatus.DAMAGED:
        raise KerasTUIError(f"{run_dir.name}: run damaged ({status.get('error')}); it cannot be resumed")
    if isinstance(state, RunStatus) and state.live:
        raise KerasTUIError(f"{run_dir.name}: run is live (pid {status.get('pid', '?')}); nothing to resume")
    if not isinstance(state, RunStatus) or not state.resumable:
        raise KerasTUIError(f"{run_dir.name}: run {state}; only an interrupted, died or failed run resumes")
    if not run_dir.preset_path.is_file():
        raise KerasTUIError(f"{run_dir.preset_path}: missing; this run cannot be resumed")
    return status

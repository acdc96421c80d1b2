"""The TUI's link to runs: it starts, follows, stops and resumes them through the core's
:class:`~kerastui.core.run.client.RunClient` (the CLI's too) and hands what they do to the session.

One worker follows the current run: it iterates ``RunClient.follow`` and posts each batch of typed
events as :class:`TrainingEvents` and the end as :class:`RunEnded`; the app hands those back here
(:meth:`RunLink.events`, :meth:`RunLink.ended`), the session's ``RunState`` folds them, and the
workspaces redraw.  The run's result is read (``RunClient.outcome``) and its saved model loaded back
in a worker too.  Nothing here trains: a run is a process of its own.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from kerastui.core.errors import KerasTUIError, plain_message
from kerastui.core.run.directory import RunDir
from kerastui.core.run.events import EpochEnded, Notice, TrainEnded
from kerastui.core.run.status import RunStatus
from kerastui.ui.messages import RunEnded, TrainingEvents, TrainingFailed, TrainingFinished
from kerastui.ui.priority import in_background
from kerastui.ui.screens.dialogs import TrustDialog
from kerastui.ui.session import TrainedModel
from kerastui.ui.state import RunState

if TYPE_CHECKING:
    import numpy as np

    from kerastui.core.model.parts import CodeUse
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.client import Outcome, RunClient
    from kerastui.core.run.trainer import RunResult
    from kerastui.ui.app import KerasTUI

_UNSEEN = object()  # the runs folder not looked at yet
REPLAY_QUIET = 50  # a batch of events this long is a history replayed on attach: no toasts


class RunLink:
    """The app's runs: the one followed now (the session's), and the way to start, stop or resume one."""

    def __init__(self, app: KerasTUI) -> None:
        from kerastui.core.run.priority import InputPriority

        self.app = app
        self._client: RunClient | None = None
        self._runs_dir_stamp: object = _UNSEEN  # the runs folder's (mtime, inode, device) last seen
        # The followed run yields the CPU while the user types, the TUI while it is only watched (their
        # scheduling groups' niceness): where there are no such groups, runs start RUN_NICE nicer instead.
        self.priority = InputPriority(lambda delay, callback: self.app.set_timer(delay, callback))

    @property
    def client(self) -> RunClient:
        if self._client is None:
            from kerastui.core.run.client import RunClient
            from kerastui.core.run.process import RUN_NICE

            self._client = RunClient(self.app.runs_dir, nice=0 if self.priority.enabled else RUN_NICE)
        return self._client

    def input_seen(self) -> None:
        """A key press or a click: the followed run yields the CPU until the user has stopped."""
        self.priority.input_seen()

    @property
    def session(self) -> Any:
        return self.app.session

    def _worker(self, work: Any, group: str) -> None:
        self.app.run_worker(work, thread=True, exclusive=True, group=group, exit_on_error=False)

    # ------------------------------------------------------------------ starting

    def start(self, preset: Preset) -> None:
        """Start a run process for ``preset`` (detached from this terminal) and follow it.

        A preset whose layers run code from files (a TFSMLayer's SavedModel) starts only after the
        user says y to a question naming them and the risk, asked at each start; the run process is
        then trusted (``--trust-model``), and n starts nothing."""
        app, session = self.app, self.session
        if session.training:
            app.notify("training is already running; x stops it", title="train", severity="warning")
            return
        continued = session.continued_model(preset)
        opened = session.opened
        model_path = opened.path if continued is not None and opened is not None else None
        # The model file's stored code: the user already said y for it when opening it.
        file_trusted = model_path is not None and opened is not None and not opened.safe_mode
        uses = self._code_uses(preset) if model_path is None else []  # (a file's model builds no layer)
        if not uses:
            self._start(preset, model_path, file_trusted)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(preset, None, True)
            else:
                app.notify("not started: the model was not trusted to run code from its files", title="train")

        app.push_screen(TrustDialog(uses, "start"), answered)

    def _start(self, preset: Preset, model_path: str | None, trusted: bool) -> None:
        app = self.app
        if self.session.training:  # (started meanwhile, while the question was open)
            return
        self.session.training_started(preset)
        if model_path is not None:
            app.notify(f"training further from the weights of {model_path}", title="train")
        app.redraw_training(full=True)
        self._worker(lambda: self._launch(preset, model_path, trusted), "launch")

    @staticmethod
    def _code_uses(preset: Preset) -> list[CodeUse]:
        from kerastui.core.model.parts import code_uses

        return code_uses(preset)

    def resume(self, run_dir: Path) -> None:
        """Continue an interrupted or died run in its own directory, and follow it."""
        app = self.app
        if self.session.training:
            app.notify("a run is being followed; x stops it first", title="resume", severity="warning")
            return
        try:
            run, preset, status = self.client.resumable(run_dir)
        except KerasTUIError as error:
            app.notify(str(error), title="resume", severity="error", timeout=8)
            return
        # A run whose layers run code from files asks as a start does, every time: its status file's
        # "trusted" is no witness (anyone who can write the run directory could set it).
        uses = [] if status.get("model") else self._code_uses(preset)
        if not uses:
            self._resume(run.path, preset, False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._resume(run.path, preset, True)
            else:
                app.notify(f"not resumed: {run.name}: the model was not trusted to run code from its files",
                           title="resume")

        app.push_screen(TrustDialog(uses, "resume"), answered)

    def _resume(self, run_dir: Path, preset: Preset, trusted: bool) -> None:
        app = self.app
        if self.session.training:  # (started meanwhile, while the question was open)
            return
        app.open_preset(preset)
        self.session.training_started(preset)
        app.action_switch_workspace("train")
        app.redraw_training(full=True)
        self._worker(lambda: self._launch(preset, None, trusted, resume=run_dir), "launch")

    def _launch(self, preset: Preset, model_path: str | None, trusted: bool, resume: Path | None = None) -> None:
        try:
            launched = (self.client.resume(resume, preset, trusted=trusted) if resume is not None else
                        self.client.launch(preset, model_path=model_path, trusted=trusted))
        except KerasTUIError as error:
            self.app.post_message(TrainingFailed(str(error)))
            return
        except OSError as error:
            self.app.post_message(TrainingFailed(f"cannot start the run process: {plain_message(error)}"))
            return
        self.app.call_from_thread(self.attach, launched.run_dir.path, launched.process)

    # ------------------------------------------------------------------ following

    def attach(self, run_dir: Path, process: subprocess.Popen[bytes] | None = None, *, quiet: bool = False,
               adopt: bool = False) -> None:
        """Follow the run in ``run_dir``: its whole history drawn, then live until it ends.  ``adopt``:
        a run found on disk brings its preset too (the workspaces show the settings it runs with)."""
        app, session = self.app, self.session
        state = session.run_state
        if state is None or not state.running or session.run_dir is not None:
            state = RunState(status=RunStatus.RUNNING)  # a run found on disk, not the one just started here
            if adopt:
                self._adopt_preset(run_dir)
        session.attached(run_dir, state)
        self.priority.follow(process.pid if process is not None else self._local_pid(run_dir))
        if not quiet:
            app.notify(f"following {run_dir.name}: it runs on if kerastui closes", title="run", timeout=4)
        app.redraw_training(full=True)
        self._worker(lambda: self._follow(run_dir, process), "follow")

    @staticmethod
    def _local_pid(run_dir: Path) -> int | None:
        """The pid of the process running ``run_dir`` on this machine, proven (its start time, command
        line and lock: a pid from a status file may be reused, or another host's), or None."""
        from kerastui.core.run.directory import hostname

        run = RunDir(run_dir)
        status = run.status()
        pid = status.get("pid")
        if status.get("host") != hostname() or not run.run_by(pid, status.get("pid_start")):
            return None
        return pid if isinstance(pid, int) else None

    def _adopt_preset(self, run_dir: Path) -> None:
        from kerastui.core.model import presets
        from kerastui.core.run.client import run_preset_name

        try:
            preset = presets.load(RunDir(run_dir).preset_path)
        except KerasTUIError:
            return  # the history is still drawn; the workspaces keep what they show
        preset.name = run_preset_name(run_dir) or preset.name
        self.app.open_preset(preset)

    def _follow(self, run_dir: Path, process: subprocess.Popen[bytes] | None) -> None:
        """The one worker that hands a run's typed events to the app, until the run ends."""
        from kerastui.core.run.client import FOLLOW_SECONDS, Ended

        worker = get_current_worker()
        for item in self.client.follow(run_dir, process, cancelled=lambda: worker.is_cancelled,
                                       poll=FOLLOW_SECONDS):
            if isinstance(item, Ended):
                self.app.post_message(RunEnded(run_dir, item.status))
            else:
                self.app.post_message(TrainingEvents(run_dir, item.events, item.reset))

    def events(self, message: TrainingEvents) -> None:
        """Events of the followed run: folded into its state; the workspaces redraw (throttled)."""
        state = self.session.run_state
        if state is None or message.run_dir != self.session.run_dir:
            return  # a run no longer followed
        if message.reset:  # a resume rewrote the run's log to agree with its checkpoint: drawn again
            state = RunState(status=RunStatus.RUNNING)
            self.session.attached(message.run_dir, state)
        epoch = final = False
        ended: float | None = None  # the run's stamp of the last epoch's end (for the throttle's budget)
        for event in message.events:
            state.apply(event)
            if isinstance(event, Notice) and event.level != "error" and len(message.events) < REPLAY_QUIET:
                self.app.notify(event.message, title="train", timeout=8,  # (a replayed history stays quiet)
                                severity="warning" if event.level == "warning" else "information")
            if isinstance(event, EpochEnded):
                epoch, ended = True, event.t
            final = final or isinstance(event, TrainEnded)
        if message.reset:
            self.app.redraw_training(full=True)
        self.app.throttle.event(epoch=epoch, final=final, ended=ended)

    def ended(self, message: RunEnded) -> None:
        if message.run_dir != self.session.run_dir:
            return
        self.priority.follow(None)
        fallback = self.session.current_preset()
        self._worker(lambda: self._load_result(message.run_dir, message.status, fallback), "run-result")

    def _load_result(self, run_dir: Path, status: dict[str, Any], fallback: Preset) -> None:
        """The run ended: its result; its saved model loaded back (the working model now) with the
        sample predictions it wrote."""
        outcome = self.client.outcome(run_dir, status)
        result = outcome.result
        if outcome.error is not None or result is None:
            self.app.post_message(TrainingFailed(outcome.error or "the run ended without a result", outcome.state))
            return
        trained, images = None, None
        if outcome.model_saved:
            try:
                trained, images = self._trained(outcome, fallback)
            except Exception as error:  # noqa: BLE001 - the run's result is still shown
                self.app.post_message(TrainingFinished(result, [], None))
                self.app.call_from_thread(self.app.notify, f"{outcome.run_dir.model_path}: cannot load it back: "
                                          f"{plain_message(error)}", title="run", severity="warning", timeout=10)
                return
        self.app.post_message(TrainingFinished(result, outcome.predictions, images, trained))

    @staticmethod
    def _trained(outcome: Outcome, fallback: Preset) -> tuple[TrainedModel, np.ndarray | None]:
        """The run's saved model loaded back, and the sample images it wrote."""
        import numpy as np

        from kerastui.core.model import presets
        from kerastui.core.model.builder import custom_metric_classes
        from kerastui.core.saving import load_model

        run = outcome.run_dir
        try:
            preset = presets.load(run.preset_path)
        except KerasTUIError:
            preset = fallback
        custom = custom_metric_classes(preset)
        model = load_model(run.model_path, custom_objects=custom, safe_mode=not outcome.trusted)
        images = np.load(run.samples_path) if run.samples_path.is_file() else None
        return TrainedModel(model, None, custom, str(run.path)), images

    def finished(self, message: TrainingFinished) -> None:
        result = message.result
        state = self.session.training_finished(result, message.predictions, message.images, message.trained)
        if state is None:
            return
        app = self.app
        if result.status == "nan":
            app.notify(result.error or "loss became NaN", title="training stopped", severity="error", timeout=10)
        elif result.status == "interrupted":
            app.notify(f"interrupted after {result.epochs_run} epoch(s); r in Runs resumes it from its checkpoint",
                       title="run interrupted", severity="warning", timeout=10)
        else:
            acc = result.test.get("accuracy")
            summary = f"test accuracy {acc:.4f}" if acc is not None else f"test loss {result.test.get('loss', 0):.4f}"
            app.notify(f"{result.epochs_run} epoch(s), {summary}", title=f"training {state.label}")
        app.redraw_training(full=True)

    def failed(self, message: TrainingFailed) -> None:
        self.session.training_failed(message.error, message.status)
        status = self.session.run_state.label if self.session.run_state is not None else "failed"
        self.app.notify(message.error, title=f"run {status}", severity="error", timeout=10)
        self.app.redraw_training(full=True)

    # ------------------------------------------------------------------ stopping, evaluating

    def stop(self) -> None:
        run_dir = self.session.stop_requested()
        if run_dir is None:
            self.app.notify("nothing is training", title="train")
            return
        self.stop_run(run_dir)
        self.app.redraw_training()

    def stop_run(self, run_dir: Path) -> bool:
        """Ask the run in ``run_dir`` to stop after its batch (the one followed, or another)."""
        try:
            self.client.stop(run_dir)
        except KerasTUIError as error:
            self.app.notify(str(error), title="stop", severity="warning")
            return False
        if self.session.run_dir == run_dir and self.session.run_state is not None:
            self.session.run_state.status = RunStatus.STOPPING
        return True

    def evaluate_again(self) -> None:
        trained = self.session.trained
        state = self.session.run_state
        if trained is None or self.session.training or state is None or state.result is None:
            self.app.notify("train a model first (and wait for it to finish)", title="evaluate")
            return
        result = state.result
        self._worker(lambda: self._evaluate(trained, result), "evaluate")

    def _evaluate(self, trained: TrainedModel, result: RunResult) -> None:
        from kerastui.core.evaluation import display_images, evaluate, sample_predictions, split_report
        from kerastui.core.run.trainer import prepare_data

        data = trained.data
        if data is None:  # the run's data, prepared here once
            data = prepare_data(self.session.current_preset())
            trained = replace(trained, data=data)
        result.test, result.evaluation = split_report(evaluate(trained.model, data))
        predictions = sample_predictions(trained.model, data, 8)
        images = display_images(data.x_test[: len(predictions)]) if data.kind == "image" else None
        self.app.post_message(TrainingFinished(result, predictions, images, trained))

    # ------------------------------------------------------------------ the runs folder

    def runs_dir_changed(self) -> bool:
        """Whether the runs folder changed since this was last asked (the first time: yes): a run
        directory made or removed there, by this TUI, another one on the box or ``kerastui train``.
        One ``stat`` of the folder (its mtime moves when an entry is added or removed), cheap enough
        for the Runs workspace to ask every couple of seconds while it is shown, so a second TUI
        lists a new run without a key.  (A run's own progress does not move it: the workspace reads
        live runs again on its own.)"""
        try:
            info = os.stat(self.client.runs_dir)
            stamp: tuple[int, int, int] | None = (info.st_mtime_ns, info.st_ino, info.st_dev)
        except OSError:  # not made yet (no run so far), or unreadable: listed as empty already
            stamp = None
        changed = self._runs_dir_stamp is _UNSEEN or stamp != self._runs_dir_stamp
        self._runs_dir_stamp = stamp
        return changed

    # ------------------------------------------------------------------ live runs at start

    def follow_newest_live(self) -> None:
        """Read every run directory off the UI thread (hundreds take a while; the Runs workspace then
        opens from the cache), and follow the newest live run."""
        def scan() -> None:
            live = in_background(self.client.live)
            if live:
                self.app.call_from_thread(self._follow_live, live)

        self._worker(scan, "scan-runs")

    def _follow_live(self, live: list[Any]) -> None:
        if self.session.run_state is not None:  # something started meanwhile
            return
        # Its settings too, unless kerastui was opened with a preset to work on.
        self.attach(live[0].path, quiet=True, adopt=self.session.preset.path is None)
        others = f" (and {len(live) - 1} more: h shows them)" if len(live) > 1 else ""
        self.app.notify(f"following live run {live[0].name}{others}", title="run", timeout=6)

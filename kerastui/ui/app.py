"""KerasTUI: the app shell — workspaces as MODES, global bindings, presets, TensorFlow loading."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from kerastui.core.errors import KerasTUIError, plain_message
from kerastui.core.model import presets as preset_files
from kerastui.core.model.specs import Preset
from kerastui.core.run.events import EpochEnded, Notice, TrainEnded
from kerastui.core.tfenv import keep_off_gpus
from kerastui.ui.commands import PresetCommands
from kerastui.ui.latest import Requests
from kerastui.ui.messages import (
    PresetOpened,
    RunEnded,
    TensorFlowFailed,
    TensorFlowLoaded,
    TrainingEvents,
    TrainingFailed,
    TrainingFinished,
)
from kerastui.ui.screens.base import Workspace
from kerastui.ui.screens.data import DataScreen
from kerastui.ui.session import Session, TrainedModel
from kerastui.ui.state import RunState
from kerastui.ui.throttle import RedrawThrottle
from kerastui.ui.widgets.tabs import WORKSPACES

if TYPE_CHECKING:
    import numpy as np

    from kerastui.core.data.datasets import Preview
    from kerastui.core.model.specs import DataSpec
    from kerastui.core.run.trainer import RunResult
    from kerastui.core.saving import OpenedModel

# TensorFlow's thread pools are created by the thread that first runs an op and inherit its
# priority: started from a worker at this niceness, the TUI's own model building (shapes) yields
# the CPU to the UI thread whenever the UI has work (a key press).
BACKGROUND_NICE = 10
FOLLOW_SECONDS = 0.05  # how often the followed run's event log is read
STATUS_SECONDS = 0.5  # how often its status file is (has its process ended?)
REPLAY_QUIET = 50  # a batch of events this long is a history replayed on attach: no toasts
FIRST_FRAME_GRACE = 0.15  # seconds between the first frame and starting heavy imports
WORKSPACE_KEYS = Binding.Group("workspaces", compact=True)
# Workspaces are created when first shown, and creating one costs Textual ~0.3 s (its stylesheet is
# parsed again, the screen composed and styled). Once TensorFlow is loaded and nobody has typed for
# PREPARE_IDLE seconds, the ones not shown yet are created in the background, one per idle pause, so
# that a first visit costs what a later one does. Runs first: it is where people go back to.
PREPARE_ORDER = ("runs", "model", "train", "saveload", "experiments")
PREPARE_IDLE = 1.0
PREPARE_EVERY = 0.5


def background_priority() -> None:
    """Lower the calling thread's CPU priority (per thread on Linux; elsewhere a no-op)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or not permitted
        pass


def _model_screen() -> Screen[None]:
    from kerastui.ui.screens.model import ModelScreen

    return ModelScreen()


def _train_screen() -> Screen[None]:
    from kerastui.ui.screens.train import TrainScreen

    return TrainScreen()


def _saveload_screen() -> Screen[None]:
    from kerastui.ui.screens.saveload import SaveLoadScreen

    return SaveLoadScreen()


def _experiments_screen() -> Screen[None]:
    from kerastui.ui.screens.experiments import ExperimentsScreen

    return ExperimentsScreen()


def _runs_screen() -> Screen[None]:
    from kerastui.ui.screens.runs import RunsScreen

    return RunsScreen()


class KerasTUI(App[None]):
    """A terminal workbench for Keras."""

    CSS_PATH = "app.tcss"
    TITLE = "kerastui"
    # Only the first workspace is imported before the first frame; the others when first shown.
    MODES = {"data": DataScreen, "model": _model_screen, "train": _train_screen, "saveload": _saveload_screen,
             "experiments": _experiments_screen, "runs": _runs_screen}
    DEFAULT_MODE = "data"
    COMMANDS = App.COMMANDS | {PresetCommands}
    BINDINGS = [
        # One footer group ("dmtvph workspaces"): six labels would push a screen's own keys off 80 columns.
        # The letters first: the footer shows the first key of an action that works now, so F2–F7 appear
        # only while a text field has the focus (it types letters; function keys pass through).
        *[Binding(f"{key},{fkey}", f"switch_workspace('{mode}')", label, tooltip=f"{label} — {tip}",
                  id=f"workspace.{mode}", group=WORKSPACE_KEYS)
          for mode, (key, fkey, label, tip) in WORKSPACES.items()],
        Binding("o", "open_preset", "Presets", tooltip="Browse shipped and user presets and open one",
                id="preset.open"),
        Binding("ctrl+s", "save_preset", "Save preset", tooltip="Save the current workspace as a preset TOML",
                id="preset.save"),
        Binding("f1", "help", "Help", tooltip="Help for the focused widget and the keys that work here",
                id="app.help"),
        Binding("g", "devices", "GPUs", tooltip="The machine's GPUs (NVML): memory, utilisation, temperature, "
                "power, and the runs on each", id="app.devices"),
        Binding("ctrl+q", "request_quit", "Quit", tooltip="Leave kerastui (asks first while training)",
                id="app.quit", show=False, priority=True),
        Binding("ctrl+c", "request_quit", "Quit", tooltip="Leave kerastui (asks first while training)",
                id="app.interrupt", show=False, priority=True),
    ]

    preset_label = reactive("no preset")
    data_label = reactive("")
    model_label = reactive("")
    tf_label = reactive("loading TensorFlow…")
    tf_ready = reactive(False)

    def __init__(self, preset: Preset | None = None, *, load_tensorflow: bool = True,
                 deterministic: bool = False, attach: Path | None = None, runs_dir: Path | None = None,
                 prepare: bool | None = None) -> None:
        super().__init__()
        keep_off_gpus()  # the TUI never takes GPU memory: run processes own the devices
        self.attach_to = attach  # a run directory to follow from the start (kerastui attach)
        self.runs_dir = runs_dir  # where runs started here go (None: the default runs folder)
        # Snapshots and screenshots: no clocks (load times) and no device probe.
        self.deterministic = deterministic
        self.session = Session(preset) if preset is not None else Session()
        self._workspaces: list[Workspace] = []  # the mounted workspaces, in the order they were first shown
        self._sizes = Requests()  # model-size checks for the status line: the latest wins
        self._throttle = RedrawThrottle(lambda epoch: self.redraw_training(epoch=epoch), self.set_timer,
                                        every_event=deterministic)
        self.load_tensorflow_at_start = load_tensorflow
        self._label_preset()
        self._last_input = time.monotonic()
        self._shown_modes: set[str] = set()  # workspaces created (shown, or prepared in an idle pause)
        self._mounting = False  # a prepared workspace is still being composed (quitting waits for it)
        # Headless (tests, scripted pilots) only when asked: nobody waits for a key there, and an
        # app closed by its pilot mid-preparation would close a half-composed screen.
        self.prepare = prepare
        # No animations unless the user asks for them (TEXTUAL_ANIMATIONS=full): over SSH every
        # frame of a scroll animation is sent, and Tab to a field below the fold of a settings
        # column scrolled it over a dozen frames, each redrawing the column (a key press landing
        # meanwhile waited).  Scrolling jumps to where it goes, in one frame.
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"

    # ------------------------------------------------------------------ workspaces

    @property
    def workspaces(self) -> list[Workspace]:
        """The workspaces mounted so far (each is created when first shown)."""
        return list(self._workspaces)

    def workspace_mounted(self, workspace: Workspace) -> None:
        self._workspaces.append(workspace)

    def workspace_unmounted(self, workspace: Workspace) -> None:
        if workspace in self._workspaces:
            self._workspaces.remove(workspace)

    def switch_mode(self, mode: str) -> Any:
        self._shown_modes.add(self.current_mode)
        self._shown_modes.add(mode)
        return super().switch_mode(mode)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp,
                              events.Paste)):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _prepare_workspaces(self) -> None:
        """Create the workspaces not shown yet in idle pauses (see PREPARE_ORDER)."""
        prepare = self.prepare if self.prepare is not None else not self.is_headless
        if prepare and not self.deterministic:
            self._preparing = self.set_interval(PREPARE_EVERY, self._prepare_next)

    def _prepare_next(self) -> None:
        if not self.is_running:  # shutting down: its screens are being closed
            return
        pending = [mode for mode in PREPARE_ORDER if mode not in self._shown_modes and mode != self.current_mode]
        if not pending:
            self._preparing.stop()
            gc.freeze()  # the new screens join the rest of the long-lived heap
            return
        idle = time.monotonic() - self._last_input >= PREPARE_IDLE
        # Not while a modal is open or a run is followed (its charts come first), nor mid-switch.
        if (not idle or self._mounting or len(self.screen_stack) > 1 or self.session.training
                or not self.screen.is_mounted):
            return
        current = self.current_mode
        with self.batch_update():  # nothing of it reaches the terminal: the current screen stays
            mounted = self.switch_mode(pending[0])
            prepared = self.screen
            self.switch_mode(current)
        self._mounting = True
        self.run_worker(self._await_prepared(mounted, prepared), group="prepare", exit_on_error=False)

    async def _await_prepared(self, mounted: Any, screen: Screen[Any]) -> None:
        """Until the prepared screen is composed and has handled its resume and suspend."""
        try:
            await mounted
            handled = asyncio.Event()
            screen.call_later(handled.set)  # queued after them
            await handled.wait()
        finally:
            self._mounting = False

    # ------------------------------------------------------------------ the session

    def open_preset(self, preset: Preset) -> None:
        self.session.open_preset(preset)
        self.data_label = ""
        self.model_label = ""
        self._label_preset()
        for workspace in self.workspaces:
            workspace.post_message(PresetOpened(preset))
        if self.tf_ready:
            self.size_model()

    def dataset_loaded(self, spec: DataSpec, preview: Preview, *, by: Workspace | None = None) -> None:
        """A workspace loaded a dataset: it becomes the session's; the others are told."""
        self.session.dataset_loaded(spec, preview)
        for workspace in self.workspaces:
            if workspace is not by:
                workspace.data_changed()
        if self.tf_ready or self.deterministic:
            self.size_model()

    def model_opened(self, opened: OpenedModel) -> None:
        """A model file was opened: it becomes the working model; mapped layers become the stack."""
        self.session.model_opened(opened)
        for workspace in self.workspaces:
            workspace.stack_changed()
        self.size_model()

    def show_run(self, state: RunState) -> None:
        """Show a finished run (reopened from disk) in the Train workspace."""
        self.session.run_state = state
        self.action_switch_workspace("train")
        self.call_after_refresh(self.redraw_training, full=True)

    def _label_preset(self) -> None:
        self.preset_label = self.session.name
        self.sub_title = self.session.preset.title

    def after_first_frame(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the first frame is painted (plus a grace period, outside snapshots)."""
        if self.deterministic:
            self.call_after_refresh(callback)
        else:
            self.call_after_refresh(self.set_timer, FIRST_FRAME_GRACE, callback)

    # ------------------------------------------------------------------ TensorFlow

    def on_mount(self) -> None:
        # Heavy imports start once the first frame is on screen (a thread importing TensorFlow
        # holds the GIL for long stretches and would delay it).
        self.after_first_frame(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self._attach_live()
        if self.load_tensorflow_at_start:
            self.load_tensorflow()
        else:
            self.tf_label = "TensorFlow (not probed)"
            self.size_model()
            self._warm_up()

    @work(thread=True, exclusive=True, group="tensorflow", exit_on_error=False)
    def load_tensorflow(self) -> None:
        from kerastui.core.tfenv import devices, load_keras, start_runtime, versions

        background_priority()  # TensorFlow's thread pools are born here and inherit it
        try:
            load_keras()
            start_runtime()
            self.post_message(TensorFlowLoaded(versions(), devices()))
        except Exception as error:  # noqa: BLE001 - shown in the status line
            self.post_message(TensorFlowFailed(plain_message(error)))
        self._settle_heap()

    def _settle_heap(self) -> None:
        """Import the other workspaces' modules (each is created when first shown: this takes the
        imports out of that key press), then move every object alive to the permanent generation.
        With TensorFlow loaded a full garbage collection walks millions of objects (~0.3 s, a frozen
        screen); frozen, a collection walks only what the UI allocated since.  Start-up work ends
        here (a worker thread): the UI thread starts preparing the workspaces in idle pauses."""
        import importlib

        for module in ("model", "train", "saveload", "experiments", "runs"):
            importlib.import_module(f"kerastui.ui.screens.{module}")
        gc.freeze()
        self.call_from_thread(self._prepare_workspaces)

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def _warm_up(self) -> None:
        background_priority()
        self._settle_heap()

    @on(TensorFlowLoaded)
    def _tensorflow_loaded(self, message: TensorFlowLoaded) -> None:
        gpus = [d.get("model") or d["name"] for d in message.devices if d["type"] == "GPU"]
        where = ", ".join(gpus) if gpus else "CPU"
        self.tf_label = f"TF {message.versions['tensorflow']} · Keras {message.versions['keras']} · {where}"
        self.tf_ready = True
        self.size_model()

    def size_model(self) -> None:
        """The status line's model size, for the preset as it stands (the Model workspace keeps it current)."""
        self._size_model(self._sizes.new(), self.session.current_preset())

    @work(thread=True, group="model-size", exit_on_error=False)
    def _size_model(self, ticket: int, preset: Preset) -> None:
        from kerastui.core.check import stack_check

        if preset.transfer is not None:  # the size does not depend on the weights: nothing to download
            preset.transfer = replace(preset.transfer, weights="none")
        _, report = stack_check(preset)
        label = f"{report.totals['total']:,} params" if report.totals is not None else "model invalid"
        self.call_from_thread(self._sized, ticket, label)

    def _sized(self, ticket: int, label: str) -> None:
        if self._sizes.is_latest(ticket):
            self.model_label = label

    @on(TensorFlowFailed)
    def _tensorflow_failed(self, message: TensorFlowFailed) -> None:
        self.tf_label = "TensorFlow failed to load"
        self.notify(message.error, title="TensorFlow", severity="error", timeout=10)

    # ------------------------------------------------------------------ errors from any worker

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.report_worker_error(event)

    def report_worker_error(self, event: Worker.StateChanged) -> None:
        """Every worker failure, app or screen (their StateChanged does not bubble), lands here."""
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        text = plain_message(event.worker.error)
        self.notify(" ".join(text.split())[:300], title=event.worker.name or "error", severity="error", timeout=8)

    # ------------------------------------------------------------------ training: runs are processes

    def start_training(self, preset: Preset) -> None:
        """Start a run process for ``preset`` (detached from this terminal) and follow it."""
        session = self.session
        if session.training:
            self.notify("training is already running; x stops it", title="train", severity="warning")
            return
        session.training_started(preset)
        continued = session.continued_model(preset)
        opened = session.opened
        model_path = opened.path if continued is not None and opened is not None else None
        if model_path is not None:
            self.notify(f"training further from the weights of {model_path}", title="train")
        trusted = model_path is not None and opened is not None and not opened.safe_mode
        self.redraw_training(full=True)
        self._launch(preset, model_path, trusted)

    def resume_run(self, run_dir: Path) -> None:
        """Continue an interrupted or died run in its own directory, and follow it."""
        from kerastui.core.run.directory import RunDir
        from kerastui.core.run.process import check_resumable

        if self.session.training:
            self.notify("a run is being followed; x stops it first", title="resume", severity="warning")
            return
        try:
            status = check_resumable(RunDir(run_dir))
            preset = preset_files.load(run_dir / "preset.toml")
        except KerasTUIError as error:
            self.notify(str(error), title="resume", severity="error", timeout=8)
            return
        preset.name = str(status.get("preset") or preset.name)
        self.open_preset(preset)
        self.session.training_started(preset)
        self.action_switch_workspace("train")
        self.redraw_training(full=True)
        self._launch(preset, None, False, resume=run_dir)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def _launch(self, preset: Preset, model_path: str | None, trusted: bool, resume: Path | None = None) -> None:
        from kerastui.core.run.directory import RunDir
        from kerastui.core.run.process import launch

        try:
            launched = launch(preset, runs_dir=self.runs_dir, model_path=model_path, trusted=trusted,
                              resume=RunDir(resume) if resume is not None else None)
        except KerasTUIError as error:
            self.post_message(TrainingFailed(str(error)))
            return
        except OSError as error:
            self.post_message(TrainingFailed(f"cannot start the run process: {plain_message(error)}"))
            return
        self.call_from_thread(self.attach, launched.run_dir.path, launched.process)

    def attach(self, run_dir: Path, process: subprocess.Popen[bytes] | None = None, *, quiet: bool = False,
               adopt: bool = False) -> None:
        """Follow the run in ``run_dir``: its whole history drawn, then live until it ends.  ``adopt``:
        a run found on disk brings its preset too (the workspaces show the settings it runs with)."""
        state = self.session.run_state
        if state is None or not state.running or self.session.run_dir is not None:
            state = RunState(status="running")  # a run found on disk, not the one just started here
            if adopt:
                self._adopt_preset(run_dir)
        self.session.attached(run_dir, state)
        if not quiet:
            self.notify(f"following {run_dir.name}: it runs on if kerastui closes", title="run", timeout=4)
        self.redraw_training(full=True)
        self._follow(run_dir, process)

    def _adopt_preset(self, run_dir: Path) -> None:
        from kerastui.core.run.directory import read_json

        try:
            preset = preset_files.load(run_dir / "preset.toml")
        except KerasTUIError:
            return  # the history is still drawn; the workspaces keep what they show
        preset.name = str(read_json(run_dir / "status.json").get("preset") or preset.name)
        self.open_preset(preset)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self, run_dir: Path, process: subprocess.Popen[bytes] | None) -> None:
        """Read the run's event log as it grows (every FOLLOW_SECONDS) until its process ends."""
        from kerastui.core.run.directory import EventFollower, RunDir

        worker = get_current_worker()
        run = RunDir(run_dir)
        follower = EventFollower(run)
        last_status = 0.0
        while not worker.is_cancelled:
            events = follower.poll()
            if events:
                self.post_message(TrainingEvents(run_dir, events))
            now = time.monotonic()
            if now - last_status >= STATUS_SECONDS:
                last_status = now
                if process is not None:
                    process.poll()  # reap it: an exited child must not look alive
                status = run.status()
                if not status["state"].live:
                    events = follower.poll()  # what it wrote last
                    if events:
                        self.post_message(TrainingEvents(run_dir, events))
                    self.post_message(RunEnded(run_dir, status))
                    return
            time.sleep(FOLLOW_SECONDS)

    @on(TrainingEvents)
    def _training_events(self, message: TrainingEvents) -> None:
        state = self.session.run_state
        if state is None or message.run_dir != self.session.run_dir:
            return  # a run no longer followed
        epoch = final = False
        for event in message.events:
            state.apply(event)
            if isinstance(event, Notice) and event.level != "error" and len(message.events) < REPLAY_QUIET:
                self.notify(event.message, title="train", timeout=8,  # (a replayed history stays quiet)
                            severity="warning" if event.level == "warning" else "information")
            epoch = epoch or isinstance(event, EpochEnded)
            final = final or isinstance(event, TrainEnded)
        self._throttle.event(epoch=epoch, final=final)

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        if message.run_dir != self.session.run_dir:
            return
        self._load_run(message.run_dir, message.status, self.session.current_preset())

    @work(thread=True, exclusive=True, group="run-result", exit_on_error=False)
    def _load_run(self, run_dir: Path, status: dict[str, Any], fallback: Preset) -> None:
        """The run ended: its result from ``summary.json``; its saved model loaded back (the working
        model now) with the data it was trained on, and sample predictions."""
        from kerastui.core.run.directory import RunDir, read_json
        from kerastui.core.run.trainer import RunResult

        run = RunDir(run_dir)
        state = status.get("state")
        summary = read_json(run.summary_path)
        if state == "died" or not summary:
            said = _last_error_line(run.output_path)  # a run process that refused to start says why there
            self.post_message(TrainingFailed(said or (
                f"the run process ended without a result (state {state}); see {run.output_path}"
                + ("; r in Runs resumes it" if run.checkpoint_dir("train").parent.is_dir() else ""))))
            return
        result = RunResult.from_json(summary)
        if state == "failed" and result.status != "nan":
            self.post_message(TrainingFailed(str(status.get("error") or result.error or "the run failed")))
            return
        trained = None
        predictions: list[dict[str, Any]] = []
        images = None
        if (run.path / "model.keras").is_file() and result.status != "interrupted":
            try:
                trained, predictions, images = self._trained(run, fallback)
            except Exception as error:  # noqa: BLE001 - the run's result is still shown
                self.post_message(TrainingFinished(result, [], None))
                self.call_from_thread(self.notify, f"{run.path / 'model.keras'}: cannot load it back: "
                                      f"{plain_message(error)}", title="run", severity="warning", timeout=10)
                return
        self.post_message(TrainingFinished(result, predictions, images, trained))

    @staticmethod
    def _trained(run: Any, fallback: Preset) -> tuple[TrainedModel, list[dict[str, Any]], np.ndarray | None]:
        """The run's saved model loaded back, and the sample predictions (and images) it wrote."""
        import json

        import numpy as np

        from kerastui.core.model import presets
        from kerastui.core.model.builder import custom_metric_classes
        from kerastui.core.run.directory import read_json
        from kerastui.core.saving import load_model

        try:
            preset = presets.load(run.preset_path)
        except KerasTUIError:
            preset = fallback
        custom = custom_metric_classes(preset)
        trusted = bool(read_json(run.status_path).get("trusted"))
        model = load_model(run.path / "model.keras", custom_objects=custom, safe_mode=not trusted)
        try:
            predictions = json.loads((run.path / "predictions.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            predictions = []
        images = np.load(run.path / "samples.npy") if (run.path / "samples.npy").is_file() else None
        return TrainedModel(model, None, custom, str(run.path)), predictions, images

    @on(TrainingFinished)
    def _training_finished(self, message: TrainingFinished) -> None:
        result = message.result
        state = self.session.training_finished(result, message.predictions, message.images, message.trained)
        if state is None:
            return
        if state.status == "nan":
            self.notify(result.error or "loss became NaN", title="training stopped", severity="error", timeout=10)
        elif result.status == "interrupted":
            self.notify(f"interrupted after {result.epochs_run} epoch(s); r in Runs resumes it from its checkpoint",
                        title="run interrupted", severity="warning", timeout=10)
        else:
            acc = result.test.get("accuracy")
            summary = f"test accuracy {acc:.4f}" if acc is not None else f"test loss {result.test.get('loss', 0):.4f}"
            self.notify(f"{result.epochs_run} epoch(s), {summary}", title=f"training {state.status}")
        self.redraw_training(full=True)

    @on(TrainingFailed)
    def _training_failed(self, message: TrainingFailed) -> None:
        self.session.training_failed(message.error)
        self.notify(message.error, title="training failed", severity="error", timeout=10)
        self.redraw_training(full=True)

    def stop_training(self) -> None:
        run_dir = self.session.stop_requested()
        if run_dir is None:
            self.notify("nothing is training", title="train")
            return
        from kerastui.core.run.directory import RunDir
        from kerastui.core.run.process import stop

        try:
            stop(RunDir(run_dir))
        except KerasTUIError as error:
            self.notify(str(error), title="stop", severity="warning")
        self.redraw_training()

    def redraw_training(self, *, full: bool = False, epoch: bool = False) -> None:
        """Every workspace redraws what it shows of the current run."""
        for workspace in self.workspaces:
            workspace.redraw(full=full, epoch=epoch)

    def evaluate_again(self) -> None:
        trained = self.session.trained
        state = self.session.run_state
        if trained is None or self.session.training or state is None or state.result is None:
            self.notify("train a model first (and wait for it to finish)", title="evaluate")
            return
        self._evaluate(trained, state.result)

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False)
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
        self.post_message(TrainingFinished(result, predictions, images, trained))

    def action_request_quit(self) -> None:
        if self._mounting:  # a workspace being prepared: closing it half-composed would fail
            self.set_timer(0.05, self.action_request_quit)
            return
        if not self.session.training:
            self.exit()
            return
        from kerastui.ui.screens.dialogs import QuitDialog

        def answered(choice: str | None) -> None:
            if choice == "stop":
                self.stop_training()
                self.exit()
            elif choice == "leave":
                self.exit()

        run = self.session.run_dir.name if self.session.run_dir is not None else "a run"
        self.push_screen(QuitDialog(run), answered)

    def _attach_live(self) -> None:
        """At start: follow the run named on the command line, else the newest live run."""
        if self.attach_to is not None:
            self.attach(self.attach_to, adopt=True)
            self.action_switch_workspace("train")
            return
        if self.deterministic or self.session.run_state is not None:
            return
        self._scan_runs()

    @work(thread=True, exclusive=True, group="scan-runs", exit_on_error=False)
    def _scan_runs(self) -> None:
        """Read every run directory off the UI thread (hundreds take a while; the Runs workspace then
        opens from the cache), and follow the newest live run."""
        from kerastui.core.run.directory import live_runs

        background_priority()
        live = live_runs(self.runs_dir)
        if live:
            self.call_from_thread(self._follow_live, live)

    def _follow_live(self, live: list[Any]) -> None:
        if self.session.run_state is not None:  # something started meanwhile
            return
        # Its settings too, unless kerastui was opened with a preset to work on.
        self.attach(live[0].path, quiet=True, adopt=self.session.preset.path is None)
        others = f" (and {len(live) - 1} more: h shows them)" if len(live) > 1 else ""
        self.notify(f"following live run {live[0].name}{others}", title="run", timeout=6)

    # ------------------------------------------------------------------ actions

    def action_switch_workspace(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_open_preset(self) -> None:
        from kerastui.ui.screens.dialogs import PresetsDialog

        def opened(path: Path | None) -> None:
            if path is not None:
                self.open_preset_path(path)

        self.push_screen(PresetsDialog(), opened)

    def open_preset_path(self, path: str | Path) -> None:
        try:
            preset = preset_files.load(path)
        except KerasTUIError as error:
            self.notify(str(error), title="preset", severity="error", timeout=8)
            return
        self.open_preset(preset)
        self.notify(f"opened {preset.name}: {preset.title}", title="preset")

    def action_save_preset(self) -> None:
        from kerastui.core.run.directory import absolute_refs
        from kerastui.ui.screens.dialogs import SavePresetDialog

        def saved(path: Path | None) -> None:
            if path is not None:
                self.session.preset_saved(path)  # its file references made absolute
                self._label_preset()
                self.notify(f"saved {path}", title="preset")

        # Saved elsewhere than the original, its file.py:Class and data paths must stay reachable.
        self.push_screen(SavePresetDialog(absolute_refs(self.session.current_preset())), saved)

    def action_devices(self) -> None:
        from kerastui.ui.screens.devices import DevicesDialog

        self.push_screen(DevicesDialog(self.runs_dir, sample=not self.deterministic))

    def action_help(self) -> None:
        from kerastui.ui.screens.dialogs import HelpDialog

        self.push_screen(HelpDialog(self.screen.focused, self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, (key, fkey, label, tip) in WORKSPACES.items():
            yield SystemCommand(f"Workspace: {label}", f"{tip} (key {key}, or {fkey.upper()} from a text field)",
                                lambda mode=mode: self.action_switch_workspace(mode))
        yield SystemCommand("Open preset…", "Browse shipped and user presets (key o)", self.action_open_preset)
        yield SystemCommand("Save preset…", "Save the workspace as a preset (ctrl+s)", self.action_save_preset)
        yield SystemCommand("Help", "Help for the focused widget (F1)", self.action_help)
        if isinstance(screen, Workspace):
            yield from screen.system_commands()


def _last_error_line(path: Path) -> str | None:
    """The last ``kerastui: error:`` line a run process wrote to its output log, without the prefix."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = [line for line in lines if line.startswith("kerastui: error: ")]
    return found[-1].removeprefix("kerastui: error: ") if found else None


def make_app(preset: str | Path | Preset | None = None, *, load_tensorflow: bool = True,
             deterministic: bool = False, attach: Path | None = None, runs_dir: Path | None = None,
             prepare: bool | None = None) -> KerasTUI:
    """The one factory used by the CLI and by tests (``deterministic`` for snapshots: no clocks, no
    probe, no live runs looked for).  ``attach``: a run directory to follow from the start.
    ``prepare``: create the workspaces not shown yet in idle pauses (default: in a terminal, not
    headless)."""
    if isinstance(preset, (str, Path)):
        preset = preset_files.load(preset)
    return KerasTUI(preset, load_tensorflow=load_tensorflow and not deterministic, deterministic=deterministic,
                    attach=attach, runs_dir=runs_dir, prepare=prepare)

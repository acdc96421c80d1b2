"""KerasTUI, the shell: workspaces as MODES, global keys, presets, TensorFlow; runs go through RunLink."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kerastui.core.errors import plain_message
from kerastui.core.text import visible
from kerastui.core.tfenv import keep_off_gpus
from kerastui.ui.background import BackgroundWork
from kerastui.ui.commands import PresetCommands
from kerastui.ui.keyorder import KeysInOrder
from kerastui.ui.messages import (
    RunEnded,
    TensorFlowFailed,
    TensorFlowLoaded,
    TrainingEvents,
    TrainingFailed,
    TrainingFinished,
)
from kerastui.ui.presetflow import PresetFlow
from kerastui.ui.screens.base import Workspace
from kerastui.ui.stylesheet import SharedStylesheet
from kerastui.ui.throttle import RedrawThrottle
from kerastui.ui.widgets.tabs import WORKSPACES
from kerastui.ui.workspaces import MODES, WorkspacePreparer

if TYPE_CHECKING:
    from kerastui.core.data.datasets import Preview
    from kerastui.core.model.specs import DataSpec, Preset
    from kerastui.core.saving import OpenedModel
    from kerastui.ui.runlink import RunLink
    from kerastui.ui.session import Session
    from kerastui.ui.state import RunState

FIRST_FRAME_GRACE = 0.15  # seconds between the first frame and starting heavy imports
WORKSPACE_KEYS = Binding.Group("workspaces", compact=True)


class KerasTUI(KeysInOrder[None]):
    """A terminal workbench for Keras."""

    CSS_PATH = "app.tcss"
    TITLE = "kerastui"
    # Only the first workspace is imported before the first frame; the others when first shown.
    MODES = MODES
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

    def __init__(self, preset: Preset | str | None = None, *, load_tensorflow: bool = True,
                 deterministic: bool = False, attach: Path | None = None, runs_dir: Path | None = None,
                 prepare: bool | None = None) -> None:
        super().__init__()
        self.stylesheet = SharedStylesheet(variables=self.get_css_variables())  # parsed once, not thrice
        keep_off_gpus()  # the TUI never takes GPU memory: run processes own the devices
        self.attach_to = attach  # a run directory to follow from the start (kerastui attach)
        self.runs_dir = runs_dir  # where runs started here go (None: the default runs folder)
        # Snapshots and screenshots: no clocks (load times) and no device probe.
        self.deterministic = deterministic
        # The session is created when first needed: for a shipped preset's name (or none), after the
        # first frame (its specs and TOML parser are not imported before it).
        self._preset: Preset | str | None = preset
        self._session: Session | None = None
        self._workspaces: list[Workspace] = []  # the mounted workspaces, in the order they were first shown
        self.background = BackgroundWork(self)  # TensorFlow, the heap, the model's size: in worker threads
        self.throttle = RedrawThrottle(lambda epoch: self.redraw_training(epoch=epoch), self.set_timer,
                                       every_event=deterministic,
                                       since_key=self.seconds_since_key)
        self._runs: RunLink | None = None  # created when first needed: its imports wait for the first frame
        self.presets = PresetFlow(self)  # open, save, and the question before unsaved edits go
        self.load_tensorflow_at_start = load_tensorflow
        if preset is None or isinstance(preset, str):  # the title comes with the session
            self.preset_label = visible(preset or "untitled", one_line=True)  # (Session()'s name)
        else:
            self.label_preset()
        # Headless (tests, scripted pilots) only when asked: nobody waits for a key there, and an
        # app closed by its pilot mid-preparation would close a half-composed screen.
        self.preparer = WorkspacePreparer(self, prepare)
        # No animations unless asked for (TEXTUAL_ANIMATIONS=full): over SSH every frame of a scroll is
        # sent, and Tab to a field below the fold scrolled a settings column over a dozen frames, each
        # redrawing it (a key press landing meanwhile waited).  Scrolling jumps there in one frame.
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"

    @property
    def session(self) -> Session:
        """What the user works on (the preset, its stack, the dataset, the run); created when first
        needed: a shipped preset named at start is loaded then (it cannot fail: tests load each)."""
        if self._session is None:
            from kerastui.ui.session import Session

            preset = self._preset
            if isinstance(preset, str):
                from kerastui.core.model import presets as preset_files

                preset = preset_files.load(preset)
            self._session = Session(preset) if preset is not None else Session()
            self._preset = None
            self.label_preset()
        return self._session

    @property
    def runs(self) -> RunLink:
        """Starts, follows, stops and resumes runs (the core's run client); created when first needed
        (after the first frame: the run client and the dialogs it asks with are not imported before)."""
        if self._runs is None:
            from kerastui.ui.runlink import RunLink

            self._runs = RunLink(self)
        return self._runs

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
        self.preparer.shown(self.current_mode, mode)
        return super().switch_mode(mode)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp,
                              events.Paste)):
            self.preparer.input_seen()
            if self._runs is not None:
                self._runs.input_seen()
            screen = self.screen_stack[-1] if self.screen_stack else None
            if isinstance(screen, Workspace):
                screen.input_seen()
        await super().on_event(event)

    # ------------------------------------------------------------------ the session

    def open_preset(self, preset: Preset) -> None:
        self.session.open_preset(preset)
        self.data_label = ""
        self.model_label = ""
        self.label_preset()
        for workspace in self.workspaces:
            workspace.preset_opened()
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

    def label_preset(self) -> None:
        self.preset_label = visible(self.session.name, one_line=True)
        self.sub_title = visible(self.session.preset.title, one_line=True)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notice of the app and its screens (theirs come here too): it quotes names, paths and
        errors from files, so it is never read as markup and its control characters are shown."""
        super().notify(visible(message), title=visible(title, one_line=True), severity=severity, timeout=timeout,
                       markup=False)

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
        if not self.is_headless:  # a real terminal: when it hangs up, the app ends (runs go on)
            from kerastui.ui.terminal import exit_when_the_terminal_hangs_up

            exit_when_the_terminal_hangs_up(self)

    def on_unmount(self) -> None:
        if self._runs is not None:  # the terminal's session gets its CPU priority back (runs go on)
            self._runs.priority.give_back()

    def _after_first_frame(self) -> None:
        self.session  # noqa: B018 - a shipped preset named at start is loaded now
        self._attach_live()
        if self.load_tensorflow_at_start:
            self.background.load_tensorflow()
        else:
            self.tf_label = "TensorFlow (not probed)"
            self.size_model()
            self.background.warm_up()

    @on(TensorFlowLoaded)
    def _tensorflow_loaded(self, message: TensorFlowLoaded) -> None:
        gpus = [d.get("model") or d["name"] for d in message.devices if d["type"] == "GPU"]
        where = ", ".join(gpus) if gpus else "CPU"
        self.tf_label = f"TF {message.versions['tensorflow']} · Keras {message.versions['keras']} · {where}"
        self.tf_ready = True
        self.size_model()

    def size_model(self) -> None:
        self.background.size_model()

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

    # ------------------------------------------------------------------ runs: processes, followed by RunLink

    @on(TrainingEvents)
    def _training_events(self, message: TrainingEvents) -> None:
        self.runs.events(message)

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        self.runs.ended(message)

    @on(TrainingFinished)
    def _training_finished(self, message: TrainingFinished) -> None:
        self.runs.finished(message)

    @on(TrainingFailed)
    def _training_failed(self, message: TrainingFailed) -> None:
        self.runs.failed(message)

    def redraw_training(self, *, full: bool = False, epoch: bool = False) -> None:
        """The workspace shown (under any dialog) redraws the run; others when next shown (run_changed)."""
        shown = next((screen for screen in reversed(self.screen_stack) if isinstance(screen, Workspace)), None)
        for workspace in self.workspaces:
            workspace.run_changed(shown=workspace is shown, full=full, epoch=epoch)

    def action_request_quit(self) -> None:
        if self.preparer.mounting:  # a workspace being prepared: closing it half-composed would fail
            self.set_timer(0.05, self.action_request_quit)
            return
        if not self.session.training:
            self.exit()
            return
        from kerastui.ui.screens.dialogs import QuitDialog

        def answered(choice: str | None) -> None:
            if choice == "stop":
                self.runs.stop()
                self.exit()
            elif choice == "leave":
                self.exit()

        run = self.session.run_dir.name if self.session.run_dir is not None else "a run"
        self.push_screen(QuitDialog(run), answered)

    def _attach_live(self) -> None:
        """At start: follow the run named on the command line, else the newest live run."""
        if self.attach_to is not None:
            self.runs.attach(self.attach_to, adopt=True)
            self.action_switch_workspace("train")
            return
        if self.deterministic or self.session.run_state is not None:
            return
        self.runs.follow_newest_live()

    # ------------------------------------------------------------------ actions

    def action_switch_workspace(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)
            screen = self.screen
            if isinstance(screen, Workspace):
                screen.arriving()  # it opens on its own widget, never inside a text field

    def action_open_preset(self) -> None:
        self.presets.open()

    def open_preset_path(self, path: str | Path) -> None:
        self.presets.open_path(path)

    def unless_unsaved(self, what: str, proceed: Callable[[], object]) -> None:
        self.presets.unless_unsaved(what, proceed)

    def action_save_preset(self) -> None:
        self.presets.save()

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


def make_app(preset: str | Path | Preset | None = None, *, load_tensorflow: bool = True,
             deterministic: bool = False, attach: Path | None = None, runs_dir: Path | None = None,
             prepare: bool | None = None) -> KerasTUI:
    """The one factory used by the CLI and by tests (``deterministic`` for snapshots: no clocks, no
    probe, no live runs looked for).  ``attach``: a run directory to follow from the start.
    ``prepare``: create the workspaces not shown yet in idle pauses (default: in a terminal, not
    headless).  A preset file or a user's preset is loaded here, so that its error is the CLI's one
    line before any screen; a shipped preset's name is loaded after the first frame."""
    from kerastui.core.model.presetdirs import shipped_name

    # What the imports left (the workbench's modules, Textual's) lives as long as the app: frozen, no
    # garbage collection walks it again (a full one before the first frame cost ~14 ms).
    gc.freeze()

    if isinstance(preset, Path) or (isinstance(preset, str) and not shipped_name(preset)):
        from kerastui.core.model import presets as preset_files

        preset = preset_files.load(preset)
    return KerasTUI(preset, load_tensorflow=load_tensorflow and not deterministic, deterministic=deterministic,
                    attach=attach, runs_dir=runs_dir, prepare=prepare)

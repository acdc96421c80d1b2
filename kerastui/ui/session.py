"""The workbench's session: what the user is working on, apart from any screen.

Plain Python (no Textual): the preset, its layer stack, the dataset preview, the current run (a
run process the TUI follows through its directory), the last run's model, a model file opened for
work, and which of the last two is the *working
model* (what Save/Load saves, evaluates and predicts with).  The app (the shell) holds one
Session.  Workspaces read it; a workspace edits what only it shows (the Model workspace the layer
stack), and asks the app for every change other workspaces must hear of: the app calls the
Session's methods below, then tells the workspaces.  Unit-tested without a pilot
(tests/unit/test_session.py).

The session is the one owner of the preset being edited: a form keeps no copy of it.  Each edit
of a settings form goes here at once (:meth:`Session.edit`, :meth:`Session.use_custom_metric`,
:meth:`Session.use_transfer`), a value that does not parse never does (the form shows why and
the session keeps the last good one), and Save, the model size, every start and export read
:meth:`Session.current_preset`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from kerastui.core.model.metrics import place_mirror
from kerastui.core.model.specs import (
    CallbacksSpec,
    CompileSpec,
    DataSpec,
    DevicesSpec,
    FitSpec,
    LayerSpec,
    ObjectSpec,
    Preset,
    TransferSpec,
)
from kerastui.core.model.stack import LayerStack

# Heavy modules (TensorFlow) are imported by the workers that create these objects; the run's (its
# state and status) where a run starts or ends: none of them is needed before the first frame.
if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from kerastui.core.data.datasets import Dataset, Preview
    from kerastui.core.run.status import RunStatus
    from kerastui.core.run.trainer import RunResult
    from kerastui.core.saving import OpenedModel
    from kerastui.ui.state import RunState


class Origin(Enum):
    """Where the working model came from."""

    NONE = "none"  # neither trained here nor opened yet
    TRAINED = "trained"  # the last run's model
    OPENED = "opened"  # a model file opened in the Save/Load workspace


@dataclass(frozen=True)
class WorkingModel:
    """The model Save/Load works with: a Keras model or a SavedModel object, its format, and a
    phrase saying where it came from ("trained here (runs/…)", "opened models/ex2.keras")."""

    model: Any
    format: str
    where: str


@dataclass(frozen=True)
class TrainedModel:
    """A finished run's model, loaded back into the TUI from the run directory, with the data it
    was trained on (prepared here again) and the custom objects its file needs."""

    model: Any
    data: Dataset | None
    custom_objects: dict[str, Any]
    run_dir: str


@dataclass
class Session:
    preset: Preset = field(default_factory=lambda: Preset(title="untitled", name="untitled"))
    stack: LayerStack = field(init=False)
    dataset_preview: Preview | None = None
    run_state: RunState | None = None  # the current or last run, as the TUI shows it
    run_dir: Path | None = None  # the directory of the run followed now (live or just ended)
    trained: TrainedModel | None = None  # the last finished run's model: it stays usable
    opened: OpenedModel | None = None
    origin: Origin = Origin.NONE
    prediction_images: np.ndarray | None = None  # the last run's sample images, scaled for display
    _clean: Preset = field(init=False, repr=False)  # the preset as last opened or saved

    def __post_init__(self) -> None:
        self.stack = LayerStack(list(self.preset.model.layers))
        self._mark_clean()

    @property
    def name(self) -> str:
        """The preset's label for the status line."""
        return self.preset.name or self.preset.title or "untitled"

    @property
    def training(self) -> bool:
        return self.run_state is not None and self.run_state.running

    def current_preset(self) -> Preset:
        """The workspace state as a preset (what Save writes and what training would run)."""
        preset = copy.deepcopy(self.preset)
        preset.model.layers = copy.deepcopy(self.stack.layers)
        return preset

    @property
    def unsaved(self) -> bool:
        """Whether the workspace holds edits that opening another preset (or a run's) would throw away:
        the preset as it stands differs from the one last opened or saved (a form's edit, a layer, a
        model file's layers, a dataset loaded with other settings)."""
        return self.current_preset() != self._clean

    def _mark_clean(self) -> None:
        self._clean = self.current_preset()

    # ------------------------------------------------------------------ edits: every form writes here at once

    def edit(self, *, compile: CompileSpec | None = None, fit: FitSpec | None = None, data: DataSpec | None = None,
             callbacks: CallbacksSpec | None = None, devices: DevicesSpec | None = None,
             transfer: TransferSpec | None = None) -> None:
        """A form's edit: each section given (parsed and valid) replaces the preset's; None leaves it.
        Copies are kept: the caller's objects are never shared with the preset."""
        sections = {"compile": compile, "fit": fit, "data": data, "callbacks": callbacks, "devices": devices,
                    "transfer": transfer}
        for name, section in sections.items():
            if section is not None:
                setattr(self.preset, name, copy.deepcopy(section))

    def use_transfer(self, spec: TransferSpec, head: list[LayerSpec]) -> None:
        """The preset becomes a transfer preset: a keras.applications base (``spec``) under ``head``,
        which becomes the layer stack (a preset that already is one keeps its head: only ``spec`` changes)."""
        if self.preset.transfer is None:
            self.preset.model = replace(self.preset.model, type="sequential", subclass=None,
                                        layers=copy.deepcopy(head))
            self.stack = LayerStack(copy.deepcopy(head))
        self.preset.transfer = copy.deepcopy(spec)

    def use_custom_metric(self, ref: str, mirror: str | ObjectSpec | None = None) -> str | None:
        """``file.py:Class`` becomes the preset's custom metric (the one the Experiments workspace
        compares).  With ``mirror``, the built-in metric it is compared with joins the metrics (once:
        an equal one already there is used) and the key that built-in is logged under is returned."""
        compile = self.preset.compile
        metrics, key = list(compile.metrics), None
        if mirror is not None:
            metrics, key = place_mirror(metrics, mirror)
        self.preset.compile = replace(compile, metrics=metrics, custom_metrics=[ref])
        return key

    # ------------------------------------------------------------------ changes

    def open_preset(self, preset: Preset) -> None:
        """A new preset replaces the current one: its stack, no dataset yet, no opened model (the
        last run's model stays the working model if there is one)."""
        self.preset = preset
        self.stack = LayerStack(list(preset.model.layers))
        self.opened = None
        self.dataset_preview = None
        if self.origin is Origin.OPENED:
            self.origin = Origin.TRAINED if self._trained_model() is not None else Origin.NONE
        self._mark_clean()

    def model_opened(self, opened: OpenedModel) -> None:
        """A model file was opened: it becomes the working model; mapped layers become the stack."""
        self.opened = opened
        self.origin = Origin.OPENED
        if opened.specs is not None:
            self.preset.model.type = "sequential"
            self.preset.model.subclass = None
            self.preset.transfer = None
            self.stack = LayerStack(list(opened.specs))

    def training_started(self, preset: Preset) -> RunState:
        """A run of ``preset`` starts: its settings become the session's (the stack stays)."""
        from kerastui.core.run.status import RunStatus
        from kerastui.ui.state import RunState

        self.preset.compile, self.preset.fit = preset.compile, preset.fit
        self.preset.callbacks, self.preset.data = preset.callbacks, preset.data
        self.preset.transfer = preset.transfer
        self.run_state = RunState(status=RunStatus.STARTING)  # its process loads TensorFlow first
        self.run_dir = None  # until its run process has a directory
        self.prediction_images = None
        return self.run_state

    def attached(self, run_dir: Path, state: RunState) -> None:
        """The TUI follows the run in ``run_dir`` (started here, or one found live)."""
        self.run_dir = run_dir
        self.run_state = state
        state.run_dir = str(run_dir)

    def stop_requested(self) -> Path | None:
        """The run to ask to stop at the end of its batch (None when nothing is training)."""
        from kerastui.core.run.status import RunStatus

        if self.run_state is None or not self.training or self.run_dir is None:
            return None
        self.run_state.status = RunStatus.STOPPING
        return self.run_dir

    def training_finished(self, result: RunResult, predictions: list[dict[str, Any]],
                          images: np.ndarray | None, trained: TrainedModel | None = None) -> RunState | None:
        """The run ended (finished, stopped, NaN, interrupted, or evaluated again): its result, sample
        predictions and images are shown, and its model, when it saved one, is the working model now."""
        state = self.run_state
        if state is None:
            return None
        state.result = result
        state.predictions = predictions
        state.run_dir = result.run_dir or state.run_dir
        self.prediction_images = images
        if trained is not None:
            self.trained = trained
        if trained is not None:
            self.origin = Origin.TRAINED
        state.ended(result.status)
        if result.status == "nan":
            state.error = result.error
        return state

    def run_model_adopted(self, trained: TrainedModel) -> None:
        """A finished run's saved model, loaded back (a sweep's best trial), becomes the working model."""
        self.trained = trained
        self.origin = Origin.TRAINED

    def training_failed(self, error: str, status: RunStatus | None = None) -> None:
        """The run failed, or died or is damaged (``status``): why, in one line."""
        from kerastui.core.run.status import RunStatus

        if self.run_state is not None:
            self.run_state.status = status if status in (RunStatus.DIED, RunStatus.DAMAGED) else RunStatus.FAILED
            self.run_state.error = error

    def dataset_loaded(self, spec: DataSpec, preview: Preview) -> None:
        self.preset.data = spec
        self.dataset_preview = preview

    def preset_saved(self, path: Path) -> None:
        """The preset was saved as ``path`` (in the user's folder): its file references made absolute."""
        from kerastui.core.run.directory import absolute_refs

        self.preset = absolute_refs(self.preset)
        self.preset.name = path.stem
        self.preset.path = path
        self._mark_clean()

    # ------------------------------------------------------------------ questions

    def continued_model(self, preset: Preset) -> Any | None:
        """The opened model's Keras object when training should go on from its weights: it is the
        working model and the layer stack is still the one it was opened with (or it is read-only)."""
        opened = self.opened
        if self.origin is not Origin.OPENED or opened is None or not opened.is_keras:
            return None
        if opened.specs is not None and list(preset.model.layers) != list(opened.specs):
            return None  # the stack was edited since: build it anew
        return opened.model

    def working_model(self) -> WorkingModel | None:
        if self.origin is Origin.OPENED and self.opened is not None:
            return WorkingModel(self.opened.model, self.opened.format, f"opened {self.opened.path}")
        model = self._trained_model()
        if model is not None and not self.training:
            run_dir = self.trained.run_dir if self.trained is not None else None
            where = f"trained here ({run_dir})" if run_dir else "trained here"
            return WorkingModel(model, "keras", where)
        return None

    def trained_data(self) -> Any | None:
        """The last run's prepared data while its model is the working model (Save/Load reuses it)."""
        trained = self.trained
        if trained is not None and trained.data is not None and self.origin is Origin.TRAINED:
            return trained.data
        return None

    def custom_objects(self) -> dict[str, Any]:
        """What the working model's file needs to load (custom metrics, a subclass)."""
        if self.origin is Origin.OPENED and self.opened is not None:
            return dict(self.opened.custom_objects or {})
        return dict(self.trained.custom_objects) if self.trained is not None else {}

    def _trained_model(self) -> Any | None:
        return self.trained.model if self.trained is not None else None

"""What the app does off the UI thread at start and after: TensorFlow loaded after the first frame,
the heap settled (the other workspaces' modules imported, then frozen), and the status line's model
size.  A helper of the app (the shell), as RunLink is for runs and PresetFlow for presets."""

from __future__ import annotations

import gc
import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

from kerastui.core.errors import plain_message
from kerastui.ui.latest import Requests
from kerastui.ui.messages import TensorFlowFailed, TensorFlowLoaded
from kerastui.ui.priority import in_background

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset
    from kerastui.ui.app import KerasTUI


class BackgroundWork:
    """The app's start-up work and model sizes, each in a worker thread."""

    def __init__(self, app: KerasTUI) -> None:
        self.app = app
        self._sizes = Requests()  # model-size checks for the status line: the latest wins

    def load_tensorflow(self) -> None:
        """TensorFlow and Keras, then the heap settled; TensorFlowLoaded (or TensorFlowFailed) is posted."""
        # (in a thread of its own at the background priority: TensorFlow's thread pools are born there)
        self.app.run_worker(lambda: in_background(self._load_tensorflow), name="load_tensorflow", thread=True,
                            exclusive=True, group="tensorflow", exit_on_error=False)

    def _load_tensorflow(self) -> None:
        from kerastui.core.tfenv import devices, load_keras, start_runtime, versions

        try:
            load_keras()
            start_runtime()
            self.app.post_message(TensorFlowLoaded(versions(), devices()))
        except Exception as error:  # noqa: BLE001 - shown in the status line
            self.app.post_message(TensorFlowFailed(plain_message(error)))
        self._settle_heap()

    def warm_up(self) -> None:
        """The heap settled without TensorFlow (tests, snapshots)."""
        self.app.run_worker(lambda: in_background(self._settle_heap), name="warm_up", thread=True, exclusive=True,
                            group="warm", exit_on_error=False)

    def _settle_heap(self) -> None:
        """Import the other workspaces' modules (each is created when first shown: this takes the
        imports out of that key press), then move every object alive to the permanent generation.
        With TensorFlow loaded a full garbage collection walks millions of objects (~0.3 s, a frozen
        screen); frozen, a collection walks only what the UI allocated since.  Start-up work ends
        here (a worker thread): the UI thread starts preparing the workspaces in idle pauses."""
        for module in ("model", "train", "saveload", "experiments", "runs", "sweeps"):
            importlib.import_module(f"kerastui.ui.screens.{module}")
        importlib.import_module("optuna")  # the Sweeps workspace opens studies: out of its first key press
        gc.freeze()
        self.app.call_from_thread(self.app.preparer.start)

    def size_model(self) -> None:
        """The status line's model size, for the preset as it stands (the Model workspace keeps it current)."""
        ticket, preset = self._sizes.new(), self.app.session.current_preset()
        self.app.run_worker(lambda: self._size_model(ticket, preset), name="size_model", thread=True,
                            group="model-size", exit_on_error=False)

    def _size_model(self, ticket: int, preset: Preset) -> None:
        from kerastui.core.check import stack_check

        if preset.transfer is not None:  # the size does not depend on the weights: nothing to download
            preset.transfer = replace(preset.transfer, weights="none")
        _, report = stack_check(preset)
        label = f"{report.totals['total']:,} params" if report.totals is not None else "model invalid"
        self.app.call_from_thread(self._sized, ticket, label)

    def _sized(self, ticket: int, label: str) -> None:
        if self._sizes.is_latest(ticket):
            self.app.model_label = label

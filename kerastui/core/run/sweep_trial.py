"""A sweep trial's reporter: the sink a run process adds when its environment says it is a trial.

The sweep's worker starts the run with the sweep's name, the trial's number and the storage in its
environment (``KERASTUI_SWEEP``, ``KERASTUI_TRIAL``, ``KERASTUI_SWEEP_STORAGE``).  Each whole epoch,
the reporter tells the trial the objective (``trial.report(value, epoch)``) and the epoch reached,
then asks the sweep's pruner; when it says prune (never at the last epoch: that trial is complete),
it asks the trainer to stop with reason ``pruned`` — the run ends at that epoch's end, evaluates and
saves like a stop, and its state is ``pruned``.  A storage that does not answer never stops the
training: the run goes on unreported (said once in its log) and its worker tells the end.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import one_line
from kerastui.core.model.sweepspace import direction, objective
from kerastui.core.run.events import EpochEnded, Event, Notice
from kerastui.core.run.sweep import ENV_STORAGE, ENV_SWEEP, ENV_TRIAL, Storage, make_pruner

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.trainer import Trainer


class TrialReporter:
    """``sink(event)``: the objective of each whole epoch to the trial; ``pruned`` when the pruner says so."""

    def __init__(self, preset: Preset, sweep: str, number: int, storage: str) -> None:
        assert preset.sweep is not None
        self.sweep = sweep
        self.number = number
        self.spec = preset.sweep
        self.objective = objective(preset)
        self.direction = direction(preset)
        self.planned = preset.planned_epochs
        self.storage = Storage(storage)
        self.trainer: Trainer | None = None
        self._trial: Any = None
        self._failed = False

    @classmethod
    def from_environment(cls, preset: Preset) -> TrialReporter | None:
        """The reporter of a run its environment names a sweep's trial (None for any other run)."""
        sweep, number, storage = (os.environ.get(k) for k in (ENV_SWEEP, ENV_TRIAL, ENV_STORAGE))
        if not sweep or not storage or number is None or not number.isdigit() or preset.sweep is None:
            return None
        return cls(preset, sweep, int(number), storage)

    @property
    def status_fields(self) -> dict[str, Any]:
        """What the run's status says of it: its sweep and trial (``kerastui runs`` shows them)."""
        return {"sweep": self.sweep, "trial": self.number}

    def _connect(self) -> Any:
        if self._trial is None:
            import optuna

            storage = self.storage.optuna
            study = optuna.load_study(study_name=self.sweep, storage=storage,
                                      pruner=make_pruner(self.spec, self.planned))
            study_id = storage.get_study_id_from_name(self.sweep)
            self._trial = optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id,
                                                                                                    self.number))
        return self._trial

    def __call__(self, event: Event) -> None:
        if not isinstance(event, EpochEnded) or event.batches is not None or self._failed:
            return
        value = event.logs.get(self.objective)
        if value is None or not math.isfinite(value):
            return
        epoch = event.epoch + 1
        try:
            trial = self._connect()
            with warnings.catch_warnings():  # an epoch reported again (a resumed run): Optuna keeps the first
                warnings.simplefilter("ignore")
                trial.report(float(value), epoch)
                trial.set_user_attr("epoch", epoch)
                prune = epoch < self.planned and trial.should_prune()
        except Exception as error:  # noqa: BLE001 - the run goes on; its worker tells the end
            self._failed = True
            self._say(f"sweep {self.sweep}: trial {self.number} no longer reports to its study "
                      f"({self.storage.reason(error) if not isinstance(error, KeyError) else one_line(error)})",
                      "warning")
            return
        if prune and self.trainer is not None:
            self._say(f"sweep {self.sweep}: trial {self.number} pruned after epoch {epoch} "
                      f"({self.objective} {value:.4g}, by the {self.spec.pruner} pruner)")
            self.trainer.request_stop("pruned")

    def _say(self, text: str, level: str = "info") -> None:
        if self.trainer is not None:
            self.trainer.emit(Notice(text, level))

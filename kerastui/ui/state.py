"""The state of a training run as the TUI shows it, folded from the trainer's events.

Plain Python (no Textual), so it is fed the same way by a live run, a recorded event stream
(snapshots) or a run directory reopened from disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kerastui.core.run.events import BatchEnded, EpochEnded, Notice, TrainEnded, TrainStarted
from kerastui.core.run.history import best, event_of, fold
from kerastui.core.run.status import RunStatus, status_label, status_of

if TYPE_CHECKING:
    from kerastui.core.run.trainer import RunResult

STEP_POINTS = 4000  # per-step loss points kept (a chart is at most a few hundred columns wide)


@dataclass
class RunState:
    """A run as the TUI shows it: ``status`` from the one vocabulary (:class:`RunStatus`), ``outcome``
    the trainer's finer word once it ended (``early_stopping``, ``nan``…)."""

    status: RunStatus = RunStatus.STARTING
    outcome: str = ""
    phase: str = ""
    epochs_planned: int = 0
    initial_epoch: int = 0
    steps: int = 0
    samples: int = 0
    batch_size: int = 0
    epoch: int = 0  # current epoch, 0-based across phases
    batch: int = 0
    batch_logs: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    # The training loss at each batch event (throttled by the run), x in epochs (epoch + batch/steps);
    # halved (every other point) whenever it reaches STEP_POINTS, so a long run costs a bounded list.
    step_loss: list[tuple[float, float]] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    peak_memory: list[int | None] = field(default_factory=list)  # per epoch: bytes on the busiest GPU
    devices: list[str] = field(default_factory=list)  # where the run trains (TrainStarted)
    replicas: int = 1
    precision: str = "float32"
    boundaries: list[int] = field(default_factory=list)  # epochs where a new phase began
    notices: list[str] = field(default_factory=list)
    result: RunResult | None = None  # when finished
    predictions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    run_dir: str | None = None
    clock: Callable[[], float] = time.perf_counter
    # Throughput from the run's own times (each event read from its log carries when it was written; a
    # replayed history arrives in one burst): the epoch's first moment seen, and its last batch.
    _anchor: tuple[float, int] = (0.0, 0)
    _last: tuple[float, int] = (0.0, 0)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "status" and not isinstance(value, RunStatus):  # a word from a result or a run's files
            value = RunStatus.parse(value) or status_of(str(value))
        super().__setattr__(name, value)

    @property
    def running(self) -> bool:
        return self.status in (RunStatus.RUNNING, RunStatus.STOPPING, RunStatus.STARTING)

    @property
    def label(self) -> str:
        """``running``, ``completed · early stopping``, ``failed · loss NaN``: as the Runs table says it."""
        return status_label(self.status, self.outcome)

    def ended(self, outcome: str) -> None:
        """The run ended with the trainer's ``outcome`` (its result's status)."""
        self.status, self.outcome = status_of(outcome), outcome

    @property
    def epochs_done(self) -> int:
        return len(next(iter(self.history.values()), []))

    def apply(self, event: Any) -> None:
        if isinstance(event, TrainStarted):
            self.status = RunStatus.STOPPING if self.status == RunStatus.STOPPING else RunStatus.RUNNING
            if self.phase and event.phase != self.phase:
                self.boundaries.append(event.initial_epoch)
            self.phase = event.phase
            self.epochs_planned = event.planned or event.initial_epoch + event.epochs
            self.initial_epoch = event.initial_epoch
            self.steps = event.steps_per_epoch
            self.samples = event.samples
            self.batch_size = event.batch_size
            self.devices, self.replicas, self.precision = list(event.devices), event.replicas, event.precision
            self.epoch = event.initial_epoch
            self.batch = 0
            self._anchor = self._last = (self._when(event), 0)
        elif isinstance(event, BatchEnded):
            if event.epoch != self.epoch or event.batch < self.batch:
                self._anchor = (self._when(event), 0)
            self._last = (self._when(event), (event.batch + 1) * self.batch_size)
            self.epoch, self.batch, self.steps = event.epoch, event.batch, event.steps
            self.batch_logs = dict(event.logs)
            loss = event.logs.get("loss")
            if loss is not None and event.steps:
                self.step_loss.append((event.epoch + (event.batch + 1) / event.steps, float(loss)))
                if len(self.step_loss) >= STEP_POINTS:
                    del self.step_loss[1::2]
        elif isinstance(event, EpochEnded):
            if event.batches is not None:  # logged by earlier versions: an epoch cut short is no epoch
                return
            fold(self.history, event.epoch, event.logs)
            del self.epoch_seconds[event.epoch:], self.peak_memory[event.epoch:]
            self.epoch_seconds.append(event.seconds)
            self.peak_memory.append(event.peak_memory)
            self.epoch = event.epoch + 1
            self.batch = 0
            self._anchor = self._last = (self._when(event), 0)
        elif isinstance(event, TrainEnded):
            if event.reason in ("interrupted", "stopped") or self.status == RunStatus.STOPPING:
                self.status = RunStatus.STOPPING  # evaluating and saving, or checkpointing: not over yet
            elif event.reason == "nan":
                self.ended("nan")
        elif isinstance(event, Notice):
            self.notices.append(event.message)

    # ------------------------------------------------------------------ derived figures

    def _when(self, event: TrainStarted | BatchEnded | EpochEnded) -> float:
        return event.t if event.t is not None else self.clock()

    @property
    def samples_per_second(self) -> float | None:
        """Samples a second in the epoch under way, between the run's own times of its start (or of
        the first batch seen) and of its last batch (None until there are two)."""
        elapsed = self._last[0] - self._anchor[0]
        done = self._last[1] - self._anchor[1]
        return done / elapsed if elapsed > 0 and done > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.samples_per_second
        if not rate or not self.steps:
            return None
        left_in_epoch = max(self.steps - self.batch - 1, 0) * self.batch_size
        epochs_left = max(self.epochs_planned - self.epoch - 1, 0)
        per_epoch = self.steps * self.batch_size
        return (left_in_epoch + epochs_left * per_epoch) / rate

    @property
    def epoch_label(self) -> str:
        """``epoch 3/10``: the epoch under way while running, else the epochs done (never past the plan).
        Before the run's fit began (no epochs planned yet): what a starting run waits for."""
        if not self.epochs_planned and not self.epochs_done:
            if self.status == RunStatus.STARTING:
                return "loading TensorFlow, the data and the model"
            if self.running:
                return "preparing"
        current = self.epoch + 1 if self.running else self.epochs_done
        return f"epoch {min(current, self.epochs_planned)}/{self.epochs_planned}"

    def best(self) -> dict[str, Any]:
        """``{"metric", "value", "epoch"}`` of the run's best epoch by its headline metric (the one rule)."""
        return best(self.history)

    def best_epoch(self, metric: str | None = None) -> int | None:
        """The 1-based best epoch by ``metric`` (default: the run's headline metric, the rule of
        :func:`kerastui.core.run.history.best` that the Runs table and ``kerastui runs`` use too)."""
        found = best(self.history, metric)
        if not found and metric is not None:  # no validation values: the training ones
            found = best(self.history, metric.removeprefix("val_"))
        epoch = found.get("epoch")
        return epoch if isinstance(epoch, int) else None

    @classmethod
    def from_metrics(cls, rows: list[dict[str, Any]], status: RunStatus | str = RunStatus.COMPLETED,
                     outcome: str = "") -> RunState:
        """A finished run rebuilt from ``metrics.jsonl`` (reopened from the Runs view)."""
        state = cls(status=status if isinstance(status, RunStatus) else status_of(status), outcome=outcome)
        phase = None
        for row in rows:
            if phase is not None and row.get("phase") != phase:
                state.boundaries.append(row["epoch"] - 1)
            phase = row.get("phase")
            state.apply(event_of(row))
        state.phase = phase or ""
        state.epochs_planned = state.epochs_done
        return state

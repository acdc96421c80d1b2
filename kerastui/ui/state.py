"""The state of a training run as the TUI shows it, folded from the trainer's events.

Plain Python (no Textual), so it is fed the same way by a live run, a recorded event stream
(snapshots) or a run directory reopened from disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from kerastui.core.model.metricnames import best_epoch
from kerastui.core.run.events import BatchEnded, EpochEnded, Notice, TrainEnded, TrainStarted
from kerastui.core.run.history import ROW_FIELDS

if TYPE_CHECKING:
    from kerastui.core.run.trainer import RunResult

# What a run is doing or how it ended: the TUI's own states, then those a run directory records.
RunStatus = Literal["idle", "running", "stopping", "done", "stopped", "early_stopping", "nan", "failed",
                    "completed", "interrupted", "incomplete"]

STEP_POINTS = 4000  # per-step loss points kept (a chart is at most a few hundred columns wide)


def run_status(text: str) -> RunStatus:
    """A status read from a run directory or a run's result (unknown text: "incomplete")."""
    return cast(RunStatus, text) if text in get_args(RunStatus) else "incomplete"


@dataclass
class RunState:
    status: RunStatus = "idle"
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
    _epoch_started: float = 0.0

    @property
    def running(self) -> bool:
        return self.status in ("running", "stopping")

    @property
    def epochs_done(self) -> int:
        return len(next(iter(self.history.values()), []))

    def apply(self, event: Any) -> None:
        if isinstance(event, TrainStarted):
            self.status = "running" if self.status != "stopping" else "stopping"
            if self.phase and event.phase != self.phase:
                self.boundaries.append(event.initial_epoch)
            self.phase = event.phase
            self.epochs_planned = event.initial_epoch + event.epochs
            self.initial_epoch = event.initial_epoch
            self.steps = event.steps_per_epoch
            self.samples = event.samples
            self.batch_size = event.batch_size
            self.devices, self.replicas, self.precision = list(event.devices), event.replicas, event.precision
            self.epoch = event.initial_epoch
            self.batch = 0
            self._epoch_started = self.clock()
        elif isinstance(event, BatchEnded):
            if event.epoch != self.epoch or event.batch < self.batch:
                self._epoch_started = self.clock()
            self.epoch, self.batch, self.steps = event.epoch, event.batch, event.steps
            self.batch_logs = dict(event.logs)
            loss = event.logs.get("loss")
            if loss is not None and event.steps:
                self.step_loss.append((event.epoch + (event.batch + 1) / event.steps, float(loss)))
                if len(self.step_loss) >= STEP_POINTS:
                    del self.step_loss[1::2]
        elif isinstance(event, EpochEnded):
            for key, value in event.logs.items():
                self.history.setdefault(key, [])
                column = self.history[key]
                column.extend([float("nan")] * (event.epoch - len(column)))
                column.append(value)
            self.epoch_seconds.append(event.seconds)
            self.peak_memory.append(event.peak_memory)
            self.epoch = event.epoch + 1
            self.batch = 0
            self._epoch_started = self.clock()
        elif isinstance(event, TrainEnded):
            if event.reason != "completed" or self.status == "stopping":
                self.status = ("early_stopping" if event.reason == "early_stopping" else
                               "nan" if event.reason == "nan" else "stopped")
        elif isinstance(event, Notice):
            self.notices.append(event.message)

    # ------------------------------------------------------------------ derived figures

    @property
    def samples_per_second(self) -> float | None:
        elapsed = self.clock() - self._epoch_started
        done = (self.batch + 1) * self.batch_size
        return done / elapsed if elapsed > 0 and self.batch_size else None

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
        """``epoch 3/10``: the epoch under way while running, else the epochs done (never past the plan)."""
        current = self.epoch + 1 if self.running else self.epochs_done
        return f"epoch {min(current, self.epochs_planned)}/{self.epochs_planned}"

    def best_epoch(self, metric: str = "val_loss") -> int | None:
        """The 1-based epoch with the best ``metric`` (its training values when it has no
        validation ones), by :func:`kerastui.core.model.metricnames.best_epoch`."""
        values = self.history.get(metric) or self.history.get(metric.removeprefix("val_"))
        return best_epoch(values or [], metric)

    @classmethod
    def from_metrics(cls, rows: list[dict[str, Any]], status: str = "done") -> RunState:
        """A finished run rebuilt from ``metrics.jsonl`` (reopened from the Runs view)."""
        state = cls(status=run_status(status))
        phase = None
        for row in rows:
            if phase is not None and row.get("phase") != phase:
                state.boundaries.append(row["epoch"] - 1)
            phase = row.get("phase")
            logs = {k: float(v) for k, v in row.items()
                    if k not in ROW_FIELDS and isinstance(v, (int, float))}
            state.apply(EpochEnded(phase or "train", int(row["epoch"]) - 1, logs, float(row.get("seconds", 0.0))))
        state.phase = phase or ""
        state.epochs_planned = state.epochs_done
        return state

"""Training events: plain dataclasses of plain Python values, safe to send across threads.

The trainer's single Keras callback turns ``logs`` into floats and hands these to *sinks*:
any callable ``sink(event)``.  The TUI posts them as messages, the CLI prints them, the run
recorder appends ``metrics.jsonl``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainStarted:
    phase: str  # "train", or "head" / "fine_tune" for a transfer run
    epochs: int  # epochs this phase will run at most
    initial_epoch: int  # epochs already run before this phase
    steps_per_epoch: int
    samples: int
    batch_size: int


@dataclass(frozen=True)
class BatchEnded:
    phase: str
    epoch: int  # 0-based, counted across phases
    batch: int  # 0-based within the epoch
    steps: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochEnded:
    phase: str
    epoch: int  # 0-based, counted across phases
    logs: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class TrainEnded:
    phase: str
    epochs_run: int  # in this phase
    reason: str  # "completed" | "stopped" | "early_stopping" | "nan"


@dataclass(frozen=True)
class Notice:
    message: str
    level: str = "info"  # "info" | "warning" | "error" (the run's own error: the CLI prints it once, at the end)


Event = TrainStarted | BatchEnded | EpochEnded | TrainEnded | Notice
Sink = Callable[[Event], None]

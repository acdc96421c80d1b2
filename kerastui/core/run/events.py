"""Training events: plain dataclasses of plain Python values, safe to send across threads.

The trainer's single Keras callback turns ``logs`` into floats and hands these to *sinks*:
any callable ``sink(event)``.  The TUI posts them as messages, the CLI prints them, the run
recorder appends ``metrics.jsonl``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainStarted:
    phase: str  # "train", or "head" / "fine_tune" for a transfer run
    epochs: int  # epochs this phase will run at most
    initial_epoch: int  # epochs already run before this phase
    steps_per_epoch: int
    samples: int
    batch_size: int  # the global batch: split over the replicas under MirroredStrategy
    devices: list[str] = field(default_factory=list)  # where it trains: ["GPU:0", "GPU:1"], ["CPU:0"]
    gpus: list[int] = field(default_factory=list)  # the GPUs used, numbered as nvidia-smi does
    replicas: int = 1
    precision: str = "float32"
    planned: int = 0  # every epoch of the run, all phases (Preset.planned_epochs); 0 from older logs
    t: float | None = field(default=None, compare=False)  # when the run wrote it (read back from its log)

    @property
    def per_replica_batch(self) -> int:
        return max(1, self.batch_size // max(1, self.replicas))


@dataclass(frozen=True)
class BatchEnded:
    phase: str
    epoch: int  # 0-based, counted across phases
    batch: int  # 0-based within the epoch
    steps: int
    logs: dict[str, float] = field(default_factory=dict)
    t: float | None = field(default=None, compare=False)  # when the run wrote it (read back from its log)


@dataclass(frozen=True)
class EpochEnded:
    phase: str
    epoch: int  # 0-based, counted across phases
    logs: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    batches: int | None = None  # set when the epoch was cut short (stopped or interrupted): batches run
    peak_memory: int | None = None  # bytes: the epoch's peak on the run's busiest GPU (None without GPU)
    t: float | None = field(default=None, compare=False)  # when the run wrote it (read back from its log)


@dataclass(frozen=True)
class TrainEnded:
    phase: str
    epochs_run: int  # in this phase
    reason: str  # "completed" | "stopped" | "interrupted" | "early_stopping" | "nan"


@dataclass(frozen=True)
class Notice:
    message: str
    level: str = "info"  # "info" | "warning" | "error" (the run's own error: the CLI prints it once, at the end)


Event = TrainStarted | BatchEnded | EpochEnded | TrainEnded | Notice
Sink = Callable[[Event], None]


EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in (TrainStarted, BatchEnded, EpochEnded, TrainEnded, Notice)}


def event_to_json(event: Event, when: float | None = None) -> dict[str, object]:
    """One line of a run's event log: ``{"type": "EpochEnded", "t": 1712.3, ...fields}``."""
    def clean(value: object) -> object:  # strict JSON: NaN and infinities as strings a reader turns back
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    fields = {f.name: clean(getattr(event, f.name)) for f in dataclasses.fields(event) if f.name != "t"}
    stamp = when if when is not None else getattr(event, "t", None)
    return {"type": type(event).__name__, "t": round(time.time() if stamp is None else stamp, 3), **fields}


def event_from_json(line: dict[str, object]) -> Event | None:
    """The event a log line holds (None for a line of a type this version does not know)."""
    cls = EVENT_TYPES.get(str(line.get("type")))
    if cls is None:
        return None
    def number(value: object) -> object:
        return float(value) if value in ("nan", "inf", "-inf") else value

    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if f.name in line:
            value = line[f.name]
            value = ({k: number(v) for k, v in value.items()} if isinstance(value, dict) else number(value))
            if not _fits(value, str(f.type)):
                return None  # a line another program wrote, or damage: not an event
            kwargs[f.name] = value
    try:
        event: Event = cls(**kwargs)
    except TypeError:
        return None
    return event


_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "list": (list,),
                                      "dict": (dict,)}


def _fits(value: object, annotation: str) -> bool:
    """Whether ``value`` is of the field's type as its annotation spells it (``int | None``,
    ``dict[str, float]``, ``list[int]``): a log line of the right shape, or not."""
    kinds = [part.strip().split("[")[0] for part in annotation.split("|")]
    if value is None:
        return "None" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    allowed = tuple(cls for kind in kinds for cls in _KINDS.get(kind, ()))
    if not isinstance(value, allowed):
        return False
    if isinstance(value, dict):  # logs: metric names to numbers
        return all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                   for k, v in value.items())
    return True

"""The one vocabulary of a run's state: status.json, events, the CLI, the TUI and CSV all use it.

A run is ``starting`` (its process is loading), ``running``, ``stopping`` (asked to stop, finishing
its batch), or it ended: ``completed``, ``stopped`` (asked to), ``pruned`` (a sweep's pruner ended
it), ``interrupted`` (a signal: checkpointed, resumable), ``failed`` (an error, a NaN loss),
``died`` (its status says it runs but no process holds the run's lock: ``kill -9``, a power cut)
or ``damaged`` (a file of its directory cannot be read as kerastui wrote it; the reason is given).

The trainer's own word for how training ended (its *outcome*: ``completed``, ``early_stopping``,
``nan``, ``stopped``, ``interrupted``, ``failed``) is finer; :func:`status_of` maps it here.
"""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    COMPLETED = "completed"
    STOPPED = "stopped"
    PRUNED = "pruned"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    DIED = "died"
    DAMAGED = "damaged"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def live(self) -> bool:
        """A process works on the run (or is about to)."""
        return self in LIVE

    @property
    def ended(self) -> bool:
        return not self.live

    @property
    def resumable(self) -> bool:
        """``kerastui resume`` may continue it from its checkpoint."""
        return self in RESUMABLE

    @classmethod
    def parse(cls, text: object) -> RunStatus | None:
        """The status a file spells, or None for anything else."""
        try:
            return cls(text)
        except ValueError:
            return None


LIVE = frozenset({RunStatus.STARTING, RunStatus.RUNNING, RunStatus.STOPPING})
RESUMABLE = frozenset({RunStatus.INTERRUPTED, RunStatus.DIED, RunStatus.FAILED})

# The trainer's outcomes are finer than a status: completed, early_stopping, nan, stopped, pruned,
# interrupted, failed.
_OUTCOME_STATUS = {"early_stopping": RunStatus.COMPLETED, "nan": RunStatus.FAILED,
                   "running": RunStatus.DIED}  # a summary still saying "running": its process died
OUTCOME_WORDS = {"early_stopping": "early stopping", "nan": "loss NaN"}


def status_of(outcome: str) -> RunStatus:
    """The status a trainer's outcome ends a run in (an unknown word: ``failed``)."""
    found = _OUTCOME_STATUS.get(outcome) or RunStatus.parse(outcome)
    return found if found is not None else RunStatus.FAILED


def status_label(status: RunStatus | str, outcome: str = "") -> str:
    """``completed``, ``completed · early stopping``, ``failed · loss NaN``: what tables and status
    lines show (the status, and the outcome where it says more)."""
    extra = OUTCOME_WORDS.get(outcome)
    return f"{status} · {extra}" if extra else str(status)

"""Messages: past-tense facts posted by workers and widgets, carrying core objects."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class TensorFlowLoaded(Message):
    def __init__(self, versions: dict[str, str], devices: list[dict[str, str]]) -> None:
        super().__init__()
        self.versions = versions
        self.devices = devices


class TensorFlowFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class DatasetLoaded(Message):
    def __init__(self, ticket: int, spec: Any, preview: Any) -> None:
        super().__init__()
        self.ticket = ticket  # see kerastui.ui.latest
        self.spec = spec
        self.preview = preview


class DatasetFailed(Message):
    def __init__(self, ticket: int, spec: Any, error: str) -> None:
        super().__init__()
        self.ticket = ticket
        self.spec = spec
        self.error = error


class StackChecked(Message):
    """A layer stack was built off the UI thread; ``report`` holds shapes, counts or Keras's reason."""

    def __init__(self, ticket: int, report: Any) -> None:
        super().__init__()
        self.ticket = ticket  # see kerastui.ui.latest
        self.report = report

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StackChecked)


class TrainingEvents(Message):
    """Core training events (TrainStarted, BatchEnded, EpochEnded, TrainEnded, Notice) read from the
    followed run's event log since the last read; ``run_dir`` says which run they belong to."""

    def __init__(self, run_dir: Any, events: list[Any], reset: bool = False) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.events = events
        self.reset = reset  # the run's log was rewritten (a resume): its history starts again with these


class RunEnded(Message):
    """The followed run's process ended (its status file says how)."""

    def __init__(self, run_dir: Any, status: dict[str, Any]) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.status = status


class TrainingFinished(Message):
    def __init__(self, result: Any, predictions: list[dict[str, Any]], images: Any, trained: Any = None) -> None:
        super().__init__()
        self.result = result
        self.predictions = predictions
        self.images = images
        self.trained = trained  # the run's saved model loaded back (a TrainedModel), or None


class TrainingFailed(Message):
    def __init__(self, error: str, status: Any = None) -> None:
        super().__init__()
        self.error = error
        self.status = status  # the run's RunStatus when it says more than "failed" (died, damaged)

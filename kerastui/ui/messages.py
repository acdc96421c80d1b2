"""Messages: past-tense facts posted by workers and widgets, carrying core objects."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from kerastui.core.events import BatchEnded


class TensorFlowLoaded(Message):
    def __init__(self, versions: dict[str, str], devices: list[dict[str, str]]) -> None:
        super().__init__()
        self.versions = versions
        self.devices = devices


class TensorFlowFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class PresetOpened(Message):
    """The app's preset was replaced (opened from a file or the browser)."""

    def __init__(self, preset: Any) -> None:
        super().__init__()
        self.preset = preset


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


class TrainingEvent(Message):
    """A core training event (TrainStarted, BatchEnded, EpochEnded, TrainEnded, Notice)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # A newer batch event makes an unprocessed older one stale.

        return (isinstance(message, TrainingEvent) and isinstance(self.event, BatchEnded)
                and isinstance(message.event, BatchEnded))


class TrainingFinished(Message):
    def __init__(self, result: Any, predictions: list[dict[str, Any]], images: Any) -> None:
        super().__init__()
        self.result = result
        self.predictions = predictions
        self.images = images


class TrainingFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

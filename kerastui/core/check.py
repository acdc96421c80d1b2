"""Check a preset without training: its data's description, the model's shapes and parameters,
and whether training it fits in memory.  ``kerastui check`` and the TUI's model checks share it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kerastui.core.data import datasets
from kerastui.core.data.base import NO_TEST_SPLIT, require_test_split
from kerastui.core.devices import check_selection
from kerastui.core.errors import KerasTUIError, ModelError, ResourceError, TransferError, processing
from kerastui.core.model.builder import (
    StackReport,
    check_input_matches,
    custom_metric_classes,
    custom_metrics,
    failed_report,
    model_input_shape,
    stack_report,
)
from kerastui.core.model.kerasobjects import check_compile, check_monitors
from kerastui.core.model.specs import Preset, TransferSpec
from kerastui.core.model.transfer import keras_models_dir, weights_file
from kerastui.core.resources import available_memory, require_model, size_text, stateless_report
from kerastui.core.run.trainer import check_shapes, inside_run, require_tensorboard

if TYPE_CHECKING:
    from kerastui.core.resources import ModelEstimate


def stack_check(preset: Preset) -> tuple[tuple[int, ...] | None, StackReport]:
    """(input shape, StackReport) for a preset; imports Keras (run it off the UI thread).

    The model's size is estimated from shapes first, so a stack that cannot fit in memory is
    reported, never allocated.  Never trusted: a layer that runs code from a file is reported with
    the line that refuses it, never built (the TUI asks when a run starts).
    """
    try:
        with processing(preset.where, "data"):
            info = datasets.describe(preset.data, preset.base_dir)
            shape = model_input_shape(preset, info)
    except KerasTUIError as error:
        return None, StackReport([], None, f"data: {error}", None)
    try:
        check_input_matches(preset.model.layers, shape)  # said at the Input row, before anything is built
    except ModelError as error:
        return shape, failed_report(preset.model.layers, error)
    try:
        with processing(preset.where, "model"):
            if preset.transfer is not None:
                # The report's own build loads the base's weights (the panel shows them).
                return shape, stack_report(preset, shape)
            report, estimate = measured_report(preset, shape)
            if report.error is None:
                try:
                    require_model(estimate)
                except ResourceError as error:  # the rows stay: they show which layer is too big
                    return shape, replace(report, totals=None, error=str(error))
            return shape, report
    except KerasTUIError as error:
        return shape, StackReport([], None, str(error), None)


@dataclass
class CheckResult:
    """What ``kerastui check`` reports: everything known about a run before it starts."""

    preset: str
    ok: bool
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"preset": self.preset, "ok": self.ok, "error": self.error, "data": self.data, "model": self.model,
                "layers": self.layers, "memory": self.memory, "notes": self.notes, "seconds": round(self.seconds, 3)}


def check(preset: Preset, *, trusted: bool = False) -> CheckResult:
    """Describe the data and build the model (shapes, parameters) without training.

    Errors come back in ``result.error`` as the one line ``kerastui train`` would print for the
    same preset, checked in train's order by the functions train uses: GPUs this machine does not
    have, bad data options, labels the loss cannot take, a model Keras rejects, a model that would
    not fit in memory, shapes that do not fit the data, a checkpoint file outside the run, an
    optimizer, loss or metric (custom ones included) that cannot be made.  A transfer base is built
    without its weights (nothing is downloaded); whether they are at hand is said in ``notes``.
    A layer that runs code from a file (a TFSMLayer's SavedModel) is built only when ``trusted``
    (``--trust-model``), as train builds it; otherwise the line train refuses it with.
    """
    start = time.perf_counter()
    result = CheckResult(preset=preset.name or preset.where, ok=False)
    try:
        with processing(preset.where, "devices"):
            check_selection(preset.devices, preset.where)
        with processing(preset.where, "data"):
            spec = preset.data
            info = datasets.describe(spec, preset.base_dir)
            total = (datasets.describe(replace(spec, classes=None), preset.base_dir).num_classes
                     if spec.classes else None)
            label_mode = datasets.check_labels(spec, preset.compile.loss_name, info.task,
                                               total if total is not None else info.num_classes)
            if spec.source.startswith(NO_TEST_SPLIT):
                require_test_split(spec)
            shape = model_input_shape(preset, info)
        result.data = {"source": spec.source, "kind": info.kind, "task": info.task,
                       "sample_shape": list(info.shape), "model_input_shape": list(shape),
                       "classes": info.num_classes, "label_mode": label_mode, "offline": info.offline,
                       "note": info.note}
        built = preset
        if preset.transfer is not None:
            result.notes.append(_weights_note(preset.transfer))
            built = replace(preset, transfer=replace(preset.transfer, weights="none"))
        with processing(preset.where, "model"):
            report, estimate = measured_report(built, shape, trusted=trusted)
            if report.error is None:
                require_model(estimate)
            result.layers = [{"index": r.index, "type": r.type, "name": r.name, "args": r.args,
                              "output_shape": r.output_shape, "params": r.params} for r in report.rows]
            if report.error:
                raise ModelError(report.error)
            check_shapes(preset, report.inputs, report.outputs, sample_shape=shape, task=info.task,
                         classes=info.num_classes, label_mode=label_mode, source=spec.source)
        if preset.callbacks.checkpoint is not None:  # as train refuses it: before any training
            inside_run(Path("run"), preset.callbacks.checkpoint.filename)
        with processing(preset.where, "compile"):  # metrics, optimizer, loss: their classes and arguments
            logged = check_compile(preset.compile)
            custom = custom_metrics(custom_metric_classes(preset))
            check_monitors(preset.callbacks, [*logged, *(metric.name for metric in custom)])
        if preset.callbacks.tensorboard is not None:  # train's callbacks, made as fit starts
            require_tensorboard()
    except KerasTUIError as error:
        result.error = _located(preset, str(error))
        result.seconds = time.perf_counter() - start
        return result
    result.ok = True
    result.model = dict(report.totals or {})
    free = available_memory()
    result.memory = {"available_bytes": free, "available": size_text(free)}
    if estimate is not None:
        result.memory.update(estimate_bytes=estimate.bytes, estimate=size_text(estimate.bytes),
                             batch_size=estimate.batch_size)
    result.seconds = time.perf_counter() - start
    return result


def _weights_note(transfer: TransferSpec) -> str:
    """Where a transfer base's weights come from, without loading (or downloading) them."""
    weights = transfer.weights
    if weights in ("none", "", "random"):
        return "transfer.weights: none (random initial weights)"
    if weights == "imagenet":
        cached = weights_file(transfer.base)
        if cached is not None and cached.is_file():
            return f"transfer.weights: imagenet, cached ({cached})"
        return (f"transfer.weights: imagenet, not cached: training downloads it into {keras_models_dir()}/ "
                "(offline, put the file there or set transfer.weights = \"none\")")
    path = Path(weights).expanduser()  # as the trainer reads it
    if not path.is_file():
        raise TransferError(f"transfer.weights: {path} not found (use imagenet, none or a weights .h5 path)")
    return f"transfer.weights: {path}"


def measured_report(preset: Preset, shape: tuple[int, ...], *,
                    trusted: bool = False) -> tuple[StackReport, ModelEstimate | None]:
    """(StackReport, ModelEstimate | None): built from shapes alone (no weight allocated, loaded
    or downloaded) where that can be done; a subclass model only by running its code."""
    if preset.model.type == "subclass":
        return stack_report(preset, shape, trusted=trusted), None
    report, estimate = stateless_report(preset, shape, known_samples(preset), trusted=trusted)
    if needs_weights(report):
        return stack_report(preset, shape, trusted=trusted), None
    return report, estimate


def needs_weights(report: StackReport) -> bool:
    """A layer that reads its weights while being built cannot be built from shapes alone: build
    it for real (only then; a spec Keras rejects is rejected the same way either way, and a real
    build of a stack that holds a huge layer before the bad one would allocate it)."""
    text = (report.error or "").lower()
    return "stateless" in text or "uninitiali" in text


def known_samples(preset: Preset) -> int | None:
    """Training samples known without loading the data (a cap on the batch), else None."""
    counts = [preset.data.limit]
    if preset.data.source.startswith("synthetic:"):
        counts.append(preset.data.samples or 1000)
    known = [c for c in counts if c]
    return min(known) if known else None


def _located(preset: Preset, message: str) -> str:
    return message if message.startswith(preset.where) else f"{preset.where}: {message}"

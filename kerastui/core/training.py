"""The one trainer: preset → data + model → ``model.fit`` → evaluation → saved files → run dir.

It streams plain events to sinks (the TUI, the CLI's printer, the run recorder) through a
single Keras callback, and stops at the end of the current batch when asked, or when the loss
turns NaN.  A transfer preset runs two phases: the head on a frozen base, then fine-tuning.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerastui.core import datasets
from kerastui.core.builder import BuiltModel, build_model, compile_model, parameter_counts, summary_text
from kerastui.core.errors import KerasTUIError, ModelError, one_line, processing
from kerastui.core.events import BatchEnded, EpochEnded, Event, Notice, Sink, TrainEnded, TrainStarted
from kerastui.core.runs import RunDir, default_runs_dir
from kerastui.core.specs import Preset
from kerastui.core.tfenv import load_keras


@dataclass
class RunResult:
    preset: str
    status: str = "running"  # completed | stopped | early_stopping | nan | interrupted | failed
    epochs_run: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    summary: str | None = None
    tensorboard: str | None = None
    run_dir: str | None = None
    started: str = ""
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "preset": self.preset, "status": self.status, "epochs_run": self.epochs_run, "history": self.history,
            "test": self.test, "run_dir": self.run_dir, "seconds": round(self.seconds, 3), "started": self.started,
            "model": self.model, "data": self.data, "evaluation": self.evaluation,
        }
        for key in ("saved", "phases", "custom_metrics", "notices"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("tensorboard", "summary", "error"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


class Trainer:
    """Runs one preset.  ``request_stop()`` may be called from any thread."""

    def __init__(self, preset: Preset, sinks: Iterable[Sink] = (), *, runs_dir: Path | None = None,
                 record: bool = True, model: Any = None, trusted: bool = False) -> None:
        self.preset = preset
        # A model to train further (opened from a file) instead of one built from the preset.
        self.initial_model = model
        # The user allowed that model's file to run its stored code (a Lambda layer): the saved
        # copies of it are reloaded for verification with Keras's safe mode off, too.
        self.trusted = trusted and model is not None
        self.sinks: list[Sink] = list(sinks)
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.record = record
        self._stop = threading.Event()
        self.model: Any = None  # the keras.Model, once prepared
        self.built: BuiltModel | None = None
        self.data: datasets.Dataset | None = None
        self.run_dir: RunDir | None = None
        self._last_report: dict[str, Any] | None = None
        self.result = RunResult(preset=preset.name or preset.title or "preset")

    # ------------------------------------------------------------------ control

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def _prepared(self) -> tuple[BuiltModel, datasets.Dataset]:
        """The built model and the data, which :meth:`prepare` made."""
        assert self.built is not None and self.data is not None, "prepare() first"
        return self.built, self.data

    def emit(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.result.notices.append(event.message)
        for sink in self.sinks:
            sink(event)

    # ------------------------------------------------------------------ steps

    def prepare(self) -> None:
        """Load Keras, the data and the model (already compiled); safe to call once before run()."""
        if self.model is not None:
            return
        keras = load_keras()
        preset = self.preset
        keras.utils.set_random_seed(preset.fit.seed)
        with processing(preset.where, "data"):
            self.data = prepare_data(preset)
        self.result.data = self.data.summary()
        if self.initial_model is not None:
            from kerastui.core.builder import custom_metric_classes

            self.built = BuiltModel(self.initial_model, self.data.input_shape, custom_metric_classes(preset))
        else:
            from kerastui.core.resources import check_model

            with processing(preset.where, "model"):
                # From shapes alone: a model that cannot fit is refused before anything is allocated.
                check_model(preset, self.data.input_shape, len(self.data.x_train))
                self.built = build_model(preset, self.data.input_shape)
        self.model = self.built.model
        check_fits_data(self.model, self.data, preset)
        for notice in self.built.notices:
            self.emit(Notice(notice, "warning"))
        with processing(preset.where, "compile"):
            compile_model(self.model, preset.compile, self.built.custom_objects)
        self.result.model = {**parameter_counts(self.model), "layers": len(self.model.layers), "name": self.model.name}
        if preset.model.summary:
            self.result.summary = summary_text(self.model)

    def run(self) -> RunResult:
        start = time.perf_counter()
        self.result.started = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            self.prepare()
            if self.record:
                self.run_dir = RunDir.create(self.runs_dir, self.preset.name or "run")
                self.run_dir.write_preset(self.preset)
                self.sinks.append(self.run_dir)
                self.result.run_dir = str(self.run_dir.path)
            with processing(self.preset.where, "fit"):
                self._fit_all()
            if self.result.status in ("nan", "interrupted"):
                return self.result
            with processing(self.preset.where, "evaluation"):
                self._evaluate()
            with processing(self.preset.where, "save"):
                self._save()
            with processing(self.preset.where, "compile.custom_metrics"):
                self._compare_custom_metrics()
        except KeyboardInterrupt:
            self.result.status = "interrupted"
            raise
        except Exception as error:
            from kerastui.core.metrics import metric_error

            # An exception raised inside the user's custom metric: one line with its file and line.
            located = metric_error(error, self.preset)
            if located is None and not isinstance(error, KerasTUIError):
                raise
            self.result.status = "failed"
            self.result.error = located or str(error)
            if located is None:
                raise
            raise KerasTUIError(located) from error
        finally:
            self.result.seconds = time.perf_counter() - start
            if self.run_dir is not None:
                self.run_dir.write_summary(self.result.to_json())
        return self.result

    # ------------------------------------------------------------------ fitting

    def _fit_all(self) -> None:
        preset = self.preset
        transfer = preset.transfer
        if transfer is None:
            self._fit_phase("train", preset.fit.epochs)
            return
        from kerastui.core.transfer import freeze, unfreeze_last

        built, _ = self._prepared
        base = built.base
        if transfer.freeze:
            freeze(base)
            compile_model(self.model, preset.compile, built.custom_objects)
        self._fit_phase("head", preset.fit.epochs)
        self._record_phase("head", preset.compile.learning_rate)
        if self.result.status not in ("completed", "early_stopping") or self.stop_requested:
            return
        if transfer.fine_tune_last > 0 and transfer.fine_tune_epochs > 0:
            unfrozen = unfreeze_last(base, transfer.fine_tune_last)
            self.emit(Notice(f"fine-tuning {len(unfrozen)} of the last {transfer.fine_tune_last} base layers "
                             "(BatchNormalization stays frozen) at learning rate "
                             f"{transfer.fine_tune_learning_rate:g}"))
            compile_model(self.model, preset.compile, built.custom_objects,
                          learning_rate=transfer.fine_tune_learning_rate)
            self._fit_phase("fine_tune", transfer.fine_tune_epochs)
            self._record_phase("fine_tune", transfer.fine_tune_learning_rate, unfrozen=unfrozen)

    def _record_phase(self, name: str, learning_rate: float | None, unfrozen: list[str] | None = None) -> None:
        from kerastui.core.evaluation import evaluate, split_report

        first = sum(p["epochs"] for p in self.result.phases)
        epochs = self.result.epochs_run - first
        history = {k: v[first:] for k, v in self.result.history.items()}
        phase: dict[str, Any] = {"name": name, "epochs": epochs, "learning_rate": learning_rate,
                                 **parameter_counts(self.model), "history": history, "status": self.result.status}
        if unfrozen is not None:
            phase["unfrozen_layers"] = unfrozen
        if self.result.status != "nan":
            self._last_report = evaluate(self.model, self._prepared[1], self.preset.fit.batch_size)
            phase["test"] = split_report(self._last_report)[0]
        self.result.phases.append(phase)

    def _fit_phase(self, phase: str, epochs: int) -> None:
        keras = load_keras()
        _, data = self._prepared
        fit = self.preset.fit
        initial = self.result.epochs_run
        steps = math.ceil(len(data.x_train) / fit.batch_size)
        stream = _stream_callback(keras, self, phase, steps)
        callbacks = [stream, *self._keras_callbacks(phase)]
        self.emit(TrainStarted(phase, epochs, initial, steps, len(data.x_train), fit.batch_size))
        try:
            history = self.model.fit(
                data.x_train, data.y_train, validation_data=data.validation_data(), epochs=initial + epochs,
                initial_epoch=initial, batch_size=fit.batch_size, shuffle=fit.shuffle, callbacks=callbacks, verbose=0,
            )
        except KerasTUIError:
            raise
        except (ValueError, TypeError) as error:  # Keras rejecting data/model combinations at trace time

            raise KerasTUIError(f"fit: {one_line(error)}") from None
        run = len(next(iter(history.history.values()), []))
        for key, values in history.history.items():
            self.result.history.setdefault(key, []).extend(float(v) for v in values)
        self.result.epochs_run += run
        reason = stream.reason
        if reason is None:
            early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
            reason = "early_stopping" if early is not None and early.stopped_epoch > 0 else "completed"
        self.result.status = reason
        if reason == "nan":
            self.result.error = stream.nan_message
            self.emit(Notice(stream.nan_message, "error"))
        self.emit(TrainEnded(phase, run, reason))

    def _keras_callbacks(self, phase: str = "train") -> list[Any]:
        keras = load_keras()
        spec = self.preset.callbacks
        out = []
        if spec.early_stopping is not None:
            e = spec.early_stopping
            out.append(keras.callbacks.EarlyStopping(monitor=e.monitor, patience=e.patience, min_delta=e.min_delta,
                                                     restore_best_weights=e.restore_best_weights))
        if spec.reduce_lr is not None:
            r = spec.reduce_lr
            out.append(keras.callbacks.ReduceLROnPlateau(monitor=r.monitor, factor=r.factor, patience=r.patience,
                                                         min_lr=r.min_lr, verbose=0))
        if spec.checkpoint is not None and self.run_dir is not None:
            c = spec.checkpoint
            out.append(keras.callbacks.ModelCheckpoint(str(self.run_dir.path / c.filename), monitor=c.monitor,
                                                       save_best_only=c.save_best_only, verbose=0))
        if spec.tensorboard is not None:
            log_dir = spec.tensorboard.log_dir
            path = Path(log_dir).expanduser() if log_dir else (self.run_dir.tensorboard_dir if self.run_dir else None)
            if path is None:
                path = Path("tensorboard-logs")
            try:
                import tensorboard  # noqa: F401  # the callback fails late and obscurely without it
            except ImportError:
                raise KerasTUIError("callbacks.tensorboard: the tensorboard package is not installed "
                                    "(pip install tensorboard)") from None
            # A transfer run logs each phase in its own folder (head/, fine_tune/): TensorBoard shows
            # both as runs under one log dir, the fine-tuning steps continuing from the head's epochs.
            phase_path = path / phase if self.preset.transfer is not None else path
            out.append(keras.callbacks.TensorBoard(log_dir=str(phase_path),
                                                   histogram_freq=spec.tensorboard.histogram_freq))
            self.result.tensorboard = f"tensorboard --logdir {path}"
        return out

    # ------------------------------------------------------------------ after fitting

    def _evaluate(self) -> None:
        from kerastui.core.evaluation import evaluate, split_report

        # A transfer run evaluated the final model when it recorded its last phase.
        report = self._last_report if self._last_report is not None else evaluate(self.model, self._prepared[1], 256)
        self.result.test, self.result.evaluation = split_report(report)

    def _save(self) -> None:
        from kerastui.core.saving import save_and_verify, save_model

        if self.run_dir is None:
            return
        built, data = self._prepared
        spec = self.preset.save
        if spec.formats:
            x = data.x_test[:256]
            results = save_and_verify(self.model, self.run_dir.path, spec.formats, x,
                                      custom_objects=built.custom_objects, verify=spec.verify,
                                      safe_mode=not self.trusted)
            self.result.saved = {r.format: r.to_dict() for r in results}
        if "keras" not in spec.formats:
            save_model(self.model, self.run_dir.path / "model.keras", "keras")

    def _compare_custom_metrics(self) -> None:
        custom = [c for c in self._prepared[0].custom_objects.values()
                  if isinstance(c, type) and _is_metric(c)]
        if not custom:
            return
        builtins = [m for m in self.preset.compile.metrics]
        for cls in custom:
            name = _metric_name(cls)
            mirror = getattr(cls, "mirrors", None) or (builtins[0] if builtins else None)
            if mirror is None or name not in self.result.history:
                continue
            report: dict[str, Any] = {"builtin": mirror}
            for prefix in ("", "val_"):
                a = self.result.history.get(prefix + mirror)
                b = self.result.history.get(prefix + name)
                if a is None or b is None:
                    continue
                diffs = [abs(x - y) for x, y in zip(a, b, strict=False)]
                split = "val" if prefix else "train"
                report[split] = {"builtin": a, "custom": b, "abs_diff": diffs, "max_abs_diff": max(diffs, default=0.0)}
            if name in self.result.test and mirror in self.result.test:
                report["test_abs_diff"] = abs(self.result.test[name] - self.result.test[mirror])
            self.result.custom_metrics[name] = report


def prepare_data(preset: Preset) -> datasets.Dataset:
    """The preset's data as its model sees it (a transfer base's size, channels and preprocessing)."""
    kwargs: dict[str, Any] = {}
    if preset.transfer is not None:
        from kerastui.core.transfer import preprocess_function, transfer_image_shape

        info = datasets.describe(preset.data, preset.base_dir)
        if info.kind != "image":
            raise KerasTUIError(f"{preset.where}: transfer: {preset.data.source} is not image data")
        shape = transfer_image_shape(preset.transfer, info.shape if len(info.shape) == 3 else (*info.shape, 1))
        kwargs = {"image_size": shape[:2], "rgb": shape[2] == 3,
                  "preprocess": preprocess_function(preset.transfer.base)}
    return datasets.prepare(preset.data, loss=preset.compile.loss, base_dir=preset.base_dir, **kwargs)


def check_fits_data(model: Any, data: datasets.Dataset, preset: Preset) -> None:
    """Catch the two mismatches Keras only reports deep inside ``fit``: input and output shapes."""
    check_shapes(preset, [tuple(t.shape[1:]) for t in getattr(model, "inputs", None) or []],
                 [tuple(t.shape[1:]) for t in getattr(model, "outputs", None) or []],
                 sample_shape=data.input_shape, task=data.task, classes=data.num_classes,
                 label_mode=data.label_mode, source=data.source)


def check_shapes(preset: Preset, inputs: Sequence[tuple[int | None, ...]], outputs: Sequence[tuple[int | None, ...]],
                 *, sample_shape: tuple[int, ...], task: str, classes: int, label_mode: str, source: str) -> None:
    """The rules of :func:`check_fits_data` on shapes alone (``kerastui check`` has no data loaded)."""
    if len(inputs) == 1:
        expected = inputs[0]
        actual = tuple(sample_shape)
        if len(expected) != len(actual) or any(e is not None and e != a for e, a in zip(expected, actual, strict=True)):
            first = preset.model.layers[0] if preset.model.layers else None
            where = ("model.layers[0] (Input)" if first is not None and first.type in ("Input", "InputLayer")
                     else "model")
            raise ModelError(f"{where}: input shape {list(expected)} does not match the data's sample shape "
                             f"{list(actual)} from {source} (fix the shape, or drop the Input layer to "
                             "take the data's)")
    elif len(inputs) > 1:
        raise ModelError(f"the model has {len(inputs)} inputs but {source} provides one array")
    if len(outputs) != 1 or task != "classification":
        return
    units = outputs[0][-1] if outputs[0] else None
    last = len(preset.model.layers) - 1
    where = (f"model.layers[{last}] ({preset.model.layers[last].type})"
             if preset.model.type != "subclass" and last >= 0 else "model")
    if label_mode in ("categorical", "sparse") and units is not None and (
            units != classes if label_mode == "categorical" else units < classes):
        raise ModelError(f"{where}: gives {units} outputs but {source} has {classes} classes "
                         f"(set its units to {classes})")
    if label_mode == "binary" and units != 1:
        raise ModelError(f"{where}: compile.loss {preset.compile.loss!r} needs one sigmoid output, "
                         f"this layer gives {units}")


def _is_metric(cls: type) -> bool:
    keras = load_keras()
    return issubclass(cls, keras.metrics.Metric)


def _metric_name(cls: type) -> str:
    try:
        name: str = cls().name
        return name
    except Exception:  # noqa: BLE001
        return cls.__name__


def floats(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(np.asarray(value).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            continue
    return out


BATCH_EVENT_HZ = 20


def _stream_callback(keras: Any, trainer: Trainer, phase: str, steps: int) -> Any:
    """The only Keras callback that talks to the outside: events out, stop flag in."""

    class StreamCallback(keras.callbacks.Callback):  # type: ignore[misc]  # Keras is untyped: its classes are Any
        # Keras may run batch hooks on a helper thread, so the training loop never waits for
        # them (nor for the logs to be copied off the device).
        async_safe = True

        def __init__(self) -> None:
            super().__init__()
            self.reason: str | None = None
            self.nan_message = ""
            self._epoch = 0
            self._epoch_start = time.perf_counter()
            self._last_emit = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._epoch = epoch
            self._epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if trainer.stop_requested and self.reason is None:
                self.reason = "stopped"
                self.model.stop_training = True
            now = time.perf_counter()
            # Progress at most BATCH_EVENT_HZ times a second (and the last batch of an epoch):
            # a sink never sees thousands of events per second, and NaN is caught within one tick.
            if now - self._last_emit < 1.0 / BATCH_EVENT_HZ and batch + 1 < steps:
                return
            self._last_emit = now
            values = floats(logs)
            loss = values.get("loss")
            if loss is not None and not math.isfinite(loss) and self.reason is None:
                self._nan(f"loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}")
            trainer.emit(BatchEnded(phase, self._epoch, batch, steps, values))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            values = floats(logs)
            if "learning_rate" not in values:
                try:
                    values["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))
                except Exception:  # noqa: BLE001 - schedules
                    pass
            loss = values.get("loss")
            if loss is not None and not math.isfinite(loss) and self.reason != "nan":
                self._nan(f"loss became {loss} at epoch {epoch + 1}")
            trainer.emit(EpochEnded(phase, epoch, values, time.perf_counter() - self._epoch_start))

        def _nan(self, where: str) -> None:
            self.reason = "nan"
            self.nan_message = (f"{where}; training stopped (try a lower compile.learning_rate, "
                                "or check the data for NaN/inf)")
            self.model.stop_training = True

    return StreamCallback()


def train(preset: Preset, sinks: Iterable[Sink] = (), *, runs_dir: Path | None = None,
          record: bool = True) -> RunResult:
    return Trainer(preset, sinks, runs_dir=runs_dir, record=record).run()


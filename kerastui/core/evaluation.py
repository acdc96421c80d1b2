"""Test-split evaluation: Keras's own metrics plus per-class precision/recall/F1, ROC-AUC and a
confusion matrix (classification) or MAE/MSE/RMSE (regression), in plain numpy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from kerastui.core.data.base import Dataset
from kerastui.core.data.streaming import memory_returned
from kerastui.core.model.kerasobjects import make_loss
from kerastui.core.model.specs import ObjectSpec
from kerastui.core.tfenv import load_keras


def evaluate(model: Any, data: Dataset, batch_size: int = 256) -> dict[str, Any]:
    """One prediction pass over the test split; the compiled loss and metrics come from it."""
    if data.stream is not None:
        predictions, data = _predict_stream(model, data, batch_size)
    else:
        predictions = model.predict(data.x_test, batch_size=batch_size, verbose=0)
    return report_from_predictions(predictions, data, compiled_metrics(model, data.y_test, predictions))


def _predict_stream(model: Any, data: Dataset, batch_size: int) -> tuple[np.ndarray, Dataset]:
    """Predictions over a streamed test split, with the labels read alongside them (a file the pipeline
    could not decode is left out of both)."""
    assert data.stream is not None
    outputs, encoded = [], []
    with memory_returned():  # freed batches back to the system: peak RSS does not grow with the split
        for x, y in data.stream.make("test", batch_size, False):
            outputs.append(np.asarray(model.predict_on_batch(x)))
            encoded.append(np.asarray(y))
    if not outputs:
        return np.zeros((0, max(data.num_classes, 1)), "float32"), data
    predictions = np.concatenate(outputs)
    y_test = np.concatenate(encoded)
    if data.label_mode == "categorical":
        labels = y_test.argmax(axis=1)
    elif data.label_mode in ("binary", "sparse"):
        labels = y_test.reshape(len(y_test), -1)[:, 0].astype("int64")
    else:
        labels = y_test
    return predictions, replace(data, y_test=y_test, labels_test=labels)


def evaluate_predictions(predictions: Any, data: Dataset, loss: str | ObjectSpec | None = None) -> dict[str, Any]:
    """The report for predictions of a model with no compiled metrics (a SavedModel export):
    the loss named in the preset, then the same classification/regression figures."""
    numbers: dict[str, Any] = {}
    if data.stream is not None and len(predictions) < len(data.labels_test):
        # A streamed source keeps only its first test samples as an array: those were predicted.
        count = len(predictions)
        data = replace(data, y_test=data.y_test[:count], labels_test=data.labels_test[:count])
    if loss:
        keras = load_keras()
        function = keras.losses.get(loss) if isinstance(loss, str) else make_loss(loss)  # a table: its class
        value = function(data.y_test, np.asarray(predictions))
        numbers["loss"] = _num(keras.ops.mean(value))
    return report_from_predictions(predictions, data, numbers)


def report_from_predictions(predictions: Any, data: Dataset, numbers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(numbers)
    if isinstance(predictions, (list, tuple)):  # pragma: no cover - multi-output
        predictions = predictions[0]
    predictions = np.asarray(predictions)
    if data.task == "regression":
        out.update(regression_report(data.labels_test, predictions.reshape(len(predictions), -1)[:, 0]))
    else:
        report = classification_report(data.labels_test, predictions, data.class_names)
        y = np.asarray(data.labels_test).astype("int64")
        predicted = np.argmax(probabilities(predictions, max(len(data.class_names), 2)), axis=1)
        out.setdefault("accuracy", float((predicted == y).mean()))
        out.update(report)
    return out


def compiled_metrics(model: Any, y_true: np.ndarray, y_pred: Any) -> dict[str, float]:
    """What ``model.evaluate`` reports, from predictions already made (no second traced pass)."""
    model.reset_metrics()
    logs = {k: _num(v) for k, v in model.compute_metrics(None, y_true, y_pred).items()}
    logs["loss"] = _num(model.compute_loss(y=y_true, y_pred=y_pred, training=False))
    model.reset_metrics()
    return {"loss": logs.pop("loss"), **logs}


def split_report(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metric → number, details such as the confusion matrix and per-class rows)."""
    numbers = {k: v for k, v in report.items() if isinstance(v, (int, float)) or v is None}
    return numbers, {k: v for k, v in report.items() if k not in numbers}


def _num(value: Any) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    err = np.asarray(y_pred, dtype="float64") - np.asarray(y_true, dtype="float64")
    mse = float(np.mean(err ** 2))
    return {"mae": float(np.mean(np.abs(err))), "mse": mse, "rmse": math.sqrt(mse)}


def probabilities(predictions: np.ndarray, classes: int) -> np.ndarray:
    p = np.asarray(predictions, dtype="float64")
    if p.ndim == 1 or p.shape[-1] == 1:  # binary with one sigmoid unit
        p1 = p.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return p[:, :classes]


def classification_report(labels: np.ndarray, predictions: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    classes = max(len(class_names), 2)
    proba = probabilities(predictions, classes)
    y = np.asarray(labels).astype("int64")
    pred = proba.argmax(axis=1)
    cm = confusion_matrix(y, pred, classes)
    tp = np.diag(cm).astype("float64")
    predicted = cm.sum(axis=0).astype("float64")
    actual = cm.sum(axis=1).astype("float64")
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    present = actual > 0
    per_class = [
        {"class": class_names[i] if i < len(class_names) else str(i), "precision": float(precision[i]),
         "recall": float(recall[i]), "f1": float(f1[i]), "support": int(actual[i])}
        for i in range(len(class_names))
    ]
    report = {
        "precision_macro": float(precision[present].mean()) if present.any() else 0.0,
        "recall_macro": float(recall[present].mean()) if present.any() else 0.0,
        "f1_macro": float(f1[present].mean()) if present.any() else 0.0,
        "roc_auc": roc_auc_ovr(y, proba),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
    }
    return report


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    cm = np.zeros((classes, classes), dtype="int64")
    np.add.at(cm, (y, pred), 1)
    return cm


def roc_auc_binary(positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Mann–Whitney AUC with average ranks for ties; None when only one class is present."""
    positive = positive.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype="float64")
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc_ovr(y: np.ndarray, proba: np.ndarray) -> float | None:
    """Macro one-vs-rest ROC-AUC over the classes present in ``y``."""
    if proba.shape[1] == 2:
        return roc_auc_binary(y == 1, proba[:, 1])
    scores = [roc_auc_binary(y == c, proba[:, c]) for c in range(proba.shape[1])]
    present = [s for s in scores if s is not None]
    return float(np.mean(present)) if present else None


def sample_predictions(model: Any, data: Dataset, count: int = 8, *, indices: ArrayLike | None = None,
                       predict: Callable[[np.ndarray], Any] | None = None) -> list[dict[str, Any]]:
    """Test samples (the first ``count``, or ``indices``) with true and predicted label, confidence
    and top 3 (classification).  ``predict`` maps inputs to outputs (default ``model.predict``)."""
    index = np.arange(min(count, len(data.x_test))) if indices is None else np.asarray(indices, dtype="int64")
    if not len(index):
        return []
    x = data.x_test[index]
    predictions = np.asarray(predict(x) if predict is not None else model.predict(x, verbose=0))
    out = []
    for row, i in enumerate(index):
        item = describe_prediction(predictions[row:row + 1], data, data.labels_test[int(i)])
        item["index"] = int(i)
        out.append(item)
    return out


def describe_prediction(prediction: np.ndarray, data: Dataset, truth: Any = None) -> dict[str, Any]:
    """One model output as the user reads it: predicted class, confidence, top 3 (and the truth)."""
    item: dict[str, Any] = {}
    if data.task == "regression":
        item["predicted"] = float(np.asarray(prediction).reshape(-1)[0])
        if truth is not None:
            item["true"] = float(truth)
        return item
    proba = probabilities(prediction, max(data.num_classes, 2))[0]
    order = np.argsort(proba)[::-1][:3]
    names = data.class_names
    item.update(predicted=names[int(order[0])], confidence=float(proba[order[0]]),
                top3=[(names[int(c)], float(proba[c])) for c in order])
    if truth is not None:
        item.update(true=names[int(truth)], correct=int(order[0]) == int(truth))
    return item


def display_images(x: Any) -> np.ndarray:
    """Images (``N × H × W × C``) for showing: each scaled on its own to [0, 1] (its darkest value
    0, its brightest 1; a flat image all 0), as float32.  For model inputs, whatever preprocessing
    they went through (the Data workspace shows raw samples scaled by the source's pixel range)."""
    x = np.asarray(x, dtype="float32")
    axes = tuple(range(1, x.ndim))
    low = x.min(axis=axes, keepdims=True)
    high = x.max(axis=axes, keepdims=True)
    scaled: np.ndarray = ((x - low) / np.maximum(high - low, 1e-6)).astype("float32", copy=False)
    return scaled

"""What a metric's name says: which end of it is better, its best epoch, and which logged key is
the accuracy.  One rule for the status line, the charts and the transfer workspace.

Plain Python: imports neither Keras nor textual, rich or plotext.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kerastui.core.model.specs import ObjectSpec

# A metric whose name contains one of these is better lower (the rest — accuracy, auc,
# precision, recall, f1, iou, … — better higher).  None of them occurs inside "accuracy".
LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "msle", "mape", "hinge", "crossentropy", "divergence",
                   "poisson", "logcosh", "log_cosh", "huber")
# The keys Keras logs accuracy under, most usual first.
ACCURACY_KEYS = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")
# Keras metric classes whose default name is not the snake case of the class name (Keras 3.15;
# the tests compare every keras.metrics class with this rule).
DEFAULT_NAMES = {"FBetaScore": "fbeta_score", "LogCoshError": "logcosh"}


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``TopKCategoricalAccuracy`` → ``top_k_categorical_accuracy``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def logged_name(metric: str | ObjectSpec) -> str:
    """The key Keras logs a compile metric under: a string as written (``"top_k_categorical_accuracy"``),
    a class by its ``name`` argument, else its default name (``TopKCategoricalAccuracy(k=2)`` →
    ``top_k_categorical_accuracy``, whatever its k)."""
    if isinstance(metric, str):
        return metric
    name = metric.kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    return DEFAULT_NAMES.get(metric.type) or snake_case(metric.type)


def lower_is_better(name: str) -> bool:
    """Whether smaller values of the metric ``name`` (``val_`` prefix or not) are better."""
    family = name.lower().removeprefix("val_")
    return any(word in family for word in LOWER_IS_BETTER)


def best_epoch(values: Sequence[float], name: str) -> int | None:
    """The 1-based epoch of the best finite value of the metric ``name`` (the first, on a tie);
    None when no value is finite."""
    finite = [(value, epoch) for epoch, value in enumerate(values, start=1) if math.isfinite(value)]
    if not finite:
        return None
    if lower_is_better(name):
        return min(finite)[1]
    return min(finite, key=lambda pair: (-pair[0], pair[1]))[1]


def accuracy_key(names: Iterable[str]) -> str | None:
    """The first of :data:`ACCURACY_KEYS` among ``names`` (a run's logged keys), or None."""
    present = set(names)
    return next((key for key in ACCURACY_KEYS if key in present), None)

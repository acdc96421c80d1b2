"""What a metric's name says: which end of it is better, its best epoch, and which logged key is
the accuracy.  One rule for the status line, the charts and the transfer workspace.

Plain Python: imports neither Keras nor textual, rich or plotext.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# A metric whose name contains one of these is better lower (the rest — accuracy, auc,
# precision, recall, f1, iou, … — better higher).  None of them occurs inside "accuracy".
LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "msle", "mape", "hinge", "crossentropy", "divergence",
                   "poisson", "logcosh", "log_cosh", "huber")
# The keys Keras logs accuracy under, most usual first.
ACCURACY_KEYS = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")


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

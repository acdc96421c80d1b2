"""MyAccuracy — the tutorial's custom accuracy metric, written the Keras 3 way.

Keras 3 resets metrics by calling ``reset_state`` (the tutorial's ``reset_states`` is never
called) and metrics are backend-agnostic through ``keras.ops``.  It accepts one-hot or integer
labels, and ``sample_weight``.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerastui")
class MyAccuracy(keras.metrics.Metric):
    """Fraction of samples whose arg-max prediction is the true class."""

    mirrors = "accuracy"  # the built-in metric kerastui compares it with

    def __init__(self, name="my_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_weight(name="correct", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred_idx = ops.argmax(y_pred, axis=-1)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] not in (None, 1):
            y_true_idx = ops.argmax(y_true, axis=-1)
        else:
            y_true_idx = ops.reshape(ops.cast(y_true, "int64"), ops.shape(y_pred_idx))
        matches = ops.cast(ops.equal(ops.cast(y_true_idx, "int64"), ops.cast(y_pred_idx, "int64")), self.dtype)
        weights = ops.ones_like(matches) if sample_weight is None else ops.cast(
            ops.reshape(sample_weight, ops.shape(matches)), self.dtype)
        self.correct.assign_add(ops.sum(matches * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

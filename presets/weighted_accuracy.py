"""WeightedAccuracy — accuracy where each sample counts as much as its weight.  Keras 3 style.

Every sample's weight is its ``sample_weight`` (from ``fit(..., sample_weight=...)``) times the
weight of its true class (``class_weights``, all 1 by default).  With neither, every sample
weighs 1 and it equals Keras's built-in ``accuracy``, which it mirrors.  Labels may be one-hot,
integers, or 0/1 with one sigmoid output (then the prediction is thresholded at 0.5, as
``binary_accuracy`` does).
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerastui")
class WeightedAccuracy(keras.metrics.Metric):
    """Weighted fraction of correctly classified samples."""

    mirrors = "accuracy"  # the built-in metric kerastui compares it with

    def __init__(self, class_weights=None, name="weighted_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.correct = self.add_weight(name="correct", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if y_pred.shape[-1] == 1:  # one sigmoid output: a binary problem
            y_pred_idx = ops.cast(ops.reshape(y_pred, (-1,)) > 0.5, "int32")
            y_true_idx = ops.cast(ops.reshape(y_true, (-1,)) > 0.5, "int32")
        else:
            y_pred_idx = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
            if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] not in (None, 1):
                y_true_idx = ops.cast(ops.argmax(y_true, axis=-1), "int32")
            else:
                y_true_idx = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred_idx))
        matches = ops.cast(ops.equal(y_true_idx, y_pred_idx), self.dtype)
        weights = ops.ones_like(matches)
        if sample_weight is not None:
            weights = weights * ops.cast(ops.reshape(sample_weight, ops.shape(matches)), self.dtype)
        if self.class_weights is not None:
            per_class = ops.convert_to_tensor(self.class_weights, dtype=self.dtype)
            weights = weights * ops.take(per_class, y_true_idx)
        self.correct.assign_add(ops.sum(matches * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "class_weights": self.class_weights}

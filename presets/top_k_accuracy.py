"""TopKAccuracy — is the true class among the k highest-scored ones?  Written the Keras 3 way.

It mirrors Keras's built-in ``top_k_categorical_accuracy`` (k = 5 by default, as there), which
uses ``keras.ops.in_top_k``: a class tied with the k-th score counts as inside the top k.  Labels
may be one-hot or integers; ``sample_weight`` is honoured.  Keras 3 resets metrics through
``reset_state``.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerastui")
class TopKAccuracy(keras.metrics.Metric):
    """Fraction of samples whose true class is among the ``k`` highest predictions."""

    mirrors = "top_k_categorical_accuracy"  # the built-in metric kerastui compares it with

    def __init__(self, k=5, name="my_top_k_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.k = k
        self.hits = self.add_weight(name="hits", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
        if len(y_true.shape) >= 2 and y_true.shape[-1] not in (None, 1):
            y_true_idx = ops.argmax(y_true, axis=-1)
        else:
            y_true_idx = y_true
        y_true_idx = ops.reshape(ops.cast(y_true_idx, "int32"), (-1,))
        hits = ops.cast(ops.in_top_k(y_true_idx, y_pred, k=self.k), self.dtype)
        weights = ops.ones_like(hits) if sample_weight is None else ops.cast(
            ops.reshape(sample_weight, ops.shape(hits)), self.dtype)
        self.hits.assign_add(ops.sum(hits * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.hits, self.total)

    def reset_state(self):
        self.hits.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "k": self.k}

"""core.metrics: checking a metric file, the shipped example metrics against the built-ins they
mirror (real Keras, tiny data), the per-epoch comparison, and placing an exception raised
inside a user's metric at its file and line."""

from __future__ import annotations

import numpy as np
import pytest

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.model.metrics import (
    MetricFileError,
    check_metric_file,
    compare_history,
    describe_error,
    load_module,
    metric_error,
)
from kerastui.core.model.presetdirs import shipped_dir
from kerastui.core.run.trainer import Trainer
from kerastui.core.tfenv import load_keras

SHIPPED = [
    ("my_accuracy.py", "MyAccuracy", "accuracy", "my_accuracy"),
    ("top_k_accuracy.py", "TopKAccuracy", "top_k_categorical_accuracy", "my_top_k_accuracy"),
    ("weighted_accuracy.py", "WeightedAccuracy", "accuracy", "weighted_accuracy"),
]

HEADER = "import keras\nfrom keras import ops\n\n\n"
OLD_STYLE = HEADER + '''\
class OldAccuracy(keras.metrics.Metric):
    def __init__(self, name="old_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(1.0)

    def result(self):
        return self.total

    def reset_states(self):
        self.total.assign(0.0)
'''
RAISES = HEADER + '''\
class Broken(keras.metrics.Metric):
    mirrors = "accuracy"

    def __init__(self, name="broken", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise ValueError("broken on purpose")

    def result(self):
        return self.total
'''
RAISES_LINE = 13


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- the check


@pytest.mark.parametrize(("file", "cls", "mirrors", "name"), SHIPPED, ids=[s[1] for s in SHIPPED])
def test_shipped_metric_files_pass_the_check(file, cls, mirrors, name):
    path = shipped_dir() / file
    report = check_metric_file(path)
    assert report.ok, report.errors
    assert (report.class_name, report.mirrors, report.name) == (cls, mirrors, name)
    assert report.is_metric and report.mirrors_declared and not report.warnings
    text = path.read_text().splitlines()
    for method, line in report.methods.items():
        assert line is not None and text[line - 1].strip().startswith(f"def {method}("), method
    assert text[report.line - 1].startswith(f"class {cls}(")


def test_only_reset_states_is_warned_naming_file_and_line(tmp_path):
    path = write(tmp_path, "old.py", OLD_STYLE)
    report = check_metric_file(path, "OldAccuracy")
    assert report.ok  # it still runs: the base class zeroes the variables
    line = line_of(OLD_STYLE, "def reset_states")
    assert report.warnings == [
        f"{path}:{line}: OldAccuracy defines reset_states, which Keras 3 never calls; rename it reset_state "
        "(until then the base class zeroes every variable between epochs)"]
    assert report.methods["reset_state"] is None
    assert report.mirrors == "accuracy" and not report.mirrors_declared  # guessed from the name


def test_a_class_that_is_not_a_metric_is_an_error(tmp_path):
    path = write(tmp_path, "plain.py", HEADER + "class Plain:\n    def result(self):\n        return 1\n")
    report = check_metric_file(path, "Plain")
    assert not report.ok and not report.is_metric
    assert report.errors == [f"{path}:5: Plain is not a keras.metrics.Metric subclass (it derives from object)"]


def test_missing_methods_and_a_keras2_update_state_signature_are_errors(tmp_path):
    text = HEADER + ("class Half(keras.metrics.Metric):\n"
                     "    def update_state(self, y_true, y_pred):\n"
                     "        pass\n")
    path = write(tmp_path, "half.py", text)
    report = check_metric_file(path)
    assert report.class_name == "Half"
    assert any("does not define result" in e for e in report.errors)
    assert any(e.startswith(f"{path}:6: update_state must accept (y_true, y_pred, sample_weight=None)")
               for e in report.errors)


def test_a_constructor_that_fails_is_shown_with_its_line(tmp_path):
    # Keras 2 style: add_weight's first positional argument is now the shape.
    text = HEADER + ('class Legacy(keras.metrics.Metric):\n'
                     '    def __init__(self, name="legacy", **kwargs):\n'
                     '        super().__init__(name=name, **kwargs)\n'
                     '        self.tp = self.add_weight("tp", initializer="zeros")\n'
                     '\n'
                     '    def update_state(self, y_true, y_pred, sample_weight=None):\n'
                     '        pass\n'
                     '\n'
                     '    def result(self):\n'
                     '        return self.tp\n')
    path = write(tmp_path, "legacy.py", text)
    report = check_metric_file(path)
    assert not report.ok
    assert report.errors[0].startswith(f"{path}:8: Legacy() failed: ")


def test_syntax_error_is_one_line_naming_file_and_line(tmp_path):
    path = write(tmp_path, "bad.py", HEADER + "class Bad(keras.metrics.Metric)\n    pass\n")
    with pytest.raises(MetricFileError) as caught:
        check_metric_file(path)
    assert str(caught.value).startswith(f"{path}:5: SyntaxError: ")
    assert "\n" not in str(caught.value) and isinstance(caught.value, KerasTUIError)


def test_missing_class_or_file_is_one_line_naming_the_file(tmp_path):
    path = write(tmp_path, "old.py", OLD_STYLE)
    with pytest.raises(MetricFileError, match=r"old\.py: defines no MyAccuracy \(metric classes: OldAccuracy\)$"):
        check_metric_file(path, "MyAccuracy")
    with pytest.raises(MetricFileError, match=r"nothing\.py: not found$"):
        check_metric_file(tmp_path / "nothing.py")
    empty = write(tmp_path, "empty.py", "X = 1\n")
    with pytest.raises(MetricFileError, match=r"empty\.py: defines no keras.metrics.Metric subclass"):
        check_metric_file(empty)


def test_an_error_while_importing_names_its_line(tmp_path):
    path = write(tmp_path, "typo.py", HEADER + "metric = keras.metrics.Metrc\n")
    with pytest.raises(MetricFileError) as caught:
        check_metric_file(path)
    assert str(caught.value).startswith(f"{path}:5: AttributeError while importing: ")


# --------------------------------------------------------------------------- against the built-ins

def tiny_batches(seed: int, classes: int, n: int = 96, batch: int = 16):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    logits = rng.normal(size=(n, classes)).astype("float32")
    logits[np.arange(n), labels] += rng.normal(0.5, 1.0, size=n).astype("float32")  # better than chance
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    weights = rng.uniform(0.1, 3.0, size=n).astype("float32")
    onehot = np.eye(classes, dtype="float32")[labels]
    return [(onehot[i:i + batch], labels[i:i + batch], probs[i:i + batch], weights[i:i + batch])
            for i in range(0, n, batch)]


def run_metric(metric, batches, *, sparse=False, weighted=False) -> float:
    metric.reset_state()
    for onehot, labels, probs, weights in batches:
        metric.update_state(labels if sparse else onehot, probs, sample_weight=weights if weighted else None)
    return float(metric.result())


def shipped_class(file: str, cls: str):
    return getattr(load_module(shipped_dir() / file), cls)


def test_shipped_metrics_equal_their_builtins_on_tiny_data():
    keras = load_keras()
    batches = tiny_batches(0, classes=8)
    MyAccuracy = shipped_class("my_accuracy.py", "MyAccuracy")
    TopKAccuracy = shipped_class("top_k_accuracy.py", "TopKAccuracy")
    WeightedAccuracy = shipped_class("weighted_accuracy.py", "WeightedAccuracy")
    pairs = [
        (keras.metrics.CategoricalAccuracy(), MyAccuracy(), {}),
        (keras.metrics.CategoricalAccuracy(), WeightedAccuracy(), {}),
        (keras.metrics.CategoricalAccuracy(), WeightedAccuracy(), {"weighted": True}),
        (keras.metrics.SparseCategoricalAccuracy(), WeightedAccuracy(), {"sparse": True}),
        (keras.metrics.get("top_k_categorical_accuracy"), TopKAccuracy(), {}),  # k=5 both
        (keras.metrics.TopKCategoricalAccuracy(k=2), TopKAccuracy(k=2), {}),
        (keras.metrics.TopKCategoricalAccuracy(k=2), TopKAccuracy(k=2), {"weighted": True}),
        (keras.metrics.SparseTopKCategoricalAccuracy(k=3), TopKAccuracy(k=3), {"sparse": True}),
    ]
    for builtin, custom, how in pairs:
        a, b = run_metric(builtin, batches, **how), run_metric(custom, batches, **how)
        assert abs(a - b) <= 1e-6, (builtin.name, custom.name, how, a, b)
        assert 0.0 < a < 1.0  # the data is neither trivially right nor wrong
    # Weights change the weighted accuracy: it is not plain accuracy under another name.
    plain, weighted = (run_metric(WeightedAccuracy(), batches, weighted=w) for w in (False, True))
    assert abs(plain - weighted) > 1e-3
    # Class weights: each sample weighs as much as its true class.
    class_weights = [1, 2, 3, 4, 5, 6, 7, 8]
    metric = WeightedAccuracy(class_weights=class_weights)
    got = run_metric(metric, batches)
    labels = np.concatenate([b[1] for b in batches])
    hits = np.concatenate([b[2].argmax(axis=1) == b[1] for b in batches])
    w = np.asarray(class_weights, dtype="float64")[labels]
    assert got == pytest.approx(float((hits * w).sum() / w.sum()), abs=1e-6)
    # A binary problem (one sigmoid output): binary_accuracy.
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(64, 1)).astype("float32")
    p = rng.uniform(size=(64, 1)).astype("float32")
    builtin, custom = keras.metrics.BinaryAccuracy(), WeightedAccuracy()
    builtin.update_state(y, p)
    custom.update_state(y, p)
    assert abs(float(builtin.result()) - float(custom.result())) <= 1e-6


def test_top_k_and_weighted_accuracy_equal_their_builtins_every_epoch_of_a_real_fit():
    keras = load_keras()
    keras.utils.set_random_seed(3)
    TopKAccuracy = shipped_class("top_k_accuracy.py", "TopKAccuracy")
    WeightedAccuracy = shipped_class("weighted_accuracy.py", "WeightedAccuracy")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(240, 6)).astype("float32")
    labels = (x[:, :3] @ rng.normal(size=(3, 7))).argmax(axis=1)
    y = np.eye(7, dtype="float32")[labels]
    weights = rng.uniform(0.2, 2.0, size=240).astype("float32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(7, activation="softmax")])
    # Keras 3 passes sample_weight to weighted_metrics only: the weighted pair goes there.
    model.compile("adam", "categorical_crossentropy", metrics=["top_k_categorical_accuracy", TopKAccuracy()],
                  weighted_metrics=["accuracy", WeightedAccuracy()])
    history = model.fit(x, y, sample_weight=weights, validation_split=0.25, epochs=3, batch_size=32,
                        verbose=0).history
    for prefix in ("", "val_"):
        for builtin, custom in (("top_k_categorical_accuracy", "my_top_k_accuracy"),
                                ("accuracy", "weighted_accuracy")):
            a, b = history[prefix + builtin], history[prefix + custom]
            assert len(a) == len(b) == 3
            assert np.allclose(a, b, atol=1e-6, rtol=0), (prefix + builtin, a, b)
    assert max(history["top_k_categorical_accuracy"]) < 1.0  # 7 classes, k=5: not trivially 1


# --------------------------------------------------------------------------- the comparison


def test_compare_history_rows_and_the_largest_difference():
    history = {"accuracy": [0.5, 0.7, 0.8], "my_accuracy": [0.5, 0.7, 0.8],
               "val_accuracy": [0.6, 0.65, 0.9], "val_my_accuracy": [0.6, 0.65 + 3e-7, 0.9]}
    comparison = compare_history(history, "accuracy", "my_accuracy")
    assert [r.epoch for r in comparison.rows] == [1, 2, 3]
    assert comparison.rows[1].train_diff == 0.0
    largest = comparison.largest
    assert largest[1:] == ("val", 2) and largest[0] == pytest.approx(3e-7)
    assert comparison.agree is True
    assert comparison.verdict().startswith("✓ my_accuracy equals accuracy within 1e-06: largest |difference| 3.0e-07 "
                                           "(val, epoch 2)")
    history["my_accuracy"][2] = 0.75
    comparison = compare_history(history, "accuracy", "my_accuracy")
    assert comparison.agree is False and comparison.largest[1:] == ("train", 3)
    assert comparison.verdict().startswith("✗ my_accuracy differs from accuracy")
    assert compare_history({"loss": [1.0]}, "accuracy", "my_accuracy").rows == []


# --------------------------------------------------------------------------- errors in user code


def test_describe_error_finds_the_innermost_frame_in_the_metric_file(tmp_path):
    path = write(tmp_path, "broken.py", RAISES)
    metric = load_module(path).Broken()
    with pytest.raises(ValueError) as caught:
        metric.update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    expected = f"{path}:{RAISES_LINE}: ValueError: broken on purpose"
    assert describe_error(caught.value, [path]) == expected
    assert describe_error(caught.value, [tmp_path / "other.py"]) is None
    # Wrapped (raise ... from None keeps the original as __context__): still found.
    try:
        try:
            metric.update_state(np.zeros((2, 3)), np.zeros((2, 3)))
        except ValueError:
            raise KerasTUIError("fit: broken on purpose") from None
    except KerasTUIError as wrapped:
        assert describe_error(wrapped, [path]) == expected
    # TensorFlow's graph errors only name the place in their message.
    message = RuntimeError(f'Detected at node x defined at:\n  File "{path}", line 9, in update_state\nboom')
    assert describe_error(message, [path]).startswith(f"{path}:9: RuntimeError")


def test_a_metric_raising_during_training_fails_with_its_file_and_line(tmp_path):
    path = write(tmp_path, "broken.py", RAISES)
    preset = presets.load("ex4", {"fit.epochs": 1, "compile.custom_metrics": [f"{path}:Broken"]})
    trainer = Trainer(preset, record=False)
    with pytest.raises(KerasTUIError) as caught:
        trainer.run()
    assert str(caught.value) == f"custom metric: {path}:{RAISES_LINE}: ValueError: broken on purpose"
    assert trainer.result.status == "failed" and trainer.result.error == str(caught.value)
    assert metric_error(ValueError("elsewhere"), preset) is None

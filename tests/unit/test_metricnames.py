"""core.metricnames: which end of a metric is better, its best epoch and the accuracy key — one
rule that the run state (status line), the charts and the Runs table follow; evaluation.display_images;
errors.user_message."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from kerastui.core.errors import KerasTUIError, user_message
from kerastui.core.evaluation import display_images
from kerastui.core.model.metricnames import ACCURACY_KEYS, accuracy_key, best_epoch, lower_is_better
from kerastui.core.run.directory import list_runs
from kerastui.core.run.events import EpochEnded
from kerastui.ui.state import RunState
from kerastui.ui.widgets.charts import MetricChart

NAN = float("nan")

LOWER = ["loss", "val_loss", "mae", "val_mae", "mse", "rmse", "msle", "mape", "mean_absolute_error",
         "categorical_crossentropy", "kl_divergence", "squared_hinge", "poisson", "logcosh", "huber"]
HIGHER = ["accuracy", "val_accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy",
          "top_k_categorical_accuracy", "auc", "val_auc", "precision", "recall", "f1_score", "mean_iou", "r2_score"]


@pytest.mark.parametrize("name", LOWER)
def test_losses_and_errors_are_better_lower(name):
    assert lower_is_better(name)


@pytest.mark.parametrize("name", HIGHER)
def test_accuracy_and_scores_are_better_higher(name):
    assert not lower_is_better(name)


def test_best_epoch_follows_the_direction_and_counts_from_one():
    assert best_epoch([0.9, 0.4, 0.6], "val_loss") == 2
    assert best_epoch([0.9, 0.4, 0.6], "val_accuracy") == 1
    assert best_epoch([3.0, 2.0, 2.5], "mae") == 2


def test_best_epoch_skips_values_that_are_not_finite():
    assert best_epoch([NAN, 0.5, NAN, 0.7], "accuracy") == 4
    assert best_epoch([NAN, 0.5, math.inf, 0.7], "loss") == 2
    assert best_epoch([NAN, NAN], "loss") is None
    assert best_epoch([], "loss") is None


def test_best_epoch_takes_the_first_of_equal_values():
    assert best_epoch([0.5, 0.2, 0.2], "loss") == 2
    assert best_epoch([0.8, 0.9, 0.9], "accuracy") == 2


def test_accuracy_key_is_the_first_accuracy_name_logged():
    assert accuracy_key(["loss", "val_loss", "sparse_categorical_accuracy", "acc"]) == "acc"
    assert accuracy_key({"loss": [1.0], "categorical_accuracy": [0.5]}) == "categorical_accuracy"
    assert accuracy_key(["loss", "val_accuracy"]) is None
    assert accuracy_key(iter(ACCURACY_KEYS[::-1])) == "accuracy"


def _state(history: dict[str, list[float]]) -> RunState:
    state = RunState(status="completed")
    for epoch in range(max(len(v) for v in history.values())):
        state.apply(EpochEnded("train", epoch, {k: v[epoch] for k, v in history.items()}))
    return state


def test_run_state_picks_the_lowest_val_mae():
    state = _state({"mae": [3.0, 2.0, 1.0], "val_mae": [0.9, 0.3, 0.5]})
    assert state.best_epoch("val_mae") == 2
    assert state.best_epoch("mae") == 3


def test_the_chart_marks_the_same_epoch_as_the_run_state():
    history = {"mae": [3.0, 2.0, 1.0], "val_mae": [0.9, 0.3, 0.5], "val_accuracy": [0.2, 0.7, 0.7],
               "accuracy": [0.1, 0.2, 0.3]}
    state = _state(history)
    for metric, expected in (("mae", 2), ("accuracy", 2)):
        chart = MetricChart(metric)
        chart.history = {k: v for k, v in history.items() if k.removeprefix("val_") == metric}
        assert chart.best_epoch == state.best_epoch(f"val_{metric}") == expected


def test_epoch_label_counts_the_epoch_under_way_while_running():
    state = _state({"loss": [1.0, 0.5]})
    state.epochs_planned = 5
    assert state.epoch_label == "epoch 2/5"
    state.status = "running"
    assert state.epoch_label == "epoch 3/5"
    state.epoch = 7
    assert state.epoch_label == "epoch 5/5"


def test_display_images_scales_each_image_to_zero_one():
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(-3, 7, (4, 5, 3)), rng.uniform(100, 200, (4, 5, 3)), np.full((4, 5, 3), 42.0)])
    shown = display_images(x)
    assert shown.dtype == np.float32 and shown.shape == x.shape
    for image in shown[:2]:
        assert image.min() == 0.0 and image.max() == pytest.approx(1.0)
    assert not shown[2].any()  # a flat image: all zeros


def test_display_images_accepts_integer_pixels():
    x = np.array([[[[0], [255]], [[51], [102]]]], dtype="uint8")
    np.testing.assert_allclose(display_images(x)[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)


def test_the_runs_table_takes_the_best_validation_value_the_same_way(tmp_path):
    """The Runs table's best validation values: lowest mae/loss, highest accuracy, NaN never best."""
    run = tmp_path / "20261130-000000-reg"
    run.mkdir()
    rows = [{"epoch": 1, "val_loss": float("nan"), "val_mae": 3.0, "val_accuracy": 0.5},
            {"epoch": 2, "val_loss": 0.9, "val_mae": 1.5, "val_accuracy": 0.7},
            {"epoch": 3, "val_loss": 1.1, "val_mae": 2.0, "val_accuracy": 0.6}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (info,) = list_runs(tmp_path)
    assert info.best_val == {"val_loss": 0.9, "val_mae": 1.5, "val_accuracy": 0.7}


def test_user_message_is_one_line_naming_the_type_once():
    assert user_message(KerasTUIError("data.source: no such file")) == "data.source: no such file"
    assert user_message(ValueError("bad value\n  at line 3")) == "ValueError: bad value"
    assert user_message(ValueError()) == "ValueError"

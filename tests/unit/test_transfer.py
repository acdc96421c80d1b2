"""keras.applications bases: weights resolution (offline imagenet, none, a local file),
freeze / unfreeze-last-N with BatchNormalization kept frozen, and stage folding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerastui.core.errors import TransferError
from kerastui.core.model.specs import TransferSpec
from kerastui.core.model.transfer import load_base, stages, transfer_image_shape, unfreeze_last
from tests.conftest import offline_env, run_cli


def test_offline_imagenet_is_a_clear_error_naming_the_weights_file(tmp_path, runs_dir):
    proc = run_cli("train", "ex5", "--data", "synthetic:images", "--limit", "64", "--runs-dir", str(runs_dir),
                   env=offline_env(tmp_path), timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "ex5.toml: transfer.weights: ResNet50 imagenet weights are not cached" in lines[0]
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in lines[0]
    assert 'transfer.weights = "none"' in lines[0]
    assert "Traceback" not in proc.stderr


def test_offline_imagenet_continues_without_weights_when_allowed(tmp_path, runs_dir):
    proc = run_cli("train", "ex5", "--data", "synthetic:images", "--limit", "64", "--epochs", "1",
                   "--set", "transfer.base=MobileNetV2", "--set", "transfer.allow_no_weights=true",
                   "--set", "transfer.fine_tune_epochs=0",
                   "--set", "callbacks.tensorboard.log_dir=" + str(tmp_path / "tb"),
                   "--json", "--runs-dir", str(runs_dir), env=offline_env(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert any("imagenet weights unavailable offline" in n for n in result["notices"])
    assert result["epochs_run"] == 1 and [p["name"] for p in result["phases"]] == ["head"]
    assert "imagenet weights unavailable offline" in proc.stderr  # the notice is shown as it happens


def test_local_weights_file_is_loaded(tmp_path):
    spec = TransferSpec(base="MobileNetV2", weights="none")
    base, notices = load_base(spec, (32, 32, 3))
    assert notices == []
    path = tmp_path / "mobilenet.weights.h5"
    base.save_weights(path)
    loaded, _ = load_base(TransferSpec(base="MobileNetV2", weights=str(path)), (32, 32, 3))
    for a, b in zip(base.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(TransferError, match=r"transfer\.weights: .*missing\.h5 not found"):
        load_base(TransferSpec(base="MobileNetV2", weights=str(tmp_path / "missing.h5")), (32, 32, 3))


def test_unknown_base_suggests_real_ones():
    with pytest.raises(TransferError, match=r"'ResNet5' is not a keras.applications model; closest: ResNet50"):
        load_base(TransferSpec(base="ResNet5", weights="none"), (32, 32, 3))


def test_resnet50_unfreeze_last_10_keeps_batchnorm_frozen_and_folds_stages():
    base, _ = load_base(TransferSpec(weights="none"), (32, 32, 3))
    assert len(base.layers) == 175
    base.trainable = False
    assert base.trainable_weights == []
    names = unfreeze_last(base, 10)
    last = base.layers[-10:]
    assert names == [layer.name for layer in last if type(layer).__name__ != "BatchNormalization"]
    assert len(names) == 7
    expected = sum(layer.count_params() for layer in last if type(layer).__name__ != "BatchNormalization")
    assert sum(int(np.prod(w.shape)) for w in base.trainable_weights) == expected
    assert all(not layer.trainable for layer in base.layers[:-10])
    folded = [name for name, _ in stages(base)]
    assert folded[:3] == ["input", "conv1", "pool1"] and folded[-1] == "conv5"
    assert sum(len(layers) for _, layers in stages(base)) == 175


def test_input_shape_grows_to_the_base_minimum():
    assert transfer_image_shape(TransferSpec(), (8, 8, 1)) == (32, 32, 3)
    assert transfer_image_shape(TransferSpec(base="InceptionV3"), (32, 32, 3)) == (75, 75, 3)
    assert transfer_image_shape(TransferSpec(input_shape=[64, 64, 3]), (8, 8, 1)) == (64, 64, 3)



def _keras_trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_base_table_counts_equal_keras_counts_for_any_boundary():
    """The panel's counts come from a table measured once; for every N and the freeze toggle they must
    equal what Keras reports after freeze / unfreeze_last on the real transfer model."""
    from kerastui.core.model import presets
    from kerastui.core.model.builder import build_model
    from kerastui.core.model.transfer import freeze, inspect_base

    preset = presets.load("ex5", {"transfer.weights": "none", "data.source": "synthetic:images"})
    table = inspect_base(preset.transfer, (32, 32, 3), preset.model.layers)
    built = build_model(preset, (32, 32, 3))
    model, base = built.model, built.base
    assert len(table.layers) == len(base.layers) == 175
    assert table.total == model.count_params()
    freeze(base)
    assert table.phase1(True).trainable == _keras_trainable(model) == table.head_trainable == 2048 * 5 + 5
    base.trainable = True
    for layer in base.layers:
        layer.trainable = True
    assert table.phase1(False).trainable == _keras_trainable(model)
    for n in (0, 1, 10, 32, 100, 175, 500):
        unfreeze_last(base, n)
        assert table.phase2(n).trainable == _keras_trainable(model), n
        assert table.phase2(n).non_trainable == model.count_params() - _keras_trainable(model), n
    unfreeze_last(base, 10)
    seven = [layer for layer in base.layers[-10:] if type(layer).__name__ != "BatchNormalization"]
    assert len(seven) == 7 and table.batch_norm_kept(10) == 3
    assert table.phase2(10).trainable == table.head_trainable + sum(layer.count_params() for layer in seven)
    assert [table.unfrozen(i, 10) for i in range(165, 175)] == [layer.trainable for layer in base.layers[-10:]]


def test_stage_labels_fold_the_bases_by_their_own_names():
    from kerastui.core.model.transfer import fold_stages, stage_of

    assert [stage_of(n) for n in ("input_layer", "conv1_conv", "pool1_pool", "conv2_block1_1_conv",
                                  "conv5_block3_out")] == ["input", "conv1", "pool1", "conv2_x", "conv5_x"]
    assert [stage_of(n) for n in ("bn_Conv1", "expanded_conv_project", "block_13_expand", "block2b_dwconv",
                                  "block3_conv1", "top_conv")] == ["Conv1", "block0", "block13", "block2", "block3",
                                                                   "top"]
    assert fold_stages(["a", "a", "b", "a"]) == [("a", 0, 2), ("b", 2, 3), ("a", 3, 4)]
    chunks = fold_stages([f"s{i}" for i in range(100)])  # no runs to fold: even chunks instead
    assert len(chunks) == 20 and chunks[0][1:] == (0, 5) and chunks[-1][2] == 100


def test_stage_steps_move_n_to_stage_starts():
    from kerastui.core.model.transfer import BaseLayer, BaseTable

    layers = [BaseLayer(i, f"l{i}", "Conv2D", stage, 10, 10, False)
              for i, stage in enumerate(["input", "a", "a", "b", "b", "b"])]
    table = BaseTable("Toy", (32, 32, 3), layers, head_trainable=5)
    assert [table.stage_step(n, 1) for n in (0, 1, 3, 5, 6)] == [3, 3, 5, 6, 6]
    assert [table.stage_step(n, -1) for n in (6, 5, 4, 3, 0)] == [5, 3, 3, 0, 0]
    assert table.phase2(4).trainable == 5 + 40 and table.clamp(99) == 6


def test_weights_check_names_a_missing_file_and_accepts_none(tmp_path):
    from kerastui.core.model.transfer import check_weights

    assert check_weights(TransferSpec(weights="none"), (32, 32, 3)) == (True, "none: random initial weights")
    ok, message = check_weights(TransferSpec(weights=str(tmp_path / "nope.h5")), (32, 32, 3))
    assert not ok and message.startswith("transfer.weights: ") and "nope.h5 not found" in message


def test_two_phase_run_tests_each_phase_and_logs_tensorboard_for_both(tmp_path, runs_dir):
    """Headless from a preset: phase 1 (head) and phase 2 (fine-tune) each evaluated on the test split,
    each with its own TensorBoard folder (train and validation) under the one log dir."""
    from kerastui.core.model import presets
    from kerastui.core.run.trainer import train

    logs = tmp_path / "tb"
    preset = presets.load("ex5", {"transfer.base": "MobileNetV2", "transfer.weights": "none",
                                  "data.source": "synthetic:images", "data.limit": 64, "fit.epochs": 1,
                                  "transfer.fine_tune_epochs": 1, "transfer.fine_tune_last": 10,
                                  "callbacks.tensorboard.log_dir": str(logs)})
    result = train(preset, runs_dir=runs_dir)
    assert [p["name"] for p in result.phases] == ["head", "fine_tune"]
    assert [p["epochs"] for p in result.phases] == [1, 1] and result.epochs_run == 2
    head, tune = result.phases
    assert head["learning_rate"] == 1e-3 and tune["learning_rate"] == 1e-5
    assert head["trainable"] == 1280 * 5 + 5 < tune["trainable"]
    for phase in result.phases:
        assert set(phase["test"]) >= {"loss", "accuracy"}
        assert set(phase["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.test["accuracy"] == tune["test"]["accuracy"]
    for phase in ("head", "fine_tune"):
        for split in ("train", "validation"):
            assert list((logs / phase / split).glob("events.out.tfevents.*")), (phase, split)
    assert result.tensorboard == f"tensorboard --logdir {logs}"
    summary = json.loads((runs_dir / next(p.name for p in runs_dir.iterdir()) / "summary.json").read_text())
    assert [p["name"] for p in summary["phases"]] == ["head", "fine_tune"]

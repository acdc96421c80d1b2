"""keras.applications bases: weights resolution (offline imagenet, none, a local file),
freeze / unfreeze-last-N with BatchNormalization kept frozen, and stage folding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerastui.core.errors import TransferError
from kerastui.core.specs import TransferSpec
from kerastui.core.transfer import load_base, stages, transfer_image_shape, unfreeze_last
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
                   "--set", "transfer.fine_tune_epochs=0", "--set", "callbacks.tensorboard.log_dir=" + str(tmp_path / "tb"),
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
    for a, b in zip(base.weights, loaded.weights):
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


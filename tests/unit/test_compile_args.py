"""Metrics, optimizers and losses with arguments (issue 13, item 5): a compile entry is a Keras name
or ``{type = "ClassName", arg = value}``, checked against the class's signature with one-line errors
naming the key; presets round-trip; the trainer, the label mode, the script exporter, saving, the
logged metric names and the custom metric's mirrored built-in all read the tables; the top-5 trap
of ``"top_k_categorical_accuracy"`` is written where metrics are explained."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from kerastui.core.check import check
from kerastui.core.errors import ModelError, PresetError
from kerastui.core.model import kerasobjects, presets
from kerastui.core.model.metricnames import logged_name
from kerastui.core.model.metrics import check_metric_file, mirror_key_for, place_mirror
from kerastui.core.model.presetdirs import shipped_dir
from kerastui.core.model.specs import ObjectSpec
from kerastui.core.run.trainer import Trainer
from kerastui.core.saving import load_model, save_model
from kerastui.core.script import export_script
from tests.conftest import REPO, offline_env, run_cli

TOP2 = {"type": "TopKCategoricalAccuracy", "k": 2}
SGD = {"type": "SGD", "momentum": 0.9, "nesterov": True}
SMOOTH = {"type": "CategoricalCrossentropy", "label_smoothing": 0.1}

IRIS = """
title = "iris with arguments"
[data]
source = "sklearn:iris"
[model]
layers = [{type = "Dense", units = 8, activation = "relu"}, {type = "Dense", units = 3, activation = "softmax"}]
[compile]
optimizer = {type = "SGD", momentum = 0.9, nesterov = true, learning_rate = 0.05}
loss = {type = "CategoricalCrossentropy", label_smoothing = 0.1}
metrics = ["accuracy", {type = "TopKCategoricalAccuracy", k = 2}, {type = "F1Score", average = "macro", name = "f1"}]
[fit]
epochs = 2
batch_size = 16
"""


def iris(**overrides):
    return presets.loads(IRIS, "iris.toml", overrides=overrides or None)


# --------------------------------------------------------------------------- presets


def test_tables_load_dump_and_load_back_equal():
    preset = iris()
    c = preset.compile
    assert c.optimizer == ObjectSpec("SGD", {"momentum": 0.9, "nesterov": True, "learning_rate": 0.05})
    assert c.loss == ObjectSpec("CategoricalCrossentropy", {"label_smoothing": 0.1})
    assert c.metrics[0] == "accuracy" and c.metrics[1] == ObjectSpec("TopKCategoricalAccuracy", {"k": 2})
    assert c.loss_name == "CategoricalCrossentropy"
    again = presets.loads(presets.dumps(preset), "again.toml")
    assert again == preset and again.compile == c
    assert 'metrics = [\n    "accuracy",\n    { type = "TopKCategoricalAccuracy", k = 2 },' in presets.dumps(preset)


@pytest.mark.parametrize("overrides, message", [
    ({"compile.metrics": ["accuracy", 5]}, r"compile\.metrics\[1\]: must be a name or a table like \{type = "),
    ({"compile.metrics": [{"k": 2}]}, r"compile\.metrics\[0\]: a table needs a 'type'"),
    ({"compile.metrics": [{"type": 3}]}, r"compile\.metrics\[0\]\.type: must be a Keras class name, got 3"),
    ({"compile.optimizer": {"type": "SGD", "momentum": float("nan")}},
     r"compile\.optimizer\.momentum: must be a finite number, got nan"),
    ({"compile.metrics": [TOP2, TOP2]}, r"compile\.metrics\[1\]: 'TopKCategoricalAccuracy\(k=2\)' is listed twice"),
    ({"compile.loss": ["mse"]}, r"compile\.loss: must be a name or a table"),
    ({"compile.optimizer": {"type": "SGD", "learning_rate": 0.1}, "compile.learning_rate": 0.01},
     r"compile\.optimizer\.learning_rate: given twice"),
])
def test_malformed_tables_are_preset_errors_naming_file_and_key(overrides, message):
    with pytest.raises(PresetError, match=r"^iris\.toml: " + message):
        iris(**overrides)


# --------------------------------------------------------------------------- checked against Keras


@pytest.mark.parametrize("key, value, message", [
    ("metrics", ["accuracy", {"type": "TopKCategoricalAccuracy", "k": "two"}],
     r"compile\.metrics\[1\]\.k: must be an integer \(TopKCategoricalAccuracy's default is 5\), got 'two'"),
    ("metrics", ["accuracy", {"type": "TopKCategoricalAccuracy", "k": 2.5}], r"compile\.metrics\[1\]\.k: must be an"),
    ("metrics", ["accuracy", {"type": "TopKCategoricalAccuracy", "kk": 2}],
     r"compile\.metrics\[1\]\.kk: TopKCategoricalAccuracy has no argument 'kk'; did you mean k\?"),
    ("metrics", [{"type": "TopKCategoricalAcuracy", "k": 2}],
     r"compile\.metrics\[0\]\.type: unknown metric class 'TopKCategoricalAcuracy'; closest: TopKCategoricalAccuracy"),
    ("metrics", [{"type": "topkcategoricalaccuracy"}],
     r"compile\.metrics\[0\]\.type: unknown metric class .*; closest: TopKCategoricalAccuracy$"),
    ("metrics", ["accuracy", {"type": "MeanIoU"}], r"compile\.metrics\[1\]: MeanIoU needs num_classes"),
    ("metrics", ["accuracy", {"type": "AUC", "curve": "PRR"}], r"compile\.metrics\[1\]\.curve: AUC: .*PRR"),
    ("metrics", ["top_k_categorical_accuracy", TOP2],
     r"compile\.metrics\[1\]: TopKCategoricalAccuracy\(k=2\) is logged as 'top_k_categorical_accuracy', as "
     r"compile\.metrics\[0\] \(top_k_categorical_accuracy\) is; give one another name"),
    ("metrics", ["acuracy"], r"compile\.metrics\[0\]: unknown metric 'acuracy'; did you mean accuracy"),
    ("optimizer", {"type": "SGD", "momentum": 2.0}, r"compile\.optimizer\.momentum: SGD: .*momentum"),
    ("optimizer", {"type": "SGD", "momentun": 0.9},
     r"compile\.optimizer\.momentun: SGD has no argument 'momentun'; did you mean momentum"),
    ("optimizer", {"type": "SGD", "nesterov": 1},
     r"compile\.optimizer\.nesterov: must be true or false \(SGD's default is False\), got 1"),
    ("optimizer", {"type": "sgd"}, r"compile\.optimizer\.type: unknown optimizer class 'sgd'; closest: SGD$"),
    ("optimizer", "adamm", r"compile\.optimizer: unknown optimizer 'adamm'; did you mean"),
    ("loss", {"type": "CategoricalCrossentropy", "reduction": "x"},
     r"compile\.loss\.reduction: CategoricalCrossentropy: .*reduction"),
    ("loss", {"type": "CategoricalCrossentropy", "label_smoothing": "lots"},
     r"compile\.loss\.label_smoothing: must be a number"),
    ("loss", "crossentropy_of_doom", r"compile\.loss: unknown loss 'crossentropy_of_doom'"),
])
def test_keras_checks_each_entry_and_names_the_key(key, value, message):
    spec = iris(**{f"compile.{key}": value}).compile
    with pytest.raises(ModelError, match="^" + message):
        kerasobjects.check_compile(spec)


def test_the_cli_says_the_file_and_key_in_one_line(tmp_path):
    path = tmp_path / "preset.toml"
    path.write_text(IRIS.replace("k = 2}", 'k = "two"}'))
    result = check(presets.load(path))  # kerastui check: no training
    assert not result.ok and result.error.startswith(f"{path.resolve()}: compile.metrics[1].k: must be an integer")
    proc = run_cli("train", str(path), "--runs-dir", str(tmp_path / "runs"), env=offline_env(tmp_path))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"kerastui: error: {path}: compile.metrics[1].k: must be an integer"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_keras_metric_class_is_logged_under_the_name_kerastui_predicts():
    """The metric-name table: metricnames.logged_name (plain Python) against each class's real name."""
    filled = {"num_classes": 3, "target_class_ids": [0, 1]}
    for name, cls in kerasobjects.classes("metric").items():
        required = [a.name for a in kerasobjects._args(cls) if a.required]
        metric = cls(**{a: filled.get(a, 0.5) for a in required})
        assert logged_name(ObjectSpec(name, {a: filled.get(a, 0.5) for a in required})) == metric.name, name
    assert logged_name(ObjectSpec("TopKCategoricalAccuracy", {"k": 2})) == "top_k_categorical_accuracy"
    assert logged_name(ObjectSpec("TopKCategoricalAccuracy", {"k": 2, "name": "top2"})) == "top2"
    assert logged_name("top_k_categorical_accuracy") == "top_k_categorical_accuracy"


def test_the_train_forms_names_map_to_keras_classes():
    """The optimizer and loss tables: each lower-case name the Train form offers is a Keras class."""
    optimizers = kerasobjects.classes("optimizer")
    assert {name.lower() for name in optimizers} == set(kerasobjects.OPTIMIZER_CLASSES)
    assert all(cls in optimizers for cls in kerasobjects.OPTIMIZER_CLASSES.values())
    losses = kerasobjects.classes("loss")
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    y = np.eye(3)[[0, 1, 2, 1]].astype("float32")
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]], "float32")
    for name, cls in kerasobjects.LOSS_CLASSES.items():
        assert cls in losses, cls  # the string and the class compute the same loss
        labels = y.argmax(axis=1) if name.startswith("sparse") else y
        by_name = float(keras.ops.mean(keras.losses.get(name)(labels, p)))
        assert by_name == pytest.approx(float(losses[cls]()(labels, p)), rel=1e-5), name


def test_the_top5_trap_is_documented_in_the_catalogue_help_and_readme():
    entries = {info.name: info for info in kerasobjects.catalogue("metric")}
    note = entries["top_k_categorical_accuracy"].note
    assert "top-5" in note and "k = 5" in note and '{type = "TopKCategoricalAccuracy", k = 2}' in note
    assert "TopKCategoricalAccuracy(k=2)" in note
    assert "k" in [a.name for a in entries["TopKCategoricalAccuracy"].args]
    assert entries["TopKCategoricalAccuracy"].note
    assert kerasobjects.TOP_K_TRAP in kerasobjects.COMPILE_HELP
    from kerastui.ui.screens.train import TrainScreen

    assert kerasobjects.COMPILE_HELP in TrainScreen.HELP
    readme = (REPO / "README.md").read_text()
    assert '"top_k_categorical_accuracy"' in readme and "top-5" in readme
    assert '{ type = "TopKCategoricalAccuracy", k = 2 }' in readme


# --------------------------------------------------------------------------- what reads the tables


def test_training_compiles_the_tables_and_logs_each_metric_by_its_name(runs_dir, tmp_path):
    trainer = Trainer(iris(), runs_dir=runs_dir)
    result = trainer.run()
    assert result.status == "completed" and result.epochs_run == 2
    for key in ("accuracy", "top_k_categorical_accuracy", "f1", "val_top_k_categorical_accuracy"):
        assert len(result.history[key]) == 2, key
    model = trainer.model
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "SGD" and optimizer.nesterov is True
    assert float(optimizer.momentum) == pytest.approx(0.9) and float(optimizer.learning_rate) == pytest.approx(0.05)
    assert type(model.loss).__name__ == "CategoricalCrossentropy" and model.loss.label_smoothing == 0.1
    assert trainer.data.label_mode == "categorical"  # decided from the table's class name
    top = next(m for m in model.metrics[1].metrics if m.name == "top_k_categorical_accuracy")
    assert top._fn_kwargs["k"] == 2
    # Saved and loaded back: the compile config keeps every argument.
    path = save_model(model, tmp_path / "m.keras")
    loaded = load_model(path)
    config = loaded.get_compile_config()
    assert config["optimizer"]["class_name"] == "SGD" and config["optimizer"]["config"]["nesterov"] is True
    assert config["loss"]["config"]["label_smoothing"] == 0.1
    assert any(m["config"].get("k") == 2 for m in config["metrics"] if isinstance(m, dict))


def test_a_sparse_loss_table_decides_sparse_labels():
    preset = iris(**{"compile.loss": {"type": "SparseCategoricalCrossentropy", "from_logits": False},
                     "compile.metrics": ["accuracy"]})
    result = check(preset)
    assert result.ok, result.error
    assert result.data["label_mode"] == "sparse"


def test_the_exported_script_writes_keras_classes_and_runs(tmp_path):
    text = export_script(iris(**{"fit.epochs": 1}))
    assert "keras.metrics.TopKCategoricalAccuracy(k=2)" in text
    assert "keras.metrics.F1Score(average='macro', name='f1')" in text
    assert "optimizer = keras.optimizers.SGD(momentum=0.9, nesterov=True, learning_rate=0.05)" in text
    assert "loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1)" in text
    script = tmp_path / "train.py"
    script.write_text(text)
    env = offline_env(tmp_path)
    env["PYTHONPATH"] = ""
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"test: \{.*'top_k_categorical_accuracy'", run.stdout), run.stdout[-500:]


# --------------------------------------------------------------------------- the mirrored built-in


def top2_file(tmp_path):
    """The shipped TopKAccuracy with k = 2 by default (its class still says mirrors the top-5 string)."""
    text = (shipped_dir() / "top_k_accuracy.py").read_text()
    assert "def __init__(self, k=5," in text
    path = tmp_path / "top2.py"
    path.write_text(text.replace("def __init__(self, k=5,", "def __init__(self, k=2,"))
    return path


def test_a_top2_custom_metric_mirrors_top_k_with_k_2_not_the_top5_string(tmp_path):
    report = check_metric_file(top2_file(tmp_path))
    assert report.ok, report.errors
    assert report.mirrors == ObjectSpec("TopKCategoricalAccuracy", {"k": 2})
    assert report.mirror_text == "TopKCategoricalAccuracy(k=2)"
    assert report.mirror_key == "top_k_categorical_accuracy"
    shipped = check_metric_file(shipped_dir() / "top_k_accuracy.py")  # k = 5: the string is right
    assert shipped.mirrors == "top_k_categorical_accuracy"
    # Beside the top-5 string, the k=2 built-in gets a name of its own; an equal one already listed is used.
    metrics, key = place_mirror(["accuracy", "top_k_categorical_accuracy"], report.mirrors)
    assert key == "top_2_categorical_accuracy"
    assert metrics[-1] == ObjectSpec("TopKCategoricalAccuracy", {"k": 2, "name": "top_2_categorical_accuracy"})
    listed = ObjectSpec("TopKCategoricalAccuracy", {"k": 2, "name": "t2"})
    assert place_mirror(["accuracy", listed], report.mirrors) == (["accuracy", listed], "t2")


def test_the_run_compares_a_top2_custom_metric_with_top_k_k2_epoch_by_epoch(tmp_path, runs_dir):
    path = top2_file(tmp_path)
    report = check_metric_file(path)
    metrics, key = place_mirror(["accuracy", "top_k_categorical_accuracy"], report.mirrors)
    preset = iris(**{"compile.metrics": [m.to_dict() if isinstance(m, ObjectSpec) else m for m in metrics],
                     "compile.custom_metrics": [f"{path}:TopKAccuracy"], "compile.loss": "categorical_crossentropy",
                     "compile.optimizer": "adam"})
    result = Trainer(preset, runs_dir=runs_dir).run()
    compared = result.custom_metrics["my_top_k_accuracy"]
    assert compared["builtin"] == key == "top_2_categorical_accuracy"
    assert compared["train"]["max_abs_diff"] <= 1e-6 and compared["val"]["max_abs_diff"] <= 1e-6
    # The top-5 string on 3 classes is always 1: the custom top-2 metric is not.
    assert result.history["top_k_categorical_accuracy"] == [1.0, 1.0]
    assert min(result.history["my_top_k_accuracy"]) < 1.0
    cls = type(Trainer(preset, record=False).preset)  # any class: no mirrors attribute, no k
    assert mirror_key_for(cls, ["accuracy"]) == ("accuracy", "accuracy")


def test_kerasobjects_imports_no_ui_and_no_keras_at_import():
    code = ("import sys; import kerastui.core.model.kerasobjects, kerastui.core.model.metricnames; "
            "print(sorted(m for m in ('textual', 'rich', 'plotext', 'keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr

"""Model building: sequential, functional (names, inputs, merges, several inputs/outputs),
a user's subclass from file.py:Class, custom metrics from files, and Keras's own rejections."""

from __future__ import annotations

import textwrap

import pytest

from kerastui.core.errors import ModelError
from kerastui.core.model import presets
from kerastui.core.model.builder import build_model, compile_model, layer_rows, parameter_counts, summary_text
from kerastui.core.run.trainer import Trainer

FUNCTIONAL = """
[data]
source = "sklearn:iris"
[model]
type = "functional"
layers = [
  {type = "Input", name = "x", shape = [4]},
  {type = "Dense", name = "a", units = 8, activation = "relu", inputs = ["x"]},
  {type = "Dense", name = "b", units = 8, activation = "tanh", inputs = ["x"]},
  {type = "Concatenate", name = "ab", inputs = ["a", "b"]},
  {type = "Dense", name = "c", units = 16, inputs = ["ab"]},
  {type = "Dense", name = "skip", units = 16, inputs = ["x"]},
  {type = "Add", name = "sum", inputs = ["c", "skip"]},
  {type = "Dense", name = "out", units = 3, activation = "softmax"},
]
[fit]
epochs = 2
"""


def test_functional_branches_and_merges_train(runs_dir):
    preset = presets.loads(FUNCTIONAL, "functional.toml")
    trainer = Trainer(preset, runs_dir=runs_dir)
    result = trainer.run()
    names = [layer.name for layer in trainer.model.layers]
    assert {"a", "b", "ab", "sum", "out"} <= set(names)
    expected = (4 * 8 + 8) * 2 + (16 * 16 + 16) + (4 * 16 + 16) + (16 * 3 + 3)
    assert result.model["total"] == expected
    assert result.epochs_run == 2


def test_functional_several_inputs_and_outputs_build():
    preset = presets.loads("""
[model]
type = "functional"
outputs = ["cls", "reg"]
layers = [
  {type = "Input", name = "left", shape = [4]},
  {type = "Input", name = "right", shape = [6]},
  {type = "Concatenate", name = "both", inputs = ["left", "right"]},
  {type = "Dense", name = "cls", units = 3, activation = "softmax", inputs = ["both"]},
  {type = "Dense", name = "reg", units = 1, inputs = ["both"]},
]
""", "multi.toml")
    model = build_model(preset, (4,)).model
    assert len(model.inputs) == 2 and len(model.outputs) == 2
    assert [tuple(t.shape) for t in model.outputs] == [(None, 3), (None, 1)]
    rows = layer_rows(model)
    assert [r.name for r in rows] == ["left", "right", "both", "cls", "reg"]


def test_subclass_model_from_a_file_next_to_the_preset(tmp_path, runs_dir):
    (tmp_path / "my_model.py").write_text(textwrap.dedent("""
        import keras

        class MyModel(keras.Model):
            def __init__(self, hidden=32, classes=3, **kwargs):
                super().__init__(**kwargs)
                self.d1 = keras.layers.Dense(hidden, activation="relu")
                self.d2 = keras.layers.Dense(classes, activation="softmax")

            def call(self, x):
                return self.d2(self.d1(x))
    """))
    path = tmp_path / "sub.toml"
    path.write_text(textwrap.dedent("""
        [data]
        source = "sklearn:iris"
        [model]
        type = "subclass"
        subclass = "my_model.py:MyModel"
        kwargs = {hidden = 10}
        [fit]
        epochs = 2
    """))
    preset = presets.load(path)
    result = Trainer(preset, runs_dir=runs_dir).run()
    assert result.model["total"] == 4 * 10 + 10 + 10 * 3 + 3
    assert result.epochs_run == 2
    assert "accuracy" in result.test


def test_subclass_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "broken.py").write_text("import keras\n\nclass Broken(keras.Model):\n"
                                        "    def call(self, x):\n        raise RuntimeError('boom')\n")
    path = tmp_path / "b.toml"
    path.write_text('[data]\nsource = "sklearn:iris"\n[model]\ntype = "subclass"\nsubclass = "broken.py:Broken"\n')
    with pytest.raises(ModelError, match=r"broken\.py:5.*boom"):
        build_model(presets.load(path), (4,))
    path.write_text('[data]\nsource = "sklearn:iris"\n[model]\ntype = "subclass"\nsubclass = "nothere.py:X"\n')
    with pytest.raises(ModelError, match=r"model\.subclass: .*nothere\.py not found"):
        build_model(presets.load(path), (4,))


@pytest.mark.parametrize("layer, match", [
    ('{type = "Dense", units = -3}', r"model\.layers\[1\] \(Dense\): .*units"),
    ('{type = "Dense", unit = 3}', r"model\.layers\[1\]: Dense has no argument 'unit'; did you mean units"),
    ('{type = "Dense2", units = 3}', r"model\.layers\[1\]: unknown layer type 'Dense2'; closest: Dense"),
    ('{type = "Conv2D", filters = 4, kernel_size = 3}',
     r"model\.layers\[1\] \(Conv2D\) rejects its input of shape \(None, 20\)"),
    ('{type = "Dense"}', r"model\.layers\[1\]: Dense needs units"),
])
def test_keras_rejections_name_the_layer(layer, match):
    preset = presets.loads(f"""
[model]
layers = [{{type = "Input", shape = [20]}}, {layer}]
""", "bad.toml")
    with pytest.raises(ModelError, match=match):
        build_model(preset, (20,))


def test_compile_rejects_unknown_optimizer_loss_and_metric():
    preset = presets.load("ex1")
    model = build_model(preset, (20,)).model
    for key, value, match in [("optimizer", "adamm", r"compile\.optimizer: .*did you mean"),
                              ("loss", "crossentropy_of_doom", r"compile\.loss"),
                              ("metrics", ["acuracy"], r"compile\.metrics\[0\]")]:
        spec = presets.load("ex1", {f"compile.{key}": value}).compile
        with pytest.raises(ModelError, match=match):
            compile_model(model, spec)


def test_summary_text_matches_keras_counts():
    preset = presets.load("ex1")
    model = build_model(preset, (20,)).model
    text = summary_text(model)
    assert "Total params: 1,539" in text and "(None, 64)" in text
    assert parameter_counts(model) == {"total": model.count_params(), "trainable": 1539, "non_trainable": 0}


def test_custom_metric_file_errors(tmp_path):
    (tmp_path / "m.py").write_text("import keras\nclass NotAMetric:\n    pass\n")
    path = tmp_path / "p.toml"
    path.write_text('[model]\nlayers = [{type = "Dense", units = 3}]\n'
                    '[compile]\ncustom_metrics = ["m.py:NotAMetric"]\n')
    with pytest.raises(ModelError, match=r"compile\.custom_metrics\[0\]: .*not a keras\.metrics\.Metric"):
        build_model(presets.load(path), (4,))
    (tmp_path / "m.py").write_text("import keras\n\nx = 1 / 0\n")
    with pytest.raises(ModelError, match=r"m\.py:3: ZeroDivisionError"):
        build_model(presets.load(path), (4,))

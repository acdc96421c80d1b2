"""The Train workspace's compile fields with arguments: the metrics field takes
``TopKCategoricalAccuracy(k=2)``, the optimizer and the loss an args field; a preset's tables show
in them and come back from the form equal."""

from __future__ import annotations

import pytest

from kerastui.core.model import presets
from kerastui.core.model.specs import ObjectSpec
from kerastui.ui.app import make_app
from kerastui.ui.screens.train import TrainScreen
from kerastui.ui.widgets.entries import compile_entry, entry_fields, metrics_text, parse_arguments, parse_metrics
from tests.ui.helpers import settle

PRESET = """
[data]
source = "sklearn:iris"
[model]
layers = [{type = "Dense", units = 3, activation = "softmax"}]
[compile]
optimizer = {type = "SGD", momentum = 0.9, nesterov = true}
loss = {type = "CategoricalCrossentropy", label_smoothing = 0.1}
metrics = ["accuracy", {type = "TopKCategoricalAccuracy", k = 2}, {type = "F1Score", average = "macro"}]
[fit]
epochs = 1
"""


@pytest.mark.parametrize("text, expected", [
    ("accuracy", ["accuracy"]),
    ("accuracy, TopKCategoricalAccuracy(k=2)", ["accuracy", ObjectSpec("TopKCategoricalAccuracy", {"k": 2})]),
    ("F1Score(average='macro', threshold=0.5), AUC(curve=\"PR\")",
     [ObjectSpec("F1Score", {"average": "macro", "threshold": 0.5}), ObjectSpec("AUC", {"curve": "PR"})]),
    ("Precision(thresholds=[0.3, 0.5]), BinaryAccuracy(threshold=0.4),", [
        ObjectSpec("Precision", {"thresholds": [0.3, 0.5]}), ObjectSpec("BinaryAccuracy", {"threshold": 0.4})]),
    ("'mae', AUC(multi_label=true)", ["mae", ObjectSpec("AUC", {"multi_label": True})]),
    ("", []),
])
def test_the_metrics_field_reads_names_and_classes_with_arguments_and_writes_them_back(text, expected):
    parsed = parse_metrics(text)
    assert parsed == expected
    assert parse_metrics(metrics_text(parsed)) == parsed


@pytest.mark.parametrize("text, message", [
    ("TopKCategoricalAccuracy(2)", "metrics: TopKCategoricalAccuracy: give arguments by name, like k=2"),
    ("TopKCategoricalAccuracy(k=", "metrics: cannot read 'TopKCategoricalAccuracy(k='"),
    ("AUC(curve=PR)", "metrics: AUC: curve: 'PR' is not a value"),
    ("accuracy, 3", "metrics: '3' is not a metric name or ClassName(arg=value, ...)"),
])
def test_a_metrics_field_that_cannot_be_read_says_which_field_and_why(text, message):
    with pytest.raises(ValueError) as caught:
        parse_metrics(text)
    assert str(caught.value).startswith(message)


def test_optimizer_and_loss_arguments_become_their_keras_classes():
    assert parse_arguments("momentum=0.9, nesterov=True", "optimizer args") == {"momentum": 0.9, "nesterov": True}
    with pytest.raises(ValueError, match="^optimizer args: give arguments by name"):
        parse_arguments("0.9", "optimizer args")
    assert compile_entry("optimizer", "sgd", "momentum=0.9", "adam", "args") == ObjectSpec("SGD", {"momentum": 0.9})
    assert compile_entry("optimizer", "rmsprop", "", "adam", "args") == "rmsprop"
    assert compile_entry("loss", "categorical_crossentropy", "label_smoothing=0.1", "mse", "args") == ObjectSpec(
        "CategoricalCrossentropy", {"label_smoothing": 0.1})
    # What the form shows for a preset's entry gives that entry back unchanged (even a table with no arguments).
    for current, kind in [(ObjectSpec("SGD"), "optimizer"), ("Adam", "optimizer"), (ObjectSpec("Dice"), "loss"),
                          (ObjectSpec("Huber", {"delta": 2.0}), "loss")]:
        assert compile_entry(kind, *entry_fields(current, kind), current, "args") is current


async def test_the_train_form_shows_a_presets_tables_and_gives_them_back_equal(tmp_path):
    path = tmp_path / "args.toml"
    path.write_text(PRESET)
    preset = presets.load(path)
    app = make_app(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        form = screen.form
        assert form["opt-optimizer"].value == "sgd"
        assert form["opt-optimizer-args"].value == "momentum=0.9, nesterov=True"
        assert form["opt-loss"].value == "categorical_crossentropy"
        assert form["opt-loss-args"].value == "label_smoothing=0.1"
        metrics = form.text("opt-metrics")
        assert metrics.value == "accuracy, TopKCategoricalAccuracy(k=2), F1Score(average='macro')"
        session = app.session
        assert session.current_preset().compile == preset.compile
        # Typed: another k, another optimizer argument, in the session at once; a field that cannot
        # be read is marked, said under it and refused at start, and the session keeps the last good value.
        metrics.value = "accuracy, TopKCategoricalAccuracy(k=3)"
        form["opt-optimizer-args"].value = "momentum=0.5"
        await pilot.pause()
        compiled = session.current_preset().compile
        assert compiled.metrics == ["accuracy", ObjectSpec("TopKCategoricalAccuracy", {"k": 3})]
        assert compiled.optimizer == ObjectSpec("SGD", {"momentum": 0.5})
        assert compiled.loss == preset.compile.loss
        metrics.value = "TopKCategoricalAccuracy(3)"
        await pilot.pause()
        assert not metrics.valid
        assert screen.settings_error.startswith("metrics: TopKCategoricalAccuracy: give arguments by name")
        assert form.hint("metrics-error").startswith("✗ metrics: TopKCategoricalAccuracy")
        assert session.current_preset().compile.metrics == compiled.metrics
        metrics.value = "accuracy"
        form["opt-optimizer-args"].value = "learning_rate=0.1"
        form["opt-lr"].value = "0.01"
        await pilot.pause()
        assert form.hint("metrics-error") == ""
        assert screen.settings_error.startswith("learning rate: set in the field and in the optimizer's args")
        assert session.current_preset().compile.optimizer == ObjectSpec("SGD", {"momentum": 0.5})

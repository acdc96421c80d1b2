"""``kerastui check PRESET`` refuses what ``kerastui train PRESET`` refuses before the first batch, with the
same line, and passes what train trains.

Each case is a preset file run through both commands in this process (``cli.main``): ``train FILE
--limit 50 --epochs 1`` and ``check FILE`` with the same two values given by ``--set`` (so both see the
same preset).  The cases are the known gaps (a GPU this machine lacks, a file or model name with a
space, a layer name TensorFlow refuses, a checkpoint file outside the run, a custom metric that
cannot be made, an Input that does not take the data, no test split) and 30 mutants of the shipped presets
(``tests/mutants.py``) drawn with a fixed seed.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from kerastui import cli
from kerastui.core.data import datasets
from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.tfenv import load_keras
from tests.conftest import PRESETS
from tests.mutants import mutant_text

EX1 = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
HIDDEN = '{ type = "Dense", units = 64, activation = "relu" }'
INPUT = "{ type = \"Input\", shape = [20] }"
FAILING_METRIC = '''
import keras


class Broken(keras.metrics.Metric):
    def __init__(self, name="broken", **kwargs):
        raise ValueError("this metric cannot be made")
'''

# (case id, file name, TOML text, extra check/train arguments, True: both must train / False: both refuse)
KNOWN: list[tuple[str, str, str, list[str], bool]] = [
    ("gpu-this-machine-lacks", "ex1.toml", EX1, ["--set", "devices.gpus=[7]"], False),
    ("file-name-with-a-space", "my preset.toml", EX1, [], True),
    ("file-name-not-ascii", "données 🙂.toml", EX1, [], True),
    ("model-name-with-a-space", "ex1.toml",
     EX1.replace('type = "sequential"', 'type = "sequential"\nname = "my model"'), [], True),
    ("layer-name-with-a-space", "ex1.toml", EX1.replace(HIDDEN, HIDDEN[:-2] + ', name = "my layer" }'), [], False),
    ("layer-name-not-ascii", "ex1.toml", EX1.replace(HIDDEN, HIDDEN[:-2] + ', name = "données" }'), [], False),
    ("layer-name-with-dots-and-dashes", "ex1.toml", EX1.replace(HIDDEN, HIDDEN[:-2] + ', name = "hidden-1.a_b" }'),
     [], True),
    ("checkpoint-outside-the-run", "ex1.toml", EX1 + '\n[callbacks.checkpoint]\nfilename = "../best.keras"\n', [],
     False),
    ("custom-metric-that-cannot-be-made", "ex1.toml",
     EX1.replace('metrics = ["accuracy"]', 'metrics = ["accuracy"]\ncustom_metrics = ["broken.py:Broken"]'), [],
     False),
    ("input-shape-the-data-lacks", "ex1.toml", EX1.replace(INPUT, INPUT.replace("[20]", "[21]")), [], False),
    ("input-shape-not-a-shape", "ex1.toml", EX1.replace(INPUT, INPUT.replace("[20]", '["nested"]')), [], False),
    ("no-test-split-where-the-source-has-none", "ex1.toml", EX1, ["--set", "data.test_split=0"], False),
    ("layer-name-ending-a-scope", "ex1.toml", EX1.replace(HIDDEN, HIDDEN[:-2] + ', name = "hidden>" }'), [], False),
    ("monitor-fit-never-logs", "ex1.toml", EX1, ["--set", "callbacks.early_stopping.monitor=val_auc"], False),
    ("monitor-of-a-logged-metric", "ex1.toml", EX1, ["--set", "callbacks.reduce_lr.monitor=val_accuracy"], True),
    ("binary-loss-on-three-classes", "ex1.toml",
     EX1.replace('loss = "categorical_crossentropy"', 'loss = "binary_crossentropy"'), [], False),
]

SEED = 24
MUTANTS = 30


def _mutants() -> list[tuple[str, str, str]]:
    """(case id, file name, TOML text) of the drawn mutants (ex5, a ResNet50 each, is left to the bench)."""
    rng = random.Random(SEED)
    out = []
    for i in range(MUTANTS):
        name, text = mutant_text(rng, rng.choice(["ex1", "ex2", "ex3", "ex4"]))
        out.append((f"mutant-{i:02d}-{name}", f"m{i:02d}_{name}.toml", text))
    return out


def _run(capsys: pytest.CaptureFixture, args: list[str]) -> str | None:
    """None when the command succeeded, else its one ``kerastui: error:`` line."""
    try:
        code = cli.main(args)
    finally:
        datasets.clear_cache()
        load_keras().utils.clear_session()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kerastui: error:")]
    if code == 0:
        assert not lines, lines
        return None
    assert len(lines) == 1, (code, lines)
    assert "internal error" not in lines[0], lines[0]
    return lines[0]


def _verdicts(capsys: pytest.CaptureFixture, tmp_path: Path, file_name: str, text: str,
              extra: list[str]) -> tuple[str | None, str | None]:
    folder = tmp_path / "presets"
    folder.mkdir()
    for code in PRESETS.glob("*.py"):  # the shipped custom metrics, next to the mutants that name them
        shutil.copy(code, folder / code.name)
    (folder / "broken.py").write_text(FAILING_METRIC, encoding="utf-8")
    path = folder / file_name
    path.write_text(text, encoding="utf-8")
    train = _run(capsys, ["train", str(path), *extra, "--limit", "50", "--epochs", "1"])
    check = _run(capsys, ["check", str(path), *extra, "--set", "data.limit=50", "--set", "fit.epochs=1"])
    return check, train


@pytest.mark.parametrize(("file_name", "text", "extra", "trains"), [case[1:] for case in KNOWN],
                         ids=[case[0] for case in KNOWN])
def test_check_refuses_what_train_refuses_with_the_same_line(capsys, tmp_path, file_name, text, extra, trains):
    check, train = _verdicts(capsys, tmp_path, file_name, text, extra)
    assert check == train
    assert (train is None) is trains, train


@pytest.mark.parametrize(("file_name", "text"), [case[1:] for case in _mutants()],
                         ids=[case[0] for case in _mutants()])
def test_check_and_train_agree_on_a_mutant(capsys, tmp_path, file_name, text):
    check, train = _verdicts(capsys, tmp_path, file_name, text, [])
    assert check == train


def test_the_drawn_mutants_reach_past_loading():
    """The sample means something: some mutants are refused while loading, and enough load to meet the
    data, model and compile checks (the shipped presets' own files are the sample's neighbours)."""
    loaded = 0
    for _, _, text in _mutants():
        try:
            presets.loads(text, where="mutant", overrides={"data.limit": 50, "fit.epochs": 1})
        except KerasTUIError:
            continue
        loaded += 1
    assert 5 <= loaded <= MUTANTS - 5, loaded


def test_an_output_of_more_than_one_axis_per_sample_is_refused_by_check_and_train_alike(tmp_path, capsys):
    """Keras only refuses it inside fit, at the first batch: both say it before training, in one line."""
    from tests.conftest import PRESETS

    text = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
    preset = tmp_path / "rank.toml"
    preset.write_text(text.replace('{ type = "Dense", units = 3, activation = "softmax" }',
                                   '{ type = "Reshape", target_shape = [8, 8] }, '
                                   '{ type = "Dense", units = 3, activation = "softmax" }'), encoding="utf-8")
    assert "Reshape" in preset.read_text()
    lines = []
    for args in (["check", str(preset)], ["train", str(preset), "--limit", "50", "--epochs", "1"]):
        capsys.readouterr()
        assert cli.main(args) == 1
        lines.append(capsys.readouterr().err.strip().splitlines()[-1])
    assert lines[0] == lines[1] and "one label per sample" in lines[0], lines

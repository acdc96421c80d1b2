"""Issue 13, CSV files people have: a byte-order mark, ; and tab delimiters, text labels, missing
values, no header.  Files written here; the loader and a short real training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerastui.core.data import datasets
from kerastui.core.errors import DatasetError, PresetError
from kerastui.core.model.specs import DataSpec, Preset
from kerastui.core.run.trainer import train

ROWS = [(5.1, 3.5, "setosa"), (4.9, 3.0, "setosa"), (6.7, 3.1, "versicolor"), (6.3, 2.5, "versicolor"),
        (7.7, 3.8, "virginica"), (7.2, 3.0, "virginica")]


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def table(delimiter: str, header: bool = True) -> str:
    lines = [delimiter.join(["length", "width", "label"])] if header else []
    lines += [delimiter.join([str(a), str(b), c]) for a, b, c in ROWS]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_bom_and_sniffed_delimiters_give_two_features_and_named_classes(tmp_path: Path, delimiter: str):
    path = write(tmp_path / "flowers.csv", table(delimiter), bom=True)
    raw = datasets.load_raw(DataSpec(source=f"csv:{path}", label_column="label"))
    assert raw.feature_names == ["length", "width"]  # no BOM glued to "length"
    assert raw.x_train.shape == (6, 2)
    assert raw.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(raw.y_train, [0, 0, 1, 1, 2, 2])


def test_a_file_that_parses_to_one_column_is_refused_not_trained_on_nothing(tmp_path: Path):
    path = write(tmp_path / "one.csv", "value\n" + "\n".join(str(i) for i in range(20)) + "\n")
    with pytest.raises(DatasetError, match="parses as one column"):
        datasets.load_raw(DataSpec(source=f"csv:{path}"))
    preset = Preset.from_dict({"data": {"source": f"csv:{path}"},
                               "model": {"layers": [{"type": "Dense", "units": 20, "activation": "softmax"}]},
                               "fit": {"epochs": 1}}, "one")
    with pytest.raises(DatasetError, match="one column"):
        train(preset, runs_dir=tmp_path / "runs")


def test_missing_values_name_line_and_column_or_are_dropped_or_filled(tmp_path: Path):
    path = write(tmp_path / "gaps.csv", "a;b;label\n1;2;x\n3;;y\n5;6;x\nNA;8;y\n9;10;x\n")
    with pytest.raises(DatasetError) as info:
        datasets.load_raw(DataSpec(source=f"csv:{path}"))
    assert "line 3, column 'b': missing value" in str(info.value)
    dropped = datasets.load_raw(DataSpec(source=f"csv:{path}", missing="drop"))
    np.testing.assert_array_equal(dropped.x_train, [[1, 2], [5, 6], [9, 10]])
    filled = datasets.load_raw(DataSpec(source=f"csv:{path}", missing="mean"))
    np.testing.assert_allclose(filled.x_train[:, 1], [2, 6.5, 6, 8, 10])  # mean of 2, 6, 8, 10
    np.testing.assert_allclose(filled.x_train[:, 0], [1, 3, 5, 4.5, 9])  # mean of 1, 3, 5, 9
    with pytest.raises(PresetError, match="data.missing"):
        Preset.from_dict({"data": {"missing": "zero"}, "model": {"layers": [{"type": "Dense", "units": 1}]}})


def test_header_less_file_with_label_column_minus_one(tmp_path: Path):
    path = write(tmp_path / "plain.csv", table(",", header=False))
    raw = datasets.load_raw(DataSpec(source=f"csv:{path}", label_column=-1))
    assert raw.x_train.shape == (6, 2) and raw.feature_names == ["x0", "x1"]
    assert raw.class_names == ["setosa", "versicolor", "virginica"]
    first_path = write(tmp_path / "first.csv", "a,1,2\nb,3,4\na,5,6\n")
    first = datasets.load_raw(DataSpec(source=f"csv:{first_path}", label_column=0))
    np.testing.assert_array_equal(first.x_train, [[1, 2], [3, 4], [5, 6]])
    with pytest.raises(DatasetError, match="label_column 5 is out of range"):
        datasets.load_raw(DataSpec(source=f"csv:{path}", label_column=5))
    preset = Preset.from_dict({"data": {"source": f"csv:{path}", "label_column": -1},
                               "model": {"layers": [{"type": "Dense", "units": 3}]}}, "p")
    assert preset.data.label_column == -1
    with pytest.raises(PresetError, match="data.label_column: must be a string or an integer"):
        Preset.from_dict({"data": {"label_column": 1.5}, "model": {"layers": [{"type": "Dense", "units": 3}]}}, "p")


def test_semicolon_csv_with_text_labels_trains_on_its_features(tmp_path: Path):
    rng = np.random.default_rng(0)
    lines = ["f1;f2;f3;kind"]
    for i in range(90):
        label = ("low", "mid", "high")[i % 3]
        centre = (i % 3) * 3.0
        lines.append(";".join(f"{v:.3f}" for v in centre + rng.normal(size=3)) + f";{label}")
    path = write(tmp_path / "semi.csv", "\n".join(lines) + "\n", bom=True)
    preset = Preset.from_dict({
        "data": {"source": f"csv:{path}", "label_column": "kind"},
        "model": {"layers": [{"type": "Dense", "units": 3, "activation": "softmax"}]},
        "compile": {"learning_rate": 0.05}, "fit": {"epochs": 3, "batch_size": 16}}, "semi")
    result = train(preset, runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert result.data["input_shape"] == [3]
    assert result.data["class_names"] == ["high", "low", "mid"]
    assert result.test["accuracy"] > 0.6

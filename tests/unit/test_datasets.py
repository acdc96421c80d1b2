"""Data sources with real data: scikit-learn's bundled sets, synthetic data and files written here.

Nothing here needs the network: Keras datasets are only described, never loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerastui.core.data import datasets
from kerastui.core.errors import DatasetError
from kerastui.core.model.specs import DataSpec


def _total(d: datasets.Dataset) -> int:
    return len(d.x_train) + (0 if d.x_val is None else len(d.x_val)) + len(d.x_test)


def _all_labels(d: datasets.Dataset) -> np.ndarray:
    """Integer labels of every split, whatever the label mode."""
    def labels(y):
        return np.argmax(y, axis=1) if y.ndim == 2 else y
    parts = [labels(d.y_train), d.labels_test]
    if d.y_val is not None:
        parts.append(labels(d.y_val))
    return np.concatenate(parts)


# --------------------------------------------------------------------------- scikit-learn


def test_iris_categorical():
    d = datasets.prepare(DataSpec(source="sklearn:iris"), loss="categorical_crossentropy")
    assert d.kind == "tabular" and d.task == "classification"
    assert _total(d) == 150
    assert d.input_shape == (4,)
    assert d.x_val is not None and d.x_val.shape[1:] == (4,) and d.x_test.shape[1:] == (4,)
    assert d.num_classes == 3
    assert d.class_names == ["setosa", "versicolor", "virginica"]
    assert d.label_mode == "categorical"
    for y, x in ((d.y_train, d.x_train), (d.y_val, d.x_val), (d.y_test, d.x_test)):
        assert y.shape == (len(x), 3)
        assert set(np.unique(y)) <= {0.0, 1.0}
        np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(d.y_test, axis=1), d.labels_test)
    # Standardised with the training split's statistics.
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=0), 1.0, atol=1e-4)
    assert d.x_train.dtype == np.float32
    assert len(d.feature_names) == 4


def test_iris_without_normalisation_keeps_raw_values():
    d = datasets.prepare(DataSpec(source="sklearn:iris", normalize=False))
    assert d.x_train.min() >= 0.0  # raw centimetres are all positive
    assert abs(float(d.x_train.mean(axis=0)[0])) > 1.0


def test_iris_sparse_labels_are_int():
    d = datasets.prepare(DataSpec(source="sklearn:iris"), loss="sparse_categorical_crossentropy")
    assert d.label_mode == "sparse"
    for y in (d.y_train, d.y_val, d.y_test):
        assert y.ndim == 1
        assert np.issubdtype(y.dtype, np.integer)
        assert set(np.unique(y)) <= {0, 1, 2}
    assert _total(d) == 150


def test_one_hot_setting_overrides_the_loss():
    d = datasets.prepare(DataSpec(source="sklearn:iris", one_hot=False), loss="categorical_crossentropy")
    assert d.label_mode == "sparse" and d.y_train.ndim == 1
    d = datasets.prepare(DataSpec(source="sklearn:iris", one_hot=True), loss="sparse_categorical_crossentropy")
    assert d.label_mode == "categorical" and d.y_train.shape[1] == 3


def test_binary_loss_on_three_classes_is_an_error():
    with pytest.raises(DatasetError, match="binary"):
        datasets.prepare(DataSpec(source="sklearn:iris"), loss="binary_crossentropy")


def test_digits_are_normalised_images():
    d = datasets.prepare(DataSpec(source="sklearn:digits"))
    assert d.kind == "image"
    assert d.x_train.ndim == 4 and d.x_train.shape[1:] == (8, 8, 1)
    assert d.input_shape == (8, 8, 1)
    assert d.x_test.shape[1:] == (8, 8, 1)
    assert _total(d) == 1797
    assert d.num_classes == 10
    for x in (d.x_train, d.x_val, d.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert d.x_train.max() == pytest.approx(1.0)  # 16 → 1.0


def test_digits_without_normalisation_keep_pixel_scale():
    d = datasets.prepare(DataSpec(source="sklearn:digits", normalize=False))
    assert d.x_train.max() == pytest.approx(16.0)


# --------------------------------------------------------------------------- synthetic


def test_synthetic_classification_honours_its_options():
    spec = DataSpec(source="synthetic:classification", samples=300, features=7, num_classes=4, seed=3)
    d = datasets.prepare(spec)
    assert d.kind == "tabular" and d.task == "classification"
    assert _total(d) == 300
    assert d.input_shape == (7,)
    assert d.num_classes == 4
    assert d.y_train.shape[1] == 4
    assert set(np.unique(_all_labels(d))) == {0, 1, 2, 3}


def test_synthetic_is_deterministic_per_seed():
    spec = DataSpec(source="synthetic:classification", samples=200, features=5, num_classes=3, seed=11)
    first = datasets.load_raw(spec)
    datasets.clear_cache()
    second = datasets.load_raw(spec)
    assert first is not second  # really generated twice
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_train, second.y_train)
    other = datasets.load_raw(DataSpec(source="synthetic:classification", samples=200, features=5,
                                       num_classes=3, seed=12))
    assert other.x_train.shape == first.x_train.shape
    assert not np.array_equal(other.x_train, first.x_train)
    # The prepared splits are deterministic too.
    a, b = datasets.prepare(spec), datasets.prepare(spec)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.labels_test, b.labels_test)


def test_synthetic_images_honour_shape_and_classes():
    spec = DataSpec(source="synthetic:images", image_shape=[32, 32, 3], num_classes=4, samples=120, seed=1)
    d = datasets.prepare(spec)
    assert d.kind == "image" and d.task == "classification"
    assert d.x_train.shape[1:] == (32, 32, 3)
    assert d.input_shape == (32, 32, 3)
    assert d.num_classes == 4
    assert d.y_train.shape[1] == 4
    assert _total(d) == 120
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0
    raw = datasets.load_raw(spec)
    assert raw.x_train.shape == (120, 32, 32, 3) and raw.x_train.dtype == np.uint8


def test_synthetic_grey_images_get_a_channel_axis():
    d = datasets.prepare(DataSpec(source="synthetic:images", image_shape=[12, 10], num_classes=3, samples=60))
    assert d.x_train.shape[1:] == (12, 10, 1)


def test_synthetic_regression():
    d = datasets.prepare(DataSpec(source="synthetic:regression", samples=150, features=6),
                         loss="categorical_crossentropy")
    assert d.task == "regression"
    assert d.label_mode == "regression"
    assert d.num_classes == 0
    assert d.input_shape == (6,)
    assert d.y_train.ndim == 1 and d.y_train.dtype == np.float32
    assert len(np.unique(d.y_train)) > 50  # continuous targets, not classes
    assert _total(d) == 150
    assert "classes" not in d.summary()


# --------------------------------------------------------------------------- classes / limit / stratification


def test_classes_subset_is_renumbered():
    d = datasets.prepare(DataSpec(source="sklearn:iris", classes=[0, 2]), loss="sparse_categorical_crossentropy")
    assert d.num_classes == 2
    assert d.class_names == ["setosa", "virginica"]
    assert _total(d) == 100
    assert set(np.unique(_all_labels(d))) == {0, 1}


def test_classes_out_of_range():
    with pytest.raises(DatasetError, match="out of range"):
        datasets.prepare(DataSpec(source="sklearn:iris", classes=[0, 3]))


def test_limit_caps_training_samples():
    spec = DataSpec(source="synthetic:classification", samples=1000, num_classes=4, limit=100, seed=5)
    d = datasets.prepare(spec)
    train = len(d.x_train) + len(d.x_val)
    assert 90 <= train <= 100
    assert len(d.x_test) <= 25
    assert set(np.unique(_all_labels(d))) == {0, 1, 2, 3}
    full = datasets.prepare(DataSpec(source="synthetic:classification", samples=1000, num_classes=4, seed=5))
    assert len(full.x_train) + len(full.x_val) == 800


@pytest.mark.parametrize("test_split", [0.02, 0.2])
def test_stratified_splits_keep_every_class_in_test(test_split: float):
    d = datasets.prepare(DataSpec(source="synthetic:classification", samples=120, num_classes=8,
                                  test_split=test_split, validation_split=0.1, seed=2))
    assert set(np.unique(d.labels_test)) == set(range(8))
    iris = datasets.prepare(DataSpec(source="sklearn:iris", test_split=test_split))
    assert set(np.unique(iris.labels_test)) == {0, 1, 2}
    # And proportions are kept: with 50 of each iris class the test split is balanced.
    counts = np.bincount(iris.labels_test, minlength=3)
    assert counts.max() - counts.min() <= 1


def test_no_validation_split():
    d = datasets.prepare(DataSpec(source="sklearn:iris", validation_split=0.0))
    assert d.x_val is None and d.y_val is None
    assert d.validation_data() is None
    assert len(d.x_train) == 120


# --------------------------------------------------------------------------- user files


def test_npz_with_train_and_test_arrays(tmp_path: Path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x_train=rng.normal(size=(60, 5)), y_train=np.arange(60) % 3,
             x_test=rng.normal(size=(15, 5)), y_test=np.arange(15) % 3)
    d = datasets.prepare(DataSpec(source=f"npz:{path}"))
    assert d.kind == "tabular" and d.task == "classification"
    assert len(d.x_test) == 15  # the file's own test split is used as is
    np.testing.assert_array_equal(np.sort(d.labels_test), np.sort(np.arange(15) % 3))
    assert len(d.x_train) + len(d.x_val) == 60
    assert d.input_shape == (5,)
    assert d.class_names == ["0", "1", "2"]


def test_npz_with_x_and_y(tmp_path: Path):
    rng = np.random.default_rng(1)
    path = tmp_path / "xy.npz"
    np.savez(path, x=rng.normal(size=(50, 3)), y=np.array(["cat", "dog"] * 25))
    d = datasets.prepare(DataSpec(source=f"npz:{path}"), loss="sparse_categorical_crossentropy")
    assert _total(d) == 50
    assert d.class_names == ["cat", "dog"]
    assert set(np.unique(_all_labels(d))) == {0, 1}


def test_npz_relative_to_base_dir(tmp_path: Path):
    np.savez(tmp_path / "rel.npz", x=np.random.default_rng(2).normal(size=(20, 2)), y=np.arange(20) % 2)
    d = datasets.prepare(DataSpec(source="npz:rel.npz"), base_dir=tmp_path)
    assert _total(d) == 20


def test_npz_uint8_images_are_scaled(tmp_path: Path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(40, 6, 6), dtype=np.uint8)
    x[0, 0, 0] = 255
    path = tmp_path / "img.npz"
    np.savez(path, x=x, y=np.arange(40) % 2)
    d = datasets.prepare(DataSpec(source=f"npz:{path}"))
    assert d.kind == "image"
    assert d.x_train.shape[1:] == (6, 6, 1)
    assert 0.0 <= d.x_train.min() and max(d.x_train.max(), d.x_test.max(), d.x_val.max()) <= 1.0


def test_npz_float_targets_are_regression(tmp_path: Path):
    rng = np.random.default_rng(4)
    path = tmp_path / "reg.npz"
    np.savez(path, x=rng.normal(size=(30, 2)), y=rng.normal(size=30))
    d = datasets.prepare(DataSpec(source=f"npz:{path}"))
    assert d.task == "regression" and d.label_mode == "regression"


def test_npz_with_x_test_but_no_y_test_is_an_error(tmp_path: Path):
    path = tmp_path / "half.npz"
    np.savez(path, x_train=np.zeros((20, 3)), y_train=np.arange(20) % 2, x_test=np.zeros((5, 3)))
    try:
        d = datasets.prepare(DataSpec(source=f"npz:{path}"))
    except DatasetError:
        return
    assert len(d.y_test) == len(d.x_test)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n", encoding="utf-8")
    return path


def test_csv_with_string_labels(tmp_path: Path):
    rng = np.random.default_rng(5)
    rows = [[f"{rng.normal():.4f}", f"{rng.normal():.4f}", ["setosa", "virginica", "versicolor"][i % 3]]
            for i in range(30)]
    path = _write_csv(tmp_path / "flowers.csv", ["length", "width", "species"], rows)
    raw = datasets.load_raw(DataSpec(source=f"csv:{path}"))
    assert raw.kind == "tabular" and raw.task == "classification"
    assert raw.x_train.shape == (30, 2)
    assert raw.feature_names == ["length", "width"]
    assert raw.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_allclose(raw.x_train[:, 0], [float(r[0]) for r in rows], rtol=1e-5)
    d = datasets.prepare(DataSpec(source=f"csv:{path}"))
    assert _total(d) == 30 and d.input_shape == (2,) and d.num_classes == 3


def test_csv_label_column_option(tmp_path: Path):
    rows = [["yes" if i % 2 else "no", i, i * 2.5] for i in range(20)]
    path = _write_csv(tmp_path / "first.csv", ["answer", "a", "b"], rows)
    raw = datasets.load_raw(DataSpec(source=f"csv:{path}", label_column="answer"))
    assert raw.feature_names == ["a", "b"]
    assert raw.class_names == ["no", "yes"]
    np.testing.assert_array_equal(raw.y_train, np.arange(20) % 2)
    np.testing.assert_allclose(raw.x_train[:, 1], np.arange(20) * 2.5)
    # Without the option the last column is the label, and the strings are not numbers.
    with pytest.raises(DatasetError, match="not a number"):
        datasets.load_raw(DataSpec(source=f"csv:{path}"))
    with pytest.raises(DatasetError, match="label column 'nope'"):
        datasets.load_raw(DataSpec(source=f"csv:{path}", label_column="nope"))


def test_csv_non_numeric_feature_names_the_line(tmp_path: Path):
    path = _write_csv(tmp_path / "bad.csv", ["a", "b", "label"], [[1, 2, "x"], [3, "oops", "y"], [4, 5, "x"]])
    with pytest.raises(DatasetError) as info:
        datasets.load_raw(DataSpec(source=f"csv:{path}"))
    text = str(info.value)
    assert str(path) in text
    assert "line 3" in text
    assert "'oops'" in text


def test_csv_line_number_counts_blank_lines(tmp_path: Path):
    path = tmp_path / "gappy.csv"
    path.write_text("a,b,label\n1,2,x\n\n3,oops,y\n4,5,x\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        datasets.load_raw(DataSpec(source=f"csv:{path}"))
    assert "line 4" in str(info.value)


def test_csv_ragged_row(tmp_path: Path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,x\n3,y\n4,5,x\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 3 has 2 fields"):
        datasets.load_raw(DataSpec(source=f"csv:{path}"))


def _write_pngs(root: Path) -> None:
    from kerastui.core.tfenv import load_keras

    load_keras()
    import tensorflow as tf

    rng = np.random.default_rng(6)
    for cls, base in (("cats", 30), ("dogs", 220)):
        folder = root / cls
        folder.mkdir(parents=True)
        for i in range(3):
            size = (6, 6) if i < 2 else (9, 7)  # an odd one out is resized to the first image's size
            pixels = np.clip(base + rng.integers(-20, 20, size=(*size, 3)), 0, 255).astype(np.uint8)
            (folder / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
        (folder / "notes.txt").write_text("not an image", encoding="utf-8")


def test_image_directory(tmp_path: Path):
    root = tmp_path / "pics"
    _write_pngs(root)
    raw = datasets.load_raw(DataSpec(source=f"images:{root}"))
    assert raw.kind == "image" and raw.task == "classification"
    assert raw.class_names == ["cats", "dogs"]
    assert raw.x_train.shape == (6, 6, 6, 3) and raw.x_train.dtype == np.uint8
    np.testing.assert_array_equal(raw.y_train, [0, 0, 0, 1, 1, 1])
    # The pictures are told apart by brightness: dark cats, bright dogs.
    assert raw.x_train[:3].mean() < 80 < 170 < raw.x_train[3:].mean()

    d = datasets.prepare(DataSpec(source=f"images:{root}"))
    assert _total(d) == 6
    assert d.input_shape == (6, 6, 3)
    assert d.num_classes == 2
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert set(d.labels_test) == {0, 1}

    small = datasets.load_raw(DataSpec(source=f"images:{root}", resize=[4, 5]))
    assert small.x_train.shape == (6, 4, 5, 3)


def test_image_directory_needs_two_classes(tmp_path: Path):
    (tmp_path / "only").mkdir()
    with pytest.raises(DatasetError, match="two class sub-folders"):
        datasets.load_raw(DataSpec(source=f"images:{tmp_path}"))


# --------------------------------------------------------------------------- errors


def test_missing_npz(tmp_path: Path):
    path = tmp_path / "absent.npz"
    with pytest.raises(DatasetError) as info:
        datasets.prepare(DataSpec(source=f"npz:{path}"))
    assert str(path) in str(info.value)
    assert "not found" in str(info.value)


def test_missing_image_directory(tmp_path: Path):
    with pytest.raises(DatasetError, match="not found"):
        datasets.load_raw(DataSpec(source=f"images:{tmp_path / 'nowhere'}"))


def test_npz_with_wrong_keys(tmp_path: Path):
    path = tmp_path / "odd.npz"
    np.savez(path, features=np.zeros((4, 2)), targets=np.zeros(4))
    with pytest.raises(DatasetError) as info:
        datasets.load_raw(DataSpec(source=f"npz:{path}"))
    text = str(info.value)
    assert "x_train" in text and "features" in text and "targets" in text


def test_npz_length_mismatch(tmp_path: Path):
    path = tmp_path / "mismatch.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DatasetError, match="4 samples but y has 3"):
        datasets.load_raw(DataSpec(source=f"npz:{path}"))


def test_not_an_npz_file(tmp_path: Path):
    path = tmp_path / "fake.npz"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        datasets.load_raw(DataSpec(source=f"npz:{path}"))


@pytest.mark.parametrize(("source", "expected"), [
    ("ftp:data", "unknown scheme 'ftp'"),
    ("sklearn:iriss", "unknown scikit-learn dataset"),
    ("keras:imagenet", "unknown Keras dataset"),
    ("synthetic:blobs", "unknown synthetic dataset"),
    ("iris", "expected SCHEME:NAME"),
    ("npz:", "expected SCHEME:NAME"),
])
def test_bad_sources(source: str, expected: str):
    with pytest.raises(DatasetError) as info:
        datasets.prepare(DataSpec(source=source))
    assert expected in str(info.value)
    assert source in str(info.value)
    with pytest.raises(DatasetError):
        datasets.describe(DataSpec(source=source))


# --------------------------------------------------------------------------- describe


def test_describe_keras_mnist_without_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    info = datasets.describe(DataSpec(source="keras:mnist"))
    assert info.kind == "image" and info.task == "classification"
    assert info.shape == (28, 28)
    assert info.num_classes == 10
    assert info.offline is False
    assert str(home) in info.note
    assert ("keras", "mnist") not in datasets._CACHE  # nothing was loaded or downloaded

    # With the file in the cache folder it is available offline.
    (home / "datasets").mkdir()
    (home / "datasets" / "mnist.npz").write_bytes(b"")
    cached = datasets.describe(DataSpec(source="keras:mnist", classes=[3, 5]))
    assert cached.offline is True and cached.note == ""
    assert cached.num_classes == 2


def test_describe_offline_sources(tmp_path: Path):
    iris = datasets.describe(DataSpec(source="sklearn:iris"))
    assert (iris.kind, iris.shape, iris.num_classes, iris.offline) == ("tabular", (4,), 3, True)
    images = datasets.describe(DataSpec(source="synthetic:images", image_shape=[32, 32, 3], num_classes=4))
    assert (images.kind, images.shape, images.num_classes) == ("image", (32, 32, 3), 4)
    reg = datasets.describe(DataSpec(source="synthetic:regression", features=9))
    assert (reg.task, reg.shape, reg.num_classes) == ("regression", (9,), 0)
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((10, 3, 4)), y=np.arange(10) % 5)
    npz = datasets.describe(DataSpec(source=f"npz:{path}"))
    # Issue 13: a float (N, T, F) array is sequences (uint8 (N, H, W) stays grey images).
    assert (npz.kind, npz.shape, npz.num_classes) == ("sequence", (3, 4), 5)


# --------------------------------------------------------------------------- caching


def test_load_raw_is_cached():
    spec = DataSpec(source="synthetic:classification", samples=100, seed=21)
    first = datasets.load_raw(spec)
    assert datasets.load_raw(DataSpec(source="synthetic:classification", samples=100, seed=21)) is first
    other = datasets.load_raw(DataSpec(source="synthetic:classification", samples=100, seed=22))
    assert other is not first
    assert not np.array_equal(other.x_train, first.x_train)
    assert datasets.load_raw(DataSpec(source="sklearn:iris")) is datasets.load_raw(DataSpec(source="sklearn:iris"))


def test_prepare_does_not_change_the_cached_arrays():
    spec = DataSpec(source="sklearn:iris")
    raw = datasets.load_raw(spec)
    before = raw.x_train.copy()
    datasets.prepare(spec)
    datasets.prepare(DataSpec(source="sklearn:iris", classes=[1, 2]))
    np.testing.assert_array_equal(raw.x_train, before)


def test_cache_notices_a_rewritten_file(tmp_path: Path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((10, 2)), y=np.arange(10) % 2)
    first = datasets.load_raw(DataSpec(source=f"npz:{path}"))
    assert datasets.load_raw(DataSpec(source=f"npz:{path}")) is first
    np.savez(path, x=np.ones((12, 2)), y=np.arange(12) % 2)
    import os
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = datasets.load_raw(DataSpec(source=f"npz:{path}"))
    assert second is not first and len(second.x_train) == 12

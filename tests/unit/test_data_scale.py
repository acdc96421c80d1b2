"""Issue 13, data at scale: streamed image folders, memory-mapped arrays, sequences, TFDS.

Real files written here, real Keras, real processes (peak RSS is measured in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kerastui.core.data import datasets
from kerastui.core.errors import DatasetError
from kerastui.core.model.specs import DataSpec, Preset
from kerastui.core.run.trainer import train

ROOT = Path(__file__).resolve().parents[2]
CLASSES = (("blue", 2), ("green", 1), ("red", 0))  # name, the channel that is bright


def write_folder(root: Path, per_class: int, *, size: int = 16, corrupt: bool = True, seed: int = 0) -> Path:
    """``per_class`` JPEGs in each of three classes told apart by colour; two corrupt files."""
    rng = np.random.default_rng(seed)
    for name, channel in CLASSES:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            base = np.full(3, 50)
            base[channel] = 200
            pixels = np.clip(base + rng.integers(-30, 30, size=(size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=80)
    if corrupt:
        (root / "blue" / "broken.jpg").write_bytes(b"this is not a jpeg")
        good = (root / "green" / "00000.jpg").read_bytes()
        (root / "green" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    return root


def tiny_preset(source: str, classes: int = 3, **data: object) -> Preset:
    return Preset.from_dict({
        "data": {"source": source, **data},
        "model": {"layers": [{"type": "GlobalAveragePooling2D"},
                             {"type": "Dense", "units": classes, "activation": "softmax"}]},
        "compile": {"learning_rate": 0.05},
        "fit": {"epochs": 2, "batch_size": 32},
    }, "test")


# --------------------------------------------------------------------------- image folders


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("jpegs") / "pics", 700)  # 2,100 JPEGs + 2 corrupt


def test_folder_of_2000_jpegs_card_names_the_corrupt_files(big_folder: Path):
    card = datasets.preview(DataSpec(source=f"images:{big_folder}"))
    assert card.summary["corrupt"] == ["blue/broken.jpg", "green/truncated.jpg"]
    assert card.summary["train"] + card.summary["val"] + card.summary["test"] == 2100
    assert card.class_counts == [card.summary["train"] // 3] * 3
    assert card.samples.shape == (8, 16, 16, 3) and 0.0 <= card.samples.min() and card.samples.max() <= 1.0
    # (Training on this folder, streamed, skipping the 2 files with a notice: the peak RSS test's run.)


def test_the_image_folder_card_decodes_only_its_samples_without_tensorflow(big_folder: Path):
    script = ("import sys, json; from kerastui.core.data import datasets; "
              "from kerastui.core.model.specs import DataSpec; "
              f"card = datasets.preview(DataSpec(source='images:{big_folder}')); "
              "print(json.dumps([card.summary['files'], len(card.samples), 'tensorflow' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-1500:]
    assert json.loads(out.stdout) == [2100, 8, False]


RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.trainer import train
    preset = Preset.from_dict({
        "data": {"source": "images:" + sys.argv[1], "stream": True},
        "model": {"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 3, "activation": "softmax"}]},
        "compile": {"learning_rate": 0.05},
        "fit": {"epochs": 1, "batch_size": 64}}, "rss")
    result = train(preset, runs_dir=Path(sys.argv[2]))
    peak = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
    print(json.dumps({"status": result.status, "error": result.error, "train": result.data["train"],
                      "streamed": result.data["streamed"], "corrupt": result.data.get("corrupt"),
                      "notices": result.notices, "accuracy": result.test.get("accuracy"),
                      "saved": (Path(result.run_dir) / "model.keras").exists(), "peak_kb": peak}))
""")


def _peaks(*jobs: tuple[Path, Path]) -> list[dict]:
    """Each (folder, runs) trained in its own process (run side by side); their peak RSS (VmHWM)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""}
    procs = [subprocess.Popen([sys.executable, "-c", RSS_SCRIPT, str(folder), str(runs)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT) for folder, runs in jobs]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_2000_jpegs_train_streamed_and_peak_rss_does_not_grow_with_the_folder(big_folder: Path, tmp_path: Path):
    small = write_folder(tmp_path / "small", 167, corrupt=False)  # ~500 JPEGs
    few, many = _peaks((small, tmp_path / "runs-a"), (big_folder, tmp_path / "runs-b"))
    assert few["status"] == many["status"] == "completed", (few["error"], many["error"])
    assert many["train"] > 3 * few["train"]
    # The big folder: streamed, its 2 corrupt files skipped with a notice naming them, learnt, saved.
    assert many["streamed"] is True and many["corrupt"] == ["blue/broken.jpg", "green/truncated.jpg"]
    assert any("2 unreadable file(s)" in n and "blue/broken.jpg" in n for n in many["notices"])
    assert many["accuracy"] > 0.6 and many["saved"]  # colour is easy: well above a third
    # A size, not a timing: 4× the images may cost a small constant, not 4× the decoded pixels.
    assert many["peak_kb"] <= few["peak_kb"] + 40 * 1024, (few, many)


def test_test_subfolder_is_the_test_split_and_the_file_split_is_deterministic(tmp_path: Path):
    root = write_folder(tmp_path / "pics", 10, corrupt=False)
    write_folder(root / "test", 2, corrupt=False, seed=1)
    data = datasets.prepare(DataSpec(source=f"images:{root}"))
    assert data.test_count == 6  # the test/ folder's files, none of the 30 others
    assert data.train_count + data.val_count == 30
    assert sorted(data.labels_test.tolist()) == [0, 0, 1, 1, 2, 2]

    plain = write_folder(tmp_path / "plain", 10, corrupt=False)

    def split_files(seed: int) -> list[str]:
        spec = DataSpec(source=f"images:{plain}", seed=seed)
        from kerastui.core.data.imagefolder import scan_folder

        found = scan_folder(plain)
        y = np.array([label for _, label in found.splits["train"]])
        _, _, train_idx, val_idx, test_idx = datasets.plan_splits(spec, y, None, 3, stratify=True)
        return [found.splits["train"][i][0] for i in np.concatenate([train_idx, [-1], val_idx, [-1], test_idx])
                if i >= 0]

    assert split_files(3) == split_files(3)
    assert split_files(3) != split_files(4)
    streamed = datasets.prepare(DataSpec(source=f"images:{plain}", seed=3, stream=True))
    arrays = datasets.prepare(DataSpec(source=f"images:{plain}", seed=3))
    np.testing.assert_array_equal(streamed.labels_test, arrays.labels_test)
    np.testing.assert_allclose(streamed.x_test, arrays.x_test, atol=1e-6)


def test_one_image_per_class_trains_evaluates_and_saves(tmp_path: Path):
    root = write_folder(tmp_path / "pics", 1, corrupt=False)
    write_folder(root / "test", 1, corrupt=False, seed=1)
    preset = tiny_preset(f"images:{root}")
    preset.save.formats = ["keras"]
    result = train(preset, runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert result.data["train"] == 3 and result.data["test"] == 3
    assert "accuracy" in result.test
    assert (Path(result.run_dir or "") / "model.keras").exists()
    # Without a test/ folder one image per class leaves nothing to test on: one line, before training.
    lone = write_folder(tmp_path / "lone", 1, corrupt=False)
    with pytest.raises(DatasetError, match="no test sample"):
        datasets.prepare(DataSpec(source=f"images:{lone}"))


def test_transfer_preprocessing_and_resize_on_a_streamed_folder(tmp_path: Path):
    from kerastui.core.model.transfer import preprocess_function

    root = write_folder(tmp_path / "pics", 4, corrupt=False)
    preprocess = preprocess_function("ResNet50")
    data = datasets.prepare(DataSpec(source=f"images:{root}", stream=True), image_size=(32, 32), rgb=True,
                            preprocess=preprocess)
    assert data.input_shape == (32, 32, 3)
    batch, _ = next(iter(data.stream.make("test", 4, False)))
    assert tuple(batch.shape[1:]) == (32, 32, 3)
    # ResNet50's caffe preprocessing: BGR with the ImageNet means subtracted (not 0..1 pixels).
    assert float(np.min(batch)) < -50 and float(np.max(batch)) < 160
    first = data.stream.make("test", 4, False)
    import tensorflow as tf

    path = sorted((root / CLASSES[int(data.labels_test[0])][0]).glob("*.jpg"))
    raw = [tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(str(p)), channels=3), (32, 32)).numpy() for p in path]
    expected = np.asarray(preprocess(np.stack(raw)))
    got = next(iter(first))[0].numpy()[0]
    assert any(np.allclose(got, e, atol=1e-3) for e in expected)


def test_streamed_validation_folder_and_file_cache_in_the_run_directory(tmp_path: Path):
    import shutil

    root = write_folder(tmp_path / "pics", 8, size=8, corrupt=False)
    write_folder(root / "validation", 2, size=8, corrupt=False, seed=1)
    write_folder(root / "test", 2, size=8, corrupt=False, seed=2)
    preset = tiny_preset(f"images:{root}", stream=True, cache="file")
    preset.fit.batch_size = 8
    result = train(preset, runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert (result.data["train"], result.data["val"], result.data["test"]) == (24, 6, 6)
    assert result.data["streamed"] is True
    assert len(result.history["val_loss"]) == 2 and all(np.isfinite(result.history["val_loss"]))
    cache = Path(result.run_dir or "") / "data-cache"
    # Written by the run, kept after it (documented: a resumed run reads it rather than decoding again).
    assert sorted(p.name for p in cache.glob("*.index")) == ["test.index", "train.index", "val.index"]
    assert not list(cache.glob("*.lockfile"))

    # Reused: the same splits read from the cache while the files are gone.
    data = datasets.prepare(DataSpec(source=f"images:{root}", stream=True, cache="file"), cache_dir=cache.parent,
                            loss="sparse_categorical_crossentropy")
    assert data.stream is not None and data.stream.cache_dir == cache.parent
    assert data.val_count == 6 and sorted(data.y_val.tolist()) == [0, 0, 1, 1, 2, 2]  # the validation/ folder's
    uncached = datasets.prepare(DataSpec(source=f"images:{root}", stream=True))
    for name, _ in CLASSES:
        shutil.rmtree(root / name)
    (cache / "val_0.lockfile").write_text("left by a killed process")  # TensorFlow would refuse to start
    for split, count in (("train", 24), ("val", 6)):
        labels = np.concatenate([y.numpy() for _, y in data.stream.make(split, 8, False)])
        assert np.bincount(labels, minlength=3).tolist() == [count // 3] * 3, split
    assert uncached.stream is not None  # without the cache the training files are gone: nothing to read
    assert list(uncached.stream.make("train", 8, False)) == []


def test_shuffle_buffers_of_decoded_samples_are_bounded_in_bytes():
    from kerastui.core.data.streaming import SHUFFLE_BYTES, shuffle_buffer

    assert shuffle_buffer(100, 64 * 64 * 3 * 4) == 100  # a small split: whole
    assert shuffle_buffer(20_000, 64 * 64 * 3 * 4) == SHUFFLE_BYTES // (64 * 64 * 3 * 4) == 1365
    assert shuffle_buffer(10**6, 224 * 224 * 3 * 4) == 256  # never fewer than 256 images
    assert shuffle_buffer(0, 4) == 1


# --------------------------------------------------------------------------- arrays


def _sequences(n: int = 600, steps: int = 12, features: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 rises over time, class 0 falls; noise on top."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    ramp = np.linspace(-1, 1, steps)[None, :, None]
    x = np.where(y[:, None, None] == 1, ramp, -ramp) + rng.normal(scale=0.5, size=(n, steps, features))
    return x.astype("float32"), y


def test_lstm_trains_on_npz_sequences_and_kind_overrides_the_guess(tmp_path: Path):
    x, y = _sequences()
    path = tmp_path / "seq.npz"
    np.savez(path, x=x, y=y)
    assert datasets.describe(DataSpec(source=f"npz:{path}")).kind == "sequence"
    preset = Preset.from_dict({
        "data": {"source": f"npz:{path}"},
        "model": {"layers": [{"type": "Input", "shape": [12, 3]}, {"type": "LSTM", "units": 8},
                             {"type": "Dense", "units": 2, "activation": "softmax"}]},
        "compile": {"learning_rate": 0.02},
        "fit": {"epochs": 3, "batch_size": 32},
    }, "lstm")
    result = train(preset, runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert result.data["kind"] == "sequence" and result.data["input_shape"] == [12, 3]
    assert result.test["accuracy"] > 0.75  # chance is 0.5

    image = datasets.prepare(DataSpec(source=f"npz:{path}", kind="image"))
    assert image.kind == "image" and image.input_shape == (12, 3, 1)
    table = datasets.prepare(DataSpec(source=f"npz:{path}", kind="tabular"))
    assert table.kind == "tabular" and table.input_shape == (36,)
    with pytest.raises(DatasetError, match=r"data.kind: \"sequence\" needs x of shape"):
        np.savez(tmp_path / "flat.npz", x=np.zeros((10, 4)), y=np.arange(10) % 2)
        datasets.load_raw(DataSpec(source=f"npz:{tmp_path / 'flat.npz'}", kind="sequence"))


def test_npy_and_npz_inputs_are_memory_mapped_and_streamed_not_copied(tmp_path: Path):
    x, y = _sequences(400)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "seq.npz", x=x, y=y)
    for source in (f"npy:{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}", f"npy:{tmp_path}", f"npz:{tmp_path / 'seq.npz'}"):
        raw = datasets.load_raw(DataSpec(source=source))
        assert isinstance(raw.x_train, np.memmap), source
        np.testing.assert_array_equal(raw.x_train[:5], x[:5])
        data = datasets.prepare(DataSpec(source=source, stream=True), loss="sparse_categorical_crossentropy")
        assert data.stream is not None and isinstance(data.stream.array, np.memmap)
        assert data.stream.array.filename == raw.x_train.filename  # the file itself, not a copy
        assert len(data.x_train) == 0 and data.train_count + data.val_count + data.test_count == 400
        xb, yb = next(iter(data.stream.make("train", 16, True)))
        assert tuple(xb.shape) == (16, 12, 3) and tuple(yb.shape) == (16,)
    result = train(Preset.from_dict({
        "data": {"source": f"npy:{tmp_path}", "stream": True},
        "model": {"layers": [{"type": "LSTM", "units": 4}, {"type": "Dense", "units": 2, "activation": "softmax"}]},
        "fit": {"epochs": 1, "batch_size": 32}}, "npy"), runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert result.data["streamed"] is True and result.data["kind"] == "sequence"


def test_sequence_card_shows_samples_as_arrays_for_a_line_plot(tmp_path: Path):
    x, y = _sequences(60)
    np.savez(tmp_path / "seq.npz", x=x, y=y)
    card = datasets.preview(DataSpec(source=f"npz:{tmp_path / 'seq.npz'}"))
    assert card.summary["kind"] == "sequence"
    assert card.samples.shape == (8, 12, 3)


# --------------------------------------------------------------------------- TFDS


def _tiny_tfds(data_dir: Path) -> None:
    tfds = pytest.importorskip("tensorflow_datasets")

    class TinyShades(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1)),
                "label": tfds.features.ClassLabel(names=["dark", "light"])}), supervised_keys=("image", "label"))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(0, 80), "test": self._generate_examples(1, 20)}

        def _generate_examples(self, seed, n):
            rng = np.random.default_rng(seed)
            for i in range(n):
                pixels = np.clip(60 + 120 * (i % 2) + rng.integers(-30, 30, (8, 8, 1)), 0, 255).astype(np.uint8)
                yield i, {"image": pixels, "label": i % 2}

    TinyShades(data_dir=str(data_dir)).download_and_prepare()


def test_tfds_source_built_locally_trains_one_epoch(tmp_path: Path):
    data_dir = tmp_path / "tfds"
    _tiny_tfds(data_dir)
    from kerastui.core.data.sources import tfds_prepared

    assert tfds_prepared(str(data_dir)) == ["tiny_shades/1.0.0"]
    info = datasets.describe(DataSpec(source="tfds:tiny_shades", data_dir=str(data_dir)))
    assert (info.kind, info.shape, info.num_classes) == ("image", (8, 8, 1), 2)
    preset = tiny_preset("tfds:tiny_shades", classes=2, data_dir=str(data_dir))
    preset.fit.epochs = 1
    result = train(preset, runs_dir=tmp_path / "runs")
    assert result.status == "completed", result.error
    assert result.epochs_run == 1
    assert result.data["test"] == 20 and result.data["train"] + result.data["val"] == 80
    assert len(result.history["loss"]) == 1 and np.isfinite(result.history["loss"][0])
    assert 0.0 <= result.test["accuracy"] <= 1.0


def test_tfds_not_prepared_says_which_data_dir_to_prepare(tmp_path: Path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DatasetError) as info:
        datasets.prepare(DataSpec(source="tfds:mnist", data_dir=str(tmp_path / "empty")))
    text = str(info.value)
    assert "tfds:mnist is not prepared in" in text and str(tmp_path / "empty") in text and "\n" not in text

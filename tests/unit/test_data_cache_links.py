"""data.cache = "file" writes TensorFlow's cache under the run directory's data-cache/ (issue 25): a
link planted there — at the folder or at a file in it — by whoever else can write the run directory is
replaced, never written through."""

from __future__ import annotations

from pathlib import Path

from kerastui.core.model.specs import Preset
from kerastui.core.run.directory import RunDir
from kerastui.core.run.trainer import Trainer
from tests.unit.test_data_scale import tiny_preset, write_folder


def cached_run(tmp_path: Path) -> tuple[Preset, RunDir]:
    """An image-folder preset whose data is cached to files, and a fresh run directory for it."""
    root = write_folder(tmp_path / "pics", 6, size=8, corrupt=False)
    preset = tiny_preset(f"images:{root}", stream=True, cache="file")
    preset.fit.batch_size = 8
    preset.save.formats = []
    run = RunDir.create(tmp_path / "runs", "cached")
    run.write_preset(preset)
    return preset, run


def test_a_link_at_the_data_cache_is_replaced_and_nothing_outside_is_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "train.index"
    precious.write_text("precious")
    preset, run = cached_run(tmp_path)
    (run.path / "data-cache").symlink_to(outside, target_is_directory=True)

    result = Trainer(preset, run_dir=run).run()
    run.release()

    assert result.status == "completed", result.error
    assert sorted(p.name for p in outside.iterdir()) == ["train.index"] and precious.read_text() == "precious"
    cache = run.path / "data-cache"
    assert cache.is_dir() and not cache.is_symlink()
    assert "train.index" in [p.name for p in cache.glob("*.index")]


def test_a_link_inside_the_data_cache_is_removed_before_tensorflow_writes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.index"
    precious.write_text("precious")
    preset, run = cached_run(tmp_path)
    (run.path / "data-cache").mkdir()
    (run.path / "data-cache" / "train.index").symlink_to(precious)

    result = Trainer(preset, run_dir=run).run()
    run.release()

    assert result.status == "completed", result.error
    assert precious.read_text() == "precious"
    assert not (run.path / "data-cache" / "train.index").is_symlink()

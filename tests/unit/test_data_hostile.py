"""Issue 25, parts 7 and 8: hostile data folders and data sources.

A decompression bomb in an image folder is skipped from its header (never decoded); a symbolic
link loop, a link to nothing, a FIFO or a device among the images is skipped with why, never
opened, and the class still loads; a data source that is no regular file or folder (a device, a
FIFO, /proc) is refused in one line before anything is read, by ``kerastui check`` and ``kerastui
train`` alike.  Real files written here, real processes; a hang fails by a subprocess timeout.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from kerastui.core.data import datasets
from kerastui.core.data.imagefolder import image_size_of, scan_folder
from kerastui.core.errors import DatasetError, PresetError
from kerastui.core.model import presets
from kerastui.core.model.specs import DataSpec
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
BOMB = 20000  # a 20000×20000 PNG: 400 Mpixels, 1.2 GB once decoded as RGB; ~400 KB on disk
QUICK = 120  # seconds a refusal may take before the subprocess counts as hung (TensorFlow starts in train)


# --------------------------------------------------------------------------- files


def png(width: int, height: int, colour: tuple[int, int, int] | None = None) -> bytes:
    """A valid PNG: RGB filled with ``colour``, or (``colour`` None) grey zeros, its IDAT deflated row by
    row so a 20000×20000 image costs ~400 KB and a second of zlib, never the image in memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    grey = colour is None
    row = b"\0" + (bytes(width) if grey else bytes(colour) * width)  # filter byte 0, then the pixels
    deflate = zlib.compressobj(9)
    body = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def write_folder(root: Path, per_class: int = 6) -> Path:
    """Two classes of small PNGs told apart by colour."""
    for name, colour in (("dark", (20, 30, 40)), ("light", (220, 210, 200))):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / name / f"{i}.png").write_bytes(png(12, 12, colour))
    return root


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(png(BOMB, BOMB))
    return path


def preset_file(folder: Path, source: str, **data: object) -> Path:
    """A tiny image classifier on ``source``: two classes, one epoch."""
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in data.items())
    path = folder / "hostile.toml"
    path.write_text(textwrap.dedent(f"""\
        [data]
        source = {json.dumps(source)}
        validation_split = 0.0
        test_split = 0.25
        """) + extra + textwrap.dedent("""
        [model]
        layers = [{ type = "Flatten" }, { type = "Dense", units = 2, activation = "softmax" }]

        [fit]
        epochs = 1
        batch_size = 4
        """), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the pixel budget


def test_a_20000_by_20000_png_is_skipped_from_its_header_and_named_with_why(tmp_path: Path, bomb: Path):
    root = write_folder(tmp_path / "pics")
    os.link(bomb, root / "dark" / "huge.png")  # as in the report: the bomb hard-linked into the folder
    found = scan_folder(root)
    assert [os.path.basename(p) for p, _ in found.splits["train"]].count("huge.png") == 0
    assert found.counts() == [6, 6]
    [skipped] = found.corrupt
    assert skipped.startswith(os.path.join("dark", "huge.png") + " (")
    assert "20000×20000" in skipped and "data.max_image_pixels is 50,000,000" in skipped
    # The same file under a budget it fits is kept: it is whole, and only its size left it out.
    assert found is not scan_folder(root, BOMB * BOMB)
    assert scan_folder(root, BOMB * BOMB).corrupt == []
    assert image_size_of(str(bomb)) == (BOMB, BOMB)


def test_data_max_image_pixels_is_a_checked_key_saved_with_the_preset(tmp_path: Path):
    path = preset_file(tmp_path, "images:pics", max_image_pixels=1_000_000)
    preset = presets.load(path)
    assert preset.data.max_image_pixels == 1_000_000
    assert presets.loads(presets.dumps(preset)).data == preset.data
    assert presets.load(path, {"data.max_image_pixels": 123}).data.max_image_pixels == 123
    with pytest.raises(PresetError, match=r"data\.max_image_pixels"):
        presets.load(path, {"data.max_image_pixels": 0})
    with pytest.raises(PresetError, match=r"data\.max_image_pixels"):
        presets.load(path, {"data.max_image_pixels": "many"})


def test_the_budget_comes_from_the_preset_through_check(tmp_path: Path):
    root = write_folder(tmp_path / "pics")
    path = preset_file(tmp_path, f"images:{root}")
    assert run_cli("check", str(path), timeout=QUICK).returncode == 0
    # 12×12 = 144 pixels each: a budget of 100 leaves no image, and says which files and why.
    proc = run_cli("check", str(path), "--set", "data.max_image_pixels=100", timeout=QUICK)
    assert proc.returncode == 1
    assert "found 0 readable images" in proc.stderr


RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.trainer import train
    preset = Preset.from_dict({
        "data": {"source": "images:" + sys.argv[1], "validation_split": 0.0, "test_split": 0.25},
        "model": {"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 2, "activation": "softmax"}]},
        "fit": {"epochs": 1, "batch_size": 4}}, "rss")
    result = train(preset, runs_dir=Path(sys.argv[2]))
    print(json.dumps({"status": result.status, "error": result.error, "train": result.data["train"],
                      "test": result.data["test"], "corrupt": result.data.get("corrupt"),
                      "notices": result.notices, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
""")


def _trained(folder: Path, runs: Path) -> dict:
    """``folder`` prepared and trained for one epoch in its own process; what it did and its peak RSS."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(folder), str(runs)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_a_folder_with_a_decompression_bomb_trains_in_the_memory_of_one_without(tmp_path: Path, bomb: Path):
    plain = write_folder(tmp_path / "plain")
    bombed = write_folder(tmp_path / "bombed")
    for i in range(3):
        os.link(bomb, bombed / ("dark" if i % 2 else "light") / f"huge{i}.png")
    without = _trained(plain, tmp_path / "runs-a")
    with_bomb = _trained(bombed, tmp_path / "runs-b")
    assert without["status"] == with_bomb["status"] == "completed", (without["error"], with_bomb["error"])
    assert (with_bomb["train"], with_bomb["test"]) == (without["train"], without["test"])
    assert len(with_bomb["corrupt"]) == 3 and all("20000×20000" in c for c in with_bomb["corrupt"])
    assert any("3 unreadable file(s)" in n and "huge0.png" in n and "max_image_pixels" in n
               for n in with_bomb["notices"]), with_bomb["notices"]
    # A size, not a timing: decoding one of them alone would take 1.2 GB.
    assert with_bomb["peak_kb"] <= without["peak_kb"] + 200 * 1024, (without["peak_kb"], with_bomb["peak_kb"])


# --------------------------------------------------------------------------- no regular file in a class folder


def test_links_fifos_and_devices_in_a_class_folder_are_skipped_and_the_class_loads(tmp_path: Path):
    root = write_folder(tmp_path / "pics")
    dark = root / "dark"
    (dark / "a.png").symlink_to(dark / "b.png")
    (dark / "b.png").symlink_to(dark / "a.png")  # a → b → a
    (dark / "gone.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(dark / "pipe.png")  # opening it would wait for a writer for ever
    (dark / "zero.png").symlink_to("/dev/zero")
    (dark / "environ.png").symlink_to("/proc/self/environ")
    (dark / "alias.png").symlink_to(dark / "0.png")  # a link to an image is an image
    (root / "looped").symlink_to(root / "looped")  # a class folder in a loop is no class
    path = preset_file(tmp_path, f"images:{root}")
    # In a process of its own first: were the FIFO opened, this would hang, not pass.
    proc = run_cli("check", str(path), "--json", timeout=QUICK)
    assert proc.returncode == 0, proc.stderr
    found = scan_folder(root)
    assert found.classes == ["dark", "light"]
    assert found.counts() == [7, 6]
    why = dict(entry.split(" (", 1) for entry in found.corrupt)
    assert why == {
        os.path.join("dark", "a.png"): "a symbolic link loop)",
        os.path.join("dark", "b.png"): "a symbolic link loop)",
        os.path.join("dark", "environ.png"): "a symbolic link into /proc)",
        os.path.join("dark", "gone.png"): "a symbolic link to nothing)",
        os.path.join("dark", "pipe.png"): "a FIFO (named pipe))",
        os.path.join("dark", "zero.png"): "a symbolic link to a character device)",
    }
    data = datasets.prepare(DataSpec(source=f"images:{root}", validation_split=0.0, test_split=0.25))
    assert len(data.y_train) + len(data.y_test) == 13
    assert len(data.corrupt) == 6


def test_the_raw_image_loader_reads_only_what_the_scan_kept(tmp_path: Path, bomb: Path):
    root = write_folder(tmp_path / "pics", 3)
    os.link(bomb, root / "light" / "huge.png")
    os.mkfifo(root / "dark" / "pipe.png")
    raw = datasets.load_raw(DataSpec(source=f"images:{root}"))
    assert raw.x_train.shape == (6, 12, 12, 3)
    assert raw.class_names == ["dark", "light"]


# --------------------------------------------------------------------------- headers


def test_a_jpeg_whose_metadata_outgrows_the_first_read_still_gives_its_size(tmp_path: Path):
    from kerastui.core.tfenv import load_keras

    load_keras()
    import numpy as np
    import tensorflow as tf

    plain = tf.io.encode_jpeg(np.full((9, 14, 3), 128, np.uint8)).numpy()
    segment = b"\xff\xe1" + struct.pack(">H", 40002) + b"Exif\0\0" + bytes(39994)  # an APP1 past 16 KiB
    path = tmp_path / "tall-exif.jpg"
    path.write_bytes(plain[:2] + segment + plain[2:])
    assert tuple(tf.io.decode_jpeg(path.read_bytes()).shape) == (9, 14, 3)  # still a valid JPEG
    assert image_size_of(str(path)) == (9, 14)
    bmp = tmp_path / "top-down.bmp"  # a 3×2 bitmap stored top-down (negative height)
    bmp.write_bytes(b"BM" + struct.pack("<IHHI", 54 + 2 * 12, 0, 0, 54)
                    + struct.pack("<IiiHHIIiiII", 40, 3, -2, 1, 24, 0, 0, 0, 0, 0, 0) + bytes(2 * 12))
    assert image_size_of(str(bmp)) == (2, 3)
    gif = tmp_path / "wide.gif"  # a header claiming 65535×65535, the body cut: refused from the header
    gif.write_bytes(b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\0\0\0;")
    assert image_size_of(str(gif)) == (65535, 65535)
    with pytest.raises(DatasetError, match="not a readable image"):
        image_size_of(str(tmp_path / "tall-exif.jpg.missing"))


# --------------------------------------------------------------------------- sources that are no file


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.data"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["check", "train"])
@pytest.mark.parametrize(("scheme", "target", "expected"), [
    ("npz", "/dev/zero", "is a character device"),
    ("csv", "/dev/zero", "is a character device"),
    ("npz", "FIFO", "is a FIFO (named pipe)"),
    ("csv", "FIFO", "is a FIFO (named pipe)"),
    ("images", "/proc", "is under /proc"),
])
def test_a_source_that_is_no_regular_file_is_refused_in_one_line(tmp_path: Path, fifo: Path, command: str,
                                                                 scheme: str, target: str, expected: str):
    source = f"{scheme}:{fifo if target == 'FIFO' else target}"
    path = preset_file(tmp_path, "sklearn:iris")
    args = [command, str(path), "--data", source]
    if command == "train":
        args += ["--runs-dir", str(tmp_path / "runs")]
    proc = run_cli(*args, timeout=QUICK)  # a source read for ever or a FIFO waited on fails here
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kerastui: error:"), proc.stderr
    assert f"{source}: {expected}" in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_every_file_scheme_refuses_a_device_before_reading(tmp_path: Path, fifo: Path):
    for source in ("npz:/dev/zero", "npy:/dev/zero", "csv:/dev/zero", "images:/dev/zero", f"npy:{fifo}",
                   f"npy:{tmp_path / 'x.npy'},{fifo}", "npz:/proc/self/environ", "images:/sys"):
        if source.startswith(f"npy:{tmp_path}"):
            import numpy as np

            np.save(tmp_path / "x.npy", np.zeros((4, 2)))
        with pytest.raises(DatasetError, match="not a regular file or folder|kernel pseudo-filesystem"):
            datasets.describe(DataSpec(source=source))
    with pytest.raises(DatasetError, match="is a folder; expected a file"):
        datasets.describe(DataSpec(source=f"npz:{tmp_path}"))

"""Saves leave no debris: a save killed half-way is cleaned up by the next save in that folder, the
target's name holds a complete model at every instant (also while a SavedModel folder is replaced),
nothing the user did not name is deleted, and damaged archives say so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kerastui.core.errors import SaveError
from kerastui.core.saving import load_model, predict, save_model, sweep_debris
from kerastui.core.tfenv import load_keras

REPO = Path(__file__).resolve().parents[2]
BIG = 20_000_000  # bytes of weights the child's model has at least: a save takes a few hundred ms


@pytest.fixture(scope="module")
def tiny():
    keras = load_keras()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def debris(folder: Path, keep: str) -> list[str]:
    """Every name in ``folder`` except ``keep``: what a save left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


def complete(path: Path, fmt: str, min_bytes: int = 0) -> str | None:
    """None when ``path`` holds a whole model of the format; else what is wrong. Reads by name each
    time, as a reader arriving at that instant would."""
    if fmt == "keras":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "config.json" not in names or "model.weights.h5" not in names:
                    return f"entries {names}"
                if archive.getinfo("model.weights.h5").file_size < min_bytes:
                    return "weights smaller than the model's"
                bad = archive.testzip()  # every entry's CRC: the archive is whole
                return None if bad is None else f"bad entry {bad}"
        except (OSError, zipfile.BadZipFile) as error:
            return f"{type(error).__name__}: {error}"
    # A folder is read in several steps: when the name was exchanged between them (a save landed), this
    # reader was inside the old export while it was being removed, which saving.py does not promise to
    # survive — the check is made again, as by a reader arriving now (CI once read the old folder's
    # listing after its files had gone: "variables hold 0 bytes").
    while True:
        try:
            before = path.stat().st_ino
        except OSError as error:
            return f"{type(error).__name__}: {error}"
        found = _export_problem(path, min_bytes)
        try:
            if path.stat().st_ino == before:
                return found
        except OSError as error:
            return f"{type(error).__name__}: {error}"


def _export_problem(path: Path, min_bytes: int) -> str | None:
    try:
        if not (path / "saved_model.pb").stat().st_size:
            return "empty saved_model.pb"
        if not (path / "variables" / "variables.index").is_file():
            return "no variables.index"
        data = sum(p.stat().st_size for p in (path / "variables").glob("variables.data-*"))
        return None if data >= min_bytes else f"variables hold {data} bytes"
    except OSError as error:
        return f"{type(error).__name__}: {error}"


# --------------------------------------------------------------------------- kill -9 mid-save

SAVE_FOREVER = """
import sys
import numpy as np
from kerastui.core.tfenv import load_keras
from kerastui.core.saving import save_model
keras = load_keras()
model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(2048), keras.layers.Dense(2048)])
i = 0
while True:
    model.layers[-1].bias.assign(np.full((2048,), float(i), "float32"))  # each save a new model
    save_model(model, sys.argv[1], sys.argv[2])
    i += 1
    print("saved", i, flush=True)
"""


def saves_done(log: Path) -> int:
    return log.read_text().count("saved")


@pytest.mark.parametrize("fmt, name", [("keras", "big.keras"), ("savedmodel", "big_savedmodel")])
def test_kill_9_mid_save_keeps_a_complete_target_and_the_next_save_leaves_no_temporary_files(
        tmp_path, tmp_path_factory, tiny, fmt, name):
    """A real process saves a 25 MB model over and over; the target is checked in a loop while it does
    (old or new model, whole, every time), the process is killed with SIGKILL while a save is
    half-written, and one more save in the folder leaves nothing but the target."""
    target = tmp_path / name
    logs = tmp_path_factory.mktemp("child")  # not in the watched folder
    log, errors = logs / "stdout", logs / "stderr"
    with log.open("w") as out, errors.open("w") as err:
        child = subprocess.Popen([sys.executable, "-c", SAVE_FOREVER, str(target), fmt], stdout=out, stderr=err,
                                 env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.monotonic() + 180
        while saves_done(log) < 1:  # the first save: from now on the target must always be whole
            assert child.poll() is None and time.monotonic() < deadline, errors.read_text()[-3000:]
            time.sleep(0.02)
        # Check until at least 3 saves have replaced the target meanwhile, and 20 checks were made.
        checks, problems, first = 0, [], saves_done(log)
        while True:
            problem = complete(target, fmt, BIG)
            checks += 1
            if problem:
                problems.append(problem)
            if saves_done(log) >= first + 3 and checks >= 20 and debris(tmp_path, name):
                child.send_signal(signal.SIGSTOP)  # frozen mid-save: is its temporary name still there?
                if debris(tmp_path, name):
                    child.kill()  # SIGKILL
                    break
                child.send_signal(signal.SIGCONT)
            assert child.poll() is None and time.monotonic() < deadline, errors.read_text()[-3000:]
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not problems, f"{len(problems)} of {checks} checks found the target incomplete: {problems[:3]}"
    assert complete(target, fmt, BIG) is None
    assert debris(tmp_path, name), "the killed save left its temporary name (what the next save must remove)"

    save_model(tiny, target, fmt)  # the next save in that folder

    assert debris(tmp_path, name) == []
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    assert np.max(np.abs(predict(load_model(target, safe_mode=False), x, fmt) - np.asarray(tiny(x)))) <= 1e-6


# --------------------------------------------------------------------------- every instant, step by step

_WATCH: dict = {}
MUTATIONS = {"os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate", "shutil.rmtree",
             "shutil.move", "ctypes.call_function"}


def _audit(event: str, args) -> None:
    watch = _WATCH.get("target")
    if watch is not None and event in MUTATIONS:
        problem = complete(watch, "savedmodel")
        _WATCH["steps"] += 1
        if problem:
            _WATCH["problems"].append(f"before {event}{args!r}: {problem}")


def test_replacing_a_savedmodel_keeps_a_complete_export_under_its_name_at_every_step(tmp_path, tiny):
    """An audit hook sees every rename, removal and foreign call the save makes and checks the target
    just before each one: every state the folder passes through, including the instant a kill
    between two renames would freeze, holds a whole export under the target's name."""
    keras = load_keras()
    if "_audit_installed" not in _WATCH:
        sys.addaudithook(_audit)
        _WATCH["_audit_installed"] = True
    target = tmp_path / "export"
    # A folder someone else exported (a real folder, not written by this module) is replaced the same way.
    tiny.export(str(target), format="tf_saved_model", verbose=False)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
    x = np.ones((2, 3), "float32")
    for model in (other, tiny, other):
        _WATCH.update(target=target, steps=0, problems=[])
        try:
            save_model(model, target, "savedmodel")
        finally:
            _WATCH["target"] = None
        assert not _WATCH["problems"], _WATCH["problems"]
        assert _WATCH["steps"] >= 2, "the hook saw the replacement and the removal of the old export"
        assert np.allclose(predict(load_model(target, safe_mode=False), x, "savedmodel"), np.asarray(model(x)),
                           atol=1e-6)  # the test's own export: trusted
        assert debris(tmp_path, "export") == []


# --------------------------------------------------------------------------- the sweep: only our own, only stale

def test_the_next_save_removes_only_stale_temporaries_of_dead_or_reused_processes(tmp_path, tiny):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        gone = dead_pid()
        stale = [f".model.tmp-{gone}.keras", f".model.tmp-{gone}.h5", f".other.tmp-{gone}.keras"]
        live = [f".model.tmp-{sleeper.pid}.keras", f".model.tmp-{os.getpid()}.h5"]  # saves under way
        # Not ours: not hidden, no PID, an impossible PID, or a file where we would leave a folder.
        mine = ["model.tmp-123.keras", ".model.tmp-x.keras", ".notes", "notes.txt", f"model.old-{gone}",
                ".model.tmp-99999999999999999999.keras", f".export.old-{gone}", f".exp2.tmp-{gone}"]
        for name in stale + live + mine:
            (tmp_path / name).write_bytes(b"partial")
        (tmp_path / f".dir.tmp-{gone}.keras").mkdir()  # a folder where we would leave a file
        mine.append(f".dir.tmp-{gone}.keras")
        (tmp_path / f".exp.tmp-{gone}").mkdir()
        (tmp_path / f".exp.tmp-{gone}" / "saved_model.pb").write_bytes(b"partial")
        stale.append(f".exp.tmp-{gone}")

        save_model(tiny, tmp_path / "unrelated.keras")  # a save of another name in the same folder

        left = set(p.name for p in tmp_path.iterdir())
        assert not left & set(stale), left & set(stale)
        assert left == set(live) | set(mine) | {"unrelated.keras"}
    finally:
        sleeper.kill()
        sleeper.wait(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from Linux /proc")
def test_a_temporary_older_than_the_process_now_holding_its_pid_is_stale(tmp_path, tiny):
    """In a container the TUI is often PID 1 every time: a temporary named with a running process's
    PID but written before that process started belongs to a dead one."""
    reused = tmp_path / f".model.tmp-{os.getpid()}.keras"
    reused.write_bytes(b"from a killed run that had this PID")
    os.utime(reused, (0, 0))  # written long before this process started
    fresh = tmp_path / f".other.tmp-{os.getpid()}.keras"
    fresh.write_bytes(b"a save of this process under way")
    assert sweep_debris(tmp_path) == [reused]
    assert fresh.exists()


def test_an_old_export_left_only_under_its_backup_name_is_put_back(tmp_path, tiny):
    """Where names cannot be exchanged atomically, a crash between the two renames leaves the old
    export only as .NAME.old-PID: the next save in that folder restores it under NAME."""
    backup = tmp_path / f".export.old-{dead_pid()}"
    tiny.export(str(backup), format="tf_saved_model", verbose=False)
    save_model(tiny, tmp_path / "m.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "m.keras"]
    assert complete(tmp_path / "export", "savedmodel") is None


# --------------------------------------------------------------------------- never delete what was not named

def test_a_savedmodel_is_never_saved_over_a_file_or_a_folder_of_other_things(tmp_path, tiny):
    file = tmp_path / "results"
    file.write_text("my results, not a model")
    with pytest.raises(SaveError, match=r"results: is a file; choose another name or delete it"):
        save_model(tiny, file, "savedmodel")
    assert file.read_text() == "my results, not a model"

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(SaveError, match=r"photos: is a folder that holds no SavedModel"):
        save_model(tiny, folder, "savedmodel")
    assert [p.name for p in folder.iterdir()] == ["cat.jpg"]

    with pytest.raises(SaveError, match=r"photos: is a directory"):
        save_model(tiny, folder, "keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "results"], "no temporary files either"


# --------------------------------------------------------------------------- damaged archives

@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_empty_and_truncated_archives_are_not_valid_files_not_missing_ones(tmp_path, tiny, suffix):
    good = save_model(tiny, tmp_path / f"good{suffix}")
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for path, reason in [(empty, "empty file"), (truncated, "")]:
        with pytest.raises(SaveError) as caught:
            load_model(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and f"not a valid {suffix} file ({reason}" in message, message
        assert "not found" not in message.lower() and "\n" not in message

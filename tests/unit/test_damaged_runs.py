"""One damaged run never hides the others (issue 24).

A real run directory (one trained run) is copied and one of its files mutated by hypothesis:
cut short, replaced by bytes, or a JSON field given a value of another type.  ``list_runs``, and
``kerastui runs`` as a table, ``--json`` and ``--csv``, list every run — the mutated one with a
state from the one vocabulary (``damaged`` with a reason when its files are not what kerastui
writes) — and ``resume`` refuses it in one line or takes it, never with an internal error.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerastui.cli import main
from kerastui.core.errors import KerasTUIError
from kerastui.core.run.directory import RunDir, list_runs, run_info
from kerastui.core.run.process import check_resumable
from kerastui.core.run.status import RunStatus

FILES = ("status.json", "summary.json", "metrics.jsonl", "events.jsonl", "preset.toml",
         "checkpoints/train/state.json")
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=3), max_leaves=6)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("real") / "runs"
    assert main(["train", "ex1", "--epochs", "3", "--limit", "200", "--runs-dir", str(folder), "--json"]) == 0
    (run,) = list(folder.iterdir())
    return run


def mutate(path: Path, how: str, data: st.DataObject) -> None:
    raw = path.read_bytes()
    if how == "cut":
        path.write_bytes(raw[: data.draw(st.integers(0, max(0, len(raw) - 1)), label="cut at")])
    elif how == "bytes":
        path.write_bytes(data.draw(st.binary(max_size=64), label="bytes"))
    elif how == "field":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # a binary file (a checkpoint, a model): cut it instead
            path.write_bytes(raw[: len(raw) // 2])
            return
        lines = text.splitlines() if path.suffix == ".jsonl" else [text]
        index = data.draw(st.integers(0, max(0, len(lines) - 1)), label="line")
        try:
            value = json.loads(lines[index])
        except (ValueError, IndexError):
            return
        if isinstance(value, dict) and value:
            key = data.draw(st.sampled_from(sorted(value)), label="key")
            value[key] = data.draw(JSON_VALUES, label="value")
            lines[index] = json.dumps(value)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif how == "gone":
        path.unlink()


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_real_run_has_the_files_mutated(real_run: Path) -> None:
    present = {p.relative_to(real_run).as_posix() for p in real_run.rglob("*") if p.is_file()}
    assert set(FILES) <= present and any(name.endswith(".npz") for name in present), present


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), how=st.sampled_from(["cut", "bytes", "field", "gone"]))
def test_a_mutated_run_is_listed_and_every_other_run_too(real_run: Path, capsys: pytest.CaptureFixture[str],
                                                         data: st.DataObject, how: str) -> None:
    # Any file of the run: its JSON files first (most of what readers parse), then every other one.
    every = sorted(p.relative_to(real_run).as_posix() for p in real_run.rglob("*") if p.is_file())
    file = data.draw(st.sampled_from(FILES) | st.sampled_from(every), label="file")
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        good, bad = runs / "20260101-000000-good", runs / "20260101-000001-bad"
        shutil.copytree(real_run, good)
        shutil.copytree(real_run, bad)
        mutate(bad / file, how, data)
        found = {r.name: r for r in list_runs(runs)}
        assert set(found) == {good.name, bad.name}
        assert found[good.name].status == RunStatus.COMPLETED and found[good.name].epochs == 3
        assert isinstance(found[bad.name].status, RunStatus)
        if found[bad.name].status == RunStatus.DAMAGED:
            assert found[bad.name].error, "a damaged run says why"
        code, out, err = cli("runs", "--runs-dir", str(runs), capsys=capsys)
        assert code == 0 and good.name in out and bad.name in out, err
        code, out, err = cli("runs", "--runs-dir", str(runs), "--json", capsys=capsys)
        assert code == 0, err
        assert {r["run"] for r in json.loads(out)} == {good.name, bad.name}
        code, out, err = cli("runs", "--runs-dir", str(runs), "--csv", capsys=capsys)
        assert code == 0, err
        assert {r["run"] for r in csv.DictReader(io.StringIO(out))} == {good.name, bad.name}
        code, out, err = cli("runs", "--runs-dir", str(runs), "--csv", "--epochs", bad.name, capsys=capsys)
        assert code == 0, err
        try:
            check_resumable(RunDir(bad))
        except KerasTUIError as error:
            assert "\n" not in str(error)


def test_wrong_types_make_a_run_damaged_with_the_reason(real_run: Path, tmp_path: Path) -> None:
    cases = {"status.json": ("gpus", 5), "summary.json": ("data", "x")}
    for file, (key, value) in cases.items():
        run = tmp_path / file
        shutil.copytree(real_run, run)
        content = json.loads((run / file).read_text())
        content[key] = value
        (run / file).write_text(json.dumps(content))
        info = run_info(run)
        assert info.status == RunStatus.DAMAGED and key in (info.error or ""), info
    run = tmp_path / "heartbeat"
    shutil.copytree(real_run, run)
    status = json.loads((run / "status.json").read_text())
    status["heartbeat"] = "soon"
    (run / "status.json").write_text(json.dumps(status))
    assert run_info(run).error == "status.json: 'heartbeat' is not a number"
    run = tmp_path / "middle"
    shutil.copytree(real_run, run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines[1] = "garbage"
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    assert run_info(run).error == "metrics.jsonl line 2 not JSON"
    with pytest.raises(KerasTUIError, match=r"run damaged \(status.json: 'heartbeat' is not a number\)"):
        check_resumable(RunDir(tmp_path / "heartbeat"))


def test_a_last_metrics_line_cut_by_a_kill_is_not_damage(real_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "cut"
    shutil.copytree(real_run, run)
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text[:-20])
    info = run_info(run)
    assert info.status == RunStatus.COMPLETED and info.epochs == 2

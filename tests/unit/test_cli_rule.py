"""The CLI's one error rule and its promises, seen from a real ``python -m kerastui`` process.

- A command line that does not parse is one ``kerastui: error:`` line naming the command and
  pointing at its ``--help`` (argparse's usage block is gone), with the exit status that ``--help``
  and the README document.
- A mistyped bundled data set is refused in one line with the closest name before TensorFlow is
  imported.
- ``train`` (its report and ``--json``) and ``runs`` (its table and ``--json``) give one run the
  same seconds; ``--json`` keeps the progress on stderr and stdout to one JSON object.
- ``kerastui --help`` says that a bare ``kerastui`` opens the workbench.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kerastui.cli import EXIT_USAGE, main
from tests.conftest import REPO, run_cli


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one line on stderr (nothing on stdout), which starts ``kerastui: error:``."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kerastui: error: "), lines[0]
    assert proc.stdout == "", proc.stdout
    assert "usage:" not in proc.stderr and "Traceback" not in proc.stderr
    return lines[0]


def documented_usage_status() -> int:
    """The exit status ``kerastui --help`` gives a command line that does not parse."""
    help_text = " ".join(run_cli("--help").stdout.split())
    found = re.search(r"(\d+) a command line that does not parse", help_text)
    assert found, help_text
    return int(found.group(1))


# --------------------------------------------------------------------------- the error rule


def test_a_mistyped_option_is_one_line_naming_the_command_and_its_help() -> None:
    proc = run_cli("train", "--epoch", "3")
    line = error_line(proc)
    assert "train: unrecognized arguments: --epoch" in line
    assert "did you mean --epochs?" in line  # (no abbreviation: --epoch is a typo, not --epochs)
    assert "(see kerastui train --help)" in line
    assert proc.returncode == documented_usage_status() == EXIT_USAGE


def test_the_example_of_the_rule_reads_as_documented() -> None:
    line = error_line(run_cli("train", "ex1", "--epoch", "3"))
    assert line == ("kerastui: error: train: unrecognized arguments: --epoch 3 (did you mean --epochs?) "
                    "(see kerastui train --help)")


@pytest.mark.parametrize(("args", "fragment", "command"), [
    (["train"], "train: the following arguments are required: PRESET", "kerastui train"),
    (["train", "ex1", "--epochs", "zero"], "train: argument --epochs: 'zero' is not an integer", "kerastui train"),
    (["--bogus"], "unrecognized arguments: --bogus", "kerastui"),
    (["sweep", "start"], "sweep start: the following arguments are required: PRESET", "kerastui sweep start"),
    (["runs", "--jsn"], "runs: unrecognized arguments: --jsn (did you mean --json?)", "kerastui runs"),
])
def test_every_parse_error_follows_the_rule(args: list[str], fragment: str, command: str) -> None:
    proc = run_cli(*args)
    line = error_line(proc)
    assert fragment in line and line.endswith(f"(see {command} --help)"), line
    assert proc.returncode == EXIT_USAGE


def test_a_mistyped_command_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trian", "ex1"]) == EXIT_USAGE  # in process: main returns the status, it does not exit
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kerastui: error: 'trian' is not a command (did you mean 'train'?)")
    assert "kerastui --help" in err


def test_help_says_a_bare_kerastui_opens_the_workbench_and_lists_exit_statuses() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "kerastui open the workbench (the TUI)" in text
    for status in ("0 done", "1 bad input", "2 a command line that does not parse", "128 + N", "141"):
        assert status in text, status
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"{EXIT_USAGE} when the command line does not parse" in readme


# --------------------------------------------------------------------------- names checked before TensorFlow


WRAPPER = textwrap.dedent("""
    import json, sys
    from kerastui.cli import main
    rc = main(sys.argv[1:])
    print(json.dumps({"rc": rc, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
                      "sklearn": "sklearn" in sys.modules}))
""")


@pytest.mark.parametrize(("args", "suggestion"), [
    (["check", "ex1", "--data", "sklearn:digitz"], "did you mean 'digits'?"),
    (["train", "ex1", "--data", "keras:mnits"], "did you mean 'mnist'?"),
    (["export-script", "ex1", "--data", "synthetic:image"], "did you mean 'images'?"),
])
def test_a_mistyped_data_set_is_refused_before_tensorflow(tmp_path: Path, args: list[str], suggestion: str) -> None:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *args, *(["--runs-dir", str(tmp_path)]
                                                                   if args[0] == "train" else [])],
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kerastui: error: "), proc.stderr
    assert suggestion in lines[0] and "ex1.toml" in lines[0] and "data.source" in lines[0]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "rc": 1, "tensorflow": False, "keras": False, "sklearn": False}
    assert not any(tmp_path.iterdir())  # no run directory either


# --------------------------------------------------------------------------- one "seconds", --json's progress


def runs_time_column(runs: Path) -> dict[str, str]:
    """``kerastui runs``'s table: run name → its TIME cell (the last column)."""
    proc = run_cli("runs", "--runs-dir", str(runs))
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header.split()[-1] == "TIME", header
    return {row.split()[0]: row.split()[-1] for row in rows}


Ran = tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """ex1 trained twice, for real: once with its report, once with --json (module-scoped: it starts
    before the per-test isolation, so it isolates itself)."""
    base = tmp_path_factory.mktemp("seconds")
    runs = base / "runs"
    env = {**os.environ, "KERASTUI_PRESETS": str(base / "presets"), "KERASTUI_RUNS": str(runs),
           "XDG_CACHE_HOME": str(base / "cache")}
    common = ("--epochs", "2", "--limit", "128", "--runs-dir", str(runs))
    report = run_cli("train", "ex1", *common, env=env)
    as_json = run_cli("train", "ex1", "--json", *common, env=env)
    return runs, report, as_json


def test_train_and_runs_show_the_same_seconds_for_a_run(two_runs) -> None:
    runs, report, _ = two_runs
    assert report.returncode == 0, report.stderr
    found = re.search(r"^run time: (\S+) \(", report.stdout, re.M)
    assert found, report.stdout
    name = Path(re.search(r"^run directory: (.+)$", report.stdout, re.M).group(1)).name
    assert runs_time_column(runs)[name] == found.group(1)


def test_train_json_and_runs_json_give_the_same_seconds_and_json_keeps_the_progress(two_runs) -> None:
    runs, _, proc = two_runs
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])  # the last line: one object (and the only one)
    assert proc.stdout.count("\n") == 1
    listed = json.loads(run_cli("runs", "--json", "--runs-dir", str(runs)).stdout)
    run = next(r for r in listed if r["run"] == Path(result["run_dir"]).name)
    assert result["seconds"] == pytest.approx(run["seconds"], abs=1e-6) and result["seconds"] > 0
    summary = json.loads((Path(result["run_dir"]) / "summary.json").read_text(encoding="utf-8"))
    assert summary["seconds"] == pytest.approx(result["seconds"], abs=1e-6)
    # --json's help promises the progress on stderr: a line per epoch (stderr is no terminal here).
    assert "epoch 1:" in proc.stderr and "epoch 2:" in proc.stderr and "train: 2 epoch(s)" in proc.stderr

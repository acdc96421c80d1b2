"""A stranger wrote every string (issue 25): what ``kerastui`` prints shows control characters
instead of sending them, and every CSV cell it writes is one a spreadsheet will not run.

A preset whose file name, title and metric names hold the payloads below (terminal escapes that
retitle a terminal or set its clipboard, a screen clear, a C1 CSI, a bidi override, NUL, line
separators, quotes, markup, formula starts) goes through ``kerastui check``, ``train``, ``runs``,
``runs --csv`` (and ``--epochs``), ``runs --json`` and the one-line errors — real processes
(``python -m kerastui``), as a user's terminal would receive them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from kerastui.core.text import FORMULA_START
from tests.conftest import run_cli

PAYLOADS = ['"""', "'''", "\n", "#", "\\", "__import__('os')", "\u2028", "\u2029", "\x00", "\x1b]0;x\x07",
            "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J", "\x9b", "\u202e", "[b]", "[/]"]
HOSTILE = "".join(PAYLOADS)
# What a file name can hold (no NUL, no slash): a formula start too, for the CSV's preset column.
IN_FILE_NAME = HOSTILE.replace("\x00", "").replace("/", "")
FILE_NAME = "=HYPERLINK(x) " + IN_FILE_NAME + ".toml"
METRIC = "=cmd|' /C calc'!A0" + HOSTILE
# Anything a terminal acts on: C0 but tab and newline, DEL, C1, line separators, bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` (JSON's escapes are TOML's)."""
    return json.dumps(text)


def preset_text(*, layer_name: str | None = None, source: str = "sklearn:iris") -> str:
    named = f", name = {toml_string(layer_name)}" if layer_name is not None else ""
    return f"""title = {toml_string("T " + HOSTILE)}
description = {toml_string(HOSTILE)}

[data]
source = {toml_string(source)}
validation_split = 0.2
test_split = 0.2
seed = 1

[model]
type = "sequential"
layers = [
    {{ type = "Input", shape = [4] }},
    {{ type = "Dense", units = 8, activation = "relu"{named} }},
    {{ type = "Dense", units = 3, activation = "softmax" }},
]

[compile]
optimizer = "adam"
loss = "sparse_categorical_crossentropy"
metrics = [{{ type = "SparseTopKCategoricalAccuracy", k = 2, name = "top2 acc" }},
           {{ type = "SparseTopKCategoricalAccuracy", k = 2, name = {toml_string(METRIC)} }}]

[fit]
epochs = 1
batch_size = 32
seed = 1
"""


def assert_terminal_safe(proc: subprocess.CompletedProcess) -> str:
    """Both streams: no control character a terminal would act on, no traceback; returns them joined."""
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both
    found = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(both)})
    assert not found, f"control characters reached the terminal: {found}\n{both!r}"
    return both


def assert_no_formula_cells(text: str) -> list[list[str]]:
    """Every cell, header included: a number, or text that does not start a formula."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, "no CSV at all"
    for row in rows:
        for cell in row:
            try:
                float(cell)
                continue
            except ValueError:
                pass
            assert not cell.startswith(FORMULA_START), f"formula cell {cell!r} in {row}"
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """The hostile preset checked and trained once (one epoch on iris): its file, the runs folder,
    and what check and train printed."""
    base = tmp_path_factory.mktemp("hostile")
    preset = base / FILE_NAME
    preset.write_text(preset_text(), encoding="utf-8")
    runs = base / "runs"
    check = run_cli("check", str(preset))
    train = run_cli("train", str(preset), "--runs-dir", str(runs))
    return preset, runs, check, train


def test_check_and_train_show_the_names_escaped_and_send_no_control_character(trained):
    _preset, _runs, check, train = trained
    assert check.returncode == 0, check.stderr
    assert train.returncode == 0, train.stderr
    out = assert_terminal_safe(check)
    assert "\\x1b]0;x\\x07" in out and "\\u202e" in out  # the file name, shown escaped
    out = assert_terminal_safe(train)
    assert "top2 acc" in out  # a name with a space trains and is printed as it is
    assert "\\x1b]52;c;ZXZpbA==\\x07" in out and "\\x9b" in out and "\\x00" in out  # the metric's name, shown
    epoch_lines = [line for line in train.stderr.splitlines() if line.startswith("epoch 1:")]
    assert len(epoch_lines) == 1 and "\\n#" in epoch_lines[0]  # a newline in a name does not break the line


def test_runs_lists_the_run_with_its_names_shown(trained):
    _preset, runs, _check, _train = trained
    proc = run_cli("runs", "--runs-dir", str(runs))
    assert proc.returncode == 0, proc.stderr
    out = assert_terminal_safe(proc)
    lines = out.splitlines()
    assert len(lines) == 2, out  # the header and the run: no name broke a line
    assert "=HYPERLINK(x)" in lines[1] and "\\x1b[2J" in lines[1]


def test_runs_csv_and_epochs_csv_neutralise_formula_cells(trained):
    _preset, runs, _check, _train = trained
    table = run_cli("runs", "--runs-dir", str(runs), "--csv")
    assert table.returncode == 0, table.stderr
    assert_terminal_safe(table)
    rows = assert_no_formula_cells(table.stdout)
    header, row = rows[0], rows[1]
    assert row[header.index("preset")].startswith("'=HYPERLINK(x)")  # the OWASP leading quote
    assert float(row[header.index("epochs")]) == 1  # numbers stay numbers
    assert any(key.startswith("test_=cmd") for key in header)  # (a prefix keeps it from starting a formula)

    epochs = run_cli("runs", "--runs-dir", str(runs), "--csv", "--epochs")
    assert epochs.returncode == 0, epochs.stderr
    assert_terminal_safe(epochs)
    rows = assert_no_formula_cells(epochs.stdout)
    assert "'" + METRIC.split("\n")[0] in "\n".join(rows[0])  # the metric's column, quoted
    assert "top2 acc" in rows[0]
    assert len(rows) == 2 and float(rows[1][rows[0].index("top2 acc")]) >= 0.0


def test_runs_json_escapes_the_names_and_keeps_them(trained):
    _preset, runs, _check, _train = trained
    proc = run_cli("runs", "--runs-dir", str(runs), "--json")
    assert proc.returncode == 0, proc.stderr
    assert_terminal_safe(proc)
    [run] = json.loads(proc.stdout)
    assert run["preset"] == FILE_NAME.removesuffix(".toml")  # JSON's escapes: the name itself comes back
    assert METRIC in run["test"]


@pytest.mark.parametrize("command", ["check", "train"])
def test_an_error_naming_a_hostile_layer_is_one_visible_line(tmp_path, command):
    preset = tmp_path / "bad.toml"
    preset.write_text(preset_text(layer_name="h\x1b]0;x\x07 " + HOSTILE), encoding="utf-8")
    proc = run_cli(command, str(preset), *(["--runs-dir", str(tmp_path / "runs")] if command == "train" else []))
    assert proc.returncode == 1
    out = assert_terminal_safe(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kerastui: error:"), out
    assert "\\x1b]0;x\\x07" in lines[0]


def test_an_error_naming_a_hostile_data_path_is_one_visible_line(tmp_path):
    preset = tmp_path / "bad.toml"
    preset.write_text(preset_text(source="csv:" + str(tmp_path / ("missing " + IN_FILE_NAME))),
                      encoding="utf-8")
    proc = run_cli("check", str(preset))
    assert proc.returncode == 1
    assert_terminal_safe(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "\\x1b[2J" in lines[0] and "\\u202e" in lines[0], proc.stderr

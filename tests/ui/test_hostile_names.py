"""Names a stranger wrote never crash the TUI and never reach the terminal as control characters
(issue 25): a run trained from the CLI with metrics named ``top2 acc`` and one holding an OSC
escape and a bidi override, a run directory and a damaged run with such names, opened in the Runs
and Train workspaces.

Every update the app writes is rendered and replayed into a terminal emulator (pyte): no OSC, no
screen clear, no C1 or bidi control is in it, the emulator's title is never set, and the names
are drawn with their escapes shown (``\\x1b``); markup in them (``[b]``) is drawn as typed.  The
Runs workspace's CSV export holds no formula cell.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pyte
import pytest
from rich.console import Console
from textual._compositor import CompositorUpdate
from textual.app import App
from textual.geometry import Region

from kerastui.core.text import FORMULA_START
from kerastui.ui.app import make_app
from kerastui.ui.safe import widget_id
from kerastui.ui.screens.runs import RunTable
from kerastui.ui.widgets.charts import MetricChart
from tests.conftest import run_cli
from tests.ui.helpers import settle, shown, started

W, H = 160, 48
EVIL = "\x1b]0;x\x07\u202e"  # retitles a terminal; reverses what follows
METRIC = EVIL + "[b]m[/]"  # (short: a chart's title shows it whole)
# (a file or directory name holds no "/": opening tags stand for markup there)
PRESET_FILE = "=HYPERLINK(x)" + EVIL + "[b]p[i]\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b.toml"
RUN_NAME = EVIL + "[b]run[i]\x1b[2J\x9b top2 acc\u2028"  # a run directory someone else named
DAMAGED_NAME = "zz" + EVIL + "[$accent]damaged[b]"
CSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")  # what Textual itself writes: cursor moves, colours
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

PRESET = f"""title = {json.dumps("T " + EVIL + "[b]title[/]")}

[data]
source = "sklearn:iris"
validation_split = 0.2
test_split = 0.2
seed = 1

[model]
type = "sequential"
layers = [
    {{ type = "Input", shape = [4] }},
    {{ type = "Dense", units = 8, activation = "relu" }},
    {{ type = "Dense", units = 3, activation = "softmax" }},
]

[compile]
optimizer = "adam"
loss = "sparse_categorical_crossentropy"
metrics = [{{ type = "SparseTopKCategoricalAccuracy", k = 2, name = "top2 acc" }},
           {{ type = "SparseTopKCategoricalAccuracy", k = 2, name = {json.dumps(METRIC)} }}]

[fit]
epochs = 2
batch_size = 32
seed = 1
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """The runs folder: the preset trained by ``kerastui train`` (a real process), a copy of its run
    under a hostile directory name, and a damaged run whose file and name hold markup and escapes."""
    base = tmp_path_factory.mktemp("hostile-ui")
    preset = base / PRESET_FILE
    preset.write_text(PRESET, encoding="utf-8")
    folder = base / "runs"
    proc = run_cli("train", str(preset), "--runs-dir", str(folder))
    assert proc.returncode == 0, proc.stderr
    [trained] = list(folder.iterdir())
    shutil.copytree(trained, folder / RUN_NAME)
    damaged = folder / DAMAGED_NAME
    damaged.mkdir()
    (damaged / "status.json").write_text(json.dumps({"state": "[b]x[/]\x1b]0;x\x07"}), encoding="utf-8")
    return folder


@pytest.fixture
def terminal(monkeypatch):
    """Everything the app writes to the terminal (headless included): the raw text, and a terminal
    emulator fed with it."""
    console = Console(force_terminal=True, color_system="truecolor", width=W, height=H, file=io.StringIO(),
                      legacy_windows=False)
    screen = pyte.Screen(W, H)
    stream = pyte.Stream(screen)
    written: list[str] = []
    display = App._display

    def tee(app, app_screen, renderable):
        if isinstance(renderable, CompositorUpdate):
            text = renderable.render_segments(console)
            written.append(text)
            stream.feed(text)
        return display(app, app_screen, renderable)

    monkeypatch.setattr(App, "_display", tee)
    return written, screen


def assert_terminal_safe(written: list[str], screen: pyte.Screen) -> None:
    raw = "".join(written)
    assert raw, "nothing was written"
    for sequence in ("\x1b]", "\x1b[2J", "\x9b", "\x07", "\u202e"):
        assert sequence not in raw, f"{sequence!r} reached the terminal"
    left = CSI.sub("", raw)
    assert "\x1b" not in left, f"an escape sequence Textual does not write reached the terminal: {left[:200]!r}"
    found = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(left.replace("\r", "").replace("\n", ""))})
    assert not found, f"control characters reached the terminal: {found}"
    assert screen.title == "", f"the terminal's title was set to {screen.title!r}"


def assert_no_formula_cells(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        for cell in row:
            try:
                float(cell)
            except ValueError:
                assert not cell.startswith(FORMULA_START), f"{path.name}: formula cell {cell!r}"
    return rows


def row_of(table: RunTable, name: str) -> int:
    return next(i for i, key in enumerate(table.keys) if Path(key).name == name)


async def test_runs_workspace_lists_hostile_names_shown_exports_neutral_csv_and_says_damaged_plainly(
        runs, terminal, tmp_path, monkeypatch):
    written, screen = terminal
    monkeypatch.chdir(tmp_path)  # the export writes here
    app = make_app("ex1", deterministic=True, runs_dir=runs)
    async with app.run_test(size=(W, H), notifications=True) as pilot:  # (notices drawn, as in a terminal)
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        table = app.screen.query_one(RunTable)
        assert table.row_count == 3
        drawn = shown(app, "#runs-table")
        assert "\\x1b]0;x\\x07\\u202e[b]r" in drawn  # the directory's name: escapes shown, markup as typed
        assert "=HYPERLINK(" in drawn  # the preset's name (cut to its column)

        for _ in range(3):  # every run marked: the export writes each one's epochs
            await pilot.press("space")
        await pilot.press("e")
        await settle(app, pilot)
        [table_csv] = tmp_path.glob("kerastui-runs-*[0-9].csv")
        [epochs_csv] = tmp_path.glob("kerastui-runs-*-epochs.csv")
        rows = assert_no_formula_cells(table_csv)
        presets = {row[rows[0].index("preset")] for row in rows[1:]}
        assert any(p.startswith("'=HYPERLINK(x)") for p in presets)
        rows = assert_no_formula_cells(epochs_csv)
        assert "top2 acc" in rows[0] and any(m.startswith("\\x1b]0;x") for m in rows[0])
        assert len(rows) == 1 + 2 * 2  # two trained runs, two epochs each

        table.move_cursor(row=row_of(table, DAMAGED_NAME))
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        toasts = [" ".join(line.text for line in toast.render_lines(Region(0, 0, *toast.size)))
                  for toast in app.screen.query("Toast")]  # the notices as drawn
        [toast] = [" ".join(text.split()) for text in toasts if "reopen" in text]
        assert "[$accent]damaged[b]" in toast and "\\x1b]0;x" in toast, toast
        assert_terminal_safe(written, screen)


async def test_train_workspace_shows_the_runs_charts_with_derived_ids(runs, terminal):
    written, screen = terminal
    app = make_app("ex1", deterministic=True, runs_dir=runs)
    async with app.run_test(size=(W, H)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        table = app.screen.query_one(RunTable)
        table.move_cursor(row=row_of(table, RUN_NAME))
        await pilot.press("enter")  # a finished run: its preset and history in the Train workspace
        for _ in range(3):
            await settle(app, pilot)
        assert app.current_mode == "train"
        charts = {chart.metric: chart for chart in app.screen.query(MetricChart)}
        assert set(charts) == {"loss", "top2 acc", METRIC}
        assert charts["top2 acc"].id == widget_id("chart", "top2 acc") != "chart-top2 acc"
        assert charts["loss"].id == "chart-loss"
        assert len({chart.id for chart in charts.values()}) == 3
        assert "\\x1b]0;x\\x07\\u202e[b]m[/]" in shown(app, f"#{charts[METRIC].id}")  # its title, shown
        assert "top2 acc" in shown(app, f"#{charts['top2 acc'].id}")
        epochs = shown(app, "#epoch-table")
        assert "\\x1b]0;x" in epochs and "top2 acc" in epochs
        assert "\\x1b]0;x" in shown(app, "#status")  # the preset's name in the status line
        assert app.session.run_state is not None and app.session.run_state.epochs_done == 2
        assert_terminal_safe(written, screen)


def test_check_says_ok_for_the_hostile_names_and_train_trained_them(runs):
    """``check`` and ``train`` agree: the names the TUI shows above are ones a run trains with."""
    preset = runs.parent / PRESET_FILE
    proc = run_cli("check", str(preset))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (runs / RUN_NAME / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and {"top2 acc", METRIC, f"val_{METRIC}"} <= set(rows[-1])


async def test_presets_dialog_and_palette_show_a_hostile_preset_plainly(runs, terminal, tmp_path, monkeypatch):
    written, screen = terminal
    user = tmp_path / "presets"
    user.mkdir()
    (user / PRESET_FILE).write_text(PRESET, encoding="utf-8")  # a preset someone handed over
    (user / "broken[b]x.toml").write_text("title = [", encoding="utf-8")  # one that does not load
    monkeypatch.setenv("KERASTUI_PRESETS", str(user))
    app = make_app("ex1", deterministic=True, runs_dir=runs)
    async with app.run_test(size=(W, H)) as pilot:
        await started(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        drawn = shown(app, "#presets-table")
        assert "=HYPERLINK(x" in drawn and "[b]x" in drawn  # both names, the brackets as typed
        assert "T \\x1b]0;x\\x07\\u202e[b]title[/]" in drawn  # the title, escapes shown
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await pilot.press(*"HYPERLINK")
        await settle(app, pilot)
        assert "\\x1b]0;x" in " ".join(shown(app, "CommandList", joiner=" ").split())
        await pilot.press("escape")
        await settle(app, pilot)
        assert_terminal_safe(written, screen)

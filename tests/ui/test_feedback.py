"""Feedback and consistency, by pilot: the footer shows quit and never cuts a key's label at 80
columns; one checkbox look, readable without colour; lists open on the current or first real item;
the metric panel shows its own comparison's state, not the Train run's; a second TUI's Runs list
shows a run made after it opened, without a key."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from textual.widgets import Checkbox

from kerastui.core.model import presets
from kerastui.ui.app import make_app
from kerastui.ui.panels.metric import MetricPanel
from kerastui.ui.widgets.check import Check
from kerastui.ui.widgets.choice import Choice, ChoiceList
from kerastui.ui.widgets.footer import ELSEWHERE, ESSENTIAL, HERE, WORKSPACES, KeyFooter, fitting
from kerastui.ui.widgets.tabs import WORKSPACES as MODES
from tests.ui.helpers import settle, shown, started

FKEYS = {mode: fkey for mode, (_, fkey, _, _) in MODES.items()}


def footer(app) -> tuple[KeyFooter, str]:
    widget = app.screen.query_one(KeyFooter)
    return widget, widget.render().plain


def assert_whole(widget: KeyFooter, text: str) -> None:
    """Every key the footer shows is whole ("g GPUs" or nothing, never "g G…"), and quit is there."""
    assert len(text) <= widget.size.width, text
    assert "^q Quit" in text and "f1 Help" in text, text
    rest = text
    for keys, description, _rank in widget._items:
        label = "".join(k[0] for k in keys) + (f" {description}" if description else "")
        assert label in text or (description and description not in text), (label, text)
        rest = rest.replace(label, "")
    assert "…" not in rest, text  # an ellipsis only where a label has one ("r Open…"), never a cut


async def test_the_footer_shows_quit_and_whole_keys_at_80_columns_from_every_widget():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        left_out = 0
        for mode in MODES:
            await pilot.press(FKEYS[mode])
            await settle(app, pilot)
            assert app.current_mode == mode
            for widget in list(app.screen.focus_chain):
                widget.focus()
                await pilot.pause()
                bar, text = footer(app)
                assert_whole(bar, text)
                left_out += len(bar._items) - len(fitting(bar._items, 80))
        assert left_out > 0  # at 80 columns some keys did not fit, and were left out whole


async def test_the_quit_key_in_the_footer_quits():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        _, text = footer(app)
        await pilot.click(KeyFooter, offset=(text.index("^q"), 0))
        await pilot.pause()
        assert not app.is_running  # nothing trains: it quits at once


def test_fitting_leaves_out_the_least_needed_keys_first_and_never_cuts_one():
    def item(label: str, rank: int):
        key, _, description = label.partition(" ")
        return ([(key, "a", None, True)], description, rank)

    items = [item("s Start", HERE), item("x Stop", HERE), item("dmtvph workspaces", WORKSPACES),
             item("o Presets", ELSEWHERE), item("^s Save-preset", ELSEWHERE), item("f1 Help", ESSENTIAL),
             item("g GPUs", ELSEWHERE)]
    everything = sum(len(i[0][0][0]) + 1 + len(i[1]) + 2 for i in items) - 1
    assert fitting(items, everything) == list(range(len(items)))
    # Short of one cell: the last of the app's own keys goes ("g GPUs"), nothing else.
    assert fitting(items, everything - 1) == [0, 1, 2, 3, 4, 5]
    # Much less room: the app's keys, then the workspaces go; the screen's keys and help stay; a
    # shorter key left out comes back where it fits.
    kept = fitting(items, 30)
    assert 5 in kept and 0 in kept and 1 in kept and 2 not in kept
    assert fitting(items, 2) == []


async def test_one_checkbox_look_everywhere_readable_without_colour():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        assert shown(app, "#opt-normalize") == "[x] normalise"  # Data
        await pilot.press("p", "2")  # Experiments, transfer panel
        await settle(app, pilot)
        freeze = app.screen.query_one("#tl-freeze", Checkbox)
        assert isinstance(freeze, Check) and shown(app, "#tl-freeze") == "[x] freeze the base"
        assert shown(app, "#tl-tensorboard") == "[ ] TensorBoard logs"
        freeze.toggle()
        await pilot.pause()
        assert shown(app, "#tl-freeze") == "[ ] freeze the base"
        boxes = list(app.screen.query(Checkbox))
        await pilot.press("v")  # Save/Load: the format ticks
        await settle(app, pilot)
        assert app.current_mode == "saveload" and shown(app, "#save-verify") == "[x] verify (reload and compare)"
        boxes += list(app.screen.query(Checkbox))
        assert len(boxes) >= 5 and all(isinstance(box, Check) for box in boxes)


async def test_a_choice_with_a_prompt_opens_on_its_first_real_item_and_then_on_the_current():
    app = make_app(presets.load("ex4"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await settle(app, pilot)
        panel = app.screen.query_one(MetricPanel)
        examples = app.screen.query_one("#metric-example", Choice)
        # ex4's metric is the first shipped example: the choice shows it, and its list opens on it.
        assert examples.value is not None and examples.label.startswith("MyAccuracy")
        await pilot.press("e")
        listing = app.screen.query_one(ChoiceList)
        assert app.focused is listing and listing.highlighted == 0
        await pilot.press("down", "enter")  # one ↓: the second example, not a blank line
        await settle(app, pilot)
        assert app.screen.query_one("#metric-file").value == "top_k_accuracy.py:TopKAccuracy"
        await pilot.press("e")
        assert app.screen.query_one(ChoiceList).highlighted == 1  # opens on the current one
        await pilot.press("escape")
        # A file that is no example: the choice shows its prompt, and opens on the first example.
        await pilot.press("f", "ctrl+u", *"mine.py", "escape")
        await settle(app, pilot)
        assert examples.value is None and "shipped examples" in shown(app, "#metric-example")
        await pilot.press("e")
        listing = app.screen.query_one(ChoiceList)
        assert listing.highlighted == 0 and str(listing.get_option_at_index(0).prompt).startswith("MyAccuracy")
        await pilot.press("escape")
        assert panel.is_mounted


async def test_the_metric_panel_shows_its_own_comparison_not_the_train_run(tmp_path: Path):
    """ex1 trained from the Train workspace (a real run) logs no custom metric: the metric panel
    shows no state of it — its own comparison has not run yet."""
    app = make_app(presets.load("ex1", {"fit.epochs": 1}), runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("t", "s")
        deadline = time.monotonic() + 300
        while app.session.run_state is None or app.session.run_state.result is None:
            assert time.monotonic() < deadline, "the run did not end"
            await pilot.pause(0.1)
        await settle(app, pilot)
        assert app.session.run_state.label.startswith("completed")
        await pilot.press("p", "e", "enter")  # the first shipped example, checked
        await settle(app, pilot)
        panel = app.screen.query_one(MetricPanel)
        deadline = time.monotonic() + 120
        while panel.checking or panel.report is None:
            assert time.monotonic() < deadline, "the check did not end"
            await pilot.pause(0.1)
        await settle(app, pilot)
        status = shown(app, "#metric-run", joiner=" ")
        assert panel.compared_run() is None
        assert "completed" not in status and status.startswith("no comparison run yet: s trains"), status
        assert app.screen.query_one("#metric-table").row_count == 0


async def test_a_second_tui_lists_a_run_made_after_it_opened_without_a_key(tmp_path: Path):
    runs = tmp_path / "runs"
    app = make_app("ex1", load_tensorflow=False, runs_dir=runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("h")
        await settle(app, pilot)
        assert app.current_mode == "runs" and app.screen.runs == []
        # Another process trains into the same runs folder (as a first TUI or kerastui train does).
        proc = subprocess.Popen([sys.executable, "-m", "kerastui", "train", "ex1", "--epochs", "1", "--limit", "64",
                                 "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 300
            while not app.screen.runs or proc.poll() is None:  # no key pressed while waiting
                assert time.monotonic() < deadline, "the run never appeared"
                await pilot.pause(0.2)
            assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
            while app.screen.runs[0].live or app.screen.runs[0].status != "completed":
                assert time.monotonic() < deadline, "the finished run was never shown as completed"
                await pilot.pause(0.2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        (made,) = [p for p in runs.iterdir() if p.is_dir()]
        assert [run.path.name for run in app.screen.runs] == [made.name]
        assert made.name in shown(app, "#runs-table")

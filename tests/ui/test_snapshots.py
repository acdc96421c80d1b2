"""Snapshots (pytest-textual-snapshot): the Data and Model workspaces and the presets browser on ex1,
at 120×40 and at 80×24.

Deterministic: ``make_app(..., deterministic=True)`` has no clocks and no TensorFlow probe; ex1's
data is synthetic and seeded.  Two things the screen shows come from the machine, so they are
pinned here: the ✓/↓ marks of the Keras datasets (the Keras cache) and the user presets folder
(shown in the presets browser).  Regenerate after a deliberate UI change with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import pytest

from kerastui.ui.app import make_app
from tests.ui.helpers import drawn, settle, started

SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
# Shown in the presets browser, so it must not be a per-run temporary folder.  Never created:
# nothing in these tests saves a preset.
USER_PRESETS = "/nonexistent/kerastui-snapshots/presets"


@pytest.fixture(autouse=True)
def _pinned_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASTUI_PRESETS", USER_PRESETS)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))  # every Keras dataset "↓"


def after(*keys: str):
    """run_before: start, then press ``keys`` one at a time, waiting for the workers after each."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await started(app, pilot, model_size=True)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        await drawn(app, pilot)
        # What the screenshot must show, so a baseline is never taken of a half-drawn screen.
        preview = app.session.dataset_preview
        assert preview is not None and preview.summary["source"] == "synthetic:classification"
        assert app.model_label == "1,539 params"
        assert app.tf_label == "TensorFlow (not probed)"

    return run_before


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_data_workspace(snap_compare, size):
    assert snap_compare(make_app("ex1", deterministic=True), terminal_size=size, run_before=after())


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_model_workspace(snap_compare, size):
    assert snap_compare(make_app("ex1", deterministic=True), terminal_size=size, run_before=after("m"))


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_presets_dialog(snap_compare, size):
    assert snap_compare(make_app("ex1", deterministic=True), terminal_size=size, run_before=after("o"))


async def test_deterministic_app_finishes_starting():
    """What the snapshots rely on: deterministic mode still starts (a zero-second timer once did not)."""
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
            if app.session.dataset_preview is not None and app.model_label:
                break
        assert app.tf_label == "TensorFlow (not probed)"
        assert app.model_label == "1,539 params"
        assert app.session.dataset_preview is not None
        assert app.session.dataset_preview.summary["source"] == "synthetic:classification"

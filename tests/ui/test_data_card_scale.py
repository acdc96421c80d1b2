"""Pilot: the dataset card for the sources of issue 13 — an image folder from a scan (counts per
class, corrupt files counted and named, only the shown samples decoded) and sequences drawn as a
small line plot."""

from __future__ import annotations

import numpy as np

from kerastui.ui.app import make_app
from tests.ui.helpers import settle, shown, started
from tests.ui.test_data_workspace import card_row, highlight


async def test_image_folder_card_counts_corrupt_files_from_a_scan(tmp_path_factory):
    from tests.unit.test_data_scale import write_folder

    root = write_folder(tmp_path_factory.mktemp("f") / "p", 40)
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await highlight(app, pilot, "images:")
        await pilot.press("tab", *str(root), "enter")
        await settle(app, pilot)
        assert shown(app, "#card-error") == ""
        summary = app.session.dataset_preview.summary
        assert summary["train"] + summary["val"] + summary["test"] == 120
        assert app.session.dataset_preview.class_counts == [summary["train"] // 3] * 3
        assert card_row(app, "corrupt").startswith("2 file(s) skipped: blue/broken.jpg, green/truncated.jpg")
        assert card_row(app, "shape") == "(16, 16, 3)"
        assert "▀" in shown(app, "#card-samples")  # the samples drawn as pictures
        assert summary["files"] == 120 and summary["dtype_raw"] == "uint8 (files)"  # from the scan


async def test_sequences_card_draws_a_line_plot(tmp_path_factory):
    from tests.unit.test_data_scale import _sequences

    x, y = _sequences(60)
    path = tmp_path_factory.mktemp("s") / "seq.npz"
    np.savez(path, x=x, y=y)
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await highlight(app, pilot, "npz:")
        await pilot.press("tab", *str(path), "enter")
        await settle(app, pilot)
        assert shown(app, "#card-error") == ""
        assert "sequence" in card_row(app, "source")
        samples = shown(app, "#card-samples")
        assert "samples (feature 0 over time)" in samples
        assert any(c in samples for c in "▀▄▖▗▘▝▚▞▌▐█")  # plotext's line points

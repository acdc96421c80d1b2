"""Pilot: the Data workspace driven by keys, loading real (offline) data into the dataset card."""

from __future__ import annotations

import re
import threading

import numpy as np

from kerastui.core.data import datasets
from kerastui.ui.app import make_app
from kerastui.ui.screens.data import DataScreen, SourceList
from tests.ui.helpers import settle, shown, started


def card_row(app, name: str) -> str:
    """The value of one row of the dataset card's summary table ('samples', 'features', ...)."""
    match = re.search(rf"^{name}\s+(.*)$", shown(app, "#card-summary"), re.MULTILINE)
    assert match, f"no {name!r} row in the card:\n{shown(app, '#card-summary')}"
    return match.group(1)


def highlighted(app) -> str:
    sources = app.screen.query_one(SourceList)
    return sources.get_option_at_index(sources.highlighted).id


async def highlight(app, pilot, source_id: str) -> None:
    """Move the #sources highlight to ``source_id`` with up/down presses (the list must have focus)."""
    sources = app.screen.query_one(SourceList)
    assert app.focused is sources, f"focus is on {app.focused}, not the source list"
    ids = [sources.get_option_at_index(i).id for i in range(sources.option_count)]
    steps = ids.index(source_id) - sources.highlighted
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))
    assert highlighted(app) == source_id


async def load_source(app, pilot, source_id: str) -> None:
    await highlight(app, pilot, source_id)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_iris_by_keys_then_a_missing_npz_keeps_iris(tmp_path_factory):
    app = make_app("ex1")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        assert isinstance(app.screen, DataScreen)
        assert app.session.dataset_preview.summary["source"] == "synthetic:classification"
        assert "synthetic:classification" in card_row(app, "source")
        assert card_row(app, "samples").startswith("1,000 ")
        assert card_row(app, "features") == "20"
        assert highlighted(app) == "synthetic:classification"

        await load_source(app, pilot, "sklearn:iris")
        summary = app.session.dataset_preview.summary
        assert summary["source"] == "sklearn:iris"
        assert summary["train"] + summary["val"] + summary["test"] == 150
        assert summary["input_shape"] == [4] and summary["classes"] == 3
        assert app.session.preset.data.source == "sklearn:iris"
        assert "sklearn:iris" in card_row(app, "source")
        assert card_row(app, "samples").startswith("150 ")
        assert card_row(app, "features") == "4"
        assert card_row(app, "classes").startswith("3 ")
        assert shown(app, "#card-error") == ""
        assert "sklearn:iris" in shown(app, "#status")
        # Iris's three class names in the balance chart, its feature names over the samples.
        balance = shown(app, "#card-balance")
        assert all(name in balance for name in ("setosa", "versicolor", "virginica"))

        # npz:PATH with a file that is not there: an error naming it, iris kept.
        missing = tmp_path_factory.mktemp("d") / "missing.npz"  # a short path: typed key by key
        await highlight(app, pilot, "npz:")
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#data-path")
        await pilot.press(*str(missing), "enter")
        await settle(app, pilot)
        error = " ".join(shown(app, "#card-error").split())
        assert str(missing) in error and "not found" in error
        assert "still showing sklearn:iris" in error
        assert app.session.preset.data.source == "sklearn:iris"
        assert app.session.dataset_preview.summary["source"] == "sklearn:iris"
        assert card_row(app, "samples").startswith("150 ")
        assert "sklearn:iris" in shown(app, "#status")


async def test_an_invalid_val_split_is_shown_inline_and_nothing_loads():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await highlight(app, pilot, "sklearn:wine")
        before = app.session.dataset_preview
        field = app.screen.query_one("#opt-validation")
        field.focus()
        await pilot.press("end", *["backspace"] * len(field.value), "1", ".", "5")
        assert field.value == "1.5"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "val split must be in [0, 1)" in shown(app, "#card-error")
        assert app.session.dataset_preview is before
        assert app.session.preset.data.source == "synthetic:classification"
        assert app.session.preset.data.validation_split == 0.2
        assert card_row(app, "features") == "20"

        # Fixing the field and loading again works.
        await pilot.press(*["backspace"] * 3, "0", ".", "5", "enter")
        await settle(app, pilot)
        assert shown(app, "#card-error") == ""
        assert app.session.preset.data.source == "sklearn:wine"
        assert app.session.preset.data.validation_split == 0.5
        assert card_row(app, "features") == "13"


async def test_a_valid_npz_file_loads(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("d") / "toy.npz"  # a short path: typed key by key
    np.savez(path, x_train=rng.normal(size=(40, 6)).astype("float32"), y_train=np.arange(40) % 2,
             x_test=rng.normal(size=(10, 6)).astype("float32"), y_test=np.arange(10) % 2)
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await highlight(app, pilot, "npz:")
        await pilot.press("tab", *str(path), "enter")
        await settle(app, pilot)
        assert shown(app, "#card-error") == ""
        assert app.session.preset.data.source == f"npz:{path}"
        summary = app.session.dataset_preview.summary
        assert summary["input_shape"] == [6] and summary["classes"] == 2
        assert summary["train"] + summary["val"] + summary["test"] == 50 and summary["test"] == 10
        assert card_row(app, "features") == "6"
        assert card_row(app, "classes").startswith("2 ")
        assert card_row(app, "samples").startswith("50 ")
        assert f"npz:{path}" in shown(app, "#status")


async def test_digits_show_image_samples():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        assert "▀" not in shown(app, "#card-samples")  # tabular samples: a table of numbers
        await load_source(app, pilot, "sklearn:digits")
        assert app.session.preset.data.source == "sklearn:digits"
        assert card_row(app, "shape") == "(8, 8, 1)"
        assert card_row(app, "classes").startswith("10 ")
        samples = shown(app, "#card-samples")
        assert samples.startswith("samples")
        assert "▀" in samples


async def test_a_superseded_load_does_not_replace_the_newer_one(monkeypatch):
    gate = threading.Event()
    real_preview = datasets.preview

    def slow_for_iris(spec, **kwargs):
        if spec.source == "sklearn:iris":
            gate.wait(10)
        return real_preview(spec, **kwargs)

    monkeypatch.setattr(datasets, "preview", slow_for_iris)
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await highlight(app, pilot, "sklearn:iris")
        await pilot.press("enter")  # slow: waits on the gate
        await highlight(app, pilot, "sklearn:wine")
        await pilot.press("enter")  # fast: replaces the iris load
        for _ in range(200):
            await pilot.pause(0.02)
            if app.session.preset.data.source == "sklearn:wine":
                break
        assert app.session.preset.data.source == "sklearn:wine"
        gate.set()  # the superseded iris load finishes now
        await settle(app, pilot)
        assert highlighted(app) == "sklearn:wine"
        assert app.session.preset.data.source == "sklearn:wine"
        assert app.session.dataset_preview.summary["source"] == "sklearn:wine"

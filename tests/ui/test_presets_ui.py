"""Pilot: presets in the TUI — save-as, the presets browser, help, the command palette — and the CLI's
one-line error for an unknown preset."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Markdown

from kerastui.core.model import presets
from kerastui.ui.app import KerasTUI, make_app
from kerastui.ui.screens.data import DataScreen
from kerastui.ui.screens.dialogs import HelpDialog, PresetsDialog, SavePresetDialog
from kerastui.ui.screens.model import LayerTable, ModelScreen
from tests.ui.helpers import settle, shown, started

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """keras:mnist (ex2, ex3) is not cached here and a download fails at once."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for var in PROXIES:
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


async def save_as(app, pilot, name: str) -> None:
    """ctrl+s, clear the suggested name, type ``name``, enter."""
    await pilot.press("ctrl+s")
    await settle(app, pilot)
    assert isinstance(app.screen, SavePresetDialog)
    field = app.screen.query_one("#preset-name")
    assert app.focused is field
    await pilot.press("end", *["backspace"] * len(field.value), *name, "enter")
    await settle(app, pilot)


def preset_names(table: DataTable) -> list[str]:
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_save_ex2_as_a_user_preset_then_overwrite_after_confirming():
    app = make_app("ex2")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        assert isinstance(app.screen, DataScreen)
        assert app.session.preset.data.source == "keras:mnist"
        # Not cached and no network: one error line on the card, the app carries on.
        error = shown(app, "#card-error", joiner=" ")
        if app.session.dataset_preview is None:
            assert "keras:mnist" in error and "not in the Keras cache" in error
        else:  # a machine with MNIST in its Keras cache
            assert app.session.dataset_preview.summary["source"] == "keras:mnist"
        assert app.model_label == "347,146 params"

        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, SavePresetDialog)
        assert app.screen.query_one("#preset-name").value == "my_ex2"  # ex2 → my_ex2, never ex2 itself
        await pilot.press("escape")
        await settle(app, pilot)

        await save_as(app, pilot, "my_ex2")
        target = presets.user_dir() / "my_ex2.toml"
        assert not isinstance(app.screen, SavePresetDialog)
        assert target.is_file()
        assert presets.load("my_ex2") == presets.load("ex2")
        assert app.session.preset.name == "my_ex2" and app.session.preset.path == target
        assert "my_ex2" in shown(app, "#status", joiner=" ")

        # The same name again: confirm first, the second enter overwrites.
        target.write_text("# stale\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen.query_one("#preset-name").value == "my_ex2"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SavePresetDialog)
        assert "exists" in shown(app, "#save-message", joiner=" ")
        assert target.read_text(encoding="utf-8").startswith("# stale")
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, SavePresetDialog)
        assert not target.read_text(encoding="utf-8").startswith("# stale")
        assert presets.load("my_ex2") == presets.load("ex2")


async def test_an_invalid_name_is_refused_inline():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await save_as(app, pilot, "bad/name")
        assert isinstance(app.screen, SavePresetDialog)
        assert "a name is letters" in shown(app, "#save-message", joiner=" ")
        assert not presets.user_dir().exists() or not any(presets.user_dir().iterdir())


async def test_browse_presets_and_open_ex4_then_help_on_the_model_workspace():
    presets.save(presets.load("ex2"), presets.user_dir() / "my_ex2.toml")
    app = make_app("ex2")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, PresetsDialog)
        table = app.screen.query_one("#presets-table", DataTable)
        names = preset_names(table)
        assert names == ["ex1", "ex2", "ex3", "ex4", "ex5", "my_ex2"]
        assert app.focused is table and table.cursor_row == 0
        await pilot.press(*["down"] * names.index("ex4"))
        assert "MyAccuracy" in shown(app, "#preset-description", joiner=" ")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DataScreen)
        assert app.session.preset.name == "ex4"
        assert app.session.preset.title == presets.load("ex4").title
        assert app.session.preset.data.source == "sklearn:iris"
        assert app.session.dataset_preview.summary["source"] == "sklearn:iris"

        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelScreen)
        layers = app.screen.query_one(LayerTable)
        assert layers.row_count == 2
        assert [str(layers.get_row_at(i)[1]) for i in range(2)] == ["Dense", "Dense"]
        assert [str(layers.get_row_at(i)[-1]) for i in range(2)] == ["80", "51"]
        assert "Total params: 131" in shown(app, "#model-totals", joiner=" ")
        assert app.model_label == "131 params"

        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpDialog)
        source = app.screen.query_one(Markdown).source
        assert "Model workspace" in source and "The layer table" in source
        keys = {row.action: row.keys for row in app.screen.sections[0].rows}
        assert keys["Add"] == ("a",), "the Model workspace's keys come first"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelScreen)


async def test_help_keys_are_rows_of_tables_workspace_first():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpDialog)
        workspace, everywhere = app.screen.sections[:2]
        assert workspace.title == "Keys in Data" and "Load" in [row.action for row in workspace.rows]
        assert everywhere.title == "Keys everywhere" and "Presets" in [row.action for row in everywhere.rows]
        drawn = shown(app, "#help-keys-0")
        assert drawn.splitlines()[0].split()[:2] == ["l", "Load"], drawn


async def test_open_ex3_from_the_command_palette():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"ex3")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, CommandPalette)
        assert app.session.preset.name == "ex3"
        assert app.session.preset.title == presets.load("ex3").title
        assert app.session.preset.data.source == "keras:mnist"
        assert "ex3" in shown(app, "#status", joiner=" ")


async def test_saved_copies_of_ex4_still_find_its_custom_metric():
    """ex4's custom metric is a file next to the shipped preset: copies saved in the user folder (and
    the open preset, which lives there after a save) must still reach it."""
    from kerastui.core.model.builder import custom_metric_classes

    app = make_app("ex4", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await save_as(app, pilot, "my_ex4")
        assert app.session.preset.name == "my_ex4"
        assert "MyAccuracy" in custom_metric_classes(app.session.current_preset())
        await save_as(app, pilot, "my_ex4_again")
        assert app.session.preset.name == "my_ex4_again"
        assert "MyAccuracy" in custom_metric_classes(app.session.current_preset())
    for name in ("my_ex4", "my_ex4_again"):
        saved = presets.load(name)
        assert len(saved.compile.custom_metrics) == 1
        assert "MyAccuracy" in custom_metric_classes(saved), name


def test_cli_with_an_unknown_preset_prints_one_error_line(capsys, monkeypatch):
    from kerastui.cli import main

    def no_tui(self, *args, **kwargs):  # pragma: no cover - reached only on failure
        raise AssertionError("the TUI must not start for an unknown preset")

    monkeypatch.setattr(KerasTUI, "run", no_tui)
    code = main(["nonexistent_preset_xyz"])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kerastui: error: ")
    assert "nonexistent_preset_xyz" in lines[0]

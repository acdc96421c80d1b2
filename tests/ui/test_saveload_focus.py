"""Pilot at 80×24: the Save/Load workspace opens on its results, not in its path field (v then p types
nothing); r goes to the 'open' path whatever it holds and enter there opens it; evaluate says it is
working, and its result is scrolled into view; an overwrite question shows its whole path."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input, Static

from kerastui.ui.app import make_app
from kerastui.ui.screens.dialogs import ConfirmDialog
from kerastui.ui.screens.saveload import SaveLoadScreen
from tests.ui.conftest import svg_lines
from tests.ui.helpers import settle, shown, squashed, started


def tiny_ex1_model(path):
    """A real Keras model for ex1's data (20 features, 3 classes, one-hot targets), saved to ``path``."""
    import keras

    from kerastui.core.saving import save_model

    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    return save_model(model, path)


async def test_save_load_opens_on_its_results_so_v_then_p_types_nothing():
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("v", "p")  # one burst, as over SSH
        await settle(app, pilot)
        assert app.current_mode == "experiments"
        await pilot.press("v")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SaveLoadScreen)
        assert screen.focused is screen.query_one("#saveload-main")
        assert screen.query_one("#save-path", Input).value.endswith("ex1"), "nothing was typed into the path"
        assert screen.query_one("#open-path", Input).value == ""


async def test_r_goes_to_the_open_path_whatever_it_holds_and_enter_opens_it(tmp_path):
    path = tiny_ex1_model(tmp_path / "tiny.keras")
    app = make_app("ex1")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        field = app.screen.query_one("#open-path", Input)
        for text in ("", str(path)):  # empty or not: the same
            field.value = text
            app.screen.query_one("#saveload-main").focus()
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            assert app.screen.focused is field and field.value == text
            assert field.selected_text == text, "its text is selected: typing replaces it"
            assert app.session.opened is None, "r never opens what the field happens to hold"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.session.opened is not None and str(app.session.opened.path) == str(path)
        assert app.screen.focused is app.screen.query_one("#saveload-main"), "after enter the keys are the workspace's"
        await pilot.press("m")  # a workspace key again, not a letter of a path
        await settle(app, pilot)
        assert app.current_mode == "model"


async def test_evaluate_says_it_is_working_and_its_result_is_scrolled_into_view(tmp_path):
    path = tiny_ex1_model(tmp_path / "tiny.keras")
    app = make_app("ex1")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#open-path", Input).value = str(path)
        await pilot.press("r", "enter")
        await settle(app, pilot)
        assert app.session.opened is not None
        said: list[str] = []
        working = screen.working
        screen.working = lambda text: (said.append(text), working(text))  # what it shows while it works
        await pilot.press("e")
        await settle(app, pilot)
        assert said == ["evaluating on the test split"]
        assert "evaluated on" in shown(app, "#saveload-message", joiner=" ")
        main, result = screen.query_one("#saveload-main"), screen.query_one("#saveload-evaluation")
        assert main.max_scroll_y > 0, "at 80×24 the result is below the fold unless scrolled to"
        # The scroll comes after the layout that gives the result its height, and the regions after the
        # frame that follows: on a loaded machine that may be later than settle() waits.
        for _ in range(100):
            if main.region.contains_region(result.region):
                break
            await pilot.pause(0.05)
        assert main.region.contains_region(result.region), (main.region, result.region, main.scroll_y)
        lines = svg_lines(app.export_screenshot())
        assert any("test split" in line for line in lines) and any("accuracy" in line for line in lines), lines
        # It stays in view while the pane is laid out anew (here the text above grows 3 lines: a scrollbar
        # that appears rewraps it so, as a redraw may) — until the user acts: then the pane is theirs.
        title = screen.query_one("#opened-title", Static)
        height = title.region.height
        title.update(Text("\n".join(["a title 3 lines taller"] * (height + 3))))
        for _ in range(100):
            await pilot.pause(0.05)
            if title.region.height == height + 3 and main.region.contains_region(result.region):
                break
        assert main.region.contains_region(result.region), (main.region, result.region, main.scroll_y)
        await pilot.press("up")  # the user scrolls: a result no longer held in view
        scrolled = main.scroll_y
        title.update(Text("\n".join(["a title 3 lines taller"] * (height + 6))))
        await settle(app, pilot)
        await pilot.pause(0.2)
        assert main.scroll_y == scrolled and not main.region.contains_region(result.region)


async def test_overwrite_question_shows_its_whole_path(tmp_path):
    folder = tmp_path / "a_rather_long_folder_name_for_scripts" / "and_another_level_below_it"
    folder.mkdir(parents=True)
    target = folder / "ex1_train_script_with_a_long_name.py"
    target.write_text("# mine\n")
    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        app.screen.query_one("#script-path", Input).value = str(target)
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        body = app.screen.query_one("#confirm-body").content_region  # what the terminal shows of it
        lines = svg_lines(app.export_screenshot())[body.y:body.bottom]
        question = "".join(line[body.x:body.right] for line in lines)
        assert squashed(str(target)) in squashed(question), lines
        await pilot.press("n")
        await settle(app, pilot)
        assert target.read_text() == "# mine\n"

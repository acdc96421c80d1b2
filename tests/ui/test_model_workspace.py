"""Pilot: the layer-stack editor driven by keys alone, with Keras checking every edit."""

from __future__ import annotations

from kerastui.core.model.specs import DataSpec, Preset
from kerastui.ui.app import KerasTUI
from kerastui.ui.screens.layer_form import LayerFormDialog
from kerastui.ui.screens.model import LayerTable, ModelScreen
from tests.ui.helpers import settle


def totals(app) -> str:
    return str(app.screen.query_one("#model-totals").render())


async def add_layer(app, pilot, name: str, *fields: str) -> None:
    """a → search → enter → fill fields (tab between) → enter applies."""
    await pilot.press("a")
    await settle(app, pilot)
    await pilot.press(*name)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, LayerFormDialog), f"the form for {name} did not open"
    for i, value in enumerate(fields):
        if i:
            await pilot.press("tab")
        await pilot.press(*value)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_build_ex1_by_keys_then_edit_move_delete_undo():
    preset = Preset(title="empty", name="empty", data=DataSpec(source="synthetic:classification", features=20))
    app = KerasTUI(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelScreen)
        await add_layer(app, pilot, "Input", "20")
        await add_layer(app, pilot, "Dense", "64", "relu")
        await add_layer(app, pilot, "Dense", "3", "softmax")
        assert [layer.type for layer in app.session.stack.layers] == ["Input", "Dense", "Dense"]
        assert app.session.stack.layers[1].kwargs == {"units": 64, "activation": "relu"}
        assert "Total params: 1,539" in totals(app)
        assert app.model_label == "1,539 params"
        table = app.screen.query_one(LayerTable)
        assert table.row_count == 3
        assert str(table.get_row_at(1)[3]) == "(None, 64)" and str(table.get_row_at(1)[4]) == "1,344"

        # Edit 64 → 32: counts follow.
        table.move_cursor(row=1)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LayerFormDialog)
        await pilot.press("end", "ctrl+u", "3", "2", "enter")
        await settle(app, pilot)
        assert app.session.stack.layers[1].kwargs["units"] == 32
        assert "Total params: 771" in totals(app)

        # units = -3: Keras's reason inline, the stack as it was.
        table.move_cursor(row=1)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("end", "ctrl+u", "-", "3", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LayerFormDialog), "an invalid value must keep the form open"
        error = str(app.screen.query_one("#form-error").render())
        assert "units" in error and "positive" in error
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.session.stack.layers[1].kwargs["units"] == 32
        assert "Total params: 771" in totals(app)

        # Move the last Dense up, then delete it, then undo both.
        table.move_cursor(row=2)
        await pilot.press("shift+up")
        await settle(app, pilot)
        assert [layer.kwargs.get("units") for layer in app.session.stack.layers] == [None, 3, 32]
        assert table.cursor_row == 1
        await pilot.press("x")
        await settle(app, pilot)
        assert len(app.session.stack.layers) == 2
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert [layer.kwargs.get("units") for layer in app.session.stack.layers] == [None, 32, 3]
        assert "Total params: 771" in totals(app)
        await pilot.press("r")
        await settle(app, pilot)
        assert [layer.kwargs.get("units") for layer in app.session.stack.layers] == [None, 3, 32]


async def test_functional_mode_names_inputs_and_rejects_unknown_inputs():
    from kerastui.ui.app import make_app

    app = make_app("ex1")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        assert app.session.preset.model.type == "functional"
        assert [layer.name for layer in app.session.stack.layers] == ["input_0", "dense_1", "dense_2"]
        assert app.session.stack.layers[2].inputs == ["dense_1"]
        assert "Total params: 1,539" in totals(app)
        table = app.screen.query_one(LayerTable)
        assert [str(c.label) for c in table.columns.values()][:4] == ["#", "type", "name", "inputs"]
        # Edit the output layer to read from a layer that does not exist: rejected inline.
        table.move_cursor(row=2)
        await pilot.press("enter")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, LayerFormDialog)
        assert form.query_one("#field-name").value == "dense_2"
        form.query_one("#field-inputs").value = "nowhere"
        form.query_one("#field-units").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LayerFormDialog)
        assert "'nowhere' is not the name of an earlier layer" in str(app.screen.query_one("#form-error").render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.session.stack.layers[2].inputs == ["dense_1"]
        await pilot.press("f")
        await settle(app, pilot)
        assert app.session.preset.model.type == "sequential"
        assert all(layer.inputs is None for layer in app.session.stack.layers)
        assert "Total params: 1,539" in totals(app)


async def test_subclass_model_is_shown_read_only(tmp_path):
    import textwrap

    from kerastui.ui.app import make_app

    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import keras

        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.hidden = keras.layers.Dense(8, activation="relu")
                self.out = keras.layers.Dense(3, activation="softmax")

            def call(self, x):
                return self.out(self.hidden(x))
    """))
    (tmp_path / "sub.toml").write_text('[data]\nsource = "sklearn:iris"\n[model]\ntype = "subclass"\n'
                                       'subclass = "net.py:Net"\n')
    app = make_app(tmp_path / "sub.toml")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        table = app.screen.query_one(LayerTable)
        assert table.row_count == 2
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["Dense", "Dense"]
        assert f"Total params: {4 * 8 + 8 + 8 * 3 + 3}" in totals(app)
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelScreen), "no catalogue for a read-only model"
        assert any("read-only" in n.message for n in app._notifications)
        await pilot.press("s")
        await settle(app, pilot)
        assert "Total params: 67" in str(app.screen.query_one("#text-content").render())

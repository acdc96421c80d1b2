"""A layer's form, generated from its Keras signature: typed fields, Keras's own validation."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Static

from kerastui.core.errors import plain_message
from kerastui.core.model.layers import LayerInfo
from kerastui.core.model.specs import LayerSpec
from kerastui.ui.latest import Requests
from kerastui.ui.safe import markup, plain
from kerastui.ui.screens.dialogs import CLOSE, Dialog
from kerastui.ui.widgets.check import Check
from kerastui.ui.widgets.form import Parses, field_row

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Shown in the main part of every form that has them; the rest fold under "more arguments".
KEY_ARGUMENTS = {"activation", "rate", "padding", "return_sequences", "pool_size", "strides"}
HIDDEN = {"dtype", "autocast", "trainable", "input_dim", "input_shape", "batch_input_shape", "batch_size", "name"}


def show_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def parse_value(kind: str, text: str) -> Any:
    """Field text → Python value; raises ValueError with a short reason."""
    text = text.strip()
    if text == "" or text == "None":
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "tuple":
        parts = [p for p in text.strip("()[] ").replace(",", " ").split() if p]
        values = [float(p) if "." in p else int(p) for p in parts]
        return values[0] if len(values) == 1 else values
    if kind == "str":
        return text
    try:  # "any": a TOML value (number, list, bool, quoted string) or a bare word
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text in ("True", "False"):
            return text == "True"
        return text


class LayerFormDialog(Dialog):
    """Edit one layer.  Enter in any field applies; Keras checks the result before it is kept."""

    HELP = ("The layer form is generated from the layer's __init__ signature. Required fields come first; "
            "'more arguments' holds the rest. Enter applies: the whole stack is rebuilt with Keras, and an "
            "argument Keras rejects is shown here while the previous stack stays as it was.")
    BINDINGS = [CLOSE]

    def __init__(self, info: LayerInfo, spec: LayerSpec | None, *, functional: bool,
                 validate: Callable[[LayerSpec], str | None], names: list[str] | None = None) -> None:
        super().__init__()
        self.info = info
        self.spec = spec or LayerSpec(type=info.name)
        self.functional = functional
        self.validate = validate
        self.names = names or []
        self._checks = Requests()  # Keras checks of the form: the latest wins

    def compose(self) -> ComposeResult:
        info, kwargs = self.info, self.spec.kwargs
        fields = [f for f in info.fields if f.name not in HIDDEN]
        optional = [f for f in fields if not f.required]
        key = {f.name for f in optional[:2]} | (KEY_ARGUMENTS & {f.name for f in fields})
        main = [f for f in fields if f.required or f.name in kwargs or f.name in key]
        rest = [f for f in fields if f not in main]
        with VerticalScroll(classes="dialog", id="form-body"):
            yield Label(markup("[b]$name[/b]  [dim]$group[/dim]", name=info.name, group=info.group))
            yield Static(plain(info.summary, one_line=False), classes="hint")  # (a docstring: not markup)
            if self.functional:
                yield from self._row("name", "str", self.spec.name or "", "layer name (functional)")
                inputs = ", ".join(self.spec.inputs or [])
                yield from self._row("inputs", "str", inputs, "input layer names, comma-separated (default: previous)")
            for f in main:
                yield from self._field(f, kwargs)
            if rest:
                with Collapsible(title=f"more arguments ({len(rest)})", collapsed=True):
                    for f in rest:
                        yield from self._field(f, kwargs)
            yield Static(id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Apply", variant="primary", id="form-apply")
                yield Button("Cancel", id="form-cancel")

    def _field(self, f, kwargs) -> ComposeResult:
        value = kwargs.get(f.name, f.default)
        hint = "required" if f.required else f"default {show_value(f.default) or 'None'}"
        if f.kind == "bool":
            yield Check(f.name, value=bool(value), id=f"field-{f.name}", tooltip=hint, compact=True)
            return
        yield from self._row(f.name, f.kind, show_value(value), hint)

    def _row(self, name: str, kind: str, value: str, hint: str) -> ComposeResult:
        kind_for_input: Literal["integer", "number", "text"] = "integer" if kind == "int" else (
            "number" if kind == "float" else "text")
        yield field_row(name, Input(value=value, placeholder=hint, type=kind_for_input, id=f"field-{name}",
                                    compact=True,
                                    validators=[Parses(partial(parse_value, kind), f"not a valid {kind}")],
                                    tooltip=hint, valid_empty=True))

    def on_mount(self) -> None:
        first = next(iter(self.query(Input)), None)
        if first is not None:
            first.focus()

    # ------------------------------------------------------------------ building the spec

    def collect(self) -> LayerSpec:
        kwargs: dict[str, Any] = {}
        for f in self.info.fields:
            if f.name in HIDDEN:
                continue
            widget = self.query_one(f"#field-{f.name}")
            if isinstance(widget, Checkbox):
                value = widget.value
            else:
                text = cast(Input, widget).value
                try:
                    value = parse_value(f.kind, text)
                except ValueError:
                    raise ValueError(f"{f.name}: {text!r} is not a valid {f.kind}") from None
            if value is None:
                if f.required:
                    raise ValueError(f"{f.name} is required")
                continue
            default = f.default
            if isinstance(default, tuple):
                default = list(default) if len(default) > 1 else default[0]
            if not f.required and value == default:
                continue
            kwargs[f.name] = value
        name = inputs = None
        if self.functional:
            name = self.query_one("#field-name", Input).value.strip() or None
            text = self.query_one("#field-inputs", Input).value
            inputs = [p.strip() for p in text.split(",") if p.strip()] or None
        return LayerSpec(type=self.info.name, kwargs=kwargs, name=name, inputs=inputs)

    def show_error(self, text: str) -> None:
        self.query_one("#form-error", Static).update(plain(f"✗ {text}", "red", one_line=False))  # (it quotes the input)

    @on(Input.Submitted)
    @on(Button.Pressed, "#form-apply")
    def action_apply(self) -> None:
        try:
            spec = self.collect()
        except ValueError as error:
            self.show_error(str(error))
            return
        self.query_one("#form-error", Static).update("[dim]checking with Keras…[/dim]")
        self._check(self._checks.new(), spec)

    @on(Button.Pressed, "#form-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _check(self, ticket: int, spec: LayerSpec) -> None:
        try:
            error = self.validate(spec)
        except Exception as failure:  # noqa: BLE001 - shown in the form, never a traceback
            error = plain_message(failure)
        self.app.call_from_thread(self._checked, ticket, spec, error)

    def _checked(self, ticket: int, spec: LayerSpec, error: str | None) -> None:
        if not self._checks.is_latest(ticket):  # applied again since: that check answers
            return
        if error:
            self.show_error(error)
        else:
            self.dismiss(spec)

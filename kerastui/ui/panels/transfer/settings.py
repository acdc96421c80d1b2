"""The transfer panel's settings column: the base, its weights and input size, and both phases."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Static

from kerastui.core.model.specs import Preset, TransferSpec
from kerastui.ui.safe import plain
from kerastui.ui.widgets.check import Check
from kerastui.ui.widgets.choice import Choice
from kerastui.ui.widgets.form import Form, field_row, parse_number

# The bases offered first; the rest of keras.applications follows once Keras is loaded.
BASES = ["ResNet50", "MobileNetV2", "EfficientNetB0", "VGG16", "ResNet101", "ResNet50V2", "MobileNet",
         "EfficientNetV2B0", "VGG19", "DenseNet121", "Xception", "InceptionV3"]
WEIGHTS = [("imagenet", "imagenet"), ("none (random)", "none"), ("weights file", "file")]
DEFAULT_LAST = 10
BN_WHY = ("BatchNormalization layers stay frozen when fine-tuning: the base runs them in inference mode "
          "(training=False), and letting a small dataset move their learnt statistics and scales undoes what "
          "the base learnt (as in Keras's fine-tuning guide).")


def parse_size(text: str) -> list[int] | None:
    """``""`` → None (the data's size); ``64`` → [64, 64, 3]; ``64x48`` / ``64,48,3`` → a list."""
    text = text.strip().lower()
    if not text:
        return None
    parts = [p for p in re.split(r"[x×,\s]+", text) if p]
    try:
        numbers = [parse_number(p, int, "input size") for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers = [numbers[0], numbers[0], 3]
    elif len(numbers) == 2:
        numbers = [*numbers, 3]
    if len(numbers) != 3 or min(numbers) < 1:
        raise ValueError(f"input size: {text!r} is not H×W or H×W×C (e.g. 64x64 or 64x64x3)")
    return numbers


def _row(label: str, widget: Widget) -> Horizontal:
    """A field as the panel styles it (``tl-field``, ``tl-name``: TransferPanel.DEFAULT_CSS)."""
    return field_row(label, widget, classes="tl-field", label_classes="tl-name")


class TransferSettings(Form):
    """Base, weights, input size; phase 1's epochs and freeze; phase 2's N, learning rate and epochs."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bases = list(BASES)  # what the base list offers

    def compose(self) -> ComposeResult:
        yield Label("[b]Base[/b]")
        yield _row("base", Choice([(b, b) for b in BASES], value="ResNet50", id="tl-base"))
        yield _row("weights", Choice(WEIGHTS, value="imagenet", id="tl-weights"))
        yield _row("file", Input(id="tl-file", placeholder="weights .h5", compact=True))
        yield _row("input", Input(id="tl-input", placeholder="from data", compact=True))
        yield Static(id="tl-weights-hint", classes="tl-hint")
        yield Label("[b]Phase 1 · head[/b]", classes="tl-heading")
        yield _row("epochs", Input(id="tl-epochs", type="integer", compact=True))
        yield Check("freeze the base", value=True, id="tl-freeze", compact=True)
        yield Label("[b]Phase 2 · fine-tune[/b]", classes="tl-heading")
        yield _row("last N", Input(id="tl-n", type="integer", compact=True))
        yield _row("learn rate", Input(id="tl-lr", compact=True))
        yield _row("epochs", Input(id="tl-ft-epochs", type="integer", compact=True))
        yield Check("TensorBoard logs", id="tl-tensorboard", compact=True)
        yield Static(BN_WHY, classes="tl-hint tl-heading", id="tl-bn-why")

    # ------------------------------------------------------------------ what is shown

    def show(self, preset: Preset) -> TransferSpec:
        """The preset's transfer section (or the default one) in the fields, without Changed messages;
        returns the section shown."""
        spec = preset.transfer or TransferSpec(fine_tune_last=DEFAULT_LAST, fine_tune_epochs=preset.fit.epochs)
        with self.prevent(Choice.Changed, Input.Changed, Checkbox.Changed):
            base = self.query_one("#tl-base", Choice)
            if spec.base not in self.bases:
                self.bases.append(spec.base)
                base.set_options([(b, b) for b in self.bases])
            base.value = spec.base
            weights = spec.weights if spec.weights in ("imagenet", "none") else "file"
            self.query_one("#tl-weights", Choice).value = weights
            self.query_one("#tl-file", Input).value = spec.weights if weights == "file" else ""
            shape = spec.input_shape
            self.query_one("#tl-input", Input).value = "x".join(str(d) for d in shape) if shape else ""
            self.query_one("#tl-epochs", Input).value = str(preset.fit.epochs)
            self.query_one("#tl-freeze", Checkbox).value = spec.freeze
            self.query_one("#tl-n", Input).value = str(spec.fine_tune_last)
            self.query_one("#tl-lr", Input).value = f"{spec.fine_tune_learning_rate:g}"
            self.query_one("#tl-ft-epochs", Input).value = str(spec.fine_tune_epochs)
            self.query_one("#tl-tensorboard", Checkbox).value = preset.callbacks.tensorboard is not None
        return spec

    def show_bases(self, names: list[str]) -> None:
        """Every base Keras has (after the first ones), the one chosen kept."""
        select = self.query_one("#tl-base", Choice)
        current = str(select.value)
        self.bases = list(dict.fromkeys([*BASES, *names, current]))
        with self.prevent(Choice.Changed):
            select.set_options([(n, n) for n in self.bases])
            select.value = current

    def show_last(self, last_n: int) -> None:
        """N as moved by keys, in its field (no Changed message)."""
        field = self.query_one("#tl-n", Input)
        if field.value != str(last_n):
            with self.prevent(Input.Changed):
                field.value = str(last_n)

    def hint(self, text: str) -> None:
        """The line under the weights: what they are, or what to do when they are missing."""
        self.query_one("#tl-weights-hint", Static).update(plain(text, one_line=False))  # (paths, errors)

    # ------------------------------------------------------------------ what is set

    @property
    def base(self) -> str:
        return str(self.query_one("#tl-base", Choice).value)

    @property
    def weights(self) -> str:
        """imagenet, none, or file (then the path is in the file field)."""
        return str(self.query_one("#tl-weights", Choice).value)

    @property
    def tensorboard(self) -> bool:
        return self.query_one("#tl-tensorboard", Checkbox).value

    def spec(self, *, freeze: bool, last_n: int, allow_no_weights: bool) -> TransferSpec:
        """The transfer section as the fields have it; ValueError names the field."""
        weights = self.weights
        if weights == "file":
            weights = self.query_one("#tl-file", Input).value.strip()
            if not weights:
                raise ValueError("weights file: enter the path of a weights .h5 file (or choose imagenet or none)")
        lr = parse_number(self.query_one("#tl-lr", Input).value or "1e-5", float, "fine-tune learn rate", minimum=0,
                          noun="number")
        return TransferSpec(
            base=self.base, weights=weights, input_shape=parse_size(self.query_one("#tl-input", Input).value),
            freeze=freeze, fine_tune_last=last_n, fine_tune_learning_rate=lr,
            fine_tune_epochs=parse_number(self.query_one("#tl-ft-epochs", Input).value or "0", int,
                                          "fine-tune epochs", minimum=0, noun="whole number"),
            allow_no_weights=allow_no_weights)

    def head_epochs(self) -> int:
        """Phase 1's epochs; ValueError names the field."""
        return parse_number(self.query_one("#tl-epochs", Input).value, int, "head epochs", minimum=1,
                            noun="whole number")

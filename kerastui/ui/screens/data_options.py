"""The Data workspace's side panel below the list of sources: the path field for a file source, and
the preprocessing options (validation split, limit, seed, resize, one-hot, normalise).  Mounted
just after the first frame (its widgets are imported then: the first frame costs ~4 ms less without
them), it shows a data spec's options and reads them back."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input

from kerastui.ui.widgets.check import Check
from kerastui.ui.widgets.choice import Choice
from kerastui.ui.widgets.form import field_row, parse_number
from kerastui.ui.widgets.path_suggester import PathSuggester

if TYPE_CHECKING:
    from kerastui.core.model.specs import DataSpec

ONE_HOT = {None: "auto", True: "yes", False: "no"}


class DataOptions(Vertical):
    """A file source's path, and the preprocessing options for the next load."""

    DEFAULT_CSS = """
    DataOptions {
        height: auto;
    }
    """
    HELP = ("The path for a file source, then the preprocessing options for the next load: validation split, "
            "limit, seed, resize, one-hot, normalise.")

    def compose(self) -> ComposeResult:
        yield Input(placeholder="path for npz: csv: images:", id="data-path", suggester=PathSuggester(), compact=True,
                    tooltip="A file (.npz, .csv) or a folder of class sub-folders of images")
        yield field_row("val split", Input(id="opt-validation", type="number", compact=True,
                                           tooltip="fraction of training data for validation"))
        yield field_row("limit", Input(id="opt-limit", type="integer", compact=True, placeholder="all",
                                       tooltip="cap on training samples"))
        yield field_row("seed", Input(id="opt-seed", type="integer", compact=True,
                                      tooltip="seed for splits and synthetic data"))
        yield field_row("resize", Input(id="opt-resize", placeholder="H, W", compact=True,
                                        tooltip="resize images, e.g. 32, 32"))
        yield field_row("one-hot", Choice([("auto (from loss)", "auto"), ("yes", "yes"), ("no", "no")], value="auto",
                                          id="opt-onehot"))
        yield Check("normalise", value=True, id="opt-normalize", compact=True)

    def show(self, spec: DataSpec) -> None:
        self.query_one("#opt-validation", Input).value = str(spec.validation_split)
        self.query_one("#opt-limit", Input).value = "" if spec.limit is None else str(spec.limit)
        self.query_one("#opt-seed", Input).value = str(spec.seed)
        self.query_one("#opt-resize", Input).value = ", ".join(map(str, spec.resize or []))
        self.query_one("#opt-onehot", Choice).value = ONE_HOT[spec.one_hot]
        self.query_one("#opt-normalize", Checkbox).value = spec.normalize

    def spec(self, base: DataSpec, source: str) -> DataSpec:
        """``base`` with ``source`` and these options; a ValueError names the field."""
        outside = "{name} must be in [0, 1)"
        validation = parse_number(self.query_one("#opt-validation", Input).value or "0", float, "val split",
                                  minimum=0, below=1, not_a_number="{name} must be a number", too_small=outside,
                                  too_large=outside)
        whole = "limit, seed and resize take whole numbers"
        seed = parse_number(self.query_one("#opt-seed", Input).value, int, "seed", blank=0, not_a_number=whole)
        resize = [parse_number(v, int, "resize", not_a_number=whole)
                  for v in self.query_one("#opt-resize", Input).value.replace(",", " ").split()] or None
        limit = parse_number(self.query_one("#opt-limit", Input).value, int, "limit", minimum=1, blank=None,
                             not_a_number=whole)
        if resize is not None and len(resize) != 2:
            raise ValueError("resize is H, W")
        one_hot = {value: key for key, value in ONE_HOT.items()}[str(self.query_one("#opt-onehot", Choice).value)]
        return replace(base, source=source, validation_split=validation, limit=limit, seed=seed, resize=resize,
                       one_hot=one_hot, normalize=self.query_one("#opt-normalize", Checkbox).value)

"""The stage table: a keras.applications base's layers folded by stage, with what each phase trains.

The table is filled from a core ``BaseTable`` once per base (and per fold); moving N afterwards
changes only the phase-2 marks that differ, a handful of cells whatever the base's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import DataTable

from kerastui.ui.safe import plain

if TYPE_CHECKING:
    from kerastui.core.model.transfer import BaseTable


class StageTable(DataTable):
    """The base's layers folded by stage; enter unfolds a stage into its layers."""

    HELP = ("The base's layers folded by stage (conv1, conv2_x … conv5_x for ResNet50). 'phase 1' marks what "
            "trains with the head, 'phase 2' what fine-tuning unfreezes (k/n: k of the stage's n layers; BN: a "
            "BatchNormalization layer kept frozen). Enter folds or unfolds a stage.")

    # (label, key, width): the keys are the ones update_cell uses.
    COLUMNS = (("stage / layer", "name", 16), ("phase 1", "ph1", 7), ("phase 2", "ph2", 7), ("params", "params", 10))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base: BaseTable | None = None  # the base on show (None: none yet)
        self.last_n = 0
        self.freeze = True
        self.expanded: set[int] = set()  # stage indexes shown unfolded
        self._marks: dict[str, str] = {}  # row key ("s3" a stage, "l42" a layer) → phase-2 mark on screen

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, base: BaseTable | None, last_n: int, freeze: bool) -> None:
        """A new base (None: no rows), its stages folded, with the marks of the last ``last_n`` layers
        unfrozen in phase 2 and of the base frozen (``freeze``) or not in phase 1."""
        self.base, self.last_n, self.freeze = base, last_n, freeze
        self.expanded.clear()
        self._fill()

    def update_marks(self, last_n: int) -> None:
        """N moved: only the phase-2 cells whose mark changed."""
        self.last_n = last_n
        base = self.base
        if base is None:
            return
        for s, (_, start, stop) in enumerate(base.stages):
            changed = {f"s{s}": self._stage_mark(start, stop)}
            if s in self.expanded:
                changed.update({f"l{i}": self._layer_mark(i) for i in range(start, stop)})
            for key, mark in changed.items():
                if self._marks.get(key) != mark:
                    self._marks[key] = mark
                    self.update_cell(key, "ph2", mark_cell(mark))

    def set_freeze(self, freeze: bool) -> None:
        """Phase 1 freezes the base, or not: every row's phase-1 mark."""
        self.freeze = freeze
        if self.base is None:
            return
        ph1 = "·" if freeze else "✓"
        for key in self._marks:
            self.update_cell(key, "ph1", mark_cell(ph1))

    def toggle_stage(self, row_key: str) -> None:
        """Fold or unfold the stage of row ``row_key`` (a stage's row or one of its layers'); the cursor
        goes to the stage's row."""
        base = self.base
        if base is None:
            return
        if row_key.startswith("s"):
            stage = int(row_key[1:])
        else:
            index = int(row_key[1:])
            stage = next(s for s, (_, a, b) in enumerate(base.stages) if a <= index < b)
        self.expanded ^= {stage}
        self._fill()
        self.move_cursor(row=self.get_row_index(f"s{stage}"))

    # ------------------------------------------------------------------ rows

    def _fill(self) -> None:
        """All rows (stages, and the layers of unfolded stages): after a build or a fold only."""
        base = self.base
        cursor = self.cursor_row
        self.clear()
        self._marks.clear()
        if base is None:
            return
        ph1 = "·" if self.freeze else "✓"
        for s, (stage, start, stop) in enumerate(base.stages):
            params = sum(layer.params for layer in base.layers[start:stop])
            fold = "▾" if s in self.expanded else "▸"
            key = f"s{s}"
            mark = self._stage_mark(start, stop)
            self.add_row(plain(f"{fold} {stage} ({stop - start})"), mark_cell(ph1), mark_cell(mark),
                         Text(f"{params:,}", justify="right"), key=key)
            self._marks[key] = mark
            if s in self.expanded:
                for layer in base.layers[start:stop]:
                    key = f"l{layer.index}"
                    mark = self._layer_mark(layer.index)
                    name = f"  {layer.name}"
                    self.add_row(plain(name, "dim" if layer.batch_norm else ""), mark_cell(ph1), mark_cell(mark),
                                 Text(f"{layer.params:,}", justify="right"), key=key)
                    self._marks[key] = mark
        if self.row_count:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1))

    def _stage_mark(self, start: int, stop: int) -> str:
        assert self.base is not None
        base = self.base
        trained = sum(base.unfrozen(i, self.last_n) for i in range(start, stop))
        if trained == 0:
            return "·"
        return "✓" if trained == sum(not layer.batch_norm for layer in base.layers[start:stop]) and \
            trained == stop - start else f"{trained}/{stop - start}"

    def _layer_mark(self, index: int) -> str:
        assert self.base is not None
        base = self.base
        if base.unfrozen(index, self.last_n):
            return "✓"
        cut = len(base.layers) - self.last_n
        return "BN ·" if index >= cut and base.layers[index].batch_norm else "·"


def mark_cell(mark: str) -> Text:
    """A trainable mark as drawn: ✓ trains, · frozen, k/n part of a stage, BN · kept frozen."""
    style = {"✓": "green", "·": "dim", "BN ·": "magenta"}.get(mark, "yellow")
    return Text(mark, style=style, justify="center")


def counts_text(base: BaseTable, last_n: int, freeze: bool) -> Text:
    """The trainable / non-trainable counts of both phases, from the table: sums only."""
    p1, p2 = base.phase1(freeze), base.phase2(last_n)
    lines = Text(no_wrap=True, overflow="ellipsis")
    lines.append(f"{'parameters':<18}{'trainable':>11}{'non-trainable':>14}\n", style="bold")
    phase1 = "phase 1 (head)" if freeze else "phase 1 (+base)"
    lines.append(f"{phase1:<18}{p1.trainable:>11,}{p1.non_trainable:>14,}\n")
    lines.append(f"{f'phase 2 (last {last_n})':<18}{p2.trainable:>11,}{p2.non_trainable:>14,}\n")
    bn = base.batch_norm_kept(last_n)
    trained = sum(base.unfrozen(i, last_n) for i in range(len(base.layers)))
    lines.append(f"{trained} of last {last_n} train; {bn} BatchNorm kept frozen (F1)"
                 if last_n else "N = 0: no fine-tuning phase", style="dim")
    return lines

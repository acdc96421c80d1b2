"""What a two-phase transfer run shows: one metric across both phases, and phase 1 against phase 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import JustifyMethod
from rich.table import Table

from kerastui.core.model.metricnames import accuracy_key
from kerastui.ui.widgets.charts import MetricChart

if TYPE_CHECKING:
    from kerastui.ui.state import RunState


class PhaseChart(MetricChart):
    """One metric across both phases; the magenta line is where fine-tuning began."""

    HELP = ("The transfer chart: train (cyan) and validation (orange) of one metric across both phases; "
            "magenta marks where fine-tuning began, green the best validation epoch.")

    def draw(self) -> None:
        self.chart_title = (f"{self.metric} · head | fine-tune from epoch {self.boundaries[0] + 1}"
                            if self.boundaries else self.metric)
        super().draw()


def phase_table(state: RunState) -> Table:
    """Phase 1 against phase 2: accuracy and loss on train, validation and test, and Δ."""
    history = state.history
    cut = state.boundaries[0] if state.boundaries else state.epochs_done
    recorded = list(state.result.phases) if state.result is not None else []
    acc = accuracy_key(history)

    def last(key: str, phase: int) -> float | None:
        values = history.get(key) or []
        span = values[:cut] if phase == 0 else values[cut:]
        clean = [v for v in span if v == v]
        return clean[-1] if clean else None

    grid = Table(box=None, pad_edge=False, padding=(0, 1), title="phase 1 vs phase 2", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (("", "left"), ("head", "right"), ("fine-tune", "right"),
                                                      ("Δ", "right"))
    for label, justify in columns:
        grid.add_column(label, justify=justify, no_wrap=True)
    metrics = [m for m in (acc, "loss") if m]
    for metric in metrics:
        for split, prefix in (("train", ""), ("val", "val_"), ("test", None)):
            cells: list[float | None]
            if prefix is None:
                cells = [recorded[i].get("test", {}).get(metric) if i < len(recorded) else None for i in (0, 1)]
            else:
                cells = [last(prefix + metric, 0), last(prefix + metric, 1) if state.boundaries else None]
            name = "acc" if metric == acc else metric
            row = [f"{split} {name}", *(f"{v:.4f}" if v is not None else "–" for v in cells)]
            row.append(f"{cells[1] - cells[0]:+.4f}" if cells[0] is not None and cells[1] is not None else "")
            grid.add_row(*row)
    if recorded:
        grid.add_row("trainable", *(f"{p['trainable']:,}" for p in recorded[:2]), *([""] * (3 - min(len(recorded), 2))))
    return grid

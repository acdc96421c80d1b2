"""The transfer panel of the Experiments workspace: a keras.applications base under a new head,
its layers folded by stage with their trainable marks, the freeze boundary moved by keys with the
parameter counts following live, and a two-phase run (head, then fine-tuning) charted as one.

One widget per module: ``panel`` (TransferPanel, which wires the others), ``settings`` (the
settings column), ``stages`` (the stage table), ``chart`` (the run's chart and phase table).
"""

from kerastui.ui.panels.transfer.chart import PhaseChart, phase_table
from kerastui.ui.panels.transfer.panel import TransferPanel
from kerastui.ui.panels.transfer.settings import BASES, BN_WHY, DEFAULT_LAST, WEIGHTS, TransferSettings, parse_size
from kerastui.ui.panels.transfer.stages import StageTable, counts_text, mark_cell

__all__ = ["BASES", "BN_WHY", "DEFAULT_LAST", "WEIGHTS", "PhaseChart", "StageTable", "TransferPanel",
           "TransferSettings", "counts_text", "mark_cell", "parse_size", "phase_table"]

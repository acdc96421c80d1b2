"""The Train workspace's devices line: where the run trains, how its batch is split, its precision."""

from __future__ import annotations

from textual.widgets import Static

from kerastui.core.devices import describe
from kerastui.core.model.specs import DevicesSpec
from kerastui.ui.safe import plain
from kerastui.ui.state import RunState


def devices_text(state: RunState | None, spec: DevicesSpec | None) -> str:
    """What the run trains on (once it started), else what the preset asks for."""
    if state is not None and state.devices:
        text = f"devices: {describe(state.devices, state.precision)}"
        if state.replicas > 1 and state.batch_size:
            text += (f" · batch {state.batch_size} = {state.replicas} × {max(1, state.batch_size // state.replicas)}"
                     " per replica")
        return text
    if spec is None:
        return ""
    gpus = spec.gpus if isinstance(spec.gpus, str) else ", ".join(str(i) for i in spec.gpus)
    parts = [f"gpus {gpus}", spec.precision]
    if spec.logical_cpus:
        parts.append(f"{spec.logical_cpus} logical CPUs")
    if spec.jit_compile != "auto":
        parts.append(f"jit {'on' if spec.jit_compile else 'off'}")
    return "devices: " + " · ".join(parts) + " (g: the machine's GPUs)"


class DevicesLine(Static):
    """One line (two where it does not fit the column); repainted without a layout pass unless its
    number of lines changes, and not repainted at all when it says what it said (the Train workspace
    shows it again at every epoch of a run it follows, and a followed run's frames are CPU time the
    run trains without)."""

    _shown: tuple[str, int] | None = None  # the text shown last, and the width it was laid out at

    HELP = ("The devices line: the devices the run trains on, the per-replica batch under MirroredStrategy "
            "and the precision policy; g opens the devices view.")

    def show(self, state: RunState | None, spec: DevicesSpec | None) -> None:
        text = plain(devices_text(state, spec))  # (device names from a run directory)
        width = self.content_size.width
        if self._shown == (text.plain, width):
            return
        self._shown = (text.plain, width)
        lines = -(-text.cell_len // max(1, width))
        self.update(text, layout=max(1, lines) != self.content_size.height)

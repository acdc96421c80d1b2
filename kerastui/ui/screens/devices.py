"""The devices view (key g): each GPU's name, memory, utilisation, temperature and power, and the
kerastui runs on it — from NVML, sampled about once a second in a thread worker, never on the UI
thread.  Without an NVIDIA driver it says so in one line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import get_current_worker

from kerastui.core.devices import NvmlSampler, Snapshot, describe, runs_on_gpus
from kerastui.core.resources import size_text
from kerastui.core.run.client import RunClient
from kerastui.core.run.directory import RunInfo
from kerastui.ui.safe import plain
from kerastui.ui.screens.dialogs import CLOSE, Dialog
from kerastui.ui.widgets.tables import AutoHeightTable, add_rows, set_columns

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE_SECONDS = 1.0
COLUMNS = ["gpu", "name", "memory", "busy", "temp", "power", "kerastui runs"]


class Sampled(Message):
    """A sample of the machine's GPUs and the live runs."""

    def __init__(self, snapshot: Snapshot, runs: list[RunInfo]) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.runs = runs


class DevicesDialog(Dialog):
    """Every GPU of the machine and which runs use it (escape or g closes)."""

    BINDINGS = [CLOSE, Binding("g", "dismiss_dialog", "Close", show=False, tooltip="Close the devices view",
                               id="devices.close")]
    HELP = ("## Devices\nEach GPU of this machine from NVML (about once a second): memory used/total, "
            "utilisation, temperature, power, and the kerastui runs on it. Runs choose their GPUs with "
            "[devices] gpus in the preset; one model trains on the GPUs of one machine.")

    def __init__(self, runs_dir: Path | None = None, *, sample: bool = True) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.sample = sample  # False in snapshots: no device probe
        self.samples = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="devices-body", classes="dialog"):
            yield Label("[b]Devices[/b]")
            yield Static("sampling NVML…", id="devices-note")
            yield AutoHeightTable(id="devices-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="devices-runs", classes="hint")
            yield Label("escape closes · one model trains on the GPUs of one machine", classes="hint")

    def on_mount(self) -> None:
        set_columns(self.query_one(DataTable), COLUMNS)
        if self.sample:
            self.sample_devices()
        else:
            self.query_one("#devices-note", Static).update("device sampling is off")

    @work(thread=True, exclusive=True, name="devices-sampler")
    def sample_devices(self) -> None:
        worker = get_current_worker()
        sampler = NvmlSampler()
        try:
            while not worker.is_cancelled:
                snapshot = sampler.sample()
                runs = RunClient(self.runs_dir).live()
                self.post_message(Sampled(snapshot, runs))
                deadline = time.monotonic() + SAMPLE_SECONDS
                while not worker.is_cancelled and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            sampler.close()

    @on(Sampled)
    def _sampled(self, message: Sampled) -> None:
        self.samples += 1
        snapshot, runs = message.snapshot, message.runs
        note = self.query_one("#devices-note", Static)
        table = self.query_one(DataTable)
        if snapshot.error is not None:
            note.update(plain(f"{snapshot.error}; training runs on the CPU"))
        else:
            driver = f"NVIDIA driver {snapshot.driver or '?'}" + (
                f" (CUDA {snapshot.cuda_driver})" if snapshot.cuda_driver else "")
            note.update(plain(f"{driver} · {len(snapshot.gpus)} GPU(s)"))
        on_gpu = runs_on_gpus(snapshot, runs)
        table.clear()
        rows = []
        for gpu in snapshot.gpus:
            memory = (f"{size_text(gpu.memory_used or 0)} / {size_text(gpu.memory_total)}"
                      if gpu.memory_total is not None else "?")
            power = ("" if gpu.power is None else f"{gpu.power:.0f} W"
                     + (f" / {gpu.power_limit:.0f}" if gpu.power_limit else ""))
            rows.append([str(gpu.index), gpu.name, memory, "" if gpu.utilization is None else f"{gpu.utilization} %",
                         "" if gpu.temperature is None else f"{gpu.temperature} °C", power,
                         ", ".join(on_gpu.get(gpu.index, [])) or "—"])
        add_rows(table, rows)
        cpu_runs = [r for r in runs if not r.gpus]
        lines = [f"{r.name}: {describe(r.devices) or 'starting'}" for r in cpu_runs]
        self.query_one("#devices-runs", Static).update(  # (run names: their directories')
            plain("live runs without GPU: " + "; ".join(lines)) if lines else "")

"""Pilot: the devices view (key g) says in one line that there is no NVIDIA driver, from a real NVML
probe in a worker; the Train workspace's devices line shows the preset's settings, then where a run
trains with its per-replica batch, and the epoch table gains a peak-memory column only when the
run reports one."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from kerastui.core.devices import NvmlSampler
from kerastui.core.run.events import EpochEnded, TrainStarted
from kerastui.ui.app import make_app
from kerastui.ui.screens.devices import DevicesDialog
from kerastui.ui.screens.train import EpochTable
from kerastui.ui.state import RunState
from kerastui.ui.widgets.devices_line import DevicesLine
from kerastui.ui.widgets.footer import KeyFooter
from tests.ui.helpers import settle, shown


def _has_nvml() -> bool:
    sampler = NvmlSampler()
    try:
        return sampler.start() is None
    finally:
        sampler.close()


async def _sampled(app, pilot, at_least: int = 1) -> DevicesDialog:
    for _ in range(200):
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, DevicesDialog) and screen.samples >= at_least:
            return screen
    raise AssertionError("the devices view never drew a sample")


@pytest.mark.skipif(_has_nvml(), reason="this machine has an NVIDIA driver: the view shows its GPUs")
async def test_without_nvml_the_devices_view_says_so_in_one_line(tmp_path):
    app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        assert "GPUs" in app.screen.query_one(KeyFooter).render().plain  # the key is in the footer
        await pilot.press("g")
        view = await _sampled(app, pilot, at_least=2)  # sampled again, about a second later
        note = shown(app, "#devices-note", joiner=" ")
        assert note.startswith("no NVIDIA driver: NVML is not available"), note
        assert note.endswith("training runs on the CPU")
        assert "\n" not in str(view.query_one("#devices-note").render())  # one line, wrapped only by the width
        assert view.query_one(DataTable).row_count == 0
        (sampler,) = [w for w in app.workers if w.name == "devices-sampler"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DevicesDialog)
        for _ in range(200):  # the sampler stops with its screen
            if sampler.is_finished:
                break
            await pilot.pause(0.05)
        assert sampler.is_cancelled


@pytest.mark.skipif(not _has_nvml(), reason="no NVIDIA driver here")
async def test_with_nvml_the_devices_view_lists_every_gpu(tmp_path):
    app = make_app("ex1", load_tensorflow=False, runs_dir=tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        view = await _sampled(app, pilot)
        assert shown(app, "#devices-note").startswith("NVIDIA driver")
        assert view.query_one(DataTable).row_count >= 1


async def test_the_train_workspace_shows_devices_per_replica_batch_and_peak_memory():
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        assert shown(app, "#devices-line").startswith("devices: gpus all · float32")
        table = app.screen.query_one(EpochTable)
        # A run's events as the run process writes them: two replicas, a GPU's peak memory.
        state = RunState(status="running")
        state.apply(TrainStarted("train", 2, 0, 25, 800, 64, devices=["GPU:0", "GPU:1"], gpus=[0, 1], replicas=2,
                                 precision="mixed_float16"))
        app.session.run_state = state
        app.screen.redraw(full=True)
        await pilot.pause()  # a line that no longer fits the column takes two (a layout pass)
        assert shown(app, "#devices-line", joiner=" ") == ("devices: 2 × GPU (mirrored) · mixed_float16 · batch 64 "
                                                           "= 2 × 32 per replica")
        state.apply(EpochEnded("train", 0, {"loss": 0.5}, 1.0))
        app.screen.redraw(epoch=True)
        assert "peak mem" not in [c.label for c in table.columns]  # none reported (a CPU run)
        state.apply(EpochEnded("train", 1, {"loss": 0.4}, 1.0, peak_memory=3 * 2**30))
        app.screen.redraw(full=True)
        labels = [c.label for c in table.columns]
        assert "peak mem" in labels
        assert str(table.get_row_at(1)[labels.index("peak mem")]) == "3.0 GiB"
        assert str(table.get_row_at(0)[labels.index("peak mem")]) == ""


async def test_the_train_form_edits_the_device_settings():
    from kerastui.ui.screens.train import TrainScreen

    app = make_app("ex1", load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        form = screen.form
        assert form.text("dev-gpus").value == "all"  # the preset's (default) settings
        form.text("dev-gpus").value = "0, 2"
        form.choice("dev-precision").value = "mixed_bfloat16"
        form.choice("dev-jit").value = False
        form.toggle("dev-growth").value = False
        await pilot.pause()
        devices = app.session.current_preset().devices  # each edit is the session's at once
        assert (devices.gpus, devices.precision, devices.jit_compile, devices.memory_growth) == (
            [0, 2], "mixed_bfloat16", False, False)
        screen.show_settings(app.session.current_preset())  # shown back as typed
        assert form.text("dev-gpus").value == "0, 2"
        form.text("dev-gpus").value = "first"
        await pilot.pause()
        assert screen.settings_error.startswith("gpus: all, none, or GPU indices")
        assert app.session.current_preset().devices.gpus == [0, 2]  # the last good value
        form.text("dev-gpus").value = "none"
        await pilot.pause()
        assert screen.settings_error is None
        assert app.session.current_preset().devices.gpus == "none"


async def test_the_devices_line_is_not_repainted_when_it_says_what_it_said():
    """The Train workspace shows the devices line again at every epoch of a followed run: unchanged,
    it asks for no repaint (each frame of a followed run is CPU time the run trains without); a new
    text or a new width is drawn."""
    app = make_app("ex1", deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        line = app.screen.query_one(DevicesLine)
        state = RunState(status="running")
        state.apply(TrainStarted("train", 2, 0, 25, 800, 32, devices=["CPU:0"], gpus=[], replicas=1,
                                 precision="float32"))
        app.session.run_state = state
        app.screen.redraw(full=True)
        await settle(app, pilot)
        assert shown(app, "#devices-line").startswith("devices: CPU")
        updates: list[object] = []
        original = line.update
        line.update = lambda *args, **kwargs: (updates.append(args), original(*args, **kwargs))  # type: ignore[method-assign]
        for epoch in range(3):
            state.apply(EpochEnded("train", epoch, {"loss": 0.5}, 1.0))
            app.screen.redraw(epoch=True)
        assert updates == []
        state.apply(TrainStarted("train", 2, 0, 25, 800, 64, devices=["GPU:0", "GPU:1"], gpus=[0, 1], replicas=2,
                                 precision="mixed_float16"))
        app.screen.redraw(epoch=True)
        assert len(updates) == 1
        await pilot.resize_terminal(100, 40)
        await settle(app, pilot)
        app.screen.redraw(epoch=True)
        assert len(updates) == 2  # laid out again at the new width
        assert shown(app, "#devices-line", joiner=" ").startswith("devices: 2 × GPU (mirrored)")

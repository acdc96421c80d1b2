"""An interrupt (SIGTERM: a sweep stopping, a shutdown) that lands before anything trains — while the
run process takes its lock or while TensorFlow imports — ends the run ``interrupted`` (resumable,
exit 128+signal), never ``failed`` with no reason or ``died`` with no end recorded."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from kerastui.core.model import presets
from kerastui.core.run.client import RunClient
from kerastui.core.run.status import RunStatus


@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_an_interrupt_before_training_ends_the_run_interrupted(tmp_path: Path, delay: float) -> None:
    client = RunClient(tmp_path / "runs")
    launched = client.launch(presets.load("ex1", {"fit.epochs": 2}))
    time.sleep(delay)
    assert client.interrupt(launched.run_dir) == launched.process.pid
    assert launched.process.wait(timeout=300) == 128 + signal.SIGTERM
    status = launched.run_dir.status()
    assert status["state"] == RunStatus.INTERRUPTED, status
    assert status.get("error") is None and status.get("signal") == "SIGTERM"
    run, _, _ = client.resumable(launched.run_dir)  # an interrupted run resumes
    assert run.path == launched.run_dir.path

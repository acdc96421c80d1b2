"""Shared pilot helpers: wait for workers, wait for start-up, read what a widget draws."""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.geometry import Region


async def settle(app, pilot) -> None:
    """Let messages and workers run out (a few rounds: workers post messages that start workers)."""
    for _ in range(3):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)
    # Widgets finish some work when idle (a DataTable updates its scrollable size then): wait for
    # that too.
    await pilot.pause()


async def started(app, pilot, *, model_size: bool = False) -> None:
    """Wait for what the app starts a moment after its first frame (on timers): the TensorFlow probe
    (or the model size) and the first dataset load, then for every worker."""
    for _ in range(600):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        try:  # (a dialog on top: the data card is not on the current screen)
            data_done = app.session.dataset_preview is not None or shown(app, "#card-error").startswith("✗")
        except NoMatches:
            data_done = False
        if "loading" not in app.tf_label.lower() and data_done and (app.model_label or not model_size):
            break
    else:
        raise AssertionError(f"the app did not finish starting: {app.tf_label!r}, {shown(app, '#card-error')!r}")
    await settle(app, pilot)


async def drawn(app, pilot, *, timeout: float = 20.0) -> None:
    """Wait until the screen is complete: the Model workspace has Keras's shapes for its stack.
    (Tables need no wait: `widgets.tables` sizes their columns as rows are added.)"""
    for _ in range(int(timeout / 0.05)):
        if not getattr(app.screen, "checking", False):
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{app.screen!r} was still drawing after {timeout} s")


def squashed(text: str) -> str:
    """The text without whitespace: what a message says wherever its lines were folded (a long path
    breaks at the width, not at a space, and the folds depend on the temporary folder's length)."""
    return "".join(text.split())


def shown(app, selector: str, *, joiner: str = "\n") -> str:
    """The text a widget of the current screen draws, line by line (what the user sees)."""
    widget = app.screen.query_one(selector)
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    if joiner == " ":
        return " ".join(" ".join(line.text.split()) for line in lines).strip()
    return joiner.join(line.text.rstrip() for line in lines).strip()

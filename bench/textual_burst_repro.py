"""Keys that arrive in one burst are applied out of order by Textual's Input (reproduction for upstream).

Over SSH, keys often arrive several at a time (a paste, typing ahead, a slow link); the terminal
driver then hands the app a burst of Key events.  An ``Input`` inserts printable keys as they reach
it, but its editing keys (backspace, delete, arrows, home/end) are bindings: such a key first
bubbles from the Input through every ancestor's message queue up to the App, and only there
(``App._on_key`` -> ``App._check_bindings``) does the Input's action run.  Meanwhile the App has
already forwarded the rest of the burst to the Input, whose printable keys are inserted first.
So ``q w e r t y``, 6 x backspace, ``z x 9 k`` sent at once leave ``qwer`` instead of ``zx9k``.

The same holds for a binding that moves the focus (Tab, or an arrow bound by a container): the
keys after it in the burst were already forwarded to the widget focused before it.

Run with only Textual installed (no other dependency)::

    python bench/textual_burst_repro.py

It prints the value after the keys are pressed one by one (pilot.press) and after the same keys
are posted at once, and exits 1 when they differ (the bug), 0 when they agree.
"""

from __future__ import annotations

import asyncio
import sys

import textual
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

KEYS = ["q", "w", "e", "r", "t", "y", *["backspace"] * 6, "z", "x", "9", "k"]


class OneInput(App[None]):
    def compose(self) -> ComposeResult:
        yield Input()


def key_event(key: str) -> events.Key:
    return events.Key(key, key if len(key) == 1 else None)


async def one_by_one() -> str:
    app = OneInput()
    async with app.run_test() as pilot:
        await pilot.press(*KEYS)
        return app.query_one(Input).value


async def in_one_burst() -> str:
    app = OneInput()
    async with app.run_test() as pilot:
        await pilot.pause()
        for key in KEYS:  # as the driver does when one read from the terminal holds them all
            app.post_message(key_event(key))
        await pilot.pause()
        return app.query_one(Input).value


def main() -> int:
    pressed = asyncio.run(one_by_one())
    burst = asyncio.run(in_one_burst())
    print(f"textual {textual.__version__}; keys: {' '.join(KEYS)}")
    print(f"one by one:  {pressed!r}")
    print(f"one burst:   {burst!r}")
    if pressed != burst:
        print("the burst was applied out of order")
        return 1
    print("the same")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write an SVG of every workspace into screenshots/:

    python -m kerastui.ui.screenshots [--out screenshots] [--preset ex1]

Deterministic (no clocks, no device probe), offline (ex1's synthetic data).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from kerastui.ui.app import KerasTUI

SIZES = {"": (120, 40), "-80x24": (80, 24)}
# ex5 offline and small: synthetic images, no imagenet weights, one epoch per phase.
TRANSFER_OFFLINE = {"data.source": "synthetic:images", "data.limit": 128, "transfer.weights": "none",
                    "fit.epochs": 1, "transfer.fine_tune_epochs": 1}


def unfinished(app: KerasTUI) -> bool:
    """A run was started and has neither a result nor failed yet."""
    state = app.session.run_state
    return state is not None and state.result is None and state.status != "failed"


async def settle(app: KerasTUI, pilot: Pilot[None]) -> None:
    for _ in range(4):
        await pilot.pause(0.1)
        await app.workers.wait_for_complete()


async def save_here(app: KerasTUI, pilot: Pilot[None]) -> None:
    """Save/Load: save the trained model in every format into a temporary folder (verified)."""
    import tempfile

    from textual.widgets import Input

    app.screen.query_one("#save-path", Input).value = str(Path(tempfile.mkdtemp(prefix="kerastui-shot-")) / "model")
    app.screen.query_one("#verify-table").focus()
    await pilot.press("s")
    await settle(app, pilot)
    await app.screen.query_one("#predict-samples", Input).action_submit()
    await settle(app, pilot)


async def shoot(preset: str, out: Path) -> list[Path]:
    import os
    import tempfile

    from kerastui.core.model import presets
    from kerastui.ui.app import make_app

    os.environ["KERASTUI_RUNS"] = tempfile.mkdtemp(prefix="kerastui-screenshots-")
    written = []
    for suffix, size in SIZES.items():
        for name, keys, which in (
                ("data", [], None), ("model", ["m"], None), ("presets", ["o"], None), ("catalogue", ["m", "a"], None),
                ("train", ["t", "s"], None), ("saveload", ["t", "s", "v", save_here], None), ("runs", ["h"], None),
                ("metric", ["p", "s"], ("ex4", {"fit.epochs": 6})),
                ("transfer", ["p", "2", "s"], ("ex5", TRANSFER_OFFLINE))):
            name_, overrides = which or (preset, {"fit.epochs": 4})
            app = make_app(presets.load(name_, overrides), deterministic=True)
            async with app.run_test(size=size) as pilot:
                await settle(app, pilot)
                for key in keys:
                    while unfinished(app):
                        await pilot.pause(0.1)  # a real (short) training run
                    if key is save_here:
                        await save_here(app, pilot)
                    else:
                        await pilot.press(str(key))
                    await settle(app, pilot)
                while unfinished(app):
                    await pilot.pause(0.1)
                await settle(app, pilot)
                path = out / f"{name}{suffix}.svg"
                app.save_screenshot(path.name, str(out))
                written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--preset", default="ex1")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(args.preset, args.out)):
        print(path)


if __name__ == "__main__":
    main()

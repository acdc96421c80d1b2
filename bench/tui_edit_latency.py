"""After TensorFlow is loaded, editing a layer of ex2 → updated shapes on screen (target ≤ 300 ms).

Drives the real app headless (Textual pilot): each round changes the first Conv2D's filters
through the layer stack, as the form's Apply does, and waits until the table shows the new
output shape.  Prints the median and p95.

    python bench/tui_edit_latency.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import time


async def run(rounds: int) -> list[float]:
    from kerastui.ui.app import make_app
    from kerastui.ui.screens.model import LayerTable, ModelScreen

    app = make_app("ex2")
    app.session.preset.data.source = "sklearn:digits"  # offline; ex2's CNN on 8×8 digits
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.tf_ready:
            await pilot.pause(0.1)
        await pilot.press("m")
        for _ in range(20):
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        table = screen.query_one(LayerTable)
        for i in range(rounds):
            filters = 8 + i
            spec = copy.deepcopy(app.session.stack.layers[0])
            spec.kwargs["filters"] = filters
            start = time.perf_counter()
            app.session.stack.replace(0, spec)
            screen.refresh_stack()
            expected = f"(None, 6, 6, {filters})"
            while str(table.get_row_at(0)[3]) != expected:
                await pilot.pause(0.002)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    times = asyncio.run(run(args.rounds))
    p95 = sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]
    median = statistics.median(times)
    print(f"edit → shapes on screen: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms (n={len(times)}) — target ≤ 300 ms: {'OK' if p95 <= 0.3 else 'OVER'}")


if __name__ == "__main__":
    main()

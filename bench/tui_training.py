"""Training under the TUI vs plain Keras (issue 4 figures).

1. ex2 on sklearn:digits, 10 epochs, same data/model/seed: the TUI's fit phase (live charts,
   headless pilot) ÷ plain `model.fit(verbose=0)` — target ≤ 1.05; whole-process peak memory of
   each — target TUI ≤ plain + 200 MB.
2. Key press → screen updated while training runs: p95 — target ≤ 100 ms.
3. One chart redraw with 2 series × 500 points, at the chart's size in the Train workspace
   (42×14 at 120×40) — target ≤ 15 ms.

    python bench/tui_training.py [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PLAIN = r"""
import json, resource, time, sys
from kerastui.core import presets, datasets
from kerastui.core.tfenv import load_keras
keras = load_keras()
preset = presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": EPOCHS})
keras.utils.set_random_seed(preset.fit.seed)
data = datasets.prepare(preset.data, loss=preset.compile.loss)
model = keras.Sequential([keras.Input(data.input_shape), keras.layers.Conv2D(32, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=EPOCHS, batch_size=32,
          verbose=0)
fit = time.perf_counter() - start
print(json.dumps({"fit": fit, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TUI = r"""
import asyncio, json, resource, time, os, tempfile
from textual import events
os.environ["KERASTUI_RUNS"] = tempfile.mkdtemp()
from kerastui.core import presets
from kerastui.core.events import TrainStarted, TrainEnded
from kerastui.ui.app import make_app

async def main():
    app = make_app(presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": EPOCHS}))
    marks = {}
    original = app._training_sink
    def sink(event):
        if isinstance(event, (TrainStarted, TrainEnded)):
            marks[type(event).__name__] = time.perf_counter()
        original(event)
    app._training_sink = sink
    latencies = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.tf_ready:
            await pilot.pause(0.05)
        await pilot.press("t")
        await pilot.pause(0.2)
        await pilot.press("s")
        while app.session.run_state is None or "TrainStarted" not in marks:
            await asyncio.sleep(0.01)
        # A key press as the terminal driver delivers it (posted to the app), timed until the
        # screen refresh that follows its effect: a watcher on the screen's focus, run the moment
        # the handler moves it, asks for a callback after the next refresh.  (Polling for the
        # focus from here instead sees it late, after a refresh that already painted it, and
        # then waits for one more.)
        keys = ["tab", "shift+tab"]
        painted = asyncio.Event()
        app.screen.watch(app.screen, "focused", lambda _: app.call_after_refresh(painted.set), init=False)
        i = 0
        while MEASURE_KEYS and app.session.run_state.running:
            painted.clear()
            start = time.perf_counter()
            app.post_message(events.Key(keys[i % 2], None))
            while not painted.is_set() and app.session.run_state.running:
                try:
                    await asyncio.wait_for(painted.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            if painted.is_set():
                latencies.append(time.perf_counter() - start)
            i += 1
            await asyncio.sleep(0.05)
        while app.session.run_state.result is None:
            await asyncio.sleep(0.1)  # plain sleep: the pilot's own waits would cost the UI thread time
    fit = marks["TrainEnded"] - marks["TrainStarted"]
    print(json.dumps({"fit": fit, "latencies": latencies,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))

asyncio.run(main())
"""

CHART = r"""
import asyncio, json, time, math
from textual.app import App
from kerastui.ui.widgets.charts import MetricChart

class Host(App):
    # The size one chart has in the Train workspace at 120×40 (two charts side by side).
    CSS = "MetricChart { width: 42; height: 14; }"

    def compose(self):
        yield MetricChart("loss", id="chart")

async def main():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.query_one(MetricChart)
        history = {"loss": [1 / (i + 1) for i in range(500)], "val_loss": [1.1 / (i + 1) + 0.01 for i in range(500)]}
        times = []
        for _ in range(20):
            start = time.perf_counter()
            chart.set_series(history)
            chart.render()
            times.append(time.perf_counter() - start)
        print(json.dumps({"times": times}))

asyncio.run(main())
"""


def run(code: str, epochs: int, keys: bool = False) -> dict:
    code = code.replace("EPOCHS", str(epochs)).replace("MEASURE_KEYS", str(keys))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plain, tui, latencies, plain_rss, tui_rss = [], [], [], [], []
    for _ in range(args.runs):
        p = run(PLAIN, args.epochs)
        t = run(TUI, args.epochs)
        plain.append(p["fit"])
        tui.append(t["fit"])
        latencies += run(TUI, args.epochs, keys=True)["latencies"]  # a separate run: probing costs time
        plain_rss.append(p["rss_mb"])
        tui_rss.append(t["rss_mb"])
    ratio = statistics.median(tui) / statistics.median(plain)
    print(f"fit, plain model.fit(verbose=0): median {statistics.median(plain):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in plain)})")
    print(f"fit, under the TUI (live charts): median {statistics.median(tui):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in tui)})")
    print(f"ratio TUI / plain = {ratio:.3f} (target ≤ 1.05) — {'OK' if ratio <= 1.05 else 'OVER'}")
    extra = statistics.median(tui_rss) - statistics.median(plain_rss)
    print(f"peak RSS: plain {statistics.median(plain_rss):.0f} MB, TUI {statistics.median(tui_rss):.0f} MB, "
          f"+{extra:.0f} MB (target ≤ +200 MB) — {'OK' if extra <= 200 else 'OVER'}")
    lat = sorted(latencies)
    p95 = lat[max(0, int(round(0.95 * len(lat))) - 1)] if lat else float("nan")
    print(f"key press → screen updated while training: median {statistics.median(lat) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms (n={len(lat)}, target ≤ 100 ms) — {'OK' if p95 <= 0.1 else 'OVER'}")
    chart = run(CHART, 0)["times"]
    median = statistics.median(chart[2:])
    print(f"chart redraw, 2 series × 500 points: median {median * 1000:.1f} ms (target ≤ 15 ms) — "
          f"{'OK' if median <= 0.015 else 'OVER'}")


if __name__ == "__main__":
    main()

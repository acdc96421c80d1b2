"""Training followed by the TUI vs plain Keras (issue 4 figures, redone for issue 11: a run is a
process of its own and the TUI follows its event log).

1. ex2 on sklearn:digits, same data/model/seed: the run process's fit phase (TrainStarted →
   TrainEnded in its event log) while a TUI follows it with live charts ÷ plain
   ``model.fit(x, y, verbose=0)`` in a process of its own — target ≤ 1.02.  The run feeds Keras its
   arrays as tf.data pipelines (core/data/feed.py), whose epochs are faster than Keras's array
   adapter's, and calls fit from a Python stack chunk of its own (core/run/callstack.py), which a
   script at its top level does not: so the followed run is also compared with the plain script fed
   the same way (as its user would write it), and with that script calling fit as the run does too,
   which leaves what following and the run's own work cost.  The four run back to back, in an order
   that rotates; an epoch's own time (after the first, which traces) is compared too.
2. Key press → screen updated while a run is attached: p95 — target ≤ 16 ms, for Tab and shift+tab
   between the Train form's first two fields and for Tab on through the whole workspace.
3. Epoch ended in the run process (its event's time stamp) → the TUI's charts redrawn with that
   epoch: p95 — target ≤ 100 ms (charts redraw at once while the UI is idle: ui/throttle.py).
4. Starting a run from the TUI (the key press) → its first batch ended, ÷ the same for
   ``kerastui train`` (process start → first batch): target ≤ 1.2.
5. One chart redraw with 2 series × 500 points at its Train-workspace size — target ≤ 15 ms.
6. ``--toggle N``: what following costs a run's epochs, within one run of N epochs (no figure 1's
   noise between two processes): the TUI that follows it is stopped (SIGSTOP) and continued in turn,
   ten epochs each; the median epoch while it runs ÷ while it is stopped (each block's first epoch
   left out).  The same with a process that sleeps in its place says how large nothing is.
7. ``--headless``: figure 1 without the TUI — ``kerastui train``'s fit ÷ the three plain scripts —
   and where it differs from the one fed and calling fit as the run does: the first epoch (tracing),
   the epochs after it, and the fit's time outside its epochs (the run's epoch-end work between
   them; before the first and after the last).

Figure 1 also prints the TUI process's CPU while the run fits (its start → last epoch drawn): what
the TUI takes from the two cores the run trains on, read far more steadily than the ratio.

    python bench/tui_training.py [--epochs 10] [--runs 3] [--batch-size 32]
                                 [--fit-only | --keys-only | --toggle 200 | --headless]

``--batch-size`` changes ex2's batch size everywhere (32, the preset's, by default): a smaller one
makes the epochs longer (8: ~130 ms instead of ~45 ms) — what a cost per epoch and a cost per
second weigh, told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = r"""
import json, resource, time, sys
from kerastui.core.model import presets
from kerastui.core.data import datasets
from kerastui.core.tfenv import load_keras
keras = load_keras()
preset = presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": EPOCHS, "fit.batch_size": BATCH_SIZE})
keras.utils.set_random_seed(preset.fit.seed)
data = datasets.prepare(preset.data, loss=preset.compile.loss)
model = keras.Sequential([keras.Input(data.input_shape), keras.layers.Conv2D(32, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
epochs = []  # each epoch's seconds, as the run's EpochEnded events have them (begin → end)
class Epochs(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        epochs.append(time.perf_counter() - self.began)
start = time.perf_counter()
model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=EPOCHS,
          batch_size=BATCH_SIZE, verbose=0, callbacks=[Epochs()])
fit = time.perf_counter() - start
print(json.dumps({"fit": fit, "epochs": epochs, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The same plain script fed as the run feeds Keras arrays held in memory (core/data/feed.py: tf.data
# pipelines, faster epochs than Keras's array adapter), as its user would write it; and the same again
# calling fit as the run calls it (from a Python stack chunk of its own: core/run/callstack.py, which
# a plain script's fit does not have).  Against the last, a followed run's ratio is what following and
# the run's own work cost, nothing the run gains from either.
PLAIN_FED = PLAIN.replace(
    """model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=EPOCHS,
          batch_size=BATCH_SIZE, verbose=0, callbacks=[Epochs()])""",
    """from kerastui.core.data.feed import feed
fed = feed(data.x_train, data.y_train, (data.x_val, data.y_val), BATCH_SIZE, shuffle=True, seed=preset.fit.seed)
model.fit(fed.train, steps_per_epoch=fed.steps_per_epoch, validation_data=fed.validation, epochs=EPOCHS, verbose=0,
          callbacks=[Epochs()], shuffle=False)""")
PLAIN_SAME = PLAIN_FED.replace("model.fit(fed.train,", """from kerastui.core.run.callstack import fresh_chunk_call
fresh_chunk_call(model.fit, fed.train,""")
assert PLAIN != PLAIN_FED != PLAIN_SAME

TUI = r"""
import asyncio, json, resource, time, os
from pathlib import Path
import kerastui.ui  # first, as the kerastui command does: it sets Textual's frame cap before textual loads
from textual import events
from kerastui.core.model import presets
from kerastui.core.run.directory import RunDir
from kerastui.ui.app import make_app

async def main():
    app = make_app(presets.load("ex2", {"data.source": "sklearn:digits", "fit.epochs": EPOCHS,
                                        "fit.batch_size": BATCH_SIZE}))
    redraws = []  # (wall time, epochs drawn) of every chart redraw
    original = app.redraw_training
    # The script waits for the fit's start and its last epoch drawn on events set by the TUI's own
    # calls (the run's events folded in, the redraws), not by polling: a loop waking every 10–20 ms
    # is work the TUI does not do, on the cores the run trains on.
    started, redrawn = asyncio.Event(), asyncio.Event()
    def redraw(*, full=False, epoch=False):
        original(full=full, epoch=epoch)
        state = app.session.run_state
        if state is not None and (full or epoch):
            redraws.append((time.time(), state.epochs_done))
        redrawn.set()
    app.redraw_training = redraw

    async def until(event, done):
        # (cleared before each wait: a wake that did not make done() true waits again, never spins)
        while not done():
            event.clear()
            if done():
                return
            try:
                await asyncio.wait_for(event.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
    latencies = []
    whole = []  # key press → everything it changed on screen (the bars included)
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.tf_ready:
            await pilot.pause(0.05)
        await pilot.press("t")
        await pilot.pause(0.2)
        folded = app.runs.events  # (the app's RunLink, made when first needed)
        def fold(message):
            folded(message)
            started.set()
        app.runs.events = fold
        pressed = time.time()
        await pilot.press("s")
        # (the fit has started: TrainStarted folded in, which gives the state its steps per epoch)
        await until(started, lambda: app.session.run_state is not None and app.session.run_state.steps > 0)
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu_from, wall_from = used.ru_utime + used.ru_stime, time.perf_counter()
        # A key press as the terminal driver delivers it (posted to the app), timed until the
        # screen refresh that follows its effect (a watcher on the focus asks for a callback after
        # the next refresh; the time is taken in that callback, when the frame is painted, not when
        # this coroutine resumes: the app may paint more frames before it does).
        # Tab and shift+tab between the form's first two fields (a choice and a text field), as
        # measured since issue 4; or Tab on and on through the workspace (every field, the charts, the table).
        keys = ["tab", "tab"] if KEY_CYCLE else ["tab", "shift+tab"]
        # The settings form is one widget (SettingsGrid): Tab in it moves its cursor, not the focus.
        painted = asyncio.Event()
        painted_at = [0.0]
        # And when all the key changed is on screen: the footer and the tabs follow a key that changes
        # them in the frame after its own (ui/widgets/formscreen.py repaint_after_frame).
        settled = asyncio.Event()
        settled_at = [0.0]

        def settle_done():
            settled_at[0] = time.perf_counter()
            settled.set()

        def paint_done():
            if not painted.is_set():
                painted_at[0] = time.perf_counter()
                painted.set()
                app.call_after_refresh(settle_done)

        app.screen.watch(app.screen, "focused", lambda _: app.call_after_refresh(paint_done), init=False)
        app.screen.watch(app.screen.form, "cursor", lambda _: app.call_after_refresh(paint_done), init=False)
        i = 0
        while MEASURE_KEYS and app.session.run_state.running:
            painted.clear()
            settled.clear()
            start = time.perf_counter()
            app.post_message(events.Key(keys[i % 2], None))
            while not painted.is_set() and app.session.run_state.running:
                try:
                    await asyncio.wait_for(painted.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            if painted.is_set():
                latencies.append(painted_at[0] - start)
                try:
                    await asyncio.wait_for(settled.wait(), 0.5)
                    whole.append(settled_at[0] - start)
                except asyncio.TimeoutError:
                    pass
            i += 1
            await asyncio.sleep(0.05)
        # (the TUI's CPU while the run fits: until its last epoch is drawn, not its evaluation and save)
        await until(redrawn, lambda: not app.session.run_state.running or app.session.run_state.epochs_done >= EPOCHS)
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (used.ru_utime + used.ru_stime - cpu_from, time.perf_counter() - wall_from)
        # (the run's end: its result loaded back, or its failure — each redraws)
        await until(redrawn, lambda: app.session.trained is not None or app.session.run_state.status == "failed")
        run = RunDir(Path(app.session.run_state.run_dir))
    lines = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    started = next(l["t"] for l in lines if l["type"] == "TrainStarted")
    ended = next(l["t"] for l in lines if l["type"] == "TrainEnded")
    first_batch = next(l["t"] for l in lines if l["type"] == "BatchEnded")
    chart = []
    for line in lines:
        if line["type"] == "EpochEnded":
            drawn = next((t for t, n in redraws if n >= line["epoch"] + 1), None)
            if drawn is not None:
                chart.append(drawn - line["t"])
    epochs = [l["seconds"] for l in lines if l["type"] == "EpochEnded"]
    print(json.dumps({"fit": ended - started, "epochs": epochs, "latencies": latencies, "whole": whole, "chart": chart,
                      "first_batch": first_batch - pressed, "cpu": cpu,
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


BATCH = 32  # the preset's fit.batch_size in every script and run (--batch-size)


SCRIPTS = {"plain": PLAIN, "fed": PLAIN_FED, "same": PLAIN_SAME, "tui": TUI}  # figure 1's four, by kind


def script(code: str, epochs: int, keys: bool = False, cycle: bool = False) -> str:
    """One of the scripts above with its settings in place."""
    return (code.replace("BATCH_SIZE", str(BATCH)).replace("EPOCHS", str(epochs)).replace("MEASURE_KEYS", str(keys))
            .replace("KEY_CYCLE", str(cycle)))


def run(code: str, epochs: int, keys: bool = False, cycle: bool = False) -> dict:
    code = script(code, epochs, keys, cycle)
    env = {**os.environ, "KERASTUI_RUNS": tempfile.mkdtemp()}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def train_alone(epochs: int) -> tuple[list[dict], float]:
    """``kerastui train`` for the same preset, followed by nobody: its event log's lines, and when it
    was started (``time.time``)."""
    runs = Path(tempfile.mkdtemp())
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "kerastui", "train", "ex2", "--set", "data.source=sklearn:digits",
                           "--epochs", str(epochs), "--batch-size", str(BATCH), "--json", "--runs-dir", str(runs)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    (run,) = list(runs.iterdir())
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()], start


def headless(epochs: int) -> dict:
    """As figure 1's TUI run but followed by nobody: its fit (TrainStarted → TrainEnded) and its epochs'
    own times."""
    lines, _ = train_alone(epochs)
    started = next(line["t"] for line in lines if line["type"] == "TrainStarted")
    ended = next(line["t"] for line in lines if line["type"] == "TrainEnded")
    return {"fit": ended - started, "epochs": [line["seconds"] for line in lines if line["type"] == "EpochEnded"]}


def print_headless(epochs: int, runs: int) -> None:
    got: dict[str, list[dict]] = {"plain": [], "fed": [], "same": [], "alone": []}
    for i in range(runs):  # (rounds in an order that rotates, as in figure 1)
        order = list(got)
        for kind in order[i % 4:] + order[:i % 4]:
            got[kind].append(headless(epochs) if kind == "alone" else run(SCRIPTS[kind], epochs))
    fits = [r["fit"] for r in got["alone"]]
    for name, kind in (("plain model.fit(x, y)", "plain"), ("plain fed the same way", "fed"),
                       ("plain fed and called the same way", "same")):
        base = [r["fit"] for r in got[kind]]
        ratio = statistics.median(fits) / statistics.median(base)
        rounds = ", ".join(f"{a / b:.3f}" for a, b in zip(fits, base, strict=True))
        print(f"fit, kerastui train followed by nobody ÷ {name}: {ratio:.3f} (per round: {rounds})")
        if runs >= 4:
            low, high = interval(fits, base)
            print(f"  95 % interval of the ratio of medians: {low:.3f}–{high:.3f}")
    parts = {"the first epoch (tracing)": lambda r: r["epochs"][0],
             "the epochs after the first, summed": lambda r: sum(r["epochs"][1:]),
             "the fit outside its epochs": lambda r: r["fit"] - sum(r["epochs"])}
    for name, of in parts.items():
        a, b = (statistics.median(of(r) for r in got[kind]) for kind in ("alone", "same"))
        print(f"  {name}: kerastui train {a * 1000:.0f} ms, plain fed and called the same way {b * 1000:.0f} ms, "
              f"difference {(a - b) * 1000:+.0f} ms")


def headless_first_batch(epochs: int) -> float:
    """``kerastui train`` for the same preset: process start → first batch ended (its event log)."""
    lines, start = train_alone(epochs)
    return next(line["t"] for line in lines if line["type"] == "BatchEnded") - start


def measure_keys(epochs: int, latencies: list[float], cycled: list[float], whole: list[float]) -> None:
    """One followed run probed with the Tab pair, one with Tab on through the workspace."""
    pair = run(TUI, epochs, keys=True)
    latencies += pair["latencies"]
    whole += pair["whole"]
    cycle = run(TUI, epochs, keys=True, cycle=True)
    cycled += cycle["latencies"]
    whole += cycle["whole"]


def print_keys(latencies: list[float], cycled: list[float], whole: list[float]) -> None:
    print(f"key press → screen updated while a run is attached: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {p95(latencies) * 1000:.1f} ms (n={len(latencies)}, target ≤ 16 ms) — "
          f"{'OK' if p95(latencies) <= 0.016 else 'OVER'}")
    print(f"  the same, Tab on through the Train workspace (every field, charts, table): "
          f"median {statistics.median(cycled) * 1000:.1f} ms, p95 {p95(cycled) * 1000:.1f} ms (n={len(cycled)}, "
          f"target ≤ 16 ms) — {'OK' if p95(cycled) <= 0.016 else 'OVER'}")
    print(f"  key press → all it changed on screen, the footer and tabs included (a frame after the key's when "
          f"they change), both probes: median {statistics.median(whole) * 1000:.1f} ms, p95 {p95(whole) * 1000:.1f} ms "
          f"(n={len(whole)})")


def toggled(epochs: int, with_tui: bool, block: int = 10) -> float:
    """One run of ``epochs`` followed by the TUI (or beside a sleeping process), the follower stopped
    and continued every ``block`` epochs: its median epoch while running ÷ while stopped."""
    runs = tempfile.mkdtemp()
    env = {**os.environ, "KERASTUI_RUNS": runs}
    sleeper = None
    if with_tui:
        code = script(TUI, epochs)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        target = proc.pid
    else:
        command = [sys.executable, "-m", "kerastui", "train", "ex2", "--set", "data.source=sklearn:digits",
                   "--epochs", str(epochs), "--json", "--runs-dir", runs]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        target = sleeper.pid
    running, state, log = True, {}, None
    try:
        while proc.poll() is None:
            time.sleep(0.01)
            log = log or next(Path(runs).glob("*/events.jsonl"), None)
            if log is None:
                continue
            text = log.read_bytes()
            done = text.count(b'"EpochEnded"')
            # (once the run has ended the TUI runs again, to end too: stopped, it would never exit)
            want = (done // block) % 2 == 0 or b'"TrainEnded"' in text
            if want != running:
                os.kill(target, signal.SIGCONT if want else signal.SIGSTOP)
                running = want
            state.setdefault(done, running)  # the epoch now under way (0-based) runs in this state
    finally:
        for pid in (target, proc.pid):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log else []
    on, off = [], []
    for line in lines:
        if line["type"] == "EpochEnded" and line["epoch"] % block:  # (a block's first epoch: the switch)
            (on if state.get(line["epoch"], True) else off).append(line["seconds"])
    if len(on) < 3 or len(off) < 3:
        sys.exit("the run ended before both states had epochs: more --toggle epochs")
    return statistics.median(on) / statistics.median(off)


def print_toggled(epochs: int, runs: int) -> None:
    tui = [toggled(epochs, True) for _ in range(runs)]
    null = [toggled(epochs, False) for _ in range(runs)]
    print(f"a run's epoch while the TUI follows it ÷ while that TUI is stopped (within one run of {epochs} epochs): "
          f"{', '.join(f'{r:.3f}' for r in tui)}; median {statistics.median(tui):.3f}")
    print(f"  the same with a sleeping process stopped and continued instead (how large nothing is): "
          f"{', '.join(f'{r:.3f}' for r in null)}; median {statistics.median(null):.3f}")


RESAMPLES = 2000


def interval(tui: list[float], plain: list[float]) -> tuple[float, float]:
    """A 95 % bootstrap interval of median(tui) ÷ median(plain), resampling whole pairs (each pair ran
    back to back, so the machine's drift stays inside a pair): how far the figure can be read."""
    draw = random.Random(0)
    n = len(tui)
    ratios = []
    for _ in range(RESAMPLES):
        picked = [draw.randrange(n) for _ in range(n)]
        ratios.append(statistics.median(tui[i] for i in picked) / statistics.median(plain[i] for i in picked))
    ratios.sort()
    return ratios[int(0.025 * RESAMPLES)], ratios[int(0.975 * RESAMPLES) - 1]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)] if ordered else float("nan")


def main() -> None:
    global BATCH
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fit-only", action="store_true",
                        help="figure 1 only (plain vs followed fit, pairs back to back): a larger sample in the same "
                             "time, for a machine whose speed moves by a few percent between runs")
    parser.add_argument("--keys-only", action="store_true", help="figure 2 only (key press → screen updated)")
    parser.add_argument("--toggle", type=int, metavar="EPOCHS",
                        help="figure 6 only: --runs runs of EPOCHS epochs, the TUI stopped and continued within each")
    parser.add_argument("--headless", action="store_true",
                        help="figure 7 only: kerastui train (followed by nobody) vs the plain scripts, --runs rounds")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="ex2's batch size in every script and run (32: the preset's; smaller: longer epochs, "
                             "fewer a second for the TUI to draw)")
    args = parser.parse_args()
    BATCH = args.batch_size
    if args.headless:
        print_headless(args.epochs, args.runs)
        return
    if args.toggle:
        print_toggled(args.toggle, args.runs)
        return
    plain, fed, same, tui, latencies, cycled, chart = [], [], [], [], [], [], []
    tui_start, cli_start, tui_rss = [], [], []
    whole: list[float] = []
    tui_cpu: list[tuple[float, float]] = []  # per followed run: the TUI's CPU seconds, wall seconds (the fit's)
    steady: list[float] = []  # per round: the median epoch after the first (no tracing), followed ÷ plain
    for i in range(args.runs):
        if args.keys_only:
            measure_keys(args.epochs, latencies, cycled, whole)
            continue
        # A round: the four scripts, in an order that rotates (whichever runs later in a round gains
        # nothing from it).
        order = list(SCRIPTS)
        order = order[i % 4:] + order[:i % 4]
        got = {kind: run(SCRIPTS[kind], args.epochs) for kind in order}
        p, t = got["plain"], got["tui"]
        if len(t["epochs"]) > 1 and len(p["epochs"]) > 1:
            steady.append(statistics.median(t["epochs"][1:]) / statistics.median(p["epochs"][1:]))
        plain.append(p["fit"])
        fed.append(got["fed"]["fit"])
        same.append(got["same"]["fit"])
        tui.append(t["fit"])
        chart += t["chart"]
        tui_start.append(t["first_batch"])
        tui_rss.append(t["rss_mb"])
        tui_cpu.append(tuple(t["cpu"]))
        if args.fit_only:
            continue
        cli_start.append(headless_first_batch(1))
        measure_keys(args.epochs, latencies, cycled, whole)  # separate runs: probing costs time
    if args.keys_only:
        print_keys(latencies, cycled, whole)
        return
    ratio = statistics.median(tui) / statistics.median(plain)
    print(f"fit, plain model.fit(x, y, verbose=0): median {statistics.median(plain):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in plain)})")
    print(f"fit, the same fed as the run feeds it (tf.data): median {statistics.median(fed):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in fed)})")
    print(f"fit, the same fed and calling fit as the run does (tf.data, a stack chunk of its own): median "
          f"{statistics.median(same):.2f} s  ({', '.join(f'{t:.2f}' for t in same)})")
    print(f"fit, run process followed by the TUI: median {statistics.median(tui):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in tui)})")
    print(f"ratio followed run / plain = {ratio:.3f} (target ≤ 1.02) — {'OK' if ratio <= 1.02 else 'OVER'}")
    for name, base in (("plain", plain), ("plain fed the same way", fed), ("plain fed and called the same way", same)):
        paired = [t / b for t, b in zip(tui, base, strict=True)]  # each round run back to back: drift cancels
        print(f"  followed ÷ {name}, per round: {', '.join(f'{r:.3f}' for r in paired)}; "
              f"ratio of medians {statistics.median(tui) / statistics.median(base):.3f}")
        if len(paired) >= 4:
            low, high = interval(tui, base)
            print(f"    95 % interval of the ratio of medians (the rounds resampled {RESAMPLES} times): "
                  f"{low:.3f}–{high:.3f}")
    if steady:  # (an epoch is timed from its first callback's begin to its first callback's end: in the run,
        # what follows that — the epoch's log lines, the checkpoint's copy — counts in the fit, not here)
        print(f"  an epoch after the first (median of each run), followed ÷ plain: median of rounds "
              f"{statistics.median(steady):.3f} ({', '.join(f'{r:.3f}' for r in steady)})")
    print(f"the TUI process's CPU while the run fits: median {statistics.median(c for c, _ in tui_cpu):.3f} s, "
          f"{100 * statistics.median(c / w for c, w in tui_cpu):.1f} % of one core "
          f"({', '.join(f'{100 * c / w:.1f}' for c, w in tui_cpu)})")
    print(f"peak RSS of the TUI process (it trains nothing): {statistics.median(tui_rss):.0f} MB")
    if args.fit_only:
        return
    print_keys(latencies, cycled, whole)
    print(f"epoch ended in the run → chart updated in the TUI: median {statistics.median(chart) * 1000:.0f} ms, "
          f"p95 {p95(chart) * 1000:.0f} ms (n={len(chart)}, target ≤ 100 ms) — "
          f"{'OK' if p95(chart) <= 0.1 else 'OVER'}")
    start_ratio = statistics.median(tui_start) / statistics.median(cli_start)
    print(f"start → first batch: TUI key {statistics.median(tui_start):.2f} s, kerastui train "
          f"{statistics.median(cli_start):.2f} s, ratio {start_ratio:.3f} (target ≤ 1.2) — "
          f"{'OK' if start_ratio <= 1.2 else 'OVER'}")
    times = run(CHART, 0)["times"]
    median = statistics.median(times[2:])
    print(f"chart redraw, 2 series × 500 points: median {median * 1000:.1f} ms (target ≤ 15 ms) — "
          f"{'OK' if median <= 0.015 else 'OVER'}")


if __name__ == "__main__":
    main()

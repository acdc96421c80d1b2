"""Train mutated presets and count what goes wrong: tracebacks, hangs, internal errors, extra lines.

    python bench/fuzz_presets.py [--count 1000] [--workers 2] [--timeout 60] [--seed 0]

Each mutant (``tests/mutants.py``: deleted keys, wrong types, huge/negative/NaN/inf numbers,
unicode, long strings, nested tables, 10,000-layer stacks, hostile payloads — code for a generated
script, terminal escapes, CSV formulas, outside paths, device files —, broken TOML; one in ten is
saved under a hostile file name) of a shipped preset runs as ``kerastui train FILE --json
--epochs 1 --limit 64``, then ``kerastui export-script FILE``: the script must parse, and a mutant
carrying a payload has its script run (SCRIPT_SECONDS at most: payloads act before fit).  A worker
works in a folder of its own; a ``PWNED`` file appearing there is a marker (code ran from preset
text).  An ESC or C1 control in anything written is an ``escape``; at the end ``kerastui runs``
and ``runs --csv`` over every run must hold neither, nor a CSV cell starting with a formula
character. Shipped presets that need a
download are made offline first (keras:* → sklearn:digits, transfer weights → none). To get
through 1,000 mutants in minutes, workers call ``kerastui``'s ``main()`` in-process, one
mutant after another (TensorFlow is imported once per worker); a mutant that has not finished
after ``--timeout`` seconds is a hang: its worker is killed and replaced.

Prints the counts; the failing mutants' TOML goes to ``--out`` (default: a temp folder) to replay
with ``kerastui train FILE``.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def worker(tasks: mp.Queue, results: mp.Queue, runs_dir: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # TensorFlow's C++ logging writes to fd 2 directly: keep it out of the bench's output.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    from kerastui import cli
    from kerastui.core.data import datasets
    from kerastui.core.tfenv import load_keras

    keras = load_keras()
    home = Path(runs_dir).parent / f"worker-{os.getpid()}"
    home.mkdir()
    os.chdir(home)
    while True:
        task = tasks.get()
        if task is None:
            return
        index, path = task
        results.put(("start", index, (time.time(), os.getpid())))
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = cli.main(["train", path, "--json", "--epochs", "1", "--limit", "64", "--runs-dir", runs_dir])
        except SystemExit as exit:  # argparse
            code = exit.code if isinstance(exit.code, int) else 2
        except BaseException as error:  # noqa: BLE001 - escaped main(): exactly what we look for
            import traceback

            err.write("".join(traceback.format_exception(error)))
            code = -1
        seconds = time.perf_counter() - start
        script = exported(cli, path, home)
        datasets.clear_cache()
        keras.utils.clear_session()
        stdout = out.getvalue()
        try:
            json_ok = isinstance(json.loads(stdout.strip().splitlines()[-1]), dict)
        except (ValueError, IndexError):
            json_ok = False
        escapes = UNSAFE.search(stdout + err.getvalue()) is not None
        markers = [str(m) for m in home.glob(f"*{MARKER}*")]
        for marker in markers:
            os.unlink(marker)
        results.put(("done", index, {"code": code, "stdout": stdout[-2000:], "stderr": err.getvalue()[-4000:],
                                     "json": json_ok, "seconds": seconds, "escape": escapes, "markers": markers,
                                     "script": script}))


UNSAFE = re.compile("[\x1b\x80-\x9f]")
MARKER = "PWNED"
# A payload acts where its text lands: at import, data loading or model building, all before fit.
SCRIPT_SECONDS = 25


def exported(cli, path: str, home: Path) -> str:
    """``export-script`` for the mutant: ``refused``, ``parsed``, ``ran`` (a payload mutant's script run
    for at most SCRIPT_SECONDS), or what went wrong (``traceback``, ``unparsable``, ``escape``)."""
    import ast

    target = home / "train.py"
    target.unlink(missing_ok=True)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["export-script", path, "-o", str(target)])
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 2
    except BaseException:  # noqa: BLE001 - escaped main()
        return "traceback"
    if UNSAFE.search(out.getvalue() + err.getvalue()):
        return "escape"
    if "Traceback (most recent call last)" in err.getvalue():
        return "traceback"
    if code != 0 or not target.exists():
        return "refused"
    text = target.read_text(encoding="utf-8")
    try:
        ast.parse(text)
    except SyntaxError:
        return "unparsable"
    if not any(p in Path(path).read_text(encoding="utf-8", errors="replace") or p in path for p in HOSTILE):
        return "parsed"
    try:
        subprocess.run([sys.executable, str(target)], cwd=home, timeout=SCRIPT_SECONDS, capture_output=True,
                       env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    except subprocess.TimeoutExpired:
        pass  # it trains: the payloads act before fit
    return "ran"


HOSTILE = ("PWNED", "__import__")  # every code payload of tests/mutants.py holds both


def classify(result: dict) -> list[str]:
    """The problems in one mutant's outcome (empty: a clean success or a clean one-line error)."""
    problems = []
    stderr = result["stderr"]
    errors = [line for line in stderr.splitlines() if line.startswith("kerastui: error:")]
    if "Traceback (most recent call last)" in stderr or result["code"] == -1:
        problems.append("traceback")
    if any("internal error" in line for line in errors):
        problems.append("internal_error")
    if len(errors) > 1:
        problems.append("several_error_lines")
    if result["code"] not in (0, 1, 130):
        problems.append(f"exit_{result['code']}")
    if result["code"] == 1 and not errors:
        problems.append("exit_1_without_error_line")
    if result["code"] == 0 and not result["json"]:
        problems.append("no_json")
    if any(len(line) > 1000 for line in errors):
        problems.append("long_line")
    if result.get("escape"):
        problems.append("escape")
    if result.get("markers"):
        problems.append("marker")
    if result.get("script") in ("traceback", "unparsable", "escape"):
        problems.append(f"script_{result['script']}")
    return problems


def listing_problems(runs_dir: str) -> list[str]:
    """``kerastui runs`` and ``runs --csv`` over every run the mutants left: escapes, formula cells."""
    import csv

    problems = []
    for extra in ([], ["--csv"]):
        done = subprocess.run([sys.executable, "-m", "kerastui", "runs", "--runs-dir", runs_dir, *extra],
                              capture_output=True, text=True, cwd=REPO, timeout=600)
        if UNSAFE.search(done.stdout + done.stderr):
            problems.append(f"runs{' '.join(extra)}: escape")
        if "Traceback" in done.stderr:
            problems.append(f"runs{' '.join(extra)}: traceback")
        if extra:
            cells = [cell for row in csv.reader(done.stdout.splitlines()) for cell in row]
            formulas = [cell for cell in cells if cell.startswith(("=", "+", "@", "\t", "\r"))
                        or (cell.startswith("-") and not _number(cell))]
            if formulas:
                problems.append(f"runs --csv: {len(formulas)} formula cells, e.g. {formulas[0]!r}")
    return problems


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--verbose", action="store_true", help="print each mutant's outcome")
    args = parser.parse_args()

    from tests.mutants import PAYLOAD_NAMES, mutant_text

    folder = Path(tempfile.mkdtemp(prefix="kerastui-fuzz-"))
    out_dir = args.out or folder / "failures"
    out_dir.mkdir(parents=True, exist_ok=True)
    for file in (REPO / "presets").glob("*.py"):
        shutil.copy(file, folder / file.name)
    rng = random.Random(args.seed)
    # ex5 (a ResNet50 per mutant) is ~20× slower than the others: one mutant in twenty.
    names = ["ex1", "ex2", "ex3", "ex4"] * 5 + ["ex5"]
    paths = {}
    for i in range(args.count):
        name, text = mutant_text(rng, rng.choice(names))
        hostile = f"_{rng.choice(PAYLOAD_NAMES)}" if rng.random() < 0.1 else ""
        path = folder / f"m{i:05d}_{name}{hostile}.toml"
        path.write_text(text, encoding="utf-8")
        paths[i] = path

    ctx = mp.get_context("spawn")
    tasks: mp.Queue = ctx.Queue()
    results: mp.Queue = ctx.Queue()
    for i in paths:
        tasks.put((i, str(paths[i])))
    runs_dir = str(folder / "runs")

    def spawn():
        process = ctx.Process(target=worker, args=(tasks, results, runs_dir), daemon=True)
        process.start()
        return process

    workers = [spawn() for _ in range(args.workers)]
    running: dict[int, tuple[float, int]] = {}  # mutant → (started, worker pid)
    outcomes: dict[int, dict] = {}
    started = time.time()
    while len(outcomes) < len(paths):
        try:
            kind, index, payload = results.get(timeout=1.0)
            if kind == "start":
                running[index] = payload
            else:
                running.pop(index, None)
                outcomes[index] = payload
                done = len(outcomes)
                if done % 50 == 0:
                    print(f"{done}/{len(paths)} mutants, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
        except queue.Empty:
            pass
        now = time.time()
        for index, (since, pid) in list(running.items()):
            if now - since > args.timeout:
                running.pop(index)
                outcomes[index] = {"code": "hang", "stdout": "", "stderr": "", "seconds": now - since}
                for process in workers:
                    if process.pid == pid:
                        process.kill()
                        process.join()
        for i, process in enumerate(workers):
            if not process.is_alive() and len(outcomes) < len(paths):
                # Killed as hung above, or died (the OOM killer, a segfault): what it ran is a crash.
                for index, (_, pid) in list(running.items()):
                    if pid == process.pid:
                        outcomes[index] = {"code": f"died({process.exitcode})", "stdout": "", "stderr": "",
                                           "seconds": 0}
                        running.pop(index)
                workers[i] = spawn()
    for _ in workers:
        tasks.put(None)

    counts: Counter = Counter()
    problems: Counter = Counter()
    for index, result in sorted(outcomes.items()):
        code = result["code"]
        if code == "hang":
            problems["hang"] += 1
            found = ["hang"]
        elif isinstance(code, str):
            problems["died"] += 1
            found = ["died"]
        else:
            counts[f"exit {code}"] += 1
            found = classify(result)
            problems.update(found)
            if args.verbose:
                last = [line for line in result["stderr"].splitlines() if line.startswith("kerastui:")]
                print(f"{paths[index].name}: exit {code} {last[-1][:200] if last else ''}")
        if found:
            target = out_dir / paths[index].name
            shutil.copy(paths[index], target)
            target.with_suffix(".json").write_text(json.dumps({"problems": found, **result}, indent=1))
    seconds = [r["seconds"] for r in outcomes.values()]
    print(f"mutants: {len(outcomes)}  ({time.time() - started:.0f} s, "
          f"median {sorted(seconds)[len(seconds) // 2]:.2f} s each)")
    print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    listed = ("traceback", "hang", "internal_error", "several_error_lines", "died", "long_line",
              "exit_1_without_error_line", "no_json", "escape", "marker", "script_traceback",
              "script_unparsable", "script_escape")
    scripts = Counter(r.get("script", "-") for r in outcomes.values())
    print("export-script: " + ", ".join(f"{k}: {v}" for k, v in sorted(scripts.items())))
    listing = listing_problems(runs_dir)
    print(f"runs listing over {sum(1 for _ in Path(runs_dir).iterdir()) if Path(runs_dir).exists() else 0} runs: "
          f"{'; '.join(listing) or 'clean'}")
    problems.update({"listing": len(listing)} if listing else {})
    for key in listed:
        print(f"{key}: {problems.get(key, 0)}")
    others = {k: v for k, v in problems.items() if k not in listed}
    if others:
        print(f"other: {others}")
    print(f"failing mutants: {out_dir}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""``kerastui sweep …``: sweeps from the command line (the core's :class:`SweepClient` does the work).

    kerastui sweep start PRESET [--trials N] [--parallel N|gpus] [--storage URL] [--name NAME] [--wait] [--json]
    kerastui sweep status [NAME] [--json|--csv]       every trial: state, value, best so far, epoch, host, params
    kerastui sweep stop NAME                          interrupt its trials (resumable), start no more
    kerastui sweep resume NAME [--parallel …]         go on to its number of trials
    kerastui sweep join NAME --storage URL            add this machine's slots to a sweep in a database
    kerastui sweep best NAME [--preset OUT.toml]      the best trial, and its preset

NAME is a sweep's name, a unique prefix of one, or ``last``.  A database URL's password is never
printed or written: give it in --storage, in $KERASTUI_SWEEP_STORAGE, or through PGPASSWORD / ~/.pgpass.
Nothing here imports Optuna or TensorFlow at module level (``kerastui --help`` stays fast).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kerastui.core.run.sweep import Sweep, TrialRow

RUNS_HELP = "where run directories (and sweeps/) are (default: $KERASTUI_RUNS or ~/.local/share/kerastui/runs)"
STORAGE_HELP = ("the study's database, postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default: "
                "$KERASTUI_SWEEP_STORAGE; none: a journal file in the runs folder, this machine only)")


def _parallel(text: str) -> int | str:
    if text == "gpus":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of trials at once, or 'gpus'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def add_sweep_parser(sub: Any) -> None:
    """``kerastui sweep`` and its subcommands, on the CLI's subparsers."""
    from kerastui.cli import _positive

    sweep = sub.add_parser("sweep", help="hyperparameter sweeps (Optuna): start, status, stop, resume, join, best",
                           description="A preset's [sweep] section as an Optuna study: each trial an ordinary run "
                                       "(attach, stop, resume and `kerastui runs` work on it), worker loops detached "
                                       "from the terminal, one or several machines.")
    commands = sweep.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND", required=True)

    start = commands.add_parser("start", help="start a sweep of a preset's [sweep] section",
                                description="Check the preset and its [sweep] section, make the study (trial 0 is "
                                            "the preset's own values) and start this machine's workers, detached.")
    start.add_argument("preset", metavar="PRESET", help="shipped name or path to a .toml file with a [sweep] section")
    start.add_argument("--trials", type=_positive, help="override sweep.trials")
    start.add_argument("--parallel", type=_parallel, help="override sweep.parallel: trials at once here, or 'gpus'")
    start.add_argument("--storage", metavar="URL", default=os.environ.get("KERASTUI_SWEEP_STORAGE") or None,
                       help=STORAGE_HELP)
    start.add_argument("--name", help="the sweep's name (default: PRESET-date-time)")
    start.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any preset key")
    start.add_argument("--data", metavar="SOURCE", help="override data.source")
    _waiting(start)
    start.add_argument("--runs-dir", type=Path, help=RUNS_HELP)

    status = commands.add_parser("status", help="a sweep's trials (or, without NAME, this machine's sweeps)")
    status.add_argument("name", metavar="NAME", nargs="?", help="name, unique prefix, or 'last'")
    status.add_argument("--json", action="store_true", help="one JSON object on stdout")
    status.add_argument("--csv", action="store_true", help="the trial table as CSV on stdout")
    _storage(status)

    stop = commands.add_parser("stop", help="stop a sweep: its trials interrupted (resumable), no new one")
    stop.add_argument("name", metavar="NAME", help="name, unique prefix, or 'last'")
    _storage(stop)

    resume = commands.add_parser("resume", help="continue a stopped or died sweep to its number of trials",
                                 description="Start this machine's workers again: trials whose worker died are "
                                             "adopted (their runs resumed from their checkpoints), then new ones "
                                             "until the sweep has its trials.")
    resume.add_argument("name", metavar="NAME", help="name, unique prefix, or 'last'")
    resume.add_argument("--parallel", type=_parallel, help="trials at once here (default: as before)")
    resume.add_argument("--trials", type=_positive, help="the number of trials in all, from now on")
    _waiting(resume)
    _storage(resume)

    join = commands.add_parser("join", help="add this machine's slots to a sweep whose study is in a database")
    join.add_argument("name", metavar="NAME", help="the sweep's name")
    join.add_argument("--storage", metavar="URL", default=os.environ.get("KERASTUI_SWEEP_STORAGE") or None,
                      help="the sweep's database, postgresql://… (default: $KERASTUI_SWEEP_STORAGE)")
    join.add_argument("--parallel", type=_parallel, help="trials at once here (default: the sweep's)")
    _waiting(join)
    join.add_argument("--runs-dir", type=Path, help=RUNS_HELP)

    best = commands.add_parser("best", help="the best trial of a sweep, and its preset")
    best.add_argument("name", metavar="NAME", help="name, unique prefix, or 'last'")
    best.add_argument("--preset", type=Path, metavar="OUT.toml", help="write the best trial's preset here")
    best.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _storage(best)

    worker = commands.add_parser("worker")  # started by start/resume/join (no help: not for people)
    worker.add_argument("name")
    worker.add_argument("--slot", type=int, required=True)
    worker.add_argument("--runs-dir", type=Path, required=True)


def _storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", metavar="URL", default=None,
                        help="the study's database URL with its password (default: the sweep's own, its password "
                             "from $KERASTUI_SWEEP_STORAGE, PGPASSWORD or ~/.pgpass)")
    parser.add_argument("--runs-dir", type=Path, help=RUNS_HELP)


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="return when the sweep has ended here")
    parser.add_argument("--json", action="store_true", help="wait, then print one JSON object on stdout")


def run_sweep_command(args: argparse.Namespace) -> int:
    handler = {"start": cmd_start, "status": cmd_status, "stop": cmd_stop, "resume": cmd_resume, "join": cmd_join,
               "best": cmd_best, "worker": cmd_worker}[args.sweep_command]
    return handler(args)


# --------------------------------------------------------------------------- commands


def cmd_start(args: argparse.Namespace) -> int:
    from kerastui.cli import overrides_from
    from kerastui.core.errors import processing
    from kerastui.core.model import presets
    from kerastui.core.run.sweep import SweepClient

    overrides = overrides_from(args)
    if args.trials is not None:
        overrides["sweep.trials"] = args.trials
    if args.parallel is not None:
        overrides["sweep.parallel"] = args.parallel
    with processing(args.preset, "(reading the preset)"):
        preset = presets.load(args.preset, overrides)
    client = SweepClient(args.runs_dir)
    sweep = client.start(preset, name=args.name, storage=args.storage)
    _started(client, sweep, "started")
    return _maybe_wait(client, sweep, args)


def cmd_resume(args: argparse.Namespace) -> int:
    from kerastui.core.run.status import RunStatus
    from kerastui.core.run.sweep import SweepClient

    client = SweepClient(args.runs_dir)
    sweep, started = client.resume(args.name, parallel=args.parallel, trials=args.trials, storage=args.storage)
    if started == 0:
        state = sweep.state()
        words = ("all its trials have ended (kerastui sweep best shows the best)" if state == RunStatus.COMPLETED
                 else f"it is {state} here ({client.describe_workers(sweep.dir)})")
        _note(f"sweep {sweep.name}: nothing to resume: {words}")
    else:
        _started(client, sweep, f"resumed with {started} worker(s)")
    return _maybe_wait(client, sweep, args)


def cmd_join(args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.run.sweep import SweepClient

    if not args.storage:
        raise KerasTUIError("sweep join: give the sweep's database in --storage (or $KERASTUI_SWEEP_STORAGE)")
    client = SweepClient(args.runs_dir)
    sweep = client.join(args.name, args.storage, parallel=args.parallel)
    _started(client, sweep, "joined")
    return _maybe_wait(client, sweep, args)


def cmd_stop(args: argparse.Namespace) -> int:
    from kerastui.core.run.sweep import SweepClient

    client = SweepClient(args.runs_dir)
    report = client.stop(args.name, storage=args.storage)
    _note(f"sweep {report['name']}: stopped here ({len(report['workers'])} worker(s) signalled"
          + (f", trial(s) {', '.join(map(str, report['interrupted']))} interrupted" if report["interrupted"] else "")
          + f"); state {report['state']}; continue with: kerastui sweep resume {report['name']}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from kerastui.core.run.sweep import SweepClient

    client = SweepClient(args.runs_dir)
    if args.name is None:
        return _list(client, args)
    sweep = client.open(args.name, args.storage)
    if args.json:
        print(json.dumps(sweep.summary(), indent=2))
    elif args.csv:
        sys.stdout.write(trials_csv(sweep.trials(), [d.key for d in sweep.dimensions()]))
    else:
        print("\n".join(status_lines(sweep)))
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.model import presets
    from kerastui.core.run.sweep import SweepClient
    from kerastui.core.text import visible

    sweep = SweepClient(args.runs_dir).open(args.name, args.storage)
    best = sweep.best()
    if best is None:
        raise KerasTUIError(f"sweep {sweep.name}: no trial has completed yet")
    written = None
    if args.preset is not None:
        preset = sweep.best_preset()
        try:
            written = presets.save(preset, args.preset)
        except OSError as error:
            raise KerasTUIError(f"{args.preset}: cannot write ({error.strerror})") from None
    if args.json:
        print(json.dumps({"name": sweep.name, "objective": sweep.objective, "direction": sweep.direction,
                          "trial": best.to_json(), "preset": str(written) if written else None}, indent=2))
        return 0
    print(visible(f"sweep {sweep.name}: best trial {best.number}: {sweep.objective} {_num(best.value)} "
                  f"({sweep.direction})", one_line=True))
    for key, value in best.params.items():
        print(visible(f"  {key} = {value!r}", one_line=True))
    print(visible(f"run: {best.run_dir or '?'} on {best.host or '?'}", one_line=True))
    if written is not None:
        print(visible(f"preset written: {written} (kerastui train {written})", one_line=True))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from kerastui.core.run.sweep_worker import main

    return main(args.runs_dir, args.name, args.slot)


# --------------------------------------------------------------------------- output


def _note(text: str) -> None:
    from kerastui.core.text import visible

    print(visible(text, one_line=True), file=sys.stderr, flush=True)


def _started(client: Any, sweep: Sweep, what: str) -> None:
    target = sweep.target
    _note(f"sweep {sweep.name} {what}: {target if target is not None else 'as many'} trial(s) in all"
          f"{'' if target is not None else ' as the timeout allows'}; this machine: "
          f"{sweep.dir.info().get('parallel')} at once; storage {sweep.storage.label}")
    for note in sweep.facts.get("notes") or []:
        _note(str(note))
    _note(f"follow it: kerastui sweep status {sweep.name}    stop it: kerastui sweep stop {sweep.name}")


def _maybe_wait(client: Any, sweep: Sweep, args: argparse.Namespace) -> int:
    from kerastui.core.run.status import RunStatus

    if not (args.wait or args.json):
        return 0
    try:
        summary = client.wait(sweep)
    except KeyboardInterrupt:
        _note(f"sweep {sweep.name} goes on (its workers are detached): kerastui sweep status {sweep.name}")
        return 130
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print("\n".join(status_lines(sweep)))
    if summary["state"] == str(RunStatus.DIED):
        from kerastui.cli import _error

        _error(f"sweep {sweep.name}: its workers ended with trials left; continue with: kerastui sweep resume "
               f"{sweep.name}")
        return 1
    return 0


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _list(client: Any, args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.text import visible

    found = client.sweeps()
    summaries = []
    for folder in found:
        try:
            sweep = client.open(folder.name, args.storage)
            rows, state = sweep.snapshot()
            best = sweep.best_of(rows)
            ended = sum(1 for r in rows if not r.state.live and r.state.value in ("completed", "pruned", "failed"))
            summaries.append({"name": sweep.name, "state": str(state), "trials_ended": ended,
                              "trials_planned": sweep.target, "objective": sweep.objective,
                              "best": None if best is None else best.value, "storage": sweep.storage.label})
        except KerasTUIError as error:
            summaries.append({"name": folder.name, "state": "unreachable", "error": str(error)})
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    if not summaries:
        print(visible(f"no sweeps in {client.folder}", one_line=True))
        return 0
    for s in summaries:
        if "error" in s:
            print(visible(f"{s['name']}  {s['error']}", one_line=True))
            continue
        planned = s["trials_planned"] if s["trials_planned"] is not None else "…"
        print(visible(f"{s['name']}  {s['state']}  {s['trials_ended']}/{planned} trials  {s['objective']} best "
                      f"{_num(s['best'])}", one_line=True))
    return 0


def status_lines(sweep: Sweep) -> list[str]:
    """``kerastui sweep status NAME``: the sweep in a few lines, then a line per trial."""
    from kerastui.core.run.table import duration_text
    from kerastui.core.text import visible

    rows, state = sweep.snapshot()
    best = sweep.best_of(rows)
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.state)] = counts.get(str(row.state), 0) + 1
    planned = sweep.target if sweep.target is not None else "…"
    ended = sum(counts.get(s, 0) for s in ("completed", "pruned", "failed"))
    lines = [f"sweep {sweep.name}  {state}  {ended}/{planned} trials ended ("
             + ", ".join(f"{n} {s}" for s, n in counts.items()) + f")  objective {sweep.objective} "
             f"({sweep.direction})", f"storage: {sweep.storage.label}"]
    if best is not None:
        lines.append(f"best: trial {best.number}  {sweep.objective} {_num(best.value)}  "
                     + ", ".join(f"{k}={_short(v)}" for k, v in best.params.items()))
    keys = [d.key for d in sweep.dimensions()]
    header = ["TRIAL", "STATE", "VALUE", "BEST", "EPOCH", "HOST", "DEVICE", "TIME", *keys, "RUN"]
    table = [header]
    for row in rows:
        epoch = "" if row.epoch is None else f"{row.epoch}/{row.epochs_planned or '?'}"
        table.append([str(row.number), str(row.state), _num(row.value), _num(row.best_so_far), epoch, row.host,
                      row.device, duration_text(row.seconds), *(_short(row.params.get(k, "")) for k in keys),
                      Path(row.run_dir).name if row.run_dir else ""])
    table = [[visible(cell, one_line=True) for cell in line] for line in table]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines += [visible(f"trial {r.number}: {r.error}", one_line=True) for r in rows if r.error]
    return [visible(line, one_line=True) for line in lines]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trials_csv(rows: list[TrialRow], keys: list[str]) -> str:
    """The trial table as CSV (raw values; every cell neutralised as a spreadsheet would read it)."""
    from kerastui.core.text import csv_cell

    out = io.StringIO()
    writer = csv.writer(out)
    header = ["trial", "state", "value", "best_so_far", "epoch", "epochs_planned", "host", "device", "seconds",
              *keys, "run_dir", "error"]
    writer.writerow([csv_cell(h) for h in header])
    for r in rows:
        writer.writerow([csv_cell(v) for v in (
            r.number, str(r.state), r.value, r.best_so_far, r.epoch, r.epochs_planned, r.host, r.device,
            None if r.seconds is None else round(r.seconds, 3), *(r.params.get(k) for k in keys), r.run_dir,
            r.error)])
    return out.getvalue()

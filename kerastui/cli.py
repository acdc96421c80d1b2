"""``kerastui`` command line: the TUI, or a preset trained headless.

    kerastui [PRESET]                       open the workbench (with PRESET loaded)
    kerastui train PRESET [options]         train headless; --json prints one JSON object
    kerastui check PRESET [--json]          validate, describe the data, build the model; no training
    kerastui runs [--json]                  every run: state (live ones with epoch and heartbeat), results
    kerastui attach [RUN]                   open the workbench following RUN (default: the newest live run)
    kerastui stop RUN                       ask a live run to finish its batch, evaluate, save and stop
    kerastui resume RUN                     continue an interrupted or died run from its checkpoint
    kerastui presets                        list shipped and user presets
    kerastui info                           TensorFlow/Keras versions, devices, dataset cache

RUN is a run directory's name, a unique prefix of one, ``last``, or a path.

Errors follow one rule: one ``kerastui: error:`` line on stderr.  A command line that does not
parse says which command and points at its ``--help`` (exit 2, :class:`Parser`); bad input or a
failed run names the file and key (exit 1); see ``EXIT_STATUS``.

Nothing here imports TensorFlow at module level: ``kerastui --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from kerastui import __version__
from kerastui.core.text import visible

if TYPE_CHECKING:
    from typing import TextIO

    from rich.progress import Progress, TaskID

    from kerastui.core.check import CheckResult
    from kerastui.core.model.specs import Preset
    from kerastui.core.run.directory import RunDir
    from kerastui.core.run.events import Event
    from kerastui.core.run.trainer import RunResult, Trainer

COMMANDS = ("train", "check", "presets", "info", "export-script", "runs", "attach", "stop", "resume", "sweep")
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
TRUST_HELP = ("trust the model to run code: the Python code --model's file stores (a Lambda layer), the graph "
              "of a SavedModel folder given as --model, the SavedModel graph a TFSMLayer of the preset loads")
EXIT_READER_GONE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader left (`yes | head -1`)
EXIT_STATUS = (f"exit status: {EXIT_OK} done; {EXIT_ERROR} bad input or a failed run (one `kerastui: error:` line "
               f"naming the file and key); {EXIT_USAGE} a command line that does not parse (one `kerastui: error:` "
               "line pointing at --help); 128 + N a run interrupted by signal N (130 Ctrl-C, 143 SIGTERM, 129 "
               f"SIGHUP: resume it); {EXIT_READER_GONE} the reader of stdout left (`kerastui runs | head -1`).")


class UsageError(SystemExit):
    """A command line that does not parse, already said in one line (exit ``EXIT_USAGE``)."""

    def __init__(self) -> None:
        super().__init__(EXIT_USAGE)


class Parser(argparse.ArgumentParser):
    """argparse with the CLI's one error rule: a command line it cannot parse is one ``kerastui: error:``
    line naming the command, with a pointer to its ``--help`` (``kerastui: error: train: unrecognized
    arguments: --epoch 3 (see kerastui train --help)``), not argparse's usage block.  Options are never
    abbreviated: ``--epoch`` is a typo, not ``--epochs``.  Subcommands' parsers are Parsers too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("kerastui").strip()
        _error(f"{command + ': ' if command else ''}{message} (see {self.prog} --help)")
        raise UsageError


def _closest_option(parser: argparse.ArgumentParser, extra: list[str]) -> str:
    """`` (did you mean --epochs?)`` for the first unknown option close to one of ``parser``'s."""
    import difflib

    known = [option for option in parser._option_string_actions if option.startswith("--")]
    for text in extra:
        if text.startswith("--"):
            close = difflib.get_close_matches(text.partition("=")[0], known, n=1)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def _innermost(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` were parsed for: ``kerastui sweep start``'s, say."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs else None
        if not subs or name not in subs[0].choices:
            return parser
        parser = subs[0].choices[name]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kerastui",
        usage="kerastui [-h] [--version] [PRESET | COMMAND ...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A terminal workbench for Keras: pick data, stack layers, train with live charts, save and\n"
                    "verify, compare metrics, fine-tune — or run a preset headless.\n\n"
                    "  kerastui              open the workbench (the TUI)\n"
                    "  kerastui PRESET       open it with PRESET loaded (ex1, your preset's name, a .toml)\n"
                    "  kerastui COMMAND ...  run a command below; kerastui COMMAND --help lists its options",
        epilog="Presets: ex1 … ex5 follow the Keras tutorial's exercises (`kerastui presets`).\n\n"
               + _wrapped(EXIT_STATUS),
    )
    parser.add_argument("--version", action="version", version=f"kerastui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="kerastui")

    train = sub.add_parser("train", help="train a preset headless and write a run directory",
                           description="Train a preset headless: progress on stderr, a run directory "
                                       "on disk, and with --json one JSON object on stdout. Exit 0; 1 with one "
                                       "`kerastui: error:` line; 2 when the command line does not parse; 128 + "
                                       "the signal when interrupted (kerastui --help lists every exit status).")
    train.add_argument("preset", metavar="PRESET", help="shipped name (ex1) or path to a .toml file")
    train.add_argument("--epochs", type=_positive, help="override fit.epochs")
    train.add_argument("--batch-size", type=_positive, help="override fit.batch_size")
    train.add_argument("--data", metavar="SOURCE", help="override data.source, e.g. sklearn:digits")
    train.add_argument("--limit", type=_positive, help="override data.limit (training samples)")
    train.add_argument("--save", nargs="+", metavar="FORMAT", choices=["keras", "h5", "savedmodel"],
                       help="override save.formats")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override any preset key, e.g. --set transfer.weights=none (repeatable)")
    train.add_argument("--runs-dir", type=Path, help="where run directories go (default: $KERASTUI_RUNS or "
                                                     "~/.local/share/kerastui/runs)")
    train.add_argument("--json", action="store_true", help="print one JSON object on stdout at the end, its "
                       "only line; progress goes to stderr as without --json (a line per epoch when not a terminal)")
    train.add_argument("--run-dir", type=Path, help="train into this run directory (made by the TUI: it holds "
                                                    "the preset), instead of a new one under --runs-dir")
    train.add_argument("--model", metavar="FILE", help="train further from this saved model (.keras or .h5) "
                                                       "instead of building the preset's")
    train.add_argument("--trust-model", action="store_true", help=TRUST_HELP)

    runs_help = "where run directories are (default: $KERASTUI_RUNS or ~/.local/share/kerastui/runs)"
    runs = sub.add_parser("runs", help="list runs: state, epochs, preset, dataset, best and test metrics",
                          description="Every run directory: live runs first (epoch/total and the age of their "
                                      "heartbeat), then the newest first.")
    runs.add_argument("--json", action="store_true", help="one JSON array on stdout")
    runs.add_argument("--csv", action="store_true", help="the runs table as CSV on stdout (raw values, every "
                      "test metric); with --epochs, per-epoch metrics instead")
    runs.add_argument("--epochs", nargs="*", metavar="RUN", default=None,
                      help="with --csv: every epoch's metrics of these runs (name, prefix, 'last'; none: all)")
    runs.add_argument("--runs-dir", type=Path, help=runs_help)
    attach = sub.add_parser("attach", help="open the workbench following a run (live or finished)",
                            description="Open the TUI in the Train workspace, following RUN with its whole "
                                        "history drawn (default: the newest live run).")
    attach.add_argument("run", metavar="RUN", nargs="?", help="name, unique prefix, 'last', or path")
    attach.add_argument("--runs-dir", type=Path, help=runs_help)
    stop = sub.add_parser("stop", help="ask a live run to finish its batch, evaluate, save and stop")
    stop.add_argument("run", metavar="RUN", help="name, unique prefix, 'last', or path")
    stop.add_argument("--runs-dir", type=Path, help=runs_help)
    stop.add_argument("--wait", action="store_true", help="wait until the run has ended")
    resume = sub.add_parser("resume", help="continue an interrupted or died run from its last checkpoint",
                            description="Continue RUN in its own directory: same preset, weights and optimizer "
                                        "state from the checkpoint, epochs and logs counted on.")
    resume.add_argument("run", metavar="RUN", help="name, unique prefix, 'last', or path")
    resume.add_argument("--runs-dir", type=Path, help=runs_help)
    resume.add_argument("--json", action="store_true", help="print one JSON object on stdout at the end "
                        "(progress to stderr)")
    resume.add_argument("--trust-model", action="store_true", help=TRUST_HELP + " (asked again on every resume)")

    check = sub.add_parser("check", help="validate a preset and build its model without training",
                           description="Validate a preset, describe its data and build its model (shapes, "
                                       "parameters, memory) without training: exit 0 when it would train, 1 with "
                                       "one `kerastui: error:` line naming the file and key when not.")
    check.add_argument("preset", metavar="PRESET", help="shipped name (ex1) or path to a .toml file")
    check.add_argument("--data", metavar="SOURCE", help="override data.source")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any preset key")
    check.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    check.add_argument("--json", action="store_true",
                       help="print one JSON object on stdout (ok, error, data, model, layers, memory)")

    export = sub.add_parser("export-script", help="write a plain Keras script that reproduces a preset",
                            description="Write a runnable Keras script (no kerastui import) for a preset, "
                                        "checked first as train checks it. In-memory sources are split, scaled "
                                        "and seeded as kerastui does them, so the script trains to the same "
                                        "history and test metrics. Custom metric or model files are copied "
                                        "beside the script (-o) and loaded from its folder.")
    export.add_argument("preset", metavar="PRESET", help="shipped name (ex1) or path to a .toml file")
    export.add_argument("--data", metavar="SOURCE", help="override data.source")
    export.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any preset key")
    export.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")

    presets = sub.add_parser("presets", help="list shipped and user presets")
    presets.add_argument("--json", action="store_true")

    info = sub.add_parser("info", help="TensorFlow and Keras versions, devices, cached datasets")
    info.add_argument("--json", action="store_true")

    from kerastui.sweep_cli import add_sweep_parser  # kerastui sweep start|status|stop|resume|join|best

    add_sweep_parser(sub)
    return parser


def _wrapped(text: str) -> str:
    import textwrap

    return textwrap.fill(text, width=78)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _command(argv)
        finally:  # also on argparse's exit (--help): a reader gone is met here, not in the flush at exit
            if sys.stdout is not None:
                sys.stdout.flush()
    except BrokenPipeError as error:
        return _broken_pipe(error)


def _command(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return _open_tui(argv)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # said by the (sub)command's parser: `kerastui: error: train: unrecognized arguments: …`
            command = _innermost(parser, args)
            command.error(f"unrecognized arguments: {' '.join(extra)}{_closest_option(command, extra)}")
    except UsageError:
        return EXIT_USAGE
    if args.command is None:
        return _open_tui([])
    handler = {"train": cmd_train, "check": cmd_check, "presets": cmd_presets, "info": cmd_info,
               "export-script": cmd_export_script, "runs": cmd_runs, "attach": cmd_attach, "stop": cmd_stop,
               "resume": cmd_resume, "sweep": cmd_sweep}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # main decides: stdout's reader gone, or a bug of ours
        raise
    except Exception as error:  # noqa: BLE001 - last resort: one line, details in a log file
        from kerastui.core.errors import KerasTUIError

        if isinstance(error, KerasTUIError):
            _error(str(error))
            return EXIT_ERROR
        return _internal_error(error)


def _open_tui(argv: list[str], attach: Path | None = None) -> int:
    """``kerastui [PRESET]``: the workbench.  Only Textual is imported before the first frame."""
    from kerastui.core.errors import KerasTUIError

    if len(argv) > 1:
        import difflib

        close = difflib.get_close_matches(argv[0], COMMANDS, n=1) if attach is None else []
        typo = f"{argv[0]!r} is not a command (did you mean {close[0]!r}?); " if close else ""
        _error(f"{typo}unexpected arguments {' '.join(argv[1:])!r}: kerastui [PRESET] opens the workbench "
               "(see kerastui --help)")
        return EXIT_USAGE
    from kerastui.core.tfenv import quiet_environment
    from kerastui.ui.app import make_app
    from kerastui.ui.terminal import stderr_to_log

    quiet_environment()
    try:
        app = make_app(argv[0] if argv else None, attach=attach)
    except KerasTUIError as error:
        _error(str(error))
        return EXIT_ERROR
    with stderr_to_log():
        app.run()
    return app.return_code or EXIT_OK


def _error(message: str) -> None:
    """The one ``kerastui: error:`` line: one line, its control characters shown (``visible``)."""
    try:
        print(f"kerastui: error: {visible(' '.join(message.split()), one_line=True)}", file=sys.stderr, flush=True)
    except OSError:  # no terminal any more (a hang-up): the run directory says it all
        pass


def _say(line: str = "", *, file: TextIO | None = None) -> None:
    """Every other line the CLI writes for people (not JSON, not CSV): names, paths and metrics in it
    come from presets, run directories and data sets, so it stays one line and its control characters
    are shown, never sent."""
    print(visible(line, one_line=True), file=file or sys.stdout)


def _broken_pipe(error: BrokenPipeError) -> int:
    """``kerastui runs | head -1``: the reader has what it wanted and has gone.  That ends the command
    quietly, like any Unix tool killed by SIGPIPE (Python ignores the signal and raises instead), with
    the exit status a shell shows for one: 141, not 0 — the output was cut short, and under
    ``set -o pipefail`` a pipeline reports that as it does for ``grep``/``cat``.  stdout is pointed at
    /dev/null so that the flush at interpreter exit does not fail again ("Exception ignored").  A broken
    pipe that is not stdout's (a pipe of our own) is a bug and is reported as one."""
    if not _stdout_reader_gone():
        return _internal_error(error)
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_READER_GONE


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket with no reader left: poll flags an error (or hang-up) on it."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no stdout, not a file, or no poll() on this system
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def _internal_error(error: BaseException) -> int:
    """A bug of ours: one line naming what was being processed and where the traceback is."""
    from kerastui.core.errors import internal_error_line

    _error(internal_error_line(error))
    return EXIT_ERROR


# --------------------------------------------------------------------------- train


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    from kerastui.core.model.presets import parse_assignment

    out: dict[str, Any] = {}
    for text in args.set:
        key, value = parse_assignment(text)
        out[key] = value
    if getattr(args, "data", None) is not None:
        out["data.source"] = args.data
    if args.command != "train":
        return out
    if args.epochs is not None:
        out["fit.epochs"] = args.epochs
    if args.batch_size is not None:
        out["fit.batch_size"] = args.batch_size
    if args.limit is not None:
        out["data.limit"] = args.limit
    if args.save is not None:
        out["save.formats"] = list(args.save)
    return out


def _load_preset(args: argparse.Namespace) -> Preset:
    from kerastui.core.errors import processing
    from kerastui.core.model import presets

    with processing(args.preset, "(reading the preset)"):
        preset = presets.load(args.preset, overrides_from(args))
    _check_source_name(preset)
    return preset


def _check_source_name(preset: Preset) -> None:
    """A mistyped bundled data set or scheme (``sklearn:digitz``) is refused now, in one line with the
    closest name, before TensorFlow (seconds, tens of them on a busy box) is imported to find out."""
    from kerastui.core.data.sources import parse_source
    from kerastui.core.errors import DatasetError, KerasTUIError

    try:
        parse_source(preset.data.source)
    except DatasetError as error:
        raise KerasTUIError(f"{preset.where}: {error}") from None


def cmd_check(args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError

    start = time.perf_counter()
    try:
        preset = _load_preset(args)
    except KerasTUIError as error:
        if args.json:
            print(json.dumps({"preset": args.preset, "ok": False, "error": str(error)}))
        _error(str(error))
        return EXIT_ERROR
    from kerastui.core.check import check
    from kerastui.core.run.directory import jsonable

    result = check(preset, trusted=args.trust_model)
    result.seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps(jsonable(result.to_json())), flush=True)
    if not result.ok:
        _error(result.error or f"{preset.where}: check failed")
        return EXIT_ERROR
    if not args.json:
        _print_check(result)
    return EXIT_OK


def _print_check(result: CheckResult) -> None:
    data, model, memory = result.data, result.model, result.memory
    _say(f"{result.preset}: ok")
    _say(f"data: {data['source']} — {data['kind']} {data['task']}, sample shape {data['sample_shape']}"
          + (f", {data['classes']} classes" if data.get("classes") else "")
          + (f" ({data['note']})" if data.get("note") else ""))
    labels = [visible(f"{row['type']}{' ' + row['name'] if row['name'] else ''}", one_line=True)
              for row in result.layers]  # (shown before aligning: an escape is wider than its character)
    width = max((len(label) for label in labels), default=4)
    for row, label in zip(result.layers, labels, strict=True):
        params = "" if row["params"] is None else f"{row['params']:>12,}"
        _say(f"  {label:<{width}}  {row['output_shape']:<22} {params}")
    _say(f"model: {model.get('total', 0):,} parameters ({model.get('trainable', 0):,} trainable, "
          f"{model.get('non_trainable', 0):,} non-trainable)")
    for note in result.notes:
        _say(note)
    if "estimate" in memory:
        _say(f"memory: ~{memory['estimate']} to train with batch {memory['batch_size']} "
              f"({memory['available']} available)")
    _say(f"checked in {result.seconds:.2f} s")


def cmd_train(args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.run.directory import RunDir

    run_dir = None
    if args.run_dir is not None:
        run_dir = RunDir(args.run_dir.expanduser())
        if not run_dir.path.is_dir():
            _error(f"{run_dir.path}: no such run directory")
            return EXIT_ERROR
    try:
        preset = _load_preset(args)
    except KerasTUIError as error:
        if run_dir is not None:  # a run launched by the TUI: its status says why it never started
            with contextlib.suppress(KerasTUIError):
                run_dir.set_status(state="failed", outcome="failed", error=str(error), pid=os.getpid())
        raise
    return _run(preset, args, run_dir=run_dir, model_path=args.model, trusted=args.trust_model)


def cmd_resume(args: argparse.Namespace) -> int:
    from kerastui.core.run.client import RunClient

    client = RunClient(args.runs_dir)
    run_dir, preset, status = client.resumable(client.find(args.run))
    model = status.get("model")
    return _run(preset, args, run_dir=run_dir, resume=True, model_path=model if isinstance(model, str) else None,
                trusted=args.trust_model)  # the user's word now: a status file is no witness


def _run(preset: Preset, args: argparse.Namespace, *, run_dir: RunDir | None, resume: bool = False,
         model_path: str | None = None, trusted: bool = False) -> int:
    """The run process: lock and status (as soon as there is a run directory), signals, training."""
    from kerastui.core.errors import KerasTUIError, PresetError, internal_error_line
    from kerastui.core.run.directory import RunDir, check_runs_dir, jsonable
    from kerastui.core.run.process import STOP_SIGNAL, RunProcess

    start = time.perf_counter()
    progress = ProgressPrinter()  # (with --json too: the JSON object is stdout's, the progress stderr's)
    stdout = sys.stdout

    def said(signum: int, second: bool) -> None:
        if signum == signal.SIGHUP and progress.tty:  # (asked at start: a hung-up terminal no longer says it is one)
            progress.detach()  # the terminal is gone: writing to it would fail
        if signum == STOP_SIGNAL:
            progress.note("stop asked: stopping after this batch, then evaluating and saving")
        elif not second:
            name = signal.Signals(signum).name
            progress.note(f"{name}: stopping after this batch and writing a checkpoint — Ctrl-C again to abort")

    owner: RunProcess | None = None
    trainer: Trainer | None = None
    seconds: float | None = None  # the run's time, as its status has it at the end (run_seconds)
    from kerastui.core.run.sweep_trial import TrialReporter

    reporter = TrialReporter.from_environment(preset)  # a sweep's trial: the objective to its study per epoch

    if run_dir is not None:  # its preset.toml is named "preset": the run keeps the user's name
        from kerastui.core.run.directory import read_json

        preset.name = str(read_json(run_dir.status_path).get("preset") or preset.name)

    def own(directory: RunDir) -> RunProcess:
        process = RunProcess(directory, on_signal=said)
        process.__enter__()
        try:
            process.starting(preset, resumed=resume, trusted=trusted, **({"model": model_path} if model_path else {}))
            if reporter is not None:  # its status says which sweep and trial it is
                directory.set_status(**reporter.status_fields)
        except BaseException:  # (its lock, handlers and hooks given back: nobody else would)
            process.__exit__(None, None, None)
            raise
        return process

    try:
        if run_dir is not None:  # made by the TUI, or resumed: take the lock before anything slow
            owner = own(run_dir)
            owner.arm()  # an interrupt while TensorFlow loads leaves at once, its end recorded
        else:  # a runs folder that cannot hold a run is said now, not after TensorFlow and the data
            check_runs_dir(args.runs_dir or _default_runs_dir())
        from kerastui.core.devices import configure, prepare_environment
        from kerastui.core.run.trainer import Trainer
        from kerastui.core.tfenv import load_keras

        prepare_environment()
        load_keras()
        plan = configure(preset.devices, preset.where)  # before anything initialises TensorFlow's devices
        with plan.scope():  # a model trained further under MirroredStrategy is loaded in its scope
            model = _open_model(model_path, preset, trusted) if model_path else None
        trainer = Trainer(preset, [progress], runs_dir=args.runs_dir, model=model, trusted=trusted,
                          run_dir=run_dir, resume=resume)
        if owner is not None:
            owner.trainer = trainer
        if reporter is not None:
            reporter.trainer = trainer
            trainer.sinks.append(reporter)
        # With --json, stdout carries one JSON object only: library chatter (Keras's
        # "Downloading data from …") goes to stderr with the progress.
        redirect = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
        with redirect:
            trainer.prepare()
            if owner is None:
                directory = RunDir.create(args.runs_dir or _default_runs_dir(), preset.name or "run")
                owner = own(directory)  # the lock first: never a moment where it reads "died"
                # Its time counts from this process's start, as a run launched into its directory
                # does (that one takes its lock first): see run_seconds.
                directory.begin_span(owner.previous_seconds + time.perf_counter() - start)
                owner.trainer = trainer
                directory.write_preset(preset)
                trainer.run_dir = directory
            trainer.sinks.append(owner)
            if trainer.result.summary and not args.json and not resume:
                progress.note(trainer.result.summary)
            result = trainer.run()
            # The end recorded while the lock is still held (a follower must never see "running"
            # with no process behind it, which reads "died").
            owner.finished(result)
            seconds = _settle_seconds(owner.run_dir, result)
    except KerasTUIError as error:
        progress.close()
        message = str(error) if isinstance(error, (PresetError,)) or str(error).startswith(preset.where) \
            else f"{preset.where}: {error}"
        if owner is not None:
            owner.finished(trainer.result if trainer is not None else None, message)
            _settle_seconds(owner.run_dir, trainer.result if trainer is not None else None)
        _error(message)
        return EXIT_ERROR
    except KeyboardInterrupt:
        progress.close()
        if owner is not None:
            if trainer is not None:
                trainer.result.status = "interrupted"
            owner.finished(trainer.result if trainer is not None else None)
            if owner.trainer is not None:
                owner.run_dir.write_summary(jsonable(owner.trainer.result.to_json()))
                _settle_seconds(owner.run_dir, owner.trainer.result)
        done = trainer.result.epochs_run if trainer is not None else 0
        where = f"; {_resume_hint(owner.run_dir)}" if owner is not None else ""
        _error(f"interrupted after {done} epoch(s){where}")
        return owner.exit_code if owner is not None else EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - one line, the status says failed with the reason
        progress.close()
        if owner is not None:
            owner.finished(trainer.result if trainer is not None else None, internal_error_line(error))
        return _internal_error(error)
    finally:
        progress.close()
        if owner is not None:
            owner.__exit__(None, None, None)
    if seconds is None:  # (no status to read it from: this process's own time)
        result.seconds = time.perf_counter() - start + trainer.previous_seconds
    try:
        if args.json:
            print(json.dumps(jsonable(result.to_json())), file=stdout, flush=True)
        else:
            print_report(result)
    except OSError:  # the terminal went away (SIGHUP): the run directory has everything
        pass
    if result.status == "nan":
        _error(f"{preset.where}: {result.error}")
        return EXIT_ERROR
    if result.status == "interrupted":
        name = signal.Signals(owner.signal or signal.SIGINT).name
        _error(f"interrupted by {name} after {result.epochs_run} epoch(s); {_resume_hint(owner.run_dir)}")
        return owner.exit_code
    if result.status == "stopped":
        progress.note(f"stopped after {result.epochs_run} epoch(s); model saved in {result.run_dir}")
    return EXIT_OK


def run_seconds(run_dir: RunDir) -> float | None:
    """The one "seconds" of a run, as ``kerastui runs`` (its time column, ``--json``'s ``seconds``),
    ``summary.json``, and ``train``'s report and ``--json`` all give it: the run's time — each process
    that ran it, from its start (loading TensorFlow and the data included) to its end (fit, evaluation,
    saving), resumes added (``active_seconds`` in its status)."""
    from kerastui.core.run.directory import read_json

    value = read_json(run_dir.status_path).get("active_seconds")
    return float(value) if isinstance(value, (int, float)) else None


def _settle_seconds(run_dir: RunDir, result: RunResult | None) -> float | None:
    """At a run's end: its result and ``summary.json`` (when the trainer wrote one) take the seconds its
    status has (:func:`run_seconds`), which ``kerastui runs`` shows; those seconds, or None."""
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.run.directory import jsonable

    seconds = run_seconds(run_dir)
    if seconds is None or result is None:
        return seconds
    result.seconds = seconds
    if run_dir.summary_path.is_file():
        with contextlib.suppress(KerasTUIError, OSError):
            run_dir.write_summary(jsonable(result.to_json()))
    return seconds


def _resume_hint(run_dir: RunDir) -> str:
    return f"checkpoint in {run_dir.path / 'checkpoints'}; continue with: kerastui resume {run_dir.name}"


def _default_runs_dir() -> Path:
    from kerastui.core.run.directory import default_runs_dir

    return default_runs_dir()


def _open_model(path: str, preset: Preset, trusted: bool) -> Any:
    from kerastui.core.model.builder import custom_metric_classes
    from kerastui.core.saving import load_for_training

    return load_for_training(path, custom_metric_classes(preset), trusted=trusted)


# --------------------------------------------------------------------------- runs, stop, attach


def cmd_sweep(args: argparse.Namespace) -> int:
    from kerastui.sweep_cli import run_sweep_command

    return run_sweep_command(args)


def cmd_runs(args: argparse.Namespace) -> int:
    from kerastui.core.run.client import RunClient

    client = RunClient(args.runs_dir)
    runs_dir = client.runs_dir
    found = client.runs()
    if args.epochs is not None and not args.csv:
        from kerastui.core.errors import KerasTUIError

        raise KerasTUIError("runs: --epochs goes with --csv")
    if args.csv:
        from kerastui.core.run.table import epochs_csv, table_csv

        if args.epochs is None:
            sys.stdout.write(table_csv(found))
            return EXIT_OK
        paths = {client.find(text).path.resolve() for text in args.epochs}
        sys.stdout.write(epochs_csv([r for r in found if not paths or r.path.resolve() in paths]))
        return EXIT_OK
    if args.json:
        print(json.dumps([r.to_json() for r in found], indent=2))
        return EXIT_OK
    if not found:
        _say(f"no runs in {runs_dir}")
        return EXIT_OK
    from kerastui.core.run.table import CLI_KEYS, text_table

    for line in text_table(found, CLI_KEYS):
        _say(line)
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    from kerastui.core.run.client import RunClient

    client = RunClient(args.runs_dir)
    run_dir = client.find(args.run)
    pid = client.stop(run_dir)
    _say(f"asked {run_dir.name} (pid {pid}) to stop after its batch", file=sys.stderr)
    if args.wait:
        while run_dir.status()["state"].live:
            time.sleep(0.2)
        _say(f"{run_dir.name}: {run_dir.status().get('state')}", file=sys.stderr)
    return EXIT_OK


def cmd_attach(args: argparse.Namespace) -> int:
    from kerastui.core.errors import KerasTUIError
    from kerastui.core.run.client import RunClient

    client = RunClient(args.runs_dir)
    if args.run is not None:
        run_dir = client.find(args.run)
    else:
        live = client.live()
        if not live:
            raise KerasTUIError("no live run to attach to (kerastui runs lists every run; kerastui attach RUN "
                                "opens a finished one)")
        run_dir = client.find(str(live[0].path))
    return _open_tui([], attach=run_dir.path)


class ProgressPrinter:
    """The CLI's sink: a rich progress bar on a terminal, one line per epoch otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._epochs = 0
        self._initial = 0

    def __call__(self, event: Event) -> None:
        from kerastui.core.devices import describe
        from kerastui.core.run.events import BatchEnded, EpochEnded, Notice, TrainEnded, TrainStarted

        if isinstance(event, Notice):
            if event.level != "error":  # the run's error is the one `kerastui: error:` line at the end
                self.note(event.message)
        elif isinstance(event, TrainStarted):
            self._epochs, self._initial = event.epochs, event.initial_epoch
            split = (f" ({event.replicas} replicas × {event.per_replica_batch})" if event.replicas > 1 else "")
            where = f" on {describe(event.devices, event.precision)}" if event.devices else ""
            self.note(f"{event.phase}: {event.epochs} epoch(s), {event.samples} samples, "
                      f"batch {event.batch_size}{split}, {event.steps_per_epoch} steps/epoch{where}")
            if self.tty:
                self._start_bar(event.steps_per_epoch)
        elif isinstance(event, BatchEnded):
            if self._progress is not None and self._task is not None:
                epoch = event.epoch - self._initial + 1
                loss = event.logs.get("loss")
                self._progress.update(self._task, completed=event.batch + 1, total=event.steps,
                                      description=f"epoch {epoch}/{self._epochs}",
                                      loss=f"loss {loss:.4f}" if loss is not None else "")
        elif isinstance(event, EpochEnded):
            line = f"epoch {event.epoch + 1}: " + "  ".join(
                f"{visible(k, one_line=True)} {v:.4f}" for k, v in event.logs.items() if k != "learning_rate"
            ) + f"  ({event.seconds:.1f}s)"
            self.note(line)
        elif isinstance(event, TrainEnded):
            self.close()

    def _start_bar(self, steps: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.close()
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[loss]}"), TimeRemainingColumn(),
                                  console=Console(file=self.stream), transient=True)
        self._progress.start()
        self._task = self._progress.add_task("epoch", total=steps, loss="")

    def note(self, text: str) -> None:
        """A line of progress; metric names and notices come from the preset: shown (``visible``)."""
        text = visible(text)
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            with contextlib.suppress(OSError):
                self._progress.stop()
            self._progress = None

    def detach(self) -> None:
        """The terminal is gone: say nothing more (the run directory keeps everything)."""
        devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
        if self._progress is not None:
            self._progress.console.file = devnull  # its last refresh must not write to the dead terminal
            with contextlib.suppress(OSError):
                self._progress.stop()
            self._progress = None
        self.stream = devnull
        self.tty = False
        with contextlib.suppress(OSError):
            os.dup2(devnull.fileno(), 2)  # and nothing else (a library's warning) writes there either
            sys.stderr = devnull


def print_report(result: RunResult) -> None:
    out = sys.stdout
    model = result.model
    if model:
        _say(f"model: {model.get('total', 0):,} parameters ({model.get('trainable', 0):,} trainable, "
              f"{model.get('non_trainable', 0):,} non-trainable)", file=out)
    _say(f"epochs run: {result.epochs_run} ({result.status})", file=out)
    for phase in result.phases:
        test = phase.get("test", {})
        acc = test.get("accuracy")
        _say(f"phase {phase['name']}: {phase['epochs']} epoch(s), trainable {phase['trainable']:,} / "
              f"non-trainable {phase['non_trainable']:,}" + (f", test accuracy {acc:.4f}" if acc is not None else ""),
              file=out)
    if result.test:
        shown = {k: v for k, v in result.test.items() if v is not None}
        _say("test: " + "  ".join(f"{k} {v:.4f}" for k, v in shown.items()), file=out)
    for name, report in result.custom_metrics.items():
        parts = [f"{split} max |Δ| {report[split]['max_abs_diff']:.2e}"
                 for split in ("train", "val") if split in report]
        _say(f"custom metric {name} vs {report['builtin']}: " + ", ".join(parts), file=out)
    for fmt, saved in result.saved.items():
        diff = saved.get("max_abs_diff")
        verdict = "" if diff is None else f"  max abs diff {diff:.2e} ({'same' if saved.get('same') else 'DIFFERENT'})"
        _say(f"saved {fmt}: {saved['path']} ({saved['bytes']:,} bytes){verdict}", file=out)
    if result.tensorboard:
        _say(f"view logs: {result.tensorboard}", file=out)
    if result.run_dir:
        _say(f"run directory: {result.run_dir}", file=out)
    from kerastui.core.run.table import duration_text

    _say(f"run time: {duration_text(result.seconds)} (start to end, TensorFlow's start-up and resumes "
         "included; kerastui runs shows the same)", file=out)


def cmd_export_script(args: argparse.Namespace) -> int:
    from kerastui.core.script import check_exportable, custom_files, export_script, write_script
    from kerastui.core.text import visible

    preset = _load_preset(args)
    if args.output is not None:  # the script, and the custom code files it loads beside it
        script = write_script(preset, args.output)
        for path in [script, *(script.parent / name for name, _ in custom_files(preset))]:
            print(visible(f"wrote {path}", one_line=True), file=sys.stderr)
        return EXIT_OK
    check_exportable(preset)
    sys.stdout.write(export_script(preset))
    for name, source in custom_files(preset):
        print(visible(f"the script loads {name} from its own folder: copy {source} there", one_line=True),
              file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- presets, info


def cmd_presets(args: argparse.Namespace) -> int:
    from kerastui.core.model.presetdirs import user_dir
    from kerastui.core.model.presets import available

    found = available()
    if args.json:
        print(json.dumps([{"name": p.name, "origin": p.origin, "title": p.title, "source": p.source,
                           "path": str(p.path), "error": p.error} for p in found], indent=2))
        return EXIT_OK
    names = [visible(p.name, one_line=True) for p in found]
    width = max((len(name) for name in names), default=4)
    for p, name in zip(found, names, strict=True):
        detail = p.error or f"{p.title}  [{p.source}]"
        _say(f"{name:<{width}}  {p.origin:<7}  {visible(detail, one_line=True)}")
    _say(f"(user presets: {user_dir()})")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from kerastui.core.data.sources import KERAS_DATASETS, keras_cache_dir, keras_cached
    from kerastui.core.devices import machine_report, prepare_environment
    from kerastui.core.model.presetdirs import shipped_dir, user_dir
    from kerastui.core.run.directory import default_runs_dir
    from kerastui.core.tfenv import devices, versions

    prepare_environment()
    info: dict[str, Any] = {
        "kerastui": __version__, "python": sys.version.split()[0], **versions(), "devices": devices(),
        "gpu": machine_report(),
        "datasets": {name: keras_cached(name) for name in KERAS_DATASETS},
        "keras_cache": str(keras_cache_dir()),
        "tfds": _tfds_info(),
        "presets": {"shipped": str(shipped_dir()), "user": str(user_dir())},
        "runs_dir": str(default_runs_dir()),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    _say(f"kerastui {info['kerastui']}  python {info['python']}")
    _say(f"tensorflow {info['tensorflow']}  keras {info['keras']}  (backend {info['backend']})")
    gpus = [d for d in info["devices"] if d["type"] == "GPU"]
    for d in info["devices"]:
        _say(f"device {d['name']} {d.get('model', '')}".rstrip())
    if not gpus:
        _say("no GPU visible to TensorFlow: training runs on the CPU")
    _print_gpu_report(info["gpu"])
    for name, cached in info["datasets"].items():
        _say(f"keras:{name:<14} {'cached' if cached else 'not cached (needs a download)'}")
    _say(f"keras cache: {info['keras_cache']}")
    _print_tfds(info["tfds"])
    _say(f"presets: {info['presets']['shipped']} (shipped), {info['presets']['user']} (user)")
    _say(f"runs: {info['runs_dir']}")
    return EXIT_OK


def _tfds_info() -> dict[str, Any]:
    """TensorFlow Datasets prepared locally (tfds:NAME sources), and whether the extra is installed."""
    import importlib.util

    from kerastui.core.data.sources import tfds_data_dir, tfds_prepared

    return {"installed": importlib.util.find_spec("tensorflow_datasets") is not None,
            "data_dir": str(tfds_data_dir(None)), "prepared": tfds_prepared()}


def _print_tfds(tfds: dict[str, Any]) -> None:
    missing = "" if tfds["installed"] else ' (tensorflow-datasets not installed: pip install "kerastui[tfds]")'
    _say(f"tfds data_dir: {tfds['data_dir']}{missing}")
    for name in tfds["prepared"]:
        _say(f"tfds:{name:<14} prepared")


def _print_gpu_report(report: dict[str, Any]) -> None:
    from kerastui.core.resources import size_text

    build = report["build"]
    if build.get("cuda_build"):
        _say(f"tensorflow built with CUDA {build.get('cuda') or '?'}, cuDNN {build.get('cudnn') or '?'}")
    else:
        _say("tensorflow built without CUDA" + (f" ({build['error']})" if build.get("error") else ""))
    if report["nvml"] != "ok":
        _say(report["nvml"])
    else:
        _say(f"NVIDIA driver {report['driver'] or '?'}" + (f" (CUDA {report['cuda_driver']})"
                                                           if report["cuda_driver"] else ""))
    for gpu in report["gpus"]:
        parts = []
        if gpu["memory_total"] is not None:
            parts.append(f"memory {size_text(gpu['memory_used'] or 0)} / {size_text(gpu['memory_total'])}")
        if gpu["utilization"] is not None:
            parts.append(f"{gpu['utilization']} % busy")
        if gpu["temperature"] is not None:
            parts.append(f"{gpu['temperature']} °C")
        if gpu["power"] is not None:
            parts.append(f"{gpu['power']:.0f} W" + (f" / {gpu['power_limit']:.0f} W" if gpu["power_limit"] else ""))
        _say(f"gpu {gpu['index']}: {gpu['name']}" + (f" — {', '.join(parts)}" if parts else ""))
    _say(f"host memory available: {size_text(report['host_memory_available'])}")
    _say(f"scope: {report['scope']}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""A preset's [sweep] section (issue 27): parsed, validated like every section (one line naming the
key), saved back equal; its space as Optuna distributions; the sweep's rules that need no training
(trial 0's values, the best-epoch rule with a direction, storage URLs and their passwords); bad
input on the command line refused in one line with nothing made.  Real Optuna, real files; the
command-line cases run ``python -m kerastui`` (no TensorFlow is loaded by them)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from kerastui.core.errors import PresetError
from kerastui.core.model import presets
from kerastui.core.model.sweepspace import dimensions, direction, distributions, objective, timeout_seconds
from kerastui.core.run.sweep import (
    Storage,
    SweepClient,
    SweepDir,
    best_value,
    database_url,
    own_values,
    plan_slots,
    redact,
)
from tests.conftest import PRESETS, run_cli

EX1 = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
SWEEP = """
[sweep]
trials = 8
parallel = 2
objective = "val_accuracy"
sampler = "tpe"
pruner = "median"
[sweep.space]
"compile.learning_rate" = { low = 1e-4, high = 1e-1, log = true }
"fit.batch_size" = { choices = [32, 64, 128] }
"model.layers[1].units" = { low = 8, high = 128, step = 8 }
"""


@pytest.fixture
def swept(tmp_path: Path) -> Path:
    path = tmp_path / "swept.toml"
    path.write_text(EX1 + SWEEP, encoding="utf-8")
    return path


def error_of(path: Path, **overrides: object) -> str:
    with pytest.raises(PresetError) as caught:
        presets.load(path, dict(overrides))
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_a_sweep_section_is_read_and_saved_back_equal(swept: Path, tmp_path: Path) -> None:
    preset = presets.load(swept)
    spec = preset.sweep
    assert spec is not None and spec.trials == 8 and spec.parallel == 2 and spec.objective == "val_accuracy"
    assert set(spec.space) == {"compile.learning_rate", "fit.batch_size", "model.layers[1].units"}
    again = presets.load(presets.save(preset, tmp_path / "again.toml"))
    assert again == preset and again.sweep == spec
    assert presets.load("ex1").sweep is None  # a preset without one has none


def test_the_space_becomes_optuna_distributions(swept: Path) -> None:
    dims = {d.key: d for d in dimensions(presets.load(swept).sweep, "x")}  # type: ignore[arg-type]
    made = distributions(list(dims.values()))
    assert made["compile.learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    assert made["fit.batch_size"] == optuna.distributions.CategoricalDistribution([32, 64, 128])
    assert made["model.layers[1].units"] == optuna.distributions.IntDistribution(8, 128, step=8)
    assert dims["model.layers[1].units"].grid() == list(range(8, 129, 8))
    assert dims["compile.learning_rate"].grid() is None  # continuous: no grid


@pytest.mark.parametrize(("space", "key", "words"), [
    ('"compile.learning_rat" = { low = 1e-4, high = 1e-1 }', 'sweep.space."compile.learning_rat"', "unknown key"),
    ('"fit.batch_size" = { low = 64, high = 32 }', 'sweep.space."fit.batch_size".low', "must be below high"),
    ('"fit.batch_size" = { low = 32, high = 32 }', 'sweep.space."fit.batch_size".low', "must be below high"),
    ('"fit.batch_size" = { choices = [] }', 'sweep.space."fit.batch_size".choices', "is empty"),
    ('"compile.learning_rate" = { low = 0.0, high = 0.1, log = true }', 'sweep.space."compile.learning_rate".low',
     "a log range needs low > 0"),
    ('"compile.learning_rate" = { low = -1.0, high = 0.1, log = true }', 'sweep.space."compile.learning_rate".low',
     "a log range needs low > 0"),
    ('"model.layers[1].unitz" = { low = 8, high = 16 }', 'sweep.space."model.layers[1].unitz"', "has no 'unitz'"),
    ('"model.layers[9].units" = { low = 8, high = 16 }', 'sweep.space."model.layers[9].units"', "out of range"),
    ('"fit.epochs" = { low = 0, high = 5 }', 'sweep.space."fit.epochs"', "must be in [1"),
    ('"fit.batch_size" = { low = 8, high = 30, step = 8 }', 'sweep.space."fit.batch_size".step',
     "not a whole number of steps"),
    ('"fit.batch_size" = { low = 8, high = 64, hgih = 3 }', 'sweep.space."fit.batch_size".hgih', "unknown key"),
    ('"fit.batch_size" = { choices = [32, 32] }', 'sweep.space."fit.batch_size".choices[1]', "listed twice"),
    ('"fit.batch_size" = { choices = [[32]] }', 'sweep.space."fit.batch_size".choices[0]', "a choice is"),
    ('"sweep.trials" = { low = 1, high = 3 }', 'sweep.space."sweep.trials"', "cannot be swept"),
    ('"fit.batch_size" = 32', 'sweep.space."fit.batch_size"', "must be a table"),
])
def test_a_bad_space_is_one_line_naming_its_key(tmp_path: Path, space: str, key: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(EX1 + "\n[sweep]\ntrials = 2\n[sweep.space]\n" + space + "\n", encoding="utf-8")
    text = error_of(path)
    assert text.startswith(f"{path}: {key}"), text
    assert words in text, text


@pytest.mark.parametrize(("key", "value", "words"), [
    ("sweep.parallel", 0, "sweep.parallel: must be a number of trials at once"),
    ("sweep.parallel", "all", "sweep.parallel: must be a number"),
    ("sweep.timeout", "8 hours", "sweep.timeout: must be a duration"),
    ("sweep.timeout", -5, "sweep.timeout: must be a positive duration"),
    ("sweep.objective", "val_acc", "sweep.objective: 'val_acc' is not logged by this preset"),
    ("sweep.sampler", "tpee", "sweep.sampler: 'tpee' is not one of"),
    ("sweep.pruner", "median!", "sweep.pruner:"),
    ("sweep.direction", "up", "sweep.direction:"),
    ("sweep.trials", 0, "sweep.trials: must be in [1"),
    ("sweep.space", {}, "sweep.space: is empty"),
    ("sweep.sampler", "grid", 'sweep.space."compile.learning_rate": the grid sampler needs choices or a step'),
    ("sweep.colour", 1, "sweep.colour: unknown key"),
])
def test_a_bad_sweep_key_is_one_line_naming_it(swept: Path, key: str, value: object, words: str) -> None:
    assert words in error_of(swept, **{key: value})


def test_a_sweep_needs_a_number_of_trials_or_a_timeout(tmp_path: Path) -> None:
    path = tmp_path / "endless.toml"
    path.write_text(EX1 + '\n[sweep.space]\n"fit.batch_size" = { choices = [16, 32] }\n', encoding="utf-8")
    assert "sweep.trials: give the number of trials" in error_of(path)
    assert presets.load(path, {"sweep.timeout": "1h30m"}).sweep is not None


def test_durations() -> None:
    assert timeout_seconds("8h") == 8 * 3600 and timeout_seconds("1h30m") == 5400
    assert timeout_seconds("90m") == 5400 and timeout_seconds("45s") == 45 and timeout_seconds("2d") == 172800
    assert timeout_seconds(600) == 600 and timeout_seconds(None) is None


def test_objective_and_direction_follow_the_one_metric_rule(swept: Path) -> None:
    preset = presets.load(swept)
    assert objective(preset) == "val_accuracy" and direction(preset) == "maximize"
    assert direction(presets.load(swept, {"sweep.objective": "val_loss"})) == "minimize"
    assert direction(presets.load(swept, {"sweep.direction": "minimize"})) == "minimize"  # overrides the name
    no_objective = presets.load(swept, {"sweep.objective": "loss"})
    assert objective(no_objective) == "loss"
    default = presets.loads(EX1 + SWEEP.replace('objective = "val_accuracy"\n', ""))
    assert objective(default) == "val_loss" and direction(default) == "minimize"  # the headline metric


def test_best_value_is_the_best_epochs_in_the_sweeps_direction() -> None:
    values = [0.5, 0.9, math.nan, 0.9, 0.7]
    assert best_value(values, "maximize") == (0.9, 2)  # the first of equals
    assert best_value(values, "minimize") == (0.5, 1)
    assert best_value([math.nan], "minimize") is None


def test_trial_zero_is_the_presets_own_values(swept: Path) -> None:
    preset = presets.load(swept)
    own, notes = own_values(preset, dimensions(preset.sweep, "x"))  # type: ignore[arg-type]
    # ex1 leaves the learning rate to Adam: Keras's default is the preset's own value.
    assert own == {"compile.learning_rate": 0.001, "fit.batch_size": 32, "model.layers[1].units": 64}
    assert notes == []
    outside, notes = own_values(presets.load(swept, {"sweep.space.\"fit.batch_size\"": {"choices": [64, 128]}}),
                                dimensions(presets.load(swept, {"sweep.space.\"fit.batch_size\"":
                                                                {"choices": [64, 128]}}).sweep, "x"))  # type: ignore[arg-type]
    assert "fit.batch_size" not in outside and "not among the choices" in notes[0]


def test_cpu_slots_share_the_cpus(swept: Path) -> None:
    slots = plan_slots(2, presets.load(swept, {"devices.gpus": "none"}))
    assert [s.index for s in slots] == [0, 1]
    cpus = [set(map(int, s.env["KERASTUI_SLOT_CPUS"].split(","))) for s in slots]
    assert all(cpus) and (len(cpus[0] & cpus[1]) == 0 or len(cpus[0] | cpus[1]) == 1)
    assert all(s.env["TF_NUM_INTRAOP_THREADS"] == str(len(c)) for s, c in zip(slots, cpus, strict=True))


def test_storage_urls_and_their_passwords() -> None:
    assert database_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert database_url("postgresql+psycopg://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert redact("postgresql+psycopg://u:s3cr%40t@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert "s3cret" not in Storage("postgresql://u:s3cret@h/db").label
    with pytest.raises(Exception, match="mysql:// is not supported") as caught:
        database_url("mysql://u:s3cret@h/db")
    assert "s3cret" not in str(caught.value)


# --------------------------------------------------------------------------- the command line


def test_a_bad_space_on_the_command_line_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = tmp_path / "bad.toml"
    path.write_text(EX1 + '\n[sweep]\ntrials = 2\n[sweep.space]\n"fit.batch_size" = { low = 64, high = 32 }\n',
                    encoding="utf-8")
    for args in ([str(path)], ["ex1"], [str(path), "--set", 'sweep.space={"fit.batch_size"={choices=[]}}'],
                 [str(path), "--set", 'sweep.space={"compile.learning_rate"={low=0.0,high=1.0,log=true}}'],
                 [str(path), "--set", 'sweep.space={"compile.learning_rat"={low=0.1,high=1.0}}']):
        done = run_cli("sweep", "start", *args, "--runs-dir", str(runs), timeout=300)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("kerastui: error: "), done.stderr
        assert "Traceback" not in done.stderr
        assert not runs.exists() or not any(runs.rglob("*")), "a refused sweep made files"
    assert "no [sweep] section" in run_cli("sweep", "start", "ex1", "--runs-dir", str(runs)).stderr


def test_an_unreachable_storage_is_one_line_without_its_password(swept: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_cli("sweep", "start", str(swept), "--runs-dir", str(runs), "--storage",
                   "postgresql://kerastui:pa55-w0rd@127.0.0.1:9/sweeps", timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "cannot connect" in lines[0] and "127.0.0.1" in lines[0]
    assert "pa55-w0rd" not in done.stderr + done.stdout
    assert not (runs / "sweeps").exists()


def test_status_of_a_500_trial_study_made_with_optuna(swept: Path, tmp_path: Path) -> None:
    """A sweep's folder and journal as a worker would leave them, the trials made with Optuna directly:
    ``sweep status --json`` and ``--csv`` read every trial back with its state, value and params."""
    runs = tmp_path / "runs"
    folder = SweepDir(runs / "sweeps" / "big")
    folder.path.mkdir(parents=True)
    preset = presets.load(swept)
    made = make_study(folder, preset, 500)
    done = run_cli("sweep", "status", "last", "--json", "--runs-dir", str(runs), timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["name"] == "big" and len(summary["trials"]) == 500 and summary["trials_planned"] == 500
    assert [t["number"] for t in summary["trials"]] == list(range(500))
    assert summary["counts"] == {"completed": made["completed"], "pruned": made["pruned"]}
    best = max(t["value"] for t in summary["trials"] if t["state"] == "completed")
    assert summary["best"]["value"] == best and summary["state"] == "completed"
    assert summary["trials"][0]["params"]["fit.batch_size"] in (32, 64, 128)
    csv_text = run_cli("sweep", "status", "big", "--csv", "--runs-dir", str(runs)).stdout
    assert len(csv_text.strip().splitlines()) == 501 and csv_text.startswith("trial,state,value")
    listed = run_cli("sweep", "status", "--runs-dir", str(runs)).stdout
    assert listed.startswith("big  completed  500/500 trials")


def make_study(folder: SweepDir, preset: presets.Preset, count: int, *, preset_name: str = "swept",
               host: str = "elsewhere", devices: int = 1, runs: Path | None = None,
               attrs: dict[str, object] | None = None, info: dict[str, object] | None = None) -> dict[str, int]:
    """A finished sweep of ``count`` trials written with Optuna into ``folder``'s journal (every fifth
    pruned).  Its trials ran on ``host``, over ``devices`` CPU slots, in run folders under ``runs``
    (none: a folder that is nowhere); ``attrs`` and ``info`` add to the study's attributes and the
    sweep's info file.  Also bench/sweep.py's and bench/sweeps_view.py's 500-trial study."""
    import time

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from kerastui.core.run.directory import jsonable
    from kerastui.core.run.sweep import ATTRS

    dims = dimensions(preset.sweep, "x")  # type: ignore[arg-type]
    space = distributions(dims)
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(folder.journal_path))),
                                study_name=folder.name, direction="maximize")
    now = time.time()
    study.set_user_attr(ATTRS, jsonable({"preset": presets.dumps(preset), "preset_name": preset_name, "trials": count,
                                         "objective": "val_accuracy", "direction": "maximize", "stopped": False,
                                         "created": now, "clock": {"used": 1.0, "since": None}, **(attrs or {})}))
    sampler = optuna.samplers.RandomSampler(seed=0)
    trials = []
    counts = {"completed": 0, "pruned": 0}
    for i in range(count):
        params = {k: sampler.sample_independent(study, None, k, d) for k, d in space.items()}  # type: ignore[arg-type]
        pruned = i % 5 == 4
        curve = {e: 0.5 + 0.1 * e + 0.001 * (i % 7) for e in range(1, 2 if pruned else 4)}
        run_dir = str(runs / f"run-{i}") if runs is not None else f"/nowhere/run-{i}"
        trials.append(optuna.trial.create_trial(
            params=params, distributions=space, value=None if pruned else max(curve.values()),
            state=optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE,
            intermediate_values=curve, user_attrs={"host": host, "device": f"CPU {i % devices}", "epoch": len(curve),
                                                    "run_dir": run_dir}))
        counts["pruned" if pruned else "completed"] += 1
    study.add_trials(trials)
    folder.write_info({"name": folder.name, "created": now, "storage": str(folder.journal_path),
                       "parallel": 2, "preset": preset_name, **(info or {})})
    return counts


def test_the_client_finds_sweeps_by_name_prefix_and_last(swept: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for name in ("alpha-1", "beta-1"):
        folder = SweepDir(runs / "sweeps" / name)
        folder.path.mkdir(parents=True)
        make_study(folder, presets.load(swept), 3)
    client = SweepClient(runs)
    assert client.find("last").name == "beta-1" and client.find("al").name == "alpha-1"
    with pytest.raises(Exception, match="no sweep of that name"):
        client.find("gamma")
    sweep = client.open("alpha-1")
    assert sweep.best() is not None and sweep.best_preset().sweep is None
    assert set(sweep.importances()) <= {"compile.learning_rate", "fit.batch_size", "model.layers[1].units"}
    # the runs folder's sweeps/ is not a run
    from kerastui.core.run.client import RunClient

    assert RunClient(runs).runs() == []


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes", "qmc"])
def test_every_sampler_asks_within_the_space(swept: Path, tmp_path: Path, sampler: str) -> None:
    """Each sampler a preset may name asks trials as the workers do (the sweep's own sampler, seeded per
    trial): every value within its range or among its choices."""
    from kerastui.core.run.sweep import Sweep, make_sampler

    space = {"fit.batch_size": {"choices": [32, 64]}, "model.layers[1].units": {"low": 8, "high": 32, "step": 8}}
    if sampler != "grid":
        space["compile.learning_rate"] = {"low": 1e-4, "high": 1e-1, "log": True}
    folder = SweepDir(tmp_path / "runs" / "sweeps" / sampler)
    folder.path.mkdir(parents=True)
    preset = presets.load(swept, {"sweep.sampler": sampler, "sweep.seed": 3, "sweep.space": space})
    make_study(folder, preset, 0)
    sweep = Sweep(folder, Storage(str(folder.journal_path)))
    for number in range(4):
        sweep.study.sampler = make_sampler(sweep, number)
        trial = sweep.study.ask(distributions(sweep.dimensions()))
        assert trial.params["fit.batch_size"] in (32, 64) and trial.params["model.layers[1].units"] in (8, 16, 24, 32)
        if sampler != "grid":
            assert 1e-4 <= trial.params["compile.learning_rate"] <= 1e-1
        sweep.study.tell(trial, 0.5)
    if sampler == "grid":  # four different points of the 2 × 4 grid
        assert len({tuple(t.params.values()) for t in sweep.frozen_trials()}) == 4


def test_a_timeout_counts_the_sweeps_running_time_not_its_stops(swept: Path, tmp_path: Path) -> None:
    import time

    from kerastui.core.run.sweep import Sweep

    folder = SweepDir(tmp_path / "runs" / "sweeps" / "timed")
    folder.path.mkdir(parents=True)
    make_study(folder, presets.load(swept), 1)
    sweep = Sweep(folder, Storage(str(folder.journal_path)))
    sweep.set_facts(timeout=60.0, clock={"used": 59.0, "since": None})  # stopped after 59 s of work
    assert not sweep.out_of_time()  # a stop's pause does not count
    sweep.set_facts(clock={"used": 59.0, "since": time.time() - 5})  # resumed 5 s ago
    assert sweep.out_of_time()
    fresh = Sweep(folder, Storage(str(folder.journal_path)))  # another process reads the same facts
    assert fresh.out_of_time() and fresh.target == 1


def test_parallel_gpus_without_a_gpu_is_one_line(swept: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU visible, whatever this machine has
    done = run_cli("sweep", "start", str(swept), "--parallel", "gpus", "--runs-dir", str(tmp_path / "runs"), env=env)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert 'sweep.parallel: "gpus", but no GPU is visible here' in done.stderr
    assert not (tmp_path / "runs").exists()

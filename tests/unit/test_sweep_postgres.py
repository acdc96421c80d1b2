"""A sweep over several machines (issue 27): a real PostgreSQL server started by the test, one study
in it, ``sweep start --storage`` on one "machine" and ``sweep join`` on another (each its own host
name, through ``$KERASTUI_HOST``, and its own runs folder).  Both machines' trials are in the one
table on either of them; each machine keeps its own trials' run directories; the storage URL's
password appears in no output, no log, no run directory and no process's arguments.

PostgreSQL's ``initdb`` and ``pg_ctl`` refuse to run as root: they run as the ``postgres`` user.
Skipped, saying why, only where PostgreSQL's binaries are absent (``.ci/run`` installs them).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PRESETS, run_cli

PASSWORD = "s3cret-Pw-9f41"  # must never be seen
WAIT = 400.0
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
EX1 = (PRESETS / "ex1.toml").read_text(encoding="utf-8")
SWEEP = """
[sweep]
trials = 4
parallel = 1
objective = "val_accuracy"
seed = 11
[sweep.space]
"model.layers[1].units" = { low = 16, high = 64, step = 16 }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL server of its own on a free port, a password-protected user and a database: its URL."""
    if not BIN:
        pytest.skip("PostgreSQL is not installed here (/usr/lib/postgresql/*/bin/initdb); .ci/run installs it")
    bin_dir = Path(BIN[-1]).parent
    user = pwd.getpwnam("postgres") if "postgres" in {p.pw_name for p in pwd.getpwall()} else None
    if os.geteuid() == 0 and user is None:
        pytest.skip("no postgres user to run PostgreSQL as (initdb refuses root)")
    base = Path(tempfile.mkdtemp(prefix="kerastui-pg-"))
    data, sockets, pwfile = base / "data", base / "sock", base / "pw"
    sockets.mkdir()
    pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        assert user is not None
        for path in (base, sockets, pwfile):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "kerastui", "-A",
                    "scram-sha-256", f"--pwfile={pwfile}"], check=True, capture_output=True, timeout=120)
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                    f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kerastui", "sweeps"],
                       check=True, capture_output=True, env=env, timeout=60)
        yield f"postgresql://kerastui:{PASSWORD}@127.0.0.1:{port}/sweeps"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def machine(host: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KERASTUI_HOST"] = host
    env.pop("KERASTUI_SWEEP_STORAGE", None)
    return env


def everything_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_two_machines_share_one_study_in_postgresql(database: str, tmp_path: Path) -> None:
    alpha, beta = tmp_path / "alpha-runs", tmp_path / "beta-runs"
    preset = tmp_path / "pg.toml"
    preset.write_text(EX1 + SWEEP, encoding="utf-8")
    said: list[str] = []

    started = run_cli("sweep", "start", str(preset), "--storage", database, "--name", "shared", "--runs-dir",
                      str(alpha), "--set", "fit.epochs=3", "--set", "data.samples=600", env=machine("alpha"),
                      timeout=WAIT)
    said += [started.stdout, started.stderr]
    assert started.returncode == 0, started.stderr
    arguments = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in os.listdir("/proc") if pid.isdigit()
                 and Path(f"/proc/{pid}/cmdline").exists()]
    joined = run_cli("sweep", "join", "shared", "--storage", database, "--runs-dir", str(beta), "--json",
                     env=machine("beta"), timeout=WAIT)
    said += [joined.stdout, joined.stderr]
    assert joined.returncode == 0, joined.stderr
    # beta waited for the sweep's end: every trial of both machines is in its table
    summary: dict[str, Any] = json.loads(joined.stdout)
    assert summary["state"] == "completed" and [t["number"] for t in summary["trials"]] == [0, 1, 2, 3]
    assert {t["host"] for t in summary["trials"]} == {"alpha", "beta"}
    assert {t["state"] for t in summary["trials"]} <= {"completed", "pruned"}
    assert summary["storage"].startswith("postgresql+psycopg://kerastui@127.0.0.1:")

    # and on alpha (whose folder has the URL without its password: PGPASSWORD supplies it)
    env = {**machine("alpha"), "PGPASSWORD": PASSWORD}
    status = run_cli("sweep", "status", "shared", "--json", "--runs-dir", str(alpha), env=env, timeout=WAIT)
    said += [status.stdout, status.stderr]
    assert status.returncode == 0, status.stderr
    table = json.loads(status.stdout)
    assert [(t["number"], t["host"], t["value"]) for t in table["trials"]] == \
        [(t["number"], t["host"], t["value"]) for t in summary["trials"]]
    for trial in table["trials"]:  # each machine keeps its own trials' runs
        folder = alpha if trial["host"] == "alpha" else beta
        assert Path(trial["run_dir"]).parent == folder and Path(trial["run_dir"]).is_dir()
        assert trial["objective"] and int(max(trial["objective"], key=int)) == trial["epoch"]
    text = run_cli("sweep", "status", "shared", "--runs-dir", str(beta), env={**machine("beta"),
                                                                              "PGPASSWORD": PASSWORD})
    said += [text.stdout, text.stderr]
    assert " alpha " in text.stdout and " beta " in text.stdout
    best = run_cli("sweep", "best", "shared", "--runs-dir", str(alpha), "--storage", database, env=machine("alpha"))
    said += [best.stdout, best.stderr]
    assert best.returncode == 0 and "best trial" in best.stdout

    # the password: in no output, no file of either machine, no process's arguments
    assert all(PASSWORD not in s for s in said)
    assert PASSWORD.encode() not in everything_under(alpha) + everything_under(beta)
    assert not any(PASSWORD.encode() in a for a in arguments)
    # without it, a machine says how to give it, in one line
    bare = run_cli("sweep", "status", "shared", "--runs-dir", str(alpha), env={**machine("alpha"), "PGPASSWORD": ""})
    assert bare.returncode == 1 and "PGPASSWORD" in bare.stderr and len(bare.stderr.strip().splitlines()) == 1


def test_joining_a_sweep_that_is_not_there_is_one_line(database: str, tmp_path: Path) -> None:
    done = run_cli("sweep", "join", "nothing-here", "--storage", database, "--runs-dir", str(tmp_path / "runs"),
                   timeout=WAIT)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "no such sweep" in done.stderr and PASSWORD not in done.stderr
    assert not (tmp_path / "runs").exists()

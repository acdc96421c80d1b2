"""Keys written to a real terminal in one write (as a paste or a slow SSH link delivers them) end as
the same keys pressed one by one (issue 26).

A real ``python -m kerastui`` on a pseudo-terminal of 80×24; each random key sequence is written as
escape sequences in ONE ``os.write``; the screen is read back through a terminal emulator (pyte)
and the field's text compared with the keys applied one by one to ``LineEditor`` (the editing model
checked against a real Input key for key in tests/ui/test_line_editor.py).
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest

from kerastui.ui.widgets.line_editor import LineEditor

W, H = 80, 24
SEQUENCES = {  # what the terminal sends for a key
    "backspace": b"\x7f", "delete": b"\x1b[3~", "left": b"\x1b[D", "right": b"\x1b[C", "home": b"\x1b[H",
    "end": b"\x1b[F", "down": b"\x1b[B", "f4": b"\x1bOS", "ctrl+e": b"\x05", "ctrl+u": b"\x15",
}
PASTE = b"\x1b[200~%s\x1b[201~"  # bracketed paste (Textual turns it on)
FILTER_PLACEHOLDER = "/ filter"
ROOM = 20  # the runs filter is 28 cells wide: texts kept shorter are shown whole, never scrolled

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux pseudo-terminal")


class Terminal:
    """``python -m kerastui`` on a pseudo-terminal, its screen kept by a terminal emulator."""

    def __init__(self, home: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", H, W, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
               "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
               "KERASTUI_RUNS": str(home / "runs"), "KERASTUI_PRESETS": str(home / "presets")}
        self.proc = subprocess.Popen([sys.executable, "-m", "kerastui"], stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, env=env, cwd=home)
        os.close(slave)
        self.screen = pyte.Screen(W, H)
        self.stream = pyte.ByteStream(self.screen)

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.stream.feed(os.read(self.master, 65536))
                except OSError:
                    return

    def lines(self) -> list[str]:
        return list(self.screen.display)

    def wait_for(self, what: str, found: Callable[[list[str]], object], seconds: float = 120) -> object:
        """Read the screen until ``found(lines)`` is true (returning it); fail saying ``what`` and the screen."""
        deadline = time.monotonic() + seconds
        while True:
            result = found(self.lines())
            if result:
                return result
            assert self.proc.poll() is None, f"kerastui ended ({self.proc.returncode}):\n" + "\n".join(self.lines())
            assert time.monotonic() < deadline, f"never saw {what}; the screen:\n" + "\n".join(self.lines())
            self.read(0.05)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def keys_bytes(keys: list[str]) -> bytes:
    out = b""
    for key in keys:
        if key.startswith("paste:"):
            out += PASTE % key[len("paste:"):].encode()
        else:
            out += SEQUENCES.get(key, key.encode())
    return out


def one_by_one(keys: list[str]) -> tuple[str, int]:
    """The text the keys leave in an empty field, and the longest it was on the way."""
    editor, longest = LineEditor(), 0
    for key in keys:
        if key.startswith("paste:"):
            editor.insert(key[len("paste:"):])
        elif not editor.key(key):
            editor.insert(key)
        longest = max(longest, len(editor.value))
    return editor.value, longest


def random_keys(rng: random.Random) -> list[str]:
    pool = list("abcxyz0159_") + ["backspace", "delete", "left", "right", "home", "end"] * 2
    while True:
        keys = [f"paste:{rng.choice(['ab', 'x1', 'path/to'])}" if rng.random() < 0.06 else rng.choice(pool)
                for _ in range(rng.randint(6, 18))]
        text, longest = one_by_one(keys)
        if text and longest <= ROOM:  # (an empty field shows its placeholder: a text reads better)
            return keys


def filter_text(lines: list[str], column: int) -> str:
    return lines[1][column:column + ROOM + 1].rstrip()


def test_key_sequences_written_at_once_to_the_runs_filter_end_as_typed_one_by_one(terminal):
    terminal.wait_for("the Data workspace", lambda lines: "Source" in lines[1])
    terminal.write(b"h")
    column = terminal.wait_for("the runs filter", lambda lines: lines[1].find(FILTER_PLACEHOLDER) + 1)
    column = int(column) - 1
    terminal.write(b"/")
    terminal.wait_for("the filter focused", lambda lines: "Leave field" in lines[-1])
    rng = random.Random(26)
    wrong = []
    for _ in range(20):
        keys = random_keys(rng)
        expected, _ = one_by_one(keys)
        terminal.write(keys_bytes(["ctrl+e", "ctrl+u"]))  # empty the field
        terminal.wait_for("the filter emptied", lambda lines: filter_text(lines, column) == FILTER_PLACEHOLDER)
        terminal.write(keys_bytes(keys))  # the whole sequence in one write
        try:
            terminal.wait_for(repr(expected), lambda lines, text=expected: filter_text(lines, column) == text,
                              seconds=30)
        except AssertionError:
            wrong.append((keys, expected, filter_text(terminal.lines(), column)))
    assert not wrong, wrong[:5]


def test_epochs_down_batch_size_written_at_once_go_to_their_two_fields(terminal):
    """80, ↓, 8 in one write in the Train settings: epochs 80 and batch size 8 (808 and 32 before)."""

    def field(lines: list[str], label: str) -> str | None:
        for line in lines:
            if (match := re.match(rf"^ {label}\s+(\S*)", line)) is not None:
                return match.group(1)
        return None

    terminal.wait_for("the Data workspace", lambda lines: "Source" in lines[1])
    terminal.write(b"t")
    terminal.wait_for("the Train settings", lambda lines: field(lines, "epochs") == "10")
    terminal.write(keys_bytes(["down"] * 6))  # optimizer → args, learn rate, loss, args, metrics, epochs
    terminal.wait_for("epochs being edited", lambda lines: "Leave field" in lines[-1])
    terminal.write(keys_bytes(["8", "0", "down", "8"]))
    terminal.wait_for("epochs 80 and batch size 8",
                      lambda lines: (field(lines, "epochs"), field(lines, "batch size")) == ("80", "8"), seconds=60)

"""Mutated presets: what a careless edit, a script or a fuzzer hands ``kerastui``.

``mutant(rng)`` takes a shipped preset's table and applies one to three mutations: a deleted
key, a value of the wrong type, a huge, negative, zero, NaN or infinite number, unicode, a long
string, a nested table, an unknown key, duplicated list items, a 10,000-layer stack, a hostile
payload in a string field (code for a generated script, terminal escapes, CSV formulas, paths out
of the run directory, device files) — or breaks the TOML text itself.

Used by the suite's hypothesis test (``check``, no training) and by
``bench/fuzz_presets.py`` (``train`` on ≥ 1,000 mutants).
"""

from __future__ import annotations

import copy
import math
import random
import sys
from pathlib import Path
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESETS = Path(__file__).resolve().parents[1] / "presets"
NAMES = ("ex1", "ex2", "ex3", "ex4", "ex5")
# A 50,000-character string copied into 10,000 layers is a 500 MB file: a test of the disk, not of
# kerastui. Mutants stay under 2 MB (a 10,000-layer stack of plain layers is ~600 KB).
MAX_TEXT = 2_000_000

NUMBERS: tuple[Any, ...] = (-1, 0, 1, 2, 3, 7, 64, 1000, 2**31, 2**32, 2**40, 10**12, -10**9, 0.5, 1e-9, 1e30,
                            -0.5, math.nan, math.inf, -math.inf)
STRINGS: tuple[str, ...] = ("", "données", "🙂" * 12, "\u202eevil", "relu", "adam", "x" * 5000, "y" * 50_000,
                            "keras:nope", "npz:missing.npz", "csv:/etc/passwd", "images:/", "../../etc",
                            "synthetic:images", "sklearn:wine", "file.py:Nope", "None", "nan")

# What an attacker writes into a string field (issue 25). Code payloads touch MARKER in the working
# folder when run: a fuzz run that finds one has found code run from preset text.
MARKER = "PWNED"
PAYLOADS: tuple[str, ...] = (
    'x"""\nimport os; os.system("touch PWNED")\n"""', "x'''\nimport os; os.system('touch PWNED')\n'''",
    "logs\nimport os; os.system('touch PWNED')", "inp[__import__('os').system('touch PWNED')]",
    "a\\", "#", "a # b", "__import__('os').system('touch PWNED')", "x\u2028import os", "x\u2029y",
    "nul\x00byte", "out\x1b]0;evil\x07", "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J\x1b[H", "c1\x9b31m", "\u202eevil",
    "=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "[b]bold[/b]", "[/]",
    "top2 acc", "../../outside", "/etc/passwd", "npz:/dev/zero", "csv:/dev/zero", "images:/proc",
)
PAYLOAD_NAMES: tuple[str, ...] = ('a"""+__import__("os").system("touch PWNED")+"""', "ex \x1b]0;t\x07",
                                  "=HYPERLINK(1)", "\u202egnp", "my preset")


def base(name: str, *, offline: bool = True) -> dict[str, Any]:
    """A shipped preset's table; ``offline`` swaps Keras downloads for local data and no weights."""
    data = tomllib.loads((PRESETS / f"{name}.toml").read_text(encoding="utf-8"))
    if offline:
        source = data.get("data", {}).get("source", "")
        if source.startswith("keras:"):
            data["data"]["source"] = "sklearn:digits"
            data["data"].pop("classes", None)
        if "transfer" in data:
            data["transfer"]["weights"] = "none"
    return data


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in a nested table (tables and lists included)."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(value, (*prefix, i)))
    return out


def _parent(root: Any, path: tuple) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.random()
    if kind < 0.4:
        return rng.choice(NUMBERS)
    if kind < 0.65:
        return rng.choice(STRINGS)
    if kind < 0.75:
        return rng.choice([True, False])
    if kind < 0.88 or depth > 1:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["type", "units", "a", "shape", "rate", "données"]): random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def similar_value(rng: random.Random, value: Any) -> Any:
    """A value of the same type, at an edge: what passes a type check and tests a range check."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([n for n in NUMBERS if isinstance(n, int)])
    if isinstance(value, float):
        return rng.choice([n for n in NUMBERS if isinstance(n, float)] + [0.0, 1.0, 0.999])
    if isinstance(value, str):
        return rng.choice(STRINGS)
    if isinstance(value, list):
        return [similar_value(rng, v) for v in value] if value else [rng.choice(NUMBERS)]
    return random_value(rng)


def mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        paths = _paths(data)
        op = rng.random()
        if not paths or op < 0.05:
            data[rng.choice(["colour", "data", "model", "fit", "compile", "extra"])] = random_value(rng)
            continue
        if op > 0.8:  # a hostile payload in a string field: one that is there, the title or a layer's name
            texts = [p for p in paths if isinstance(_parent(data, p)[p[-1]], str)]
            layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
            if isinstance(layers, list):
                texts += [("model", "layers", i, "name") for i, layer in enumerate(layers) if isinstance(layer, dict)]
            texts.append(("title",))
            path = rng.choice(texts)
            _parent(data, path)[path[-1]] = rng.choice(PAYLOADS)
            continue
        path = rng.choice(paths)
        parent = _parent(data, path)
        last = path[-1]
        if op < 0.25:
            del parent[last]
        elif op < 0.6:
            parent[last] = similar_value(rng, parent[last]) if rng.random() < 0.6 else random_value(rng)
        elif op < 0.66 and isinstance(parent[last], list) and parent[last]:
            parent[last] = parent[last] + [rng.choice(parent[last])]
        elif op < 0.7:
            layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
            if isinstance(layers, list) and layers:
                data["model"]["layers"] = layers[:1] + [copy.deepcopy(layers[-1])] * rng.choice([600, 10_000])
        elif op < 0.76 and isinstance(parent, dict):
            parent[rng.choice(["units2", "sourc", "epochz", "données", "shape"])] = random_value(rng)
        else:
            parent[last] = {"nested": {"deeper": random_value(rng)}}
    return data


def mutant_text(rng: random.Random, name: str | None = None) -> tuple[str, str]:
    """(preset name, TOML text) of one mutant; one in twelve is broken TOML."""
    name = name or rng.choice(NAMES)
    while True:
        data = mutate(base(name), rng)
        try:
            text = tomli_w.dumps(data)
        except (TypeError, ValueError):  # a value TOML cannot hold: keep the shipped text, broken below
            text = (PRESETS / f"{name}.toml").read_text(encoding="utf-8")
        if len(text) <= MAX_TEXT:
            break
    if rng.random() < 1 / 12:
        cut = rng.randint(0, len(text))
        text = text[:cut] + rng.choice(["", "=", "[[", "\x00", "\"", "\ufeff", "]]]\n[data"]) + text[cut + 1:]
    return name, text

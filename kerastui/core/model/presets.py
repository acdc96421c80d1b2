"""Preset files: TOML in, validated :class:`Preset` out, and back.

A preset is named by a shipped name (``ex1``), a name in the user's presets directory, or a
path to a ``.toml`` file.  ``--set data.limit=256``-style overrides are applied to the raw
table before validation, so an override is checked exactly like a value in the file.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerastui.core.errors import PresetError
from kerastui.core.model.presetdirs import locate, shipped_dir, user_dir
from kerastui.core.model.specs import Preset
from kerastui.core.model.sweepspace import check_sweep

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class PresetInfo:
    name: str
    path: Path
    origin: str  # "shipped" | "user"
    title: str
    description: str
    source: str
    error: str | None = None


def available() -> list[PresetInfo]:
    """Shipped presets, then the user's; a user preset with a shipped name shadows it."""
    found: dict[str, PresetInfo] = {}
    for origin, folder in (("shipped", shipped_dir()), ("user", user_dir())):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml"), key=_natural):
            try:
                preset = load(path)
                info = PresetInfo(path.stem, path, origin, preset.title, preset.description, preset.data.source)
            except PresetError as error:
                info = PresetInfo(path.stem, path, origin, "", "", "", error=str(error))
            found[path.stem] = info
    return list(found.values())


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """The file a preset argument names: a path to an existing .toml, or a known name."""
    text = str(name_or_path)
    path, kind = locate(text)
    if path is not None:
        return path
    if kind == "path":
        raise PresetError(text, None, "no such preset file")
    names = [info.name for info in available()]
    close = difflib.get_close_matches(text, names, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known presets: {', '.join(names)}"
    raise PresetError(text, None, f"no preset of that name; {hint}")


def load(name_or_path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Preset:
    path = resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte-order mark is not TOML
    except (OSError, UnicodeDecodeError) as error:
        raise PresetError(str(path), None, f"cannot read: {error}") from None
    preset = loads(text, where=str(path), overrides=overrides)
    preset.path = path.resolve()
    preset.name = path.stem
    return preset


def loads(text: str, where: str = "preset", overrides: dict[str, Any] | None = None) -> Preset:
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))  # tomllib rejects a byte-order mark
    except tomllib.TOMLDecodeError as error:
        raise PresetError(where, None, f"invalid TOML: {error}") from None
    if overrides:
        data = apply_overrides(data, overrides, where)
    preset = Preset.from_dict(data, where)
    if preset.sweep is not None:  # each value the space may give is checked as a --set of it would be
        check_sweep(preset, where, lambda values: Preset.from_dict(apply_overrides(data, values, where), where))
    return preset


def dumps(preset: Preset) -> str:
    import tomli_w

    data = preset.to_dict()
    # Multi-line strings read best, but TOML folds "\r\n" in them to "\n": only use them when exact.
    return tomli_w.dumps(data, multiline_strings=not _has_cr(data))


def _has_cr(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_cr(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cr(v) for v in value)
    return False


def save(preset: Preset, path: str | os.PathLike[str]) -> Path:
    """Write atomically: a failed write never damages an existing preset."""
    path = Path(path).expanduser()
    text = dumps(preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """Set dotted keys (``fit.epochs``) in a copy of the raw table; ``layers[1].units`` works too."""
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = _split_key(dotted, where)
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(part, str) and not isinstance(node, dict):
                raise PresetError(where, dotted, f"'{part}' is inside a list: give an index first, like [0]")
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    raise PresetError(where, dotted, f"index {part} is out of range")
                node = node[part]
                continue
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
            if not isinstance(node, (dict, list)):
                raise PresetError(where, dotted, f"'{part}' is a value, not a table")
        last = parts[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise PresetError(where, dotted, f"index {last} is out of range")
        elif not isinstance(node, dict):
            raise PresetError(where, dotted, "cannot set a key inside a list")
        node[last] = value
    return data


def lookup(data: dict[str, Any], dotted: str, where: str = "preset") -> Any:
    """The value at a dotted key (``model.layers[1].units``) of a raw table; KeyError when absent."""
    node: Any = data
    for part in _split_key(dotted, where):
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` where value is a TOML value, or a bare string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise PresetError("--set", text, "must look like key=value, e.g. fit.epochs=3")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


# A bare part, an index, or a quoted part (a key with dots: sweep.space."fit.batch_size".high).
_KEY_PART = re.compile(r'([^.\[\]"]+)|\[(\d+)\]|"([^"]+)"')


def _split_key(dotted: str, where: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    while pos < len(dotted):
        if dotted[pos] == ".":
            pos += 1
            continue
        match = _KEY_PART.match(dotted, pos)
        if not match:
            raise PresetError(where, dotted, "not a valid dotted key")
        quoted = match.group(3)
        parts.append(quoted if quoted is not None else match.group(1) if match.group(1) is not None
                     else int(match.group(2)))
        pos = match.end()
    if not parts:
        raise PresetError(where, dotted, "empty key")
    return parts


def _natural(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]

"""A preset's ``[sweep]`` section, checked against the preset it sweeps, and its space as Optuna
distributions.

The space's keys are written as ``--set`` writes them (``"compile.learning_rate"``,
``"model.layers[1].units"``) and a trial's values are applied with the same key machinery
(:func:`kerastui.core.model.presets.apply_overrides`).  So a space is checked by making the preset
each end of every range (and every choice) would give — exactly as a ``--set`` of that value is
checked — when the preset file is read (``presets.loads`` hands :func:`check_sweep` its maker):

    [sweep.space]
    "compile.learning_rate" = { low = 1e-4, high = 1e-1, log = true }
    "fit.batch_size" = { choices = [32, 64, 128] }
    "model.layers[1].units" = { low = 8, high = 128, step = 8 }

Plain Python: Optuna is imported only to make distributions.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import PresetError
from kerastui.core.model.metricnames import logged_name, lower_is_better
from kerastui.core.model.specs import LayerSpec, ObjectSpec, Preset, SweepSpec

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

RANGE_KEYS = ("low", "high", "log", "step")
MAX_SLOTS = 256  # trials at once on one machine
GRID_MAX = 100_000  # points a grid sampler may enumerate
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Dimension:
    """One key of the space: a range (``low``..``high``, ``log``, ``step``) or ``choices``."""

    key: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Scalar, ...] | None = None

    @property
    def label(self) -> str:
        """How the preset spells it: ``sweep.space."fit.batch_size"``."""
        return space_key(self.key)

    @property
    def integer(self) -> bool:
        """A range of whole numbers: ``low``, ``high`` (and ``step``) written as integers."""
        return self.choices is None and all(isinstance(v, int) and not isinstance(v, bool)
                                            for v in (self.low, self.high, self.step) if v is not None)

    def ends(self) -> list[Scalar]:
        """The values that check this dimension: both ends of a range, every choice."""
        if self.choices is not None:
            return list(self.choices)
        assert self.low is not None and self.high is not None
        return [self.low, self.high]

    def grid(self) -> list[Scalar] | None:
        """Every value a grid visits (choices, or a stepped range); None for a continuous range."""
        if self.choices is not None:
            return list(self.choices)
        assert self.low is not None and self.high is not None
        step = self.step if self.step is not None else (1 if self.integer else None)
        if step is None:
            return None
        count = int(round((self.high - self.low) / step)) + 1
        if count > GRID_MAX:
            return None
        values = [self.low + i * step for i in range(count)]
        return [int(v) for v in values] if self.integer else [float(v) for v in values]

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.choices is not None:
            return CategoricalDistribution(list(self.choices))
        assert self.low is not None and self.high is not None
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log,
                                   step=int(self.step) if self.step is not None else 1)
        return FloatDistribution(float(self.low), float(self.high), log=self.log,
                                 step=float(self.step) if self.step is not None else None)


def space_key(key: str) -> str:
    return f'sweep.space."{key}"'


def dimensions(spec: SweepSpec, where: str) -> list[Dimension]:
    """The space's entries, each checked for its own shape (a range or choices)."""
    if not spec.space:
        raise PresetError(where, "sweep.space", 'is empty: name at least one key to sweep, e.g. '
                                                '"compile.learning_rate" = { low = 1e-4, high = 1e-1, log = true }')
    return [_dimension(key, entry, where) for key, entry in spec.space.items()]


def _dimension(key: str, entry: Any, where: str) -> Dimension:
    label = space_key(key)
    if not isinstance(key, str) or not key.strip():
        raise PresetError(where, label, "an empty key")
    if key.split(".")[0].split("[")[0] == "sweep":
        raise PresetError(where, label, "the sweep section itself cannot be swept")
    if not isinstance(entry, dict):
        raise PresetError(where, label, f"must be a table: {{ low = …, high = … }} or {{ choices = [...] }}, "
                                        f"got {_show(entry)}")
    if "choices" in entry:
        extra = [k for k in entry if k != "choices"]
        if extra:
            raise PresetError(where, f"{label}.{extra[0]}", "unknown key beside choices (a table has choices, "
                                                            "or low and high with log and step)")
        return Dimension(key, choices=_choices(entry["choices"], where, f"{label}.choices"))
    unknown = [k for k in entry if k not in RANGE_KEYS]
    if unknown:
        raise PresetError(where, f"{label}.{unknown[0]}", f"unknown key; known keys: choices, {', '.join(RANGE_KEYS)}")
    for end in ("low", "high"):
        if end not in entry:
            raise PresetError(where, label, f"needs '{end}' (a range is low, high[, log][, step]; or give choices)")
    low, high = (_number(entry[e], where, f"{label}.{e}") for e in ("low", "high"))
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise PresetError(where, f"{label}.log", f"must be true or false, got {_show(log)}")
    step = _number(entry["step"], where, f"{label}.step") if "step" in entry else None
    if low >= high:
        raise PresetError(where, f"{label}.low", f"low ({_show(low)}) must be below high ({_show(high)})")
    if log and low <= 0:
        raise PresetError(where, f"{label}.low", f"a log range needs low > 0, got {_show(low)}")
    if step is not None:
        if step <= 0:
            raise PresetError(where, f"{label}.step", f"must be > 0, got {_show(step)}")
        if log:
            raise PresetError(where, f"{label}.step", "a log range takes no step (give one or the other)")
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
            raise PresetError(where, f"{label}.step", f"high - low ({_show(high - low)}) is not a whole number "
                                                      f"of steps of {_show(step)}")
    return Dimension(key, low=low, high=high, log=log, step=step)


def _number(value: Any, where: str, key: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PresetError(where, key, f"must be a number, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PresetError(where, key, f"must be a finite number, got {value}")
    return value


def _choices(value: Any, where: str, key: str) -> tuple[Scalar, ...]:
    if not isinstance(value, list):
        raise PresetError(where, key, f"must be a list, got {_show(value)}")
    if not value:
        raise PresetError(where, key, "is empty: give at least one value")
    seen: list[Any] = []
    for i, item in enumerate(value):
        if not isinstance(item, (str, int, float, bool)):
            raise PresetError(where, f"{key}[{i}]", f"a choice is a number, a string or true/false, got {_show(item)}")
        if isinstance(item, float) and not math.isfinite(item):
            raise PresetError(where, f"{key}[{i}]", f"must be a finite number, got {item}")
        if any(type(item) is type(s) and item == s for s in seen):
            raise PresetError(where, f"{key}[{i}]", f"{_show(item)} is listed twice")
        seen.append(item)
    return tuple(value)


def timeout_seconds(value: Any, where: str = "preset") -> float | None:
    """``sweep.timeout`` in seconds: ``"8h"``, ``"1h30m"``, ``"90m"``, ``"45s"``, ``"2d"`` or a number."""
    if value is None:
        return None
    key = "sweep.timeout"
    if isinstance(value, bool):
        raise PresetError(where, key, f'must be a duration like "8h" or "90m", got {_show(value)}')
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        parts = list(_DURATION.finditer(text))
        if not parts or "".join(m.group(0) for m in parts).replace(" ", "") != text.replace(" ", ""):
            raise PresetError(where, key, f'must be a duration like "8h", "90m", "1h30m" or "45s", got {_show(value)}')
        seconds = sum(float(m.group(1)) * _UNIT_SECONDS[m.group(2)] for m in parts)
    else:
        raise PresetError(where, key, f'must be a duration like "8h" or "90m", got {_show(value)}')
    if not math.isfinite(seconds) or seconds <= 0:
        raise PresetError(where, key, f"must be a positive duration, got {_show(value)}")
    return seconds


def check_parallel(value: Any, where: str = "preset", key: str = "sweep.parallel") -> int | str:
    """``sweep.parallel``: a number of slots, or ``"gpus"``."""
    if value == "gpus":
        return "gpus"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SLOTS:
        raise PresetError(where, key, f'must be a number of trials at once in [1, {MAX_SLOTS}] or "gpus" '
                                      f"(one per visible GPU), got {_show(value)}")
    return value


def objective(preset: Preset) -> str:
    """The metric trials are judged by: ``sweep.objective``, else ``val_loss`` (``loss`` without a
    validation split) — kerastui's headline metric."""
    spec = preset.sweep
    if spec is not None and spec.objective:
        return spec.objective
    return "val_loss" if preset.data.validation_split > 0 else "loss"


def direction(preset: Preset) -> str:
    """``minimize`` or ``maximize``: ``sweep.direction``, else what the objective's name says
    (kerastui's one metric rule, :func:`~kerastui.core.model.metricnames.lower_is_better`)."""
    spec = preset.sweep
    if spec is not None and spec.direction:
        return spec.direction
    return "minimize" if lower_is_better(objective(preset)) else "maximize"


def logged_names(preset: Preset) -> list[str]:
    """What a run of the preset logs per epoch (without the ``val_`` twins): the loss and the metrics."""
    return ["loss", *(logged_name(m) for m in preset.compile.metrics)]


def trials_wanted(preset: Preset, where: str = "preset") -> int | None:
    """How many trials in all (None: as many as the timeout allows); a grid's size by default."""
    spec = preset.sweep
    assert spec is not None
    if spec.sampler == "grid":
        size = grid_size(dimensions(spec, where))
        if spec.trials is not None and spec.trials > size:
            raise PresetError(where, "sweep.trials", f"{spec.trials}, but the grid has {size} point(s)")
        return spec.trials or size
    return spec.trials


def grid_size(dims: list[Dimension]) -> int:
    return math.prod(len(d.grid() or ()) for d in dims)


def distributions(dims: list[Dimension]) -> dict[str, BaseDistribution]:
    return {d.key: d.distribution() for d in dims}


def check_sweep(preset: Preset, where: str, make: Callable[[dict[str, Any]], Preset]) -> None:
    """The ``[sweep]`` section of ``preset``, checked as a whole: its own keys, each space entry's
    shape, and each end of every range and every choice applied to the preset (``make(overrides)``
    makes the preset a ``--set`` of those values would, checked like one)."""
    spec = preset.sweep
    if spec is None:
        return
    check_parallel(spec.parallel, where)
    timeout = timeout_seconds(spec.timeout, where)
    dims = dimensions(spec, where)
    if spec.sampler == "grid":
        for d in dims:
            if d.grid() is None:
                raise PresetError(where, d.label, "the grid sampler needs choices or a step for every key")
    if spec.trials is None and timeout is None and spec.sampler != "grid":
        raise PresetError(where, "sweep.trials", 'give the number of trials (trials = 20), a timeout '
                                                 '(timeout = "8h"), or both')
    trials_wanted(preset, where)
    names = logged_names(preset)
    goal = objective(preset)
    if goal.removeprefix("val_") not in names and goal != "learning_rate" and not preset.compile.custom_metrics:
        raise PresetError(where, "sweep.objective", f"{_show(goal)} is not logged by this preset; it logs "
                                                    f"{', '.join(names)} (and val_… of each with validation data)")
    for d in dims:
        for value in d.ends():
            try:
                made = make({d.key: value})
            except PresetError as error:
                inner = f"{error.key}: {error.reason}" if error.key else error.reason
                raise PresetError(where, d.label, f"{_show(value)}: {inner}") from None
            added = _new_arguments(preset, made)
            if added is not None:
                raise PresetError(where, d.label, f"{added[0]} has no '{added[1]}' in the preset: a Keras "
                                                  f"argument is swept where the preset gives it (write "
                                                  f"{added[1]} = … in it first)")


def _new_arguments(base: Any, made: Any, path: str = "") -> tuple[str, str] | None:
    """Where ``made`` has an argument of a Keras table (a layer, an optimizer, a dict of arguments)
    that ``base`` lacks: (the table's key, the new argument), or None."""
    if isinstance(base, (LayerSpec, ObjectSpec)) and isinstance(made, type(base)):
        new = [k for k in made.kwargs if k not in base.kwargs]
        return (path, new[0]) if new else None
    if isinstance(base, dict) and isinstance(made, dict):
        new = [k for k in made if k not in base]
        if new:
            return (path, str(new[0]))
        return next((found for k in base if k in made
                     if (found := _new_arguments(base[k], made[k], f"{path}.{k}")) is not None), None)
    if isinstance(base, list) and isinstance(made, list):
        return next((found for i, (b, m) in enumerate(zip(base, made, strict=False))
                     if (found := _new_arguments(b, m, f"{path}[{i}]")) is not None), None)
    if dataclasses.is_dataclass(base) and not isinstance(base, type) and type(made) is type(base):
        for f in dataclasses.fields(base):
            if f.metadata.get("transient") or f.name == "sweep":
                continue
            found = _new_arguments(getattr(base, f.name), getattr(made, f.name),
                                   f"{path}.{f.name}" if path else f.name)
            if found is not None:
                return found
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

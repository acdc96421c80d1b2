"""Memory bounds checked before anything is allocated.

A preset can ask for more than a machine has (``data.features = 1000000000``, a ``Dense`` of a
billion units): allocating first ends in a MemoryError, TensorFlow's OOM, or a machine that
swaps and hangs.  Each estimate here is made from shapes alone and refused with one line that
says how much it would take and how much there is.

The model estimate builds the model inside ``keras.StatelessScope(initialize_variables=False)``:
every weight gets its shape but no memory.  Keras keeps the uninitialised variables in a
per-thread registry that the next stateless scope would initialise, so the estimate runs in a
thread of its own and the registry goes with it.
"""

from __future__ import annotations

import math
import os
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kerastui.core.errors import ResourceError
from kerastui.core.tfenv import load_keras

if TYPE_CHECKING:
    from kerastui.core.model.builder import StackReport
    from kerastui.core.model.specs import Preset

_T = TypeVar("_T")

# Of what the machine has free, how much one preset may plan to use: the TUI, TensorFlow's own
# buffers and the rest of the box need the remainder.
USABLE_FRACTION = 0.8
# Bytes a training step holds per parameter: weights, gradients and an optimizer's two slots
# (Adam, RMSprop with momentum), float32.
BYTES_PER_PARAMETER = 16
# Bytes per activation value per sample: the forward output and its gradient, float32.
BYTES_PER_ACTIVATION = 8


def available_memory() -> int:
    """Bytes this process can still get: MemAvailable, capped by a cgroup (container) limit."""
    free = _meminfo_available()
    limit = _cgroup_room()
    candidates = [value for value in (free, limit) if value is not None]
    if not candidates:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):  # pragma: no cover - not Linux
            return 1 << 62
    return min(candidates)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """Room left under this process's cgroup memory limit (v2 or v1), page cache counted as free."""
    for limit_name, usage_name, folder in _cgroup_files():
        try:
            limit = (folder / limit_name).read_text().strip()
            if limit == "max" or int(limit) >= 1 << 60:  # no limit (v1 writes a huge number)
                continue
            usage = int((folder / usage_name).read_text().strip())
            usage -= _reclaimable(folder / "memory.stat")
            return max(int(limit) - usage, 0)
        except (OSError, ValueError):
            continue
    return None


def _cgroup_files() -> list[tuple[str, str, Path]]:
    """(limit file, usage file, folder) candidates: this process's own cgroup first, then the root."""
    root = Path("/sys/fs/cgroup")
    found: list[tuple[str, str, Path]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, relative = parts
        relative = relative.lstrip("/")
        if controllers == "":  # v2 unified hierarchy
            found.append(("memory.max", "memory.current", root / relative))
        elif "memory" in controllers.split(","):  # v1
            found.append(("memory.limit_in_bytes", "memory.usage_in_bytes", root / "memory" / relative))
    found += [("memory.max", "memory.current", root),
              ("memory.limit_in_bytes", "memory.usage_in_bytes", root / "memory")]
    return found


def _reclaimable(stat_file: Path) -> int:
    """Page cache the kernel gives back under pressure (counted in a cgroup's usage)."""
    try:
        for line in stat_file.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in ("inactive_file", "total_inactive_file"):
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def size_text(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:,.1f} PiB"  # pragma: no cover


def require(nbytes: float, what: str) -> None:
    """Refuse ``what`` when it needs more than the usable share of free memory."""
    free = available_memory()
    usable = int(free * USABLE_FRACTION)
    if nbytes > usable:
        raise ResourceError(f"{what}: needs {size_text(nbytes)} of memory; this machine has "
                            f"{size_text(free)} available")


def elements(*dims: int) -> int:
    """The product of dims as a Python int (no overflow, whatever the preset says)."""
    return math.prod(int(d) for d in dims)


# --------------------------------------------------------------------------- models


@dataclass
class ModelEstimate:
    parameters: int
    activations_per_sample: int  # output values of every layer for one sample
    batch_size: int
    largest: str = ""  # the layer holding the most parameters, e.g. "dense (Dense, 20,000 parameters)"

    @property
    def bytes(self) -> int:
        return (self.parameters * BYTES_PER_PARAMETER
                + self.activations_per_sample * self.batch_size * BYTES_PER_ACTIVATION)

    def to_dict(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "activations_per_sample": self.activations_per_sample,
                "batch_size": self.batch_size, "bytes": self.bytes}


def estimate_model(preset: Preset, input_shape: tuple[int, ...], samples: int | None = None, *,
                   trusted: bool = False) -> ModelEstimate | None:
    """Parameters and activation sizes of a preset's model, without allocating.

    ``samples`` caps the batch (when known).  A transfer base is measured without its weights
    (the size is the same; nothing is downloaded).  ``None`` for a subclass model: its size is
    known only by running its code.  A spec Keras rejects raises the builder's own
    ``ModelError``, exactly like the real build would.
    """
    if preset.model.type == "subclass":
        return None
    if preset.transfer is not None and preset.transfer.weights != "none":
        preset = replace(preset, transfer=replace(preset.transfer, weights="none"))
    return _in_own_thread(lambda: _measure(preset, input_shape, samples, trusted))


def _in_own_thread(work: Callable[[], _T]) -> _T:
    """Run ``work`` in a thread of its own (Keras's registry of uninitialised variables is per
    thread and goes with it), leaving Python's global ``random`` as it was: Keras initialisers
    without a seed draw theirs from it, and a throwaway build must not change the real model's
    initial weights."""
    values: list[_T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            values.append(work())
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(error)

    state = random.getstate()
    thread = threading.Thread(target=run, name="kerastui-stateless-build", daemon=True)
    thread.start()
    thread.join()
    random.setstate(state)
    if errors:
        raise errors[0]
    return values[0]


def stateless_report(preset: Preset, input_shape: tuple[int, ...], samples: int | None = None, *,
                     trusted: bool = False) -> tuple[StackReport, ModelEstimate | None]:
    """(StackReport, ModelEstimate | None) from one build that allocates no weight.

    The report is the same as ``builder.stack_report``'s (it is made from shapes); the Model
    workspace checks every edit this way, so a layer of a billion units is measured, never built.
    """
    from kerastui.core.model.builder import stack_report  # (the model package: not before the first frame)

    keras = load_keras()

    def work() -> tuple[StackReport, ModelEstimate | None]:
        found: dict[str, ModelEstimate] = {}
        with keras.StatelessScope(initialize_variables=False):
            report = stack_report(preset, input_shape, trusted=trusted,
                                  on_model=lambda model: found.update(estimate=_estimate(model, preset, samples)))
        return report, found.get("estimate")

    return _in_own_thread(work)


def _measure(preset: Preset, input_shape: tuple[int, ...], samples: int | None, trusted: bool) -> ModelEstimate:
    from kerastui.core.model.builder import build_model  # (the model package: not before the first frame)

    keras = load_keras()
    with keras.StatelessScope(initialize_variables=False):
        return _estimate(build_model(preset, input_shape, trusted=trusted).model, preset, samples)


def _estimate(model: Any, preset: Preset, samples: int | None) -> ModelEstimate:
    parameters = sum(elements(*v.shape) for v in model.weights)
    layers = list(_leaf_layers(model))
    counts = [sum(elements(*v.shape) for v in layer.weights) for layer in layers]
    activations = 0
    for layer in layers:
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        for tensor in outputs:
            activations += elements(*(d or 1 for d in tensor.shape[1:]))
    biggest = ""
    if counts and max(counts) > 0:
        count = max(counts)
        largest = layers[counts.index(count)]
        biggest = f"{largest.name} ({type(largest).__name__}, {count:,} parameters)"
    # Keras never makes a batch larger than the data.
    batch = min(preset.fit.batch_size, samples) if samples else preset.fit.batch_size
    return ModelEstimate(parameters, activations, batch, biggest)


def _leaf_layers(model: Any) -> Iterator[Any]:
    """Every layer with its own output, a nested model's (a transfer base) included."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def check_model(preset: Preset, input_shape: tuple[int, ...], samples: int | None = None, *,
                trusted: bool = False) -> ModelEstimate | None:
    """Refuse a model whose training step would not fit in memory; the estimate otherwise.

    ``samples``: training samples when known (a batch is never larger).  ``trusted``: as the
    builder's ``build_model`` takes it (a layer that runs code from a file is built only then).
    """
    estimate = estimate_model(preset, input_shape, samples, trusted=trusted)
    require_model(estimate)
    return estimate


def require_model(estimate: ModelEstimate | None) -> None:
    """Refuse a measured model whose training step would not fit in memory."""
    if estimate is not None:
        batch = estimate.activations_per_sample * estimate.batch_size * BYTES_PER_ACTIVATION
        largest = f" (the largest layer: {estimate.largest})" if estimate.largest else ""
        require(estimate.bytes, f"model: {estimate.parameters:,} parameters{largest} and {size_text(batch)} of "
                                f"activations per batch of {estimate.batch_size} (fit.batch_size)")

"""Devices: which GPUs a run trains on, how (memory growth, precision, XLA, MirroredStrategy),
and what the GPUs of this machine are doing (NVML).

One model trains on the devices of ONE machine.  Keras 3's TensorFlow trainer cannot run
``tf.distribute.MultiWorkerMirroredStrategy`` (keras-team/keras #20585: ``model.fit`` fails with
"Attempt to convert a value (PerReplica…) to a Tensor"), so kerastui has no multi-machine mode and
patches nothing private in Keras; a :class:`DevicePlan` has a ``strategy`` word so that one can be
added ("multi_worker") without changing the settings that exist.

The run process (``kerastui train``) calls :func:`configure` right after importing TensorFlow and
before anything initialises it.  The selection uses ``tf.config.set_visible_devices`` in the run
process rather than ``CUDA_VISIBLE_DEVICES`` set by the launcher: the same code path then serves
a run started by the TUI, by ``kerastui train`` from a shell or a batch script, and a resumed
run, and a ``CUDA_VISIBLE_DEVICES`` the user or a scheduler set stays theirs (indices count
within it, as TensorFlow's do).  ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (unless set) makes TensorFlow's
GPU order nvidia-smi's and NVML's, so ``gpus = [1]`` is the GPU the devices view calls 1.

Nothing here imports TensorFlow or NVML at module level.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kerastui.core.errors import KerasTUIError, PresetError, one_line
from kerastui.core.model.specs import DevicesSpec, Preset
from kerastui.core.resources import available_memory
from kerastui.core.tfenv import load_keras

ONE_MACHINE = ("one model trains on the GPUs of one machine (MirroredStrategy); training one model over "
               "several machines is not supported by Keras 3 with TensorFlow (keras-team/keras#20585)")


def prepare_environment() -> None:
    """Before TensorFlow initialises CUDA: GPUs numbered as nvidia-smi and NVML number them."""
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")


# --------------------------------------------------------------------------- the run's plan


@dataclass
class DevicePlan:
    """What a run trains on, resolved from its ``[devices]`` settings on this machine."""

    devices: list[str]  # the logical devices the model runs on: ["GPU:0", "GPU:1"], ["CPU:0"], …
    gpus: list[int]  # the GPUs used, numbered as nvidia-smi does where known ([] without GPU)
    strategy: str = "default"  # "default" (one device) | "mirrored"
    replicas: int = 1
    precision: str = "float32"
    jit_compile: bool | str = "auto"  # what is passed to Keras ("auto": Keras decides per model)
    memory_growth: bool = True
    logical_cpus: int | None = None
    distribute: Any = field(default=None, repr=False, compare=False)  # the tf.distribute strategy
    notes: list[str] = field(default_factory=list, compare=False)  # what could not be applied, said once

    def scope(self) -> contextlib.AbstractContextManager[Any]:
        """Build and compile in here: under MirroredStrategy the variables are mirrored."""
        return self.distribute.scope() if self.distribute is not None else contextlib.nullcontext()

    def per_replica(self, batch_size: int) -> int:
        return max(1, batch_size // self.replicas)

    def label(self) -> str:
        """``2 × GPU (mirrored) · mixed_float16`` — what the devices line and ``kerastui runs`` show."""
        return describe(self.devices, self.precision)

    def to_json(self) -> dict[str, Any]:
        return {"devices": list(self.devices), "gpus": list(self.gpus), "strategy": self.strategy,
                "replicas": self.replicas, "precision": self.precision, "jit_compile": self.jit_compile,
                "memory_growth": self.memory_growth, "logical_cpus": self.logical_cpus}


def describe(devices: Iterable[str], precision: str = "float32") -> str:
    names = list(devices)
    if not names:
        return ""
    kinds = sorted({n.split(":")[0] for n in names})
    if len(names) == 1:
        text = names[0]
    elif len(kinds) == 1:
        text = f"{len(names)} × {kinds[0]} (mirrored)"
    else:  # pragma: no cover - a strategy mixes no device types
        text = ", ".join(names)
    return text if precision == "float32" else f"{text} · {precision}"


_runtime: dict[str, Any] = {}  # this process's TensorFlow device state, once configured
_strategies: dict[tuple[str, ...], Any] = {}


def configure(spec: DevicesSpec, where: str = "preset") -> DevicePlan:
    """Apply ``[devices]`` to this process's TensorFlow and return the plan; one line on bad input.

    Effective before TensorFlow initialises its devices (the run process); in a process where it
    already did (a test, a notebook) settings that agree with the present state pass, others are
    refused with one line."""
    prepare_environment()

    load_keras()
    import tensorflow as tf

    physical = tf.config.list_physical_devices("GPU")
    selected = _selection(spec, physical, where)
    wanted = [physical[i] for i in selected]
    notes: list[str] = []
    visible = [d.name for d in tf.config.get_visible_devices("GPU")]
    if visible != [d.name for d in wanted]:
        try:
            tf.config.set_visible_devices(wanted, "GPU")
        except RuntimeError:
            if spec.gpus != "all":
                raise _initialised(where, "devices.gpus") from None
            # The default in a process whose TensorFlow started already (a test, after the TUI's
            # keep_off_gpus): it trains on what this process sees, and says so.
            selected = [i for i, d in enumerate(physical) if d.name in visible]
            wanted = [physical[i] for i in selected]
            notes.append(f"devices.gpus: TensorFlow had started in this process; training on the "
                         f"{len(wanted)} GPU(s) it sees")
    for gpu in wanted:
        if bool(tf.config.experimental.get_memory_growth(gpu)) != spec.memory_growth:
            try:
                tf.config.experimental.set_memory_growth(gpu, spec.memory_growth)
            except RuntimeError:  # not fatal: the run trains, with the GPU memory as it was set
                notes.append(f"devices.memory_growth: TensorFlow had started in this process; memory growth "
                             f"stays {'on' if not spec.memory_growth else 'off'}")
                break
    if spec.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        current = tf.config.get_logical_device_configuration(cpu)
        if current is None or len(current) != spec.logical_cpus:
            try:
                tf.config.set_logical_device_configuration(
                    cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(spec.logical_cpus)])
            except RuntimeError:
                raise _initialised(where, "devices.logical_cpus") from None
    if wanted:
        devices = [_short(d.name) for d in tf.config.list_logical_devices("GPU")]
    elif spec.logical_cpus:
        devices = [_short(d.name) for d in tf.config.list_logical_devices("CPU")][: spec.logical_cpus]
    else:
        devices = ["CPU:0"]
    mirrored = len(devices) > 1
    plan = DevicePlan(devices=devices, gpus=nvidia_indices(selected), strategy="mirrored" if mirrored else "default",
                      replicas=len(devices) if mirrored else 1, precision=spec.precision,
                      memory_growth=spec.memory_growth, logical_cpus=spec.logical_cpus)
    if mirrored:
        key = tuple(devices)
        if key not in _strategies:
            _strategies[key] = tf.distribute.MirroredStrategy(devices=[f"/{d}" for d in devices])
        plan.distribute = _strategies[key]
    plan.jit_compile = resolve_jit(spec.jit_compile, plan)
    plan.notes = notes
    _runtime["plan"] = plan
    return plan


def check_selection(spec: DevicesSpec, where: str = "preset") -> None:
    """What :func:`configure` refuses on this machine, with its line, changing nothing: a GPU that
    does not exist, logical CPUs beside GPUs.  ``kerastui check`` runs it; TensorFlow is imported only
    for settings that can be refused (GPU indices, logical CPUs)."""
    if spec.gpus in ("all", "none") and not spec.logical_cpus:
        return
    prepare_environment()

    load_keras()
    import tensorflow as tf

    _selection(spec, tf.config.list_physical_devices("GPU"), where)


def _selection(spec: DevicesSpec, physical: list[Any], where: str) -> list[int]:
    selected = _select(spec, physical, where)
    if spec.logical_cpus and selected:
        raise PresetError(where, "devices.logical_cpus",
                          f"logical CPU devices are for a run without GPU; this machine has {len(physical)} "
                          'GPU(s) (set devices.gpus = "none" to split the CPU anyway)')
    return selected


def _select(spec: DevicesSpec, physical: list[Any], where: str) -> list[int]:
    if spec.gpus == "all":
        return list(range(len(physical)))
    if spec.gpus == "none":
        return []
    indices: list[int] = list(spec.gpus)
    for i, index in enumerate(indices):
        if index >= len(physical):
            last = f"…{len(physical) - 1}" if len(physical) > 1 else ""
            have = (f"this machine has {len(physical)} GPU(s): 0{last}" if physical
                    else "this machine has no GPU visible to TensorFlow")
            raise PresetError(where, f"devices.gpus[{i}]",
                              f'GPU {index} does not exist; {have} (devices.gpus = "none" trains on the CPU)')
    return indices


def _initialised(where: str, key: str) -> KerasTUIError:
    return PresetError(where, key, "TensorFlow's devices are already initialised in this process; device "
                                   "settings take effect in a run process (kerastui train)")


def _short(name: str) -> str:
    """``/device:GPU:0`` → ``GPU:0``."""
    return name.rsplit("device:", 1)[-1].lstrip("/")


def nvidia_indices(selected: list[int]) -> list[int]:
    """TensorFlow's GPU indices as nvidia-smi numbers the GPUs: through ``CUDA_VISIBLE_DEVICES``
    when it lists numbers (a list of UUIDs leaves TensorFlow's numbers)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return list(selected)
    entries = [e.strip() for e in visible.split(",") if e.strip()]
    if not all(e.isdigit() for e in entries):
        return list(selected)
    return [int(entries[i]) if i < len(entries) else i for i in selected]


def resolve_jit(setting: bool | str, plan: DevicePlan) -> bool | str:
    """``"auto"``: XLA off on the CPU and under a distribution strategy (where mixed float16 and
    XLA are known to disagree); elsewhere Keras's own ``"auto"`` (on when the model supports it)."""
    if setting != "auto":
        return bool(setting)
    if not plan.gpus or plan.strategy != "default":
        return False
    return "auto"


def current_plan() -> DevicePlan | None:
    plan: DevicePlan | None = _runtime.get("plan")
    return plan


# --------------------------------------------------------------------------- precision


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Layers created inside take the policy ``name``; the global policy is restored after."""
    keras = load_keras()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_outputs(preset: Preset) -> Preset:
    """A copy whose output layers compute in float32 (Keras's mixed-precision rule: the softmax of a
    float16 model loses too much), unless the preset gives them a dtype itself."""
    import copy

    out = copy.deepcopy(preset)
    layers = out.model.layers
    if out.model.type == "subclass" or not layers:
        return out
    names = set(out.model.outputs or [])
    if out.model.type == "functional" and names:
        targets = [layer for layer in layers if layer.name in names]
    else:
        targets = [layers[-1]]
    for layer in targets:
        if layer.type not in ("Input", "InputLayer") and "dtype" not in layer.kwargs:
            layer.kwargs["dtype"] = "float32"
    return out


def output_dtypes(model: Any) -> list[str]:
    return [str(getattr(t, "dtype", "?")) for t in getattr(model, "outputs", None) or []]


def policy_notices(model: Any, precision: str) -> list[str]:
    """What a mixed-precision model gets wrong that the user should hear about."""
    if precision == "float32":
        return []
    wrong = [d for d in output_dtypes(model) if d != "float32"]
    if wrong:
        return [f"devices.precision {precision}: the model's output computes in {wrong[0]}, not float32; give its "
                'last layer dtype = "float32" (Keras\'s mixed-precision rule)']
    return []


# --------------------------------------------------------------------------- memory (TensorFlow's counters)


def reset_peaks(plan: DevicePlan | None) -> None:
    if plan is None or not plan.gpus:
        return
    import tensorflow as tf

    for device in plan.devices:
        with contextlib.suppress(ValueError, RuntimeError):
            tf.config.experimental.reset_memory_stats(device)


def peak_memory(plan: DevicePlan | None) -> int | None:
    """The largest peak of this run's GPUs since :func:`reset_peaks`, in bytes; None without GPU."""
    if plan is None or not plan.gpus:
        return None
    import tensorflow as tf

    peaks = []
    for device in plan.devices:
        try:
            peaks.append(int(tf.config.experimental.get_memory_info(device)["peak"]))
        except (ValueError, RuntimeError, KeyError):
            continue
    return max(peaks) if peaks else None


# --------------------------------------------------------------------------- NVML (the machine's GPUs)


@dataclass(frozen=True)
class GpuSample:
    index: int
    name: str
    memory_used: int | None = None  # bytes
    memory_total: int | None = None
    utilization: int | None = None  # percent
    temperature: int | None = None  # °C
    power: float | None = None  # watts
    power_limit: float | None = None
    pids: tuple[int, ...] = ()  # processes with a context on it

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "memory_used": self.memory_used,
                "memory_total": self.memory_total, "utilization": self.utilization,
                "temperature": self.temperature, "power": self.power, "power_limit": self.power_limit,
                "pids": list(self.pids)}


@dataclass(frozen=True)
class Snapshot:
    gpus: list[GpuSample] = field(default_factory=list)
    driver: str | None = None
    cuda_driver: str | None = None  # the CUDA version the driver supports
    error: str | None = None  # why there are no figures (no driver, no library)
    time: float = 0.0


class NvmlSampler:
    """NVML through ``nvidia-ml-py``: initialised once, sampled as often as asked, closed at the end.

    Without the library or an NVIDIA driver every sample is an empty :class:`Snapshot` whose
    ``error`` says so in one line — never an exception."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._error: str | None = None
        self._started = False

    def start(self) -> str | None:
        """Initialise NVML; the reason it is not available, or None."""
        if self._started:
            return self._error
        self._started = True
        try:
            import pynvml
        except ImportError:
            self._error = "NVML is not available: the nvidia-ml-py package is not installed"
            return self._error
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            self._error = f"no NVIDIA driver: NVML is not available ({error})"
            return self._error
        self._nvml = pynvml
        return None

    def sample(self) -> Snapshot:
        error = self.start()
        if error is not None or self._nvml is None:
            return Snapshot(error=error, time=time.time())
        nvml = self._nvml
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            return Snapshot(error=f"NVML: {exc}", time=time.time())
        gpus = [self._gpu(nvml, i) for i in range(count)]
        driver = _text(_try(nvml, lambda: nvml.nvmlSystemGetDriverVersion()))
        cuda = _try(nvml, lambda: nvml.nvmlSystemGetCudaDriverVersion())
        cuda_text = f"{cuda // 1000}.{cuda % 1000 // 10}" if isinstance(cuda, int) else None
        return Snapshot(gpus=gpus, driver=driver, cuda_driver=cuda_text, time=time.time())

    @staticmethod
    def _gpu(nvml: Any, index: int) -> GpuSample:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = _try(nvml, lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        rates = _try(nvml, lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        temperature = _try(nvml, lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        power = _try(nvml, lambda: nvml.nvmlDeviceGetPowerUsage(handle))  # milliwatts
        limit = _try(nvml, lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
        processes = _try(nvml, lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle)) or []
        return GpuSample(
            index=index, name=_text(_try(nvml, lambda: nvml.nvmlDeviceGetName(handle))) or f"GPU {index}",
            memory_used=int(memory.used) if memory is not None else None,
            memory_total=int(memory.total) if memory is not None else None,
            utilization=int(rates.gpu) if rates is not None else None,
            temperature=int(temperature) if temperature is not None else None,
            power=power / 1000.0 if power is not None else None,
            power_limit=limit / 1000.0 if limit is not None else None,
            pids=tuple(int(p.pid) for p in processes if getattr(p, "pid", None) is not None))

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
        self._nvml = None
        self._started = False
        self._error = None


def _try(nvml: Any, call: Any) -> Any:
    """One NVML figure; None where this GPU or driver does not report it (power on some boards)."""
    try:
        return call()
    except nvml.NVMLError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def sample_once() -> Snapshot:
    sampler = NvmlSampler()
    try:
        return sampler.sample()
    finally:
        sampler.close()


def runs_on_gpus(snapshot: Snapshot, runs: Iterable[Any]) -> dict[int, list[str]]:
    """Live runs by GPU index: a run's recorded GPUs, and any GPU holding its process."""
    out: dict[int, list[str]] = {g.index: [] for g in snapshot.gpus}
    for run in runs:
        indices = set(getattr(run, "gpus", ()) or ())
        pid = getattr(run, "pid", None)
        for gpu in snapshot.gpus:
            if (gpu.index in indices or (pid is not None and pid in gpu.pids)) and run.name not in out[gpu.index]:
                out[gpu.index].append(run.name)
    return out


# --------------------------------------------------------------------------- kerastui info


def build_info() -> dict[str, Any]:
    """The CUDA and cuDNN versions this TensorFlow was built with (none for a CPU build)."""
    load_keras()
    import tensorflow as tf

    try:
        info = dict(tf.sysconfig.get_build_info())
    except Exception as error:  # noqa: BLE001 - best effort
        return {"error": one_line(error)}
    return {"cuda": info.get("cuda_version"), "cudnn": info.get("cudnn_version"),
            "cuda_build": bool(info.get("is_cuda_build", False))}


def machine_report() -> dict[str, Any]:
    """Everything ``kerastui info`` says about devices, as plain JSON values."""
    snapshot = sample_once()
    return {"build": build_info(), "driver": snapshot.driver, "cuda_driver": snapshot.cuda_driver,
            "nvml": snapshot.error or "ok", "gpus": [g.to_json() for g in snapshot.gpus],
            "host_memory_available": available_memory(), "scope": ONE_MACHINE}


def layer_dtypes(model: Any) -> list[tuple[str, str, str]]:
    """(layer name, policy, compute dtype) for each layer: what a mixed-precision test looks at."""
    return [(layer.name, str(getattr(layer.dtype_policy, "name", "?")), str(layer.compute_dtype))
            for layer in model.layers]


"""A user's custom metric: load it from a ``.py`` file, check it is a Keras 3 metric, compare it
with the built-in metric it mirrors epoch by epoch, and place an exception it raises at its file
and line.

Headless: imports Keras lazily (through ``tfenv``), never textual, rich or plotext.
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kerastui.core.errors import KerasTUIError, PresetError, one_line, user_message
from kerastui.core.model import usercode
from kerastui.core.model.kerasobjects import make_metric
from kerastui.core.model.metricnames import logged_name
from kerastui.core.model.specs import ObjectSpec, object_text
from kerastui.core.model.usercode import describe_error, user_frame
from kerastui.core.tfenv import load_keras

if TYPE_CHECKING:
    from kerastui.core.model.specs import Preset

TOLERANCE = 1e-6  # the largest |built-in − custom| that still counts as "the same"
METHODS = ("update_state", "result", "reset_state")
DEFAULT_MIRROR = "accuracy"
# Keras's top-k metrics by their string names (k = 5) and the class that takes another k.
TOP_K_STRINGS = {"top_k_categorical_accuracy": "TopKCategoricalAccuracy",
                 "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy"}


class MetricFileError(KerasTUIError):
    """A metric file that cannot be loaded: missing, not Python, a syntax error, no such class."""


@dataclass
class MetricReport:
    """What :func:`check_metric_file` found out about one class of a metric file."""

    path: Path
    class_name: str
    line: int | None = None  # where the class statement is
    classes: list[str] = field(default_factory=list)  # every keras.metrics.Metric subclass the file defines
    is_metric: bool = False
    methods: dict[str, int | None] = field(default_factory=dict)  # method → line in the file (None: not defined)
    mirrors: str | ObjectSpec | None = None  # the built-in metric it is compared with
    mirrors_declared: bool = False  # from a ``mirrors`` class attribute (else guessed)
    name: str | None = None  # the metric's name: its key in Keras's logs
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def ref(self) -> str:
        return f"{self.path}:{self.class_name}"

    def where(self, line: int | None = None) -> str:
        line = line if line is not None else self.line
        return f"{self.path}:{line}" if line else str(self.path)

    @property
    def mirror_key(self) -> str | None:
        """The key the built-in is logged under (``top_k_categorical_accuracy`` for any k)."""
        return logged_name(self.mirrors) if self.mirrors is not None else None

    @property
    def mirror_text(self) -> str:
        """The built-in as one reads it: ``accuracy``, ``TopKCategoricalAccuracy(k=2)``."""
        return object_text(self.mirrors) if self.mirrors is not None else ""


# --------------------------------------------------------------------------- refs and loading


def parse_ref(text: str, base_dir: Path | None = None) -> tuple[Path, str | None]:
    """``file.py:Class`` or ``file.py`` → (path, class name or None); relative paths against ``base_dir``."""
    text = text.strip()
    file, sep, name = text.rpartition(":")
    cls: str | None = name
    if not sep or not name.isidentifier() or not file:
        file, cls = text, None
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path, cls


def _check_path(path: Path) -> None:
    if not str(path).strip() or path.name == "":
        raise MetricFileError("metric file: no file given (type a path to a .py file)")
    if path.suffix != ".py":
        raise MetricFileError(f"{path}: not a .py file")
    if path.is_dir():
        raise MetricFileError(f"{path}: is a folder, not a .py file")
    if not path.is_file():
        raise MetricFileError(f"{path}: not found")


def _parse(path: Path) -> ast.Module:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MetricFileError(f"{path}: cannot be read: {one_line(error)}") from None
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise MetricFileError(f"{path}:{error.lineno}: SyntaxError: {error.msg}") from None


def load_module(path: Path) -> ModuleType:
    """Run the metric file ``path`` as a fresh module (each call re-reads the file, so edits are
    seen); a file that cannot be run raises :class:`MetricFileError` naming its file and line."""
    _check_path(path)
    _parse(path)
    try:
        module = usercode.load_module(path)
    except Exception as error:  # noqa: BLE001 - user code
        found = user_frame(error, [path])
        where = f"{found[0]}:{found[1]}" if found else str(path)
        raise MetricFileError(f"{where}: {type(error).__name__} while importing: {one_line(error)}") from None
    return module


def _classes_in(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _defined_here(module: ModuleType, tree: ast.Module) -> list[type]:
    """Classes the file itself defines (not imported ones), in file order."""
    out: list[type] = []
    for name in _classes_in(tree):
        obj = getattr(module, name, None)
        if isinstance(obj, type) and obj.__module__ == module.__name__:
            out.append(obj)
    return out


# --------------------------------------------------------------------------- the check


def guess_mirror(class_name: str, metric_name: str | None, default: str | ObjectSpec = DEFAULT_MIRROR,
                 k: Any = None) -> str | ObjectSpec:
    """The built-in a metric without a ``mirrors`` attribute is most likely meant to match; a
    top-k metric with its own ``k`` is matched with ``TopKCategoricalAccuracy(k=k)``."""
    text = f"{class_name} {metric_name or ''}".lower().replace("_", "")
    if "topk" in text:
        return with_k("top_k_categorical_accuracy", k)
    if "accuracy" in text or "acc" in text.split():
        return "accuracy"
    return default


def with_k(mirror: str | ObjectSpec, k: Any) -> str | ObjectSpec:
    """A top-k built-in with the custom metric's ``k``: the string ``top_k_categorical_accuracy``
    is top-5, so a top-2 metric is compared with ``TopKCategoricalAccuracy(k=2)``."""
    if not isinstance(k, int) or isinstance(k, bool) or k == 5:
        return mirror
    if isinstance(mirror, str) and mirror in TOP_K_STRINGS:
        return ObjectSpec(TOP_K_STRINGS[mirror], {"k": k})
    if isinstance(mirror, ObjectSpec) and mirror.type in TOP_K_STRINGS.values() and "k" not in mirror.kwargs:
        return ObjectSpec(mirror.type, {**mirror.kwargs, "k": k})
    return mirror


def declared_mirror(value: Any, where: str = "mirrors") -> str | ObjectSpec | None:
    """A class's ``mirrors`` attribute: a Keras metric name, a table ``{"type": ..., "k": 2}`` or
    an ObjectSpec; None when it declares none.  PresetError for a table without a type."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, ObjectSpec):
        return value
    if isinstance(value, dict):
        return ObjectSpec.from_dict(value, where, "mirrors")
    return None


def same_metric(a: str | ObjectSpec, b: str | ObjectSpec) -> bool:
    """The same built-in, whatever either is named (``name`` aside, same class and arguments)."""
    if isinstance(a, ObjectSpec) and isinstance(b, ObjectSpec):
        strip = ("name",)
        return a.type == b.type and ({k: v for k, v in a.kwargs.items() if k not in strip}
                                     == {k: v for k, v in b.kwargs.items() if k not in strip})
    return a == b


def place_mirror(metrics: list[str | ObjectSpec], mirror: str | ObjectSpec) -> tuple[list[str | ObjectSpec], str]:
    """``metrics`` with the built-in ``mirror`` among them, and the key it is logged under: an equal
    metric already listed is used; one that would share its logged name gets a name of its own."""
    for metric in metrics:
        if same_metric(metric, mirror):
            return list(metrics), logged_name(metric)
    taken = {logged_name(m) for m in metrics}
    if logged_name(mirror) in taken and isinstance(mirror, ObjectSpec):
        base = logged_name(mirror)
        k = mirror.kwargs.get("k")
        name = base.replace("top_k", f"top_{k}") if isinstance(k, int) and "top_k" in base else f"{base}_mirror"
        while name in taken:
            name += "_"
        mirror = ObjectSpec(mirror.type, {**mirror.kwargs, "name": name})
    return [*metrics, mirror], logged_name(mirror)


def mirror_key_for(cls: type, metrics: list[str | ObjectSpec]) -> tuple[str, str] | None:
    """What a trained custom metric class is compared with in a run's history: (the built-in's
    logged key, its text), or None when ``metrics`` logs no such built-in."""
    try:
        instance: Any = cls()
    except Exception:  # noqa: BLE001 - user code: no instance, no k
        instance = None
    try:
        mirror = declared_mirror(getattr(cls, "mirrors", None))
    except PresetError:
        mirror = None
    if mirror is None:
        if not metrics:
            return None
        mirror = metrics[0]
    mirror = with_k(mirror, getattr(instance, "k", None))
    for metric in metrics:
        if same_metric(metric, mirror):
            return logged_name(metric), object_text(mirror)
    return (mirror, mirror) if isinstance(mirror, str) else None


def check_metric_file(path: str | Path, class_name: str | None = None, *,
                      default_mirror: str | ObjectSpec = DEFAULT_MIRROR) -> MetricReport:
    """Load ``path`` and check ``class_name`` (or the file's first metric class) as a Keras 3 metric.

    Problems with the class are listed in the report's ``errors`` and ``warnings`` (each naming
    file and line); a file that cannot be loaded at all, or has no such class, raises
    :class:`MetricFileError` with one line naming the file.
    """
    path = Path(path).expanduser()
    module = load_module(path)
    tree = _parse(path)
    keras = load_keras()
    Metric = keras.metrics.Metric
    defined = _defined_here(module, tree)
    metric_classes = [cls.__name__ for cls in defined if issubclass(cls, Metric)]
    if class_name is None:
        if not metric_classes:
            others = ", ".join(cls.__name__ for cls in defined) or "none"
            raise MetricFileError(f"{path}: defines no keras.metrics.Metric subclass (classes: {others})")
        class_name = metric_classes[0]
    cls = getattr(module, class_name, None)
    if cls is None:
        known = ", ".join(metric_classes) or "none"
        raise MetricFileError(f"{path}: defines no {class_name} (metric classes: {known})")
    nodes = _classes_in(tree)
    node = nodes.get(class_name)
    report = MetricReport(path=path, class_name=class_name, classes=metric_classes,
                          line=node.lineno if node is not None else _line_of(cls))
    if not isinstance(cls, type):
        report.errors.append(f"{report.where()}: {class_name} is a {type(cls).__name__}, not a class")
        return report
    report.is_metric = issubclass(cls, Metric)
    if not report.is_metric:
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        report.errors.append(f"{report.where()}: {class_name} is not a keras.metrics.Metric subclass "
                             f"(it derives from {bases})")
        return report
    own = _own_methods(cls, Metric, path, node)
    report.methods = {name: own.get(name) for name in METHODS}
    for name, why in (("update_state", "Keras calls it every batch"),
                      ("result", "Keras reads the value from it")):
        if name not in own:
            report.errors.append(f"{report.where()}: {class_name} does not define {name} ({why})")
    if "reset_states" in own and "reset_state" not in own:
        report.warnings.append(
            f"{report.where(own['reset_states'])}: {class_name} defines reset_states, which Keras 3 never calls; "
            "rename it reset_state (until then the base class zeroes every variable between epochs)")
    if "update_state" in own:
        problem = _update_state_signature(cls)
        if problem:
            report.errors.append(f"{report.where(own['update_state'])}: {problem}")
    declared = getattr(cls, "mirrors", None)
    try:
        instance = cls()
    except Exception as error:  # noqa: BLE001 - user code
        report.errors.append(describe_error(error, [path], prefix=f"{class_name}() failed") or
                             f"{report.where()}: {class_name}() failed: {user_message(error)}")
        instance = None
    if instance is not None:
        report.name = str(getattr(instance, "name", None) or class_name)
    k = getattr(instance, "k", None)
    try:
        mirror = declared_mirror(declared, report.where())
    except PresetError as error:
        report.errors.append(f"{report.where()}: {class_name}.mirrors: {error.reason}")
        mirror = None
    if mirror is not None:
        report.mirrors, report.mirrors_declared = with_k(mirror, k), True
    else:
        report.mirrors = guess_mirror(class_name, report.name, default_mirror, k)
    problem = _builtin_problem(report.mirrors)
    if problem:
        report.errors.append(f"{report.where()}: {class_name}.mirrors = {report.mirror_text} is not a Keras "
                             f"built-in metric ({problem})")
    if report.name is not None and report.name == report.mirror_key:
        report.errors.append(f"{report.where()}: {class_name}'s name {report.name!r} is the built-in's own name; "
                             "give it another (name=... in __init__) so both appear in the logs")
    return report


def _builtin_problem(mirror: str | ObjectSpec) -> str | None:
    """Why ``mirror`` is not a metric Keras builds, or None."""
    try:
        make_metric(mirror, "mirrors")
    except KerasTUIError as error:
        return str(error)
    return None


def _line_of(obj: Any) -> int | None:
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return None


def _own_methods(cls: type, base: type, path: Path, node: ast.ClassDef | None) -> dict[str, int | None]:
    """Methods the user's classes define (up to Keras's base class) → the line of their ``def``."""
    wanted = (*METHODS, "reset_states")
    found: dict[str, int | None] = {}
    for klass in cls.__mro__:
        if klass is base or klass.__module__.split(".")[0] in ("keras", "tensorflow"):
            break
        for name in wanted:
            if name in found or name not in vars(klass):
                continue
            line = None
            if klass is cls and node is not None:
                line = next((item.lineno for item in node.body
                             if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name), None)
            if line is None:
                code = getattr(vars(klass)[name], "__code__", None)
                here = code is not None and usercode.same_file(code.co_filename, path)
                line = code.co_firstlineno if code is not None and here else None
            found[name] = line
    return found


def _update_state_signature(metric_class: type[Any]) -> str | None:
    function = metric_class.update_state
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(None, None, None, sample_weight=None)  # self, y_true, y_pred, sample_weight=
    except TypeError:
        return ("update_state must accept (y_true, y_pred, sample_weight=None): Keras passes sample_weight "
                f"(it is declared {function.__name__}{signature})")
    return None


# --------------------------------------------------------------------------- errors in user code


def metric_files(preset: Preset) -> list[Path]:
    """The files of a preset's ``compile.custom_metrics`` refs."""
    return [parse_ref(ref, preset.base_dir)[0] for ref in preset.compile.custom_metrics]


def metric_error(error: BaseException, preset: Preset) -> str | None:
    """An exception raised inside one of the preset's custom metrics, as one line with its file and
    line (``custom metric: file:line: ValueError: …``); None when it came from elsewhere."""
    found = user_frame(error, metric_files(preset))
    if found is None:
        return None
    if isinstance(error, KerasTUIError) and f"{found[0]}:{found[1]}" in str(error):
        return str(error)  # already says where
    return f"custom metric: {describe_error(error, metric_files(preset))}"


# --------------------------------------------------------------------------- the comparison


@dataclass
class ComparisonRow:
    epoch: int  # 1-based
    train_builtin: float | None = None
    train_custom: float | None = None
    val_builtin: float | None = None
    val_custom: float | None = None

    @staticmethod
    def _diff(a: float | None, b: float | None) -> float | None:
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            return None
        return abs(a - b)

    @property
    def train_diff(self) -> float | None:
        return self._diff(self.train_builtin, self.train_custom)

    @property
    def val_diff(self) -> float | None:
        return self._diff(self.val_builtin, self.val_custom)


@dataclass
class Comparison:
    builtin: str
    custom: str
    rows: list[ComparisonRow] = field(default_factory=list)
    tolerance: float = TOLERANCE

    @property
    def largest(self) -> tuple[float, str, int] | None:
        """(largest |difference|, "train" or "val", its epoch), or None before any epoch."""
        best = None
        for row in self.rows:
            for split, diff in (("train", row.train_diff), ("val", row.val_diff)):
                if diff is not None and (best is None or diff > best[0]):
                    best = (diff, split, row.epoch)
        return best

    @property
    def agree(self) -> bool | None:
        largest = self.largest
        return None if largest is None else largest[0] <= self.tolerance

    def verdict(self) -> str:
        largest = self.largest
        if largest is None:
            return f"no epoch yet with both {self.builtin} and {self.custom}"
        diff, split, epoch = largest
        where = (f"largest |difference| {format_diff(diff)} ({split}, epoch {epoch}) "
                 f"over {len(self.rows)} epoch(s)")
        if diff <= self.tolerance:
            return f"✓ {self.custom} equals {self.builtin} within {self.tolerance:g}: {where}"
        return f"✗ {self.custom} differs from {self.builtin}: {where}, above {self.tolerance:g}"


def compare_history(history: dict[str, list[float]], builtin: str, custom: str) -> Comparison:
    """Per epoch, for train and validation: the built-in's value, the custom metric's, their difference."""
    comparison = Comparison(builtin, custom)
    columns = {key: history.get(key) or [] for key in (builtin, custom, f"val_{builtin}", f"val_{custom}")}
    epochs = max((len(v) for v in columns.values()), default=0)
    if not columns[builtin] and not columns[custom]:
        return comparison

    def at(key: str, i: int) -> float | None:
        values = columns[key]
        return float(values[i]) if i < len(values) and values[i] == values[i] else None

    for i in range(epochs):
        comparison.rows.append(ComparisonRow(i + 1, at(builtin, i), at(custom, i), at(f"val_{builtin}", i),
                                             at(f"val_{custom}", i)))
    return comparison


def format_diff(value: float | None) -> str:
    if value is None:
        return "—"
    return "0" if value == 0 else f"{value:.1e}"

"""Metrics, optimizers and losses with arguments: ``compile`` entries checked against Keras itself.

A compile entry is a Keras name (``"accuracy"``, ``"adam"``) or an :class:`ObjectSpec` table
(``{type = "TopKCategoricalAccuracy", k = 2}``).  A table is checked like a layer: the class
must be one of Keras's own (a close match is offered), every keyword one its ``__init__`` takes,
every value of the kind its default has; then Keras builds it, and a value Keras refuses is
reported at its key (``compile.metrics[1].k: ...``).  The classes come from ``keras.metrics``,
``keras.optimizers`` and ``keras.losses``, so a new Keras release brings its own.

Keras is imported lazily (through ``tfenv``); nothing here imports textual, rich or plotext.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from dataclasses import dataclass
from typing import Any

from kerastui.core.errors import ModelError, one_line
from kerastui.core.model.specs import ObjectSpec, object_text
from kerastui.core.tfenv import load_keras

KINDS = ("metric", "optimizer", "loss")
_MODULES = {"metric": "metrics", "optimizer": "optimizers", "loss": "losses"}
# Base and wrapper classes that are not usable by name alone.
_SKIP = {
    "metric": {"Metric", "MeanMetricWrapper", "Reduce"},
    "optimizer": {"Optimizer", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap"},
    "loss": {"Loss", "LossFunctionWrapper"},
}

TOP_K_TRAP = ('"top_k_categorical_accuracy" (and "sparse_top_k_categorical_accuracy") is top-5: Keras\'s '
              'default k = 5. For another k write {type = "TopKCategoricalAccuracy", k = 2} in a preset, '
              "or TopKCategoricalAccuracy(k=2) in the Train workspace's metrics field")

# Notes shown beside a name in the catalogue (and F1 help); the top-5 trap first of all.
NOTES = {
    "top_k_categorical_accuracy": TOP_K_TRAP,
    "sparse_top_k_categorical_accuracy": TOP_K_TRAP,
    "TopKCategoricalAccuracy": "k = 5 unless given: {type = \"TopKCategoricalAccuracy\", k = 2}",
    "SparseTopKCategoricalAccuracy": "k = 5 unless given; integer labels",
}

# How metrics, optimizers and losses are written: the Train workspace's F1 help and the README's words.
COMPILE_HELP = ("A metric, the optimizer and the loss are each a Keras name (accuracy, adam, "
                "categorical_crossentropy) or a Keras class with its keyword arguments: in a preset "
                '{type = "TopKCategoricalAccuracy", k = 2}, {type = "SGD", momentum = 0.9, nesterov = true}, '
                '{type = "CategoricalCrossentropy", label_smoothing = 0.1}; in the Train workspace '
                "TopKCategoricalAccuracy(k=2), F1Score(average='macro') or AUC(curve='PR') in the metrics field, "
                "and momentum=0.9, nesterov=True in the optimizer's args. Beware: " + TOP_K_TRAP + ".")

# What the Train workspace's optimizer list (Keras's lower-case names) means as a class, for a
# table with arguments.  kerastui's tests check it against keras.optimizers.
OPTIMIZER_CLASSES = {
    "adadelta": "Adadelta", "adafactor": "Adafactor", "adagrad": "Adagrad", "adam": "Adam", "adamw": "AdamW",
    "adamax": "Adamax", "ftrl": "Ftrl", "lamb": "Lamb", "lion": "Lion", "muon": "Muon", "nadam": "Nadam",
    "rmsprop": "RMSprop", "sgd": "SGD", "schedulefreeadamw": "ScheduleFreeAdamW",
}
# The same for the loss list's names (the string loss → the class that takes its arguments).
LOSS_CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy", "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy", "categorical_hinge": "CategoricalHinge",
    "cosine_similarity": "CosineSimilarity", "hinge": "Hinge", "huber": "Huber", "kl_divergence": "KLDivergence",
    "log_cosh": "LogCosh", "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError", "mean_squared_error": "MeanSquaredError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError", "poisson": "Poisson",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "squared_hinge": "SquaredHinge",
}


def class_name_for(kind: str, name: str) -> str:
    """The class a Train-form name stands for when it gets arguments (``sgd`` → ``SGD``)."""
    table = OPTIMIZER_CLASSES if kind == "optimizer" else LOSS_CLASSES if kind == "loss" else {}
    return table.get(name.lower(), name)


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class ArgInfo:
    name: str
    required: bool
    default: Any


@dataclass(frozen=True)
class ObjectInfo:
    kind: str
    name: str
    summary: str
    args: tuple[ArgInfo, ...]
    note: str = ""


def _keras_module(kind: str) -> Any:
    return getattr(load_keras(), _MODULES[kind])


@functools.cache
def classes(kind: str) -> dict[str, type]:
    """Keras's public classes of ``kind`` (metric, optimizer, loss) by class name."""
    module = _keras_module(kind)
    base = getattr(module, {"metric": "Metric", "optimizer": "Optimizer", "loss": "Loss"}[kind])
    found = {}
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_") and name not in _SKIP[kind]:
            found[name] = obj
    return found


@functools.cache
def string_names(kind: str) -> tuple[str, ...]:
    """The lower-case names Keras takes as strings for ``kind`` (``accuracy``, ``adam``, ``mse``…)."""
    module = _keras_module(kind)
    names = {n for n in dir(module) if n[:1].islower() and not n.startswith("_")
             and n not in ("get", "serialize", "deserialize")}
    if kind == "optimizer":
        names = {n.lower() for n in classes(kind)}
    if kind == "metric":  # compile's own: the accuracy (or cross-entropy) that fits the loss
        names |= {"accuracy", "acc", "crossentropy", "ce"}
    return tuple(sorted(names))


def catalogue(kind: str) -> list[ObjectInfo]:
    """Every class of ``kind`` with its arguments, and the strings Keras takes (with notes)."""
    out = [ObjectInfo(kind, name, _summary(cls), tuple(_args(cls)), NOTES.get(name, ""))
           for name, cls in classes(kind).items()]
    out += [ObjectInfo(kind, name, "", (), NOTES.get(name, "")) for name in string_names(kind)]
    return out


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _args(cls: type) -> list[ArgInfo]:
    """The keyword arguments ``cls`` takes: its ``__init__``'s, and through ``**kwargs`` its bases'."""
    found: dict[str, ArgInfo] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):  # pragma: no cover
            continue
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in found:
                continue
            required = p.default is inspect.Parameter.empty and klass is cls
            found[p.name] = ArgInfo(p.name, required, None if p.default is inspect.Parameter.empty else p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break  # no **kwargs: the bases' arguments cannot be passed
    return list(found.values())


def lookup(kind: str, name: str, key: str) -> type:
    """Keras's class ``name`` of ``kind``; ModelError naming ``key`` with the closest names."""
    known = classes(kind)
    if name in known:
        return known[name]
    folded = {k.lower(): k for k in known}
    close = ([folded[name.lower()]] if name.lower() in folded
             else difflib.get_close_matches(name, list(known), n=3, cutoff=0.5))
    hint = f"; closest: {', '.join(close)}" if close else f"; known: {', '.join(known)}"
    raise ModelError(f"{key}.type: unknown {kind} class {name!r}{hint}")


# --------------------------------------------------------------------------- checking and building


def _kind_of(default: Any) -> tuple[str, tuple[type, ...]] | None:
    """What a value must be, judged by the argument's default: (words, accepted types) or None (any)."""
    if isinstance(default, bool):
        return "true or false", (bool,)
    if isinstance(default, int):
        return "an integer", (int,)
    if isinstance(default, float):
        return "a number", (int, float)
    if isinstance(default, str):
        return "a string", (str,)
    return None


def check_kwargs(kind: str, spec: ObjectSpec, key: str) -> type:
    """The class and its arguments, before Keras sees them: unknown keywords, missing required
    ones, values of the wrong kind.  Returns the class."""
    cls = lookup(kind, spec.type, key)
    args = {a.name: a for a in _args(cls)}
    for name, value in spec.kwargs.items():
        info = args.get(name)
        if info is None:
            close = difflib.get_close_matches(name, list(args), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; it takes {', '.join(args) or 'none'}"
            raise ModelError(f"{key}.{name}: {spec.type} has no argument {name!r}{hint}")
        expected = _kind_of(info.default)
        if expected is None:
            continue
        words, types = expected
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise ModelError(f"{key}.{name}: must be {words} ({spec.type}'s default is {info.default!r}), "
                             f"got {value!r}")
    missing = [a.name for a in args.values() if a.required and a.name not in spec.kwargs]
    if missing:
        raise ModelError(f"{key}: {spec.type} needs {', '.join(missing)}")
    return cls


def build(kind: str, spec: ObjectSpec, key: str, **extra: Any) -> Any:
    """The Keras object for a table (``extra`` adds arguments: the learning rate); Keras's own
    refusal of a value is reported at the key of the argument it names."""
    cls = check_kwargs(kind, spec, key)
    kwargs = {**spec.kwargs, **extra}
    try:
        return cls(**kwargs)
    except Exception as error:  # noqa: BLE001 - Keras validates with ValueError/TypeError/…
        message = one_line(error)
        named = [k for k in kwargs if re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", message)]
        where = f"{key}.{named[0]}" if len(named) == 1 else key
        raise ModelError(f"{where}: {spec.type}: {message}") from None


def make_optimizer(optimizer: str | ObjectSpec, learning_rate: float | None = None,
                   key: str = "compile.optimizer") -> Any:
    keras = load_keras()
    extra = {"learning_rate": learning_rate} if learning_rate is not None else {}
    if isinstance(optimizer, ObjectSpec):
        return build("optimizer", optimizer, key, **extra)
    try:
        return keras.optimizers.get({"class_name": optimizer, "config": extra})
    except Exception:  # noqa: BLE001
        known = list(classes("optimizer"))
        close = difflib.get_close_matches(optimizer, known + [k.lower() for k in known], n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(known)}"
        raise ModelError(f"{key}: unknown optimizer {optimizer!r}{hint}") from None


def make_loss(loss: str | ObjectSpec, key: str = "compile.loss") -> Any:
    """The loss as ``compile`` takes it: the string itself, or the built class."""
    return _make_named("loss", loss, key)


def make_metric(metric: str | ObjectSpec, key: str) -> Any:
    """The metric as ``compile`` takes it: the string itself, or the built class."""
    return _make_named("metric", metric, key)


def _make_named(kind: str, value: str | ObjectSpec, key: str) -> Any:
    """A loss or a metric: a class with its arguments built, or a name Keras knows (checked) as it is."""
    if isinstance(value, ObjectSpec):
        return build(kind, value, key)
    keras = load_keras()
    try:
        (keras.losses if kind == "loss" else keras.metrics).get(value)
    except Exception:  # noqa: BLE001
        raise ModelError(f"{key}: unknown {kind} {value!r}{_string_hint(kind, value)}") from None
    return value


def _string_hint(kind: str, name: str) -> str:
    close = difflib.get_close_matches(name, [*string_names(kind), *classes(kind)], n=2)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def logged_name(metric: str | ObjectSpec, built: Any) -> str:
    """The key Keras logs ``metric`` under: a string as given, a class by its ``name``."""
    return metric if isinstance(metric, str) else str(built.name)


def make_metrics(metrics: list[str | ObjectSpec], key: str = "compile.metrics") -> tuple[list[Any], list[str]]:
    """The metrics for ``compile`` and the keys Keras logs them under.  Two metrics with one name
    are refused: Keras would silently log the second as ``name_1``."""
    built: list[Any] = []
    names: list[str] = []
    for i, metric in enumerate(metrics):
        obj = make_metric(metric, f"{key}[{i}]")
        name = logged_name(metric, obj)
        if name in names:
            j = names.index(name)
            raise ModelError(f"{key}[{i}]: {object_text(metric)} is logged as {name!r}, as {key}[{j}] "
                             f"({object_text(metrics[j])}) is; give one another name (name = \"...\")")
        built.append(obj)
        names.append(name)
    return built, names


def check_compile(spec: Any) -> list[str]:
    """Build the optimizer, loss and metrics of a CompileSpec once (nothing is compiled): the
    ``kerastui check`` of the compile section.  Returns the metrics' logged names."""
    make_optimizer(spec.optimizer, spec.learning_rate)
    make_loss(spec.loss)
    return make_metrics(list(spec.metrics))[1]


def check_monitors(callbacks: Any, logged: list[str]) -> None:
    """Each callback's ``monitor`` is a key fit logs (``loss``, a metric, their ``val_`` forms):
    Keras refuses any other as fit starts ("isn't able to automatically determine whether that
    metric should be maximized"), after the data is prepared; ``check`` and ``train`` refuse it
    here, with this line, before.  ``logged``: the metrics' logged names, custom ones included."""
    names = ["loss", *logged]
    known = [*names, *(f"val_{name}" for name in names)]
    for key in ("early_stopping", "reduce_lr", "checkpoint"):
        spec = getattr(callbacks, key, None)
        if spec is not None and spec.monitor not in known:
            raise ModelError(f"callbacks.{key}.monitor: {spec.monitor!r} is not logged by this model; "
                             f"it logs {', '.join(known)}")

"""Compile entries as typed, and back, exactly: ``accuracy, TopKCategoricalAccuracy(k=2)`` in the
metrics field, ``momentum=0.9, nesterov=True`` in an optimizer's or a loss's arguments field.

- ``parse_metrics`` / ``metrics_text``: the metrics field's text ↔ names and ``ObjectSpec``s.
- ``parse_arguments`` / ``arguments_text``: keyword arguments.
- ``compile_entry`` / ``entry_fields``: an optimizer or a loss ↔ the name its list selects and its
  arguments' text.

Values are read with ``ast`` as literals only (never evaluated); a ValueError names the field.
Apart from the form kit (:mod:`kerastui.ui.widgets.form`): the specs and Keras's names load with
the Train workspace, not before the first frame.
"""

from __future__ import annotations

import ast
from typing import Any

from kerastui.core.model.kerasobjects import LOSS_CLASSES, class_name_for
from kerastui.core.model.specs import ObjectSpec, object_text


def _literal(node: ast.expr, where: str) -> Any:
    """A keyword's value: a Python literal (also ``true``/``false``, as a preset writes them)."""
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        raise ValueError(f"{where}: {ast.unparse(node)!r} is not a value (a number, 'text', True, [1, 2])") from None


def _keywords(call: ast.Call, where: str) -> dict[str, Any]:
    if call.args:
        raise ValueError(f"{where}: give arguments by name, like k=2")
    out: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError(f"{where}: give arguments by name, like k=2")
        out[keyword.arg] = _literal(keyword.value, f"{where}: {keyword.arg}")
    return out


def _entry(node: ast.expr, where: str) -> str | ObjectSpec:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value.strip()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return ObjectSpec(node.func.id, _keywords(node, f"{where}: {node.func.id}"))
    raise ValueError(f"{where}: {ast.unparse(node)!r} is not a metric name or ClassName(arg=value, ...)")


def parse_metrics(text: str, name: str = "metrics") -> list[str | ObjectSpec]:
    """``accuracy, TopKCategoricalAccuracy(k=2), F1Score(average='macro')`` → names and ObjectSpecs;
    a ValueError names the field."""
    if not text.strip():
        return []
    try:
        tree = ast.parse(f"[{text.strip().rstrip(',')}\n]", mode="eval").body
    except SyntaxError:
        raise ValueError(f"{name}: cannot read {text.strip()!r}; write names or ClassName(arg=value), "
                         "separated by commas") from None
    assert isinstance(tree, ast.List)
    return [_entry(node, name) for node in tree.elts]


def metrics_text(metrics: list[str | ObjectSpec]) -> str:
    """The metrics field's text for ``metrics``: what :func:`parse_metrics` reads back equal."""
    return ", ".join(object_text(m) for m in metrics)


def parse_arguments(text: str, name: str) -> dict[str, Any]:
    """``momentum=0.9, nesterov=True`` → keyword arguments; a ValueError names the field."""
    if not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text.strip().rstrip(',')}\n)", mode="eval").body
    except SyntaxError:
        raise ValueError(f"{name}: cannot read {text.strip()!r}; write name=value, separated by commas") from None
    assert isinstance(call, ast.Call)
    return _keywords(call, name)


def arguments_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


_LOSS_NAMES = {cls: name for name, cls in LOSS_CLASSES.items()}


def entry_fields(value: str | ObjectSpec, kind: str) -> tuple[str, str]:
    """An optimizer or loss as the form shows it: (the name its list selects, its arguments' text)."""
    if isinstance(value, str):
        return (value.lower() if kind == "optimizer" else value), ""
    selected = value.type.lower() if kind == "optimizer" else _LOSS_NAMES.get(value.type, value.type)
    return selected, arguments_text(value.kwargs)


def compile_entry(kind: str, selected: str, arguments: str, current: str | ObjectSpec, name: str) -> str | ObjectSpec:
    """The optimizer or loss the form says: the selected name, or with arguments its class
    (``sgd`` + ``momentum=0.9`` → ``{type = "SGD", momentum = 0.9}``).  What the form shows for
    ``current`` gives ``current`` back unchanged, so a preset saved from the form loads back equal."""
    kwargs = parse_arguments(arguments, name)
    if entry_fields(current, kind) == (selected, arguments_text(kwargs)):
        return current
    if not kwargs:
        return selected
    return ObjectSpec(class_name_for(kind, selected), kwargs)

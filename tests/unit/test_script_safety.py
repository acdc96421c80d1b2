"""`kerastui export-script` builds code from values, never from pasted text (issue 25).

Every string a preset holds (and its file's name) is filled with payloads that would break out of
a string, a comment or a docstring; the export either refuses in one line, or writes a script that
parses and whose calls all come from an allowlist, with no preset text in a comment or docstring.
Scripts made from hostile presets are run for real and must not create a marker file.
"""

from __future__ import annotations

import ast
import copy
import io
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerastui.core.errors import KerasTUIError
from kerastui.core.model import presets
from kerastui.core.model.specs import Preset
from kerastui.core.script import HEADER, check_exportable, export_script, write_script
from tests.conftest import PRESETS, offline_env, run_cli

# --------------------------------------------------------------------------- what a safe script may call

MODULES = {"__future__", "os", "pathlib", "numpy", "keras", "tensorflow", "tensorflow_datasets", "sklearn", "csv",
           "importlib.util"}
BUILTINS = {"print", "len", "range", "int", "float", "str", "tuple", "list", "dict", "set", "max", "min", "round",
            "sorted", "enumerate", "zip", "isinstance", "all", "any", "next", "open", "abs", "sum", "ascii", "repr"}
ROOTS = {"keras", "np", "tf", "tfds", "csv", "Path", "HERE", "importlib"}
OS_CALLS = {"os.environ.setdefault", "os.path.join", "os.path.isdir", "os.listdir", "os.makedirs"}
# Names no generated script calls or reads, whatever the preset says.
FORBIDDEN = {"__import__", "eval", "exec", "compile", "globals", "locals", "vars", "breakpoint", "input",
             "subprocess", "pickle", "marshal", "ctypes", "shutil", "socket", "urllib", "requests", "__builtins__"}
FORBIDDEN_ATTRIBUTES = {"system", "popen", "spawnl", "execv", "execve", "remove", "unlink", "rmtree", "__import__",
                        "__builtins__", "__subclasses__", "__globals__", "__code__", "__class__", "__dict__",
                        "__getattribute__", "write_text", "write_bytes", "eval", "exec"}
# Where user code (the custom metric or model file the preset names) is run: only in this helper.
TRUSTED_HELPER = "load_class"


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def disallowed(text: str) -> list[str]:
    """What in a script is outside the allowlist: imports of other modules, forbidden names, calls
    that are neither Keras/NumPy/TensorFlow, the script's own functions and variables, nor safe builtins."""
    tree = ast.parse(text)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                for t in [n]}
    assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    helper_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == TRUSTED_HELPER
                    for n in ast.walk(f)}
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [f"import {a.name}" for a in node.names if a.name.split(".")[0] not in
                    {m.split(".")[0] for m in MODULES}]
        elif isinstance(node, ast.ImportFrom):
            if node.module not in MODULES and (node.module or "").split(".")[0] not in ("sklearn", "pathlib"):
                bad.append(f"from {node.module} import")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN:
            bad.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            bad.append(f".{node.attr}")
        elif isinstance(node, ast.Call):
            func = node.func
            while isinstance(func, ast.Call):  # keras.layers.Dense(...)(x): the inner call is checked itself
                func = func.func
            name = dotted(func)
            if name is None:  # a method of a value: (a + b).astype(...), Path(...).resolve()
                if not isinstance(func, ast.Attribute):
                    bad.append(f"call of {ast.dump(func)[:60]}")
                continue
            root = name.split(".")[0]
            if name in ("getattr", "spec.loader.exec_module") and id(node) in helper_nodes:
                continue
            if root == "os":
                if name not in OS_CALLS:
                    bad.append(name)
            elif "." not in name:
                if name not in BUILTINS | defined | assigned | imported:
                    bad.append(name)
            elif root not in ROOTS | assigned | imported:
                bad.append(name)
    return bad


def comments_and_docstrings(text: str) -> list[str]:
    found = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                found.append(doc)
    return found


# Characters no script may hold raw: they end lines in some readers, reorder text, or drive terminals.
RAW = ("\x00", "\x1b", "\u2028", "\u2029", "\u202e", "\u2066", "\r", "\x85", "\x0b", "\x0c")
MARK = "Pwn3d"
PIECES = ['"""', "'''", '"', "'", "\n", "\r\n", "#", "\\", "\\n", "__import__('os').system('touch PWNED')",
          "\u2028", "\u2029", "\x00", "\x1b[2J\x1b]0;title\x07", "\u202e", "\u2066", ")", "]", "}", "{", "f'{x}'",
          "\x85", "${x}", MARK, "Dense", "relu", ".py", ":", "/", "..", " "]
payloads = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), min_size=1, max_size=6).map(
    lambda parts: MARK + "".join(parts))


def assert_safe(text: str) -> None:
    ast.parse(text)
    assert disallowed(text) == [], disallowed(text)
    assert ast.get_docstring(ast.parse(text)) == ast.get_docstring(ast.parse(HEADER))
    assert not [c for c in comments_and_docstrings(text) if MARK in c]
    assert not [c for c in RAW if c in text]


# --------------------------------------------------------------------------- every string field, fuzzed

BASE: dict[str, Any] = {
    "title": "t", "description": "d",
    "data": {"source": "synthetic:classification", "samples": 60, "features": 4, "num_classes": 3,
             "test_split": 0.2, "validation_split": 0.2, "seed": 1},
    "model": {"type": "sequential", "layers": [{"type": "Dense", "units": 8, "activation": "relu"},
                                               {"type": "Dense", "units": 3, "activation": "softmax"}]},
    "compile": {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 1, "batch_size": 16, "seed": 1},
}
FUNCTIONAL = {"type": "functional", "layers": [{"type": "Input", "name": "inp", "shape": [4]},
                                               {"type": "Dense", "name": "hidden", "units": 8, "inputs": ["inp"]},
                                               {"type": "Dense", "name": "out", "units": 3, "activation": "softmax"}],
              "outputs": ["out"]}


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data.setdefault(part, {})
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


# Each slot puts the payload p in one place a preset holds a string.
SLOTS = {
    "title": lambda d, p: _set(d, "title", p),
    "description": lambda d, p: _set(d, "description", p),
    "model.name": lambda d, p: _set(d, "model/name", p),
    "layer type": lambda d, p: _set(d, "model/layers/0/type", p),
    "layer name": lambda d, p: _set(d, "model/layers/0/name", p),
    "layer keyword": lambda d, p: _set(d, "model/layers/0", {"type": "Dense", "units": 8, p: 1}),
    "layer value": lambda d, p: _set(d, "model/layers/0/activation", p),
    "functional name": lambda d, p: (_set(d, "model", copy.deepcopy(FUNCTIONAL)),
                                     _set(d, "model/layers/0/name", p), _set(d, "model/layers/1/inputs", [p])),
    "functional output": lambda d, p: (_set(d, "model", copy.deepcopy(FUNCTIONAL)), _set(d, "model/outputs", [p])),
    "optimizer": lambda d, p: _set(d, "compile/optimizer", p),
    "optimizer type": lambda d, p: _set(d, "compile/optimizer", {"type": p}),
    "optimizer keyword": lambda d, p: _set(d, "compile/optimizer", {"type": "SGD", p: 0.9}),
    "loss": lambda d, p: _set(d, "compile/loss", p),
    "loss table": lambda d, p: _set(d, "compile/loss", {"type": "CategoricalCrossentropy", "name": p}),
    "metric": lambda d, p: _set(d, "compile/metrics", [p]),
    "metric type": lambda d, p: _set(d, "compile/metrics", [{"type": p}]),
    "metric keyword": lambda d, p: _set(d, "compile/metrics", [{"type": "F1Score", p: "macro"}]),
    "metric name": lambda d, p: _set(d, "compile/metrics", [{"type": "CategoricalAccuracy", "name": p}]),
    "custom metric file": lambda d, p: _set(d, "compile/custom_metrics", [f"{p}.py:MyAccuracy"]),
    "custom metric class": lambda d, p: _set(d, "compile/custom_metrics", [f"m.py:{p}"]),
    "subclass": lambda d, p: _set(d, "model", {"type": "subclass", "subclass": f"{p}.py:Net", "kwargs": {p: 1}}),
    "tensorboard": lambda d, p: _set(d, "callbacks/tensorboard/log_dir", p),
    "early stopping": lambda d, p: _set(d, "callbacks/early_stopping/monitor", p),
    "reduce lr": lambda d, p: _set(d, "callbacks/reduce_lr/monitor", p),
    "checkpoint": lambda d, p: _set(d, "callbacks/checkpoint", {"filename": p, "monitor": p}),
    "csv source": lambda d, p: (_set(d, "data/source", f"csv:{p}"), _set(d, "data/label_column", p)),
    "npz source": lambda d, p: _set(d, "data/source", f"npz:{p}"),
    "npy source": lambda d, p: _set(d, "data/source", f"npy:{p},{p}"),
    "images source": lambda d, p: (_set(d, "data/source", f"images:{p}"), _set(d, "data/cache", "file")),
    "tfds source": lambda d, p: (_set(d, "data/source", f"tfds:{p}"), _set(d, "data/data_dir", p),
                                 _set(d, "data/split", p)),
    "data keys": lambda d, p: (_set(d, "data/kind", p), _set(d, "data/missing", p), _set(d, "data/cache", p)),
    "transfer base": lambda d, p: (_set(d, "data/source", "synthetic:images"), _set(d, "model/layers", [
        {"type": "GlobalAveragePooling2D"}, {"type": "Dense", "units": 5, "activation": "softmax"}]),
        _set(d, "transfer", {"base": p, "weights": "none"})),
    "transfer weights": lambda d, p: (_set(d, "data/source", "synthetic:images"), _set(d, "model/layers", [
        {"type": "GlobalAveragePooling2D"}, {"type": "Dense", "units": 5, "activation": "softmax"}]),
        _set(d, "transfer", {"base": "MobileNetV2", "weights": p, "fine_tune_last": 2, "fine_tune_epochs": 1})),
    "precision": lambda d, p: _set(d, "devices/precision", p),
}


def _preset(slot: str, payload: str, name: str, folder: Path) -> Preset:
    data = copy.deepcopy(BASE)
    SLOTS[slot](data, payload)
    preset = Preset.from_dict(data, str(folder / f"{name}.toml"))
    preset.path = folder / f"{name}.toml"  # as presets.load sets them from the file
    preset.name = name
    return preset


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(slot=st.sampled_from(sorted(SLOTS)), payload=payloads, file_name=payloads)
def test_every_string_of_a_preset_is_refused_in_one_line_or_written_as_a_value(slot, payload, file_name, tmp_path):
    try:
        preset = _preset(slot, payload, file_name, tmp_path)
        text = export_script(preset)
    except KerasTUIError as error:
        assert "\n" not in str(error) and not [c for c in RAW if c in str(error)], repr(str(error))
        return
    assert_safe(text)
    assert ascii(file_name) in text  # the file's name: a string value, PRESET = '...'


def test_the_reproductions_of_issue_25_are_values_or_refusals(tmp_path):
    """Each of these created a marker file when the exported script ran."""
    docstring = "x\"\"\"\nimport os; os.system('touch PWNED')\n\"\"\""
    log_dir = "logs\nimport os; os.system('touch PWNED')"
    layer_name = "inp[__import__('os').system('touch PWNED')]"
    title = _preset("title", docstring, "ok", tmp_path)
    assert f"TITLE = {ascii(title.title)}" in export_script(title)
    tensorboard = _preset("tensorboard", log_dir, "ok", tmp_path)
    assert f"LOG_DIR = {ascii(tensorboard.callbacks.tensorboard.log_dir)}" in export_script(tensorboard)
    for slot, value in [("functional name", layer_name), ("layer type", "Dense(1)); __import__('os').system('x'"),
                        ("layer keyword", "units=1)); __import__('os').system('x'); ((x"),
                        ("metric keyword", "average='macro')); __import__('os').system('x'); ((x")]:
        with pytest.raises(KerasTUIError) as refused:
            export_script(_preset(slot, value, "ok", tmp_path))
        assert "\n" not in str(refused.value)
    weird = _preset("title", "t", 'a"""+__import__("os").system("touch PWNED")+"""', tmp_path)
    text = export_script(weird)
    assert_safe(text)
    assert "PRESET = 'a\"\"\"+__import__(\"os\").system(\"touch PWNED\")+\"\"\"'" in text


def test_a_hostile_name_is_a_string_or_a_generated_name_never_code(tmp_path):
    """A functional layer named like a Python keyword or a script variable, a custom class named
    ``class``: names are strings (tensors['...']) and the class list is generated."""
    data = copy.deepcopy(BASE)
    data["model"] = copy.deepcopy(FUNCTIONAL)
    data["model"]["layers"][0]["name"] = "np"
    data["model"]["layers"][1].update(name="class", inputs=["np"])
    data["model"]["layers"][2]["name"] = "model"
    data["model"]["outputs"] = ["model"]
    text = export_script(Preset.from_dict(data, "p"))
    assert "tensors['np'] = keras.Input(shape=(4,), name='np')" in text
    assert "tensors['class'] = keras.layers.Dense(units=8, name='class')(tensors['np'])" in text
    assert "model = keras.Model(inputs if len(inputs) > 1 else inputs[0], tensors['model'])" in text
    assert disallowed(text) == []


# --------------------------------------------------------------------------- hostile scripts, run


def _run(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = offline_env(cwd)
    env["PYTHONPATH"] = ""  # only the installed packages: keras, numpy, scikit-learn
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


HOSTILE = """\
title = '''x\"\"\"
import os; os.system('touch PWNED')
\"\"\"'''
description = "y\\u2028import os; os.system('touch PWNED') # \\u202e \\u001b]0;t\\u0007"

[data]
source = "sklearn:iris"
test_split = 0.2
validation_split = 0.2
seed = 3

[model]
name = "m'''; __import__('os').system('touch PWNED'); '''"
layers = [
    { type = "Dense", units = 4, activation = "relu", name = "d.1-x" },
    { type = "Dense", units = 3, activation = "softmax" },
]

[compile]
metrics = [
    "accuracy",
    { type = "CategoricalAccuracy", name = "acc\\"; __import__('os').system('touch PWNED'); #\\u001b[2J\\u202e" },
]

[fit]
epochs = 1
batch_size = 16
seed = 3

[callbacks.checkpoint]
filename = "ck'''\\nimport os; os.system('touch PWNED')#.keras"

[callbacks.tensorboard]
log_dir = "logs\\nimport os; os.system('touch PWNED')"
"""


def test_a_hostile_preset_exports_a_script_that_runs_without_running_its_text(tmp_path):
    """Every accepted payload at once (title, description, model and layer names, a metric's name,
    a checkpoint file, the TensorBoard folder, the preset file's name) in a script that is run for real."""
    folder = tmp_path / "presets"
    folder.mkdir()
    preset_file = folder / 'a"""+__import__("os").system("touch PWNED")+""".toml'
    preset_file.write_text(HOSTILE)
    out = tmp_path / "out"
    out.mkdir()
    proc = run_cli("export-script", str(preset_file), "-o", str(out / "train.py"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (out / "train.py").read_text()
    assert_safe(text)
    run = _run(out / "train.py", out)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "test:" in run.stdout and "'epoch', 1" not in run.stdout and "epoch 1 {" in run.stdout
    assert not [c for c in RAW if c in run.stdout]  # the metric's name is printed as repr shows it
    assert not list(tmp_path.rglob("PWNED"))


def test_a_preset_check_refuses_is_refused_by_export_script_in_one_line(tmp_path):
    """What train refuses before training, export-script refuses with train's line: an output layer
    of the wrong size (Keras accepts it; check does not), and a layer type that is code."""
    wrong_units = tmp_path / "wrong.toml"
    wrong_units.write_text(presets.dumps(presets.load("ex1", {"model.layers": [
        {"type": "Input", "shape": [20]}, {"type": "Dense", "units": 4, "activation": "softmax"}]})))
    check = run_cli("check", str(wrong_units))
    export = run_cli("export-script", str(wrong_units), "-o", str(tmp_path / "train.py"))
    assert check.returncode == export.returncode == 1
    assert export.stderr == check.stderr and export.stderr.count("\n") == 1, export.stderr
    assert "gives 4 outputs" in export.stderr and not (tmp_path / "train.py").exists()
    with pytest.raises(KerasTUIError, match="unknown layer type"):
        check_exportable(presets.load("ex1", {"model.layers": [
            {"type": "Dense(1)); __import__('os').system('touch PWNED'); ((Dense", "units": 3}]}))


def test_custom_code_with_a_hostile_file_name_is_copied_under_a_plain_name(tmp_path):
    metric = PRESETS / "my_accuracy.py"
    folder = tmp_path / "p"
    folder.mkdir()
    hostile = "m'''\n__import__('os').system('touch PWNED')#.py"
    (folder / hostile).write_bytes(metric.read_bytes())
    preset = presets.load("ex4", {"compile.custom_metrics": [f"{hostile}:MyAccuracy"], "fit.epochs": 1})
    preset.path = folder / "ex4.toml"
    assert write_script(preset, tmp_path / "train.py") == tmp_path / "train.py"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["custom_1.py", "p", "train.py"]
    assert (tmp_path / "custom_1.py").read_bytes() == metric.read_bytes()
    text = (tmp_path / "train.py").read_text()
    assert "CUSTOM_METRICS = [load_class('custom_1.py', 'MyAccuracy')]" in text
    assert_safe(text)

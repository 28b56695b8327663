"""The layering of docs/architecture.md, checked on the source: imports point one way
(data → tasks → models → nn; the CLI wires them), and no two modules import each other.

Module-level imports and imports inside functions both count: a lazy import still ties the two
modules together, and a cycle through a lazy import is only postponed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cnnlstm"

# Old module paths kept for one release: thin re-exports, outside the layering.
SHIMS = {
    "cnnlstm.callbacks",
    "cnnlstm.checkpoint_io",
    "cnnlstm.demo",
    "cnnlstm.export",
    "cnnlstm.export_step",
    "cnnlstm.loggers",
    "cnnlstm.plots",
    "cnnlstm.predict",
    "cnnlstm.data.video_index",
    "cnnlstm.nn._checks",
}

# What each layer may import from the package (besides itself and the shared helpers).
SHARED = {"cnnlstm._validation", "cnnlstm._io", "cnnlstm._version"}
ALLOWED = {
    "nn": set(),
    "models": {"nn"},
    "data": set(),
    "metrics": set(),  # anomaly metrics, thresholds, baselines: numpy, scipy, scikit-learn only
    "tasks": {"models", "nn", "training", "metrics"},  # tasks draw their pictures with training.plots
    "training": set(),
    "deploy": {"models", "nn", "data", "metrics"},  # data: decoding and readers; metrics: stream alarms
    "sklearn": {"data", "tasks", "models", "nn", "training"},  # estimators train the task on in-memory data
    "cli": {"data", "tasks", "models", "nn", "training", "deploy", "metrics"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The ``cnnlstm`` modules a file imports (``from cnnlstm.x import y`` counts as ``cnnlstm.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("cnnlstm"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cnnlstm"))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        if name in SHIMS:
            continue
        targets = set()
        for imported in _imports(path):
            # `from cnnlstm.models import create_model` is an import of the package cnnlstm.models.
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_layers_import_only_what_the_architecture_allows():
    wrong = []
    for module, targets in _graph().items():
        layer = _layer(module)
        if layer not in ALLOWED:
            continue
        for target in targets:
            other = _layer(target)
            if target in SHARED or other == layer or other in ALLOWED[layer]:
                continue
            wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules():
    graph = _graph()
    # Packages import their own submodules to re-export them; an edge from a package to its own
    # submodule is that, not a dependency.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("heavy", ["lightning", "onnx", "onnxruntime", "matplotlib", "cnnlstm.deploy.export"])
def test_import_cnnlstm_stays_light(heavy):
    code = f"import sys, cnnlstm; sys.exit(1 if {heavy!r} in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0, (
        f"import cnnlstm loads {heavy}"
    )

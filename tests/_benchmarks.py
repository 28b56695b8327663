"""Load a script of ``benchmarks/`` as a module, for the tests of its pure parts."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as the module ``<name>_benchmark``.

    It is registered in ``sys.modules`` (dataclasses resolve their module by name), and the
    benchmarks folder goes on ``sys.path`` first, so scripts that import a sibling (``from asr
    import ...``) load too.
    """
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def benchmark_fixture(name: str) -> Callable[[], Iterator[ModuleType]]:
    """A module-scoped fixture of ``benchmarks/<name>.py`` (:func:`load_benchmark`), unloaded after
    the test module: ``bench = benchmark_fixture("ucr")``."""

    @pytest.fixture(scope="module")
    def loaded() -> Iterator[ModuleType]:
        module = load_benchmark(name)
        yield module
        sys.modules.pop(module.__name__, None)

    return loaded

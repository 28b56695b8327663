"""benchmarks/ucr_update_cost.py on the smallest shipped set: it builds each model as its preset does."""

from __future__ import annotations

import json
import sys

import pytest

from tests._benchmarks import load_benchmark

pytest.importorskip("sktime")


@pytest.fixture(scope="module")
def bench():
    module = load_benchmark("ucr_update_cost")
    yield module
    del sys.modules[module.__name__]


def test_models_are_built_from_their_shipped_presets(bench):
    for model in bench.MODELS:
        args = bench.preset_model_args(model)
        assert args["name"] == model and args["lr"] == 0.001
    assert bench.preset_model_args("deepconvlstm")["model_kwargs"] == {"dropout": 0.2}


def test_one_timed_update_is_recorded_with_the_code_measured(bench, tmp_path):
    out = tmp_path / "cost.json"
    argv = ["--datasets", "UnitTest", "--models", "lstm_fcn", "--warmup", "0", "--repeats", "1"]
    assert bench.main([*argv, "--label", "test", "--out", str(out)]) == 0
    assert bench.main([*argv, "--out", str(out)]) == 0  # a second invocation adds its record
    first, second = json.loads(out.read_text())
    assert first["label"] == "test" and first["code"]
    (row,) = first["rows"]
    assert row["dataset"] == "UnitTest" and row["model"] == "lstm_fcn" and row["batch_size"] == 16
    assert row["cpu_s_per_update"] > 0 and row["batch_steps"] == [row["input_shape"][0]]
    assert len(second["rows"]) == 1

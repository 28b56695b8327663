"""benchmarks/ucr_update_cost.py on the smallest shipped set: it builds each model as its preset does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._benchmarks import benchmark_fixture

pytest.importorskip("sktime")


bench = benchmark_fixture("ucr_update_cost")


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


def test_a_baseline_tree_is_timed_pairwise_and_leaves_the_library_as_it_was(bench, tmp_path):
    import cnnlstm.models._registry as registry
    import cnnlstm.models.sensor
    import cnnlstm.nn
    from cnnlstm.nn import LSTM

    register_model = registry.register_model
    src = Path(cnnlstm.nn.__file__).resolve().parents[2]  # the current tree as its own baseline
    out = tmp_path / "cost.json"
    argv = ["--datasets", "UnitTest", "--models", "cnn_bilstm", "--warmup", "0", "--repeats", "2"]
    assert bench.main([*argv, "--baseline", str(src), "--out", str(out)]) == 0
    (record,) = json.loads(out.read_text())
    (row,) = record["rows"]
    assert record["baseline"] == str(src) and len(row["baseline_cpu_s"]) == 2 and row["ratio"] > 0
    assert registry.register_model is register_model and cnnlstm.nn.LSTM is LSTM
    baseline = bench.load_baseline(src)
    assert baseline.LSTM is not LSTM and baseline.CNNBiLSTM is not cnnlstm.models.sensor.CNNBiLSTM

"""benchmarks/ucr_baselines.py: the majority class and 1-NN Euclidean beside the UCR table."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from tests._benchmarks import benchmark_fixture, load_benchmark

pytest.importorskip("sktime")


baselines = benchmark_fixture("ucr_baselines")


# The UCR archive's published 1-NN Euclidean test error rates (Dau et al. 2019, the archive's
# DataSummary table): GunPoint 0.0867 (13 of 150), ArrowHead 0.2000 (35 of 175), ItalyPowerDemand
# 0.0447 (46 of 1029). These sets are z-normalised per series already, so our inputs are the archive's.
@pytest.mark.parametrize(
    ("name", "errors", "n_test"),
    [("GunPoint", 13, 150), ("ArrowHead", 35, 175), ("ItalyPowerDemand", 46, 1029)],
)
def test_1nn_ed_reproduces_the_archive_s_published_error(baselines, name, errors, n_test):
    row = baselines.run_dataset(name)
    assert row["n_test"] == n_test
    assert row["1nn_ed"] == pytest.approx(1 - errors / n_test, abs=1e-9)


def test_majority_uses_the_training_labels_and_nn_pads_unequal_lengths(baselines):
    # TRAIN's majority is class 1; the test split is all class 0: a baseline that peeked would score 1.
    x_train = torch.zeros(3, 4, 2)
    x_train[0, :2] = 1.0
    y_train = torch.tensor([0, 1, 1])
    x_test = torch.ones(2, 2, 2)  # shorter than TRAIN's series: zero-padded to 4 steps
    y_test = torch.tensor([0, 0])
    assert baselines.baseline_accuracies(x_train, y_train, x_test, y_test) == {"majority": 0.0, "1nn_ed": 1.0}


def test_report_table_shows_the_baselines_beside_the_models(baselines, tmp_path):
    bench = load_benchmark("ucr")
    try:
        path = tmp_path / "b.json"
        rows = [{"dataset": "GunPoint", "majority": 0.493, "1nn_ed": 0.913}]
        path.write_text(json.dumps({"baselines": rows}))
        loaded = baselines.load_baselines(path)
        runs = [{"dataset": "GunPoint", "model": "lstm_fcn", "seed": 0, "test_acc": 0.99, "fit_s": 1.0}]
        table = bench.tables(runs, ["GunPoint", "ArrowHead"], ["lstm_fcn"], baselines=loaded)
        assert "| dataset | lstm_fcn | 1-NN ED (ours) | majority (ours) | FCN |" in table
        assert "| GunPoint | 0.990 (1) | 0.913 | 0.493 | 1.000 |" in table
        assert "| ArrowHead | not run | — | — |" in table
        assert baselines.load_baselines(tmp_path / "missing.json") == {}
    finally:
        del sys.modules[bench.__name__]

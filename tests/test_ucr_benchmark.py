"""benchmarks/ucr.py without training: the targets, the shipped sets and the table from given runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("sktime")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ucr.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ucr_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_targets_follow_the_best_deep_anchor(bench):
    assert bench.target("ArrowHead") == round(0.845 - 0.02, 3)  # ResNet, the best deep anchor there
    assert bench.target("JapaneseVowels") == 0.99
    assert bench.target("UnitTest") is None  # nothing published for sktime's test subset


@pytest.mark.slow  # reads every shipped set (PLAID and ACSF1 take seconds)
def test_every_shipped_set_is_covered_with_anchor_entries(bench):
    from cnnlstm.data.timeseries import available_datasets

    shipped = bench.shipped_datasets()
    assert sorted(shipped) == sorted(available_datasets()) and shipped[0] == "UnitTest"  # cheapest first
    assert set(shipped) <= set(bench.ANCHORS)
    for anchors in bench.ANCHORS.values():
        for anchor in anchors.values():
            assert anchor is None or anchor[1] in bench.SOURCES


def test_table_gives_mean_std_and_verdict_from_the_runs(bench):
    runs = [
        {"dataset": "GunPoint", "model": "lstm_fcn", "seed": s, "test_acc": acc, "fit_s": 10.0}
        for s, acc in enumerate([0.99, 0.97])
    ]
    table = bench.tables(runs, ["GunPoint"], ["lstm_fcn"])
    assert "| GunPoint | 0.980 ± 0.014 | 1.000 | 0.991 | 1.000 | 1.000 | >= 0.980 | lstm_fcn |" in table
    runs[1]["test_acc"] = 0.95
    assert "none (best: lstm_fcn 0.9700)" in bench.tables(runs, ["GunPoint"], ["lstm_fcn"])

"""The generated suite's GutenTAG configurations, and (where GutenTAG is installed) its build."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlstm.data.anomaly import AnomalyDataModule
from cnnlstm.data.anomaly_suite import CONFIGS, build_suite, load_config

GUTENTAG_KINDS = {
    "amplitude",
    "extremum",
    "frequency",
    "mean",
    "pattern",
    "pattern-shift",
    "platform",
    "trend",
    "variance",
}


def test_configurations_cover_every_kind_lengths_rates_and_channels():
    """Checked without GutenTAG: what the suite promises is in the checked-in files."""
    entries = [e for name in CONFIGS for e in load_config(name)["timeseries"]]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names))
    kinds = {k["kind"] for e in entries for a in e["anomalies"] for k in a["kinds"]}
    assert kinds == GUTENTAG_KINDS
    assert {e["length"] for e in entries} >= {2000, 3000}
    assert {len(e["anomalies"]) for e in entries} == {1, 2}  # two anomaly rates
    assert all(e["semi-supervised"] for e in entries)  # a normal training file for each
    multi = load_config("multivariate")["timeseries"]
    assert all(len(e["base-oscillations"]) == 3 for e in multi)
    bases = {
        b["kind"]
        for e in entries
        for b in ([e["base-oscillation"]] if "base-oscillation" in e else e["base-oscillations"])
    }
    assert "ecg" not in bases  # GutenTAG's ECG needs scipy < 1.15 (docs/anomaly.md)


@pytest.mark.slow
def test_the_suite_builds_reproducibly_and_reads_as_anomaly_data(tmp_path):
    pytest.importorskip("gutenTAG", reason="the generator is the optional extra [anomaly-suite]")
    suite = build_suite(tmp_path / "a", seed=3)  # every series builds (GutenTAG checks its parameters)
    assert len(suite) == sum(len(load_config(c)["timeseries"]) for c in CONFIGS)
    only = ["uni-sine-mean", "multi-variance"]
    again = build_suite(tmp_path / "b", seed=3, only=only)
    first = [s for s in suite if s.name in only]
    assert [s.name for s in again] == only and [s.channels for s in again] == [1, 3]
    for a, b in zip(first, again, strict=True):
        assert a.test.read_bytes() == b.test.read_bytes()  # fixed seed, same files
    for series in suite:
        dm = AnomalyDataModule(path=series.test, train_path=series.train, window=32)
        dm.setup("test")
        item = dm.test_dataset[0]
        assert item.test_start == 0 and 0 < int(item.labels.sum()) < len(item.labels)
        assert np.isfinite(item.values.numpy()).all()

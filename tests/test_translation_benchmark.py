"""benchmarks/translation.py on a tiny budget: every row, matched parameters, the saved-JSON table."""

from __future__ import annotations

import json

import pytest

from tests._benchmarks import load_benchmark


def _load():
    return load_benchmark("translation")


@pytest.mark.slow
def test_tiny_run_writes_rows_and_a_table(tmp_path, capsys):
    bench = _load()
    out = tmp_path / "r.json"
    args = [
        "--corpora",
        "numbers-de",
        "--seeds",
        "0",
        "--budget",
        "0.5",
        "--train-size",
        "80",
        "--test-size",
        "8",
    ]
    args += ["--beam-sentences", "4", "--max-exponent", "3", "--json", str(out)]
    assert bench.main(args) == 0
    data = json.loads(out.read_text())
    rows = {r["model"]: r for r in data["rows"]}
    assert set(rows) == {"conv_lstm_translator", "bilstm_translator"}
    conv, bilstm = rows["conv_lstm_translator"], rows["bilstm_translator"]
    assert abs(conv["params"] - bilstm["params"]) / conv["params"] < 0.05  # equal parameters
    for row in rows.values():
        assert row["train_cpu_s"] >= 0.5 and row["train_tokens_per_s"] > 0 and row["greedy_sent_per_s"] > 0
        assert 0 <= row["exact_match"] <= 1 and 0 <= row["beyond_exact_match"] <= 1
        assert row["bleu_signature"].startswith("nrefs:1")
    capsys.readouterr()
    assert bench.main(["--summarise", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| numbers-de | conv_lstm_translator | 1 |" in table

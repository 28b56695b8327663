"""benchmarks/translation.py on a tiny budget: every row, matched parameters, the saved-JSON table."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "translation.py"


def _load():
    spec = importlib.util.spec_from_file_location("translation_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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

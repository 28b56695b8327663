"""benchmarks/cpu_precision.py on the smallest shipped set: both precisions timed, the CPU recorded."""

from __future__ import annotations

import json

import pytest

from tests._benchmarks import benchmark_fixture

pytest.importorskip("sktime")


bench = benchmark_fixture("cpu_precision")


def test_both_precisions_are_timed_on_the_same_batches_and_recorded(bench, tmp_path, capsys):
    out = tmp_path / "precision.json"
    argv = ["--datasets", "UnitTest", "--models", "lstm_fcn", "--warmup", "0", "--repeats", "2"]
    assert bench.main([*argv, "--label", "test", "--out", str(out)]) == 0
    (record,) = json.loads(out.read_text())
    assert record["label"] == "test" and record["code"] and record["threads"] == 1
    assert {"cpu", "amx_bf16", "avx512_bf16", "torch_detects_native_bf16"} <= set(record)
    (row,) = record["rows"]
    assert row["dataset"] == "UnitTest" and row["model"] == "lstm_fcn" and len(row["batch_steps"]) == 2
    assert len(row["fp32_cpu_s"]) == len(row["bf16_cpu_s"]) == 2 and row["bf16_over_fp32"] > 0
    table = capsys.readouterr().out
    assert "| UnitTest | 24 × 1 | lstm_fcn |" in table


def test_a_bf16_update_leaves_float32_weights(bench):
    import torch

    from cnnlstm.models import create_model

    torch.manual_seed(0)
    model = create_model("mlstm_fcn_tiny", num_classes=3, in_channels=3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = (torch.randn(4, 32, 3), torch.tensor([0, 1, 2, 0]), torch.tensor([32, 30, 20, 32]))
    before = [p.detach().clone() for p in model.parameters()]
    assert bench.one_update(model, optimizer, batch, "bf16") >= 0
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))

"""benchmarks/convlstm_speed.py on a tiny configuration: numbers, checks, isolation of failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests._benchmarks import benchmark_fixture

EAGER_CPU = [
    "reference fp32",
    "cnnlstm-auto fp32",
    "cnnlstm-fused fp32",
    "cnnlstm-split fp32",
    "cnnlstm-auto bf16",
]


bench = benchmark_fixture("convlstm_speed")


def _run(bench, tmp_path: Path, *extra: str) -> tuple[dict, dict]:
    out = tmp_path / "speed.json"
    result = bench.main(
        [
            "--configs",
            "tiny",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--peak-size",
            "128",
            "--out",
            str(out),
            *extra,
        ]
    )
    return result, json.loads(out.read_text())


def test_tiny_cpu_run_reports_finite_numbers_and_passing_checks(bench, tmp_path):
    result, written = _run(bench, tmp_path, "--skip", "compile")
    rows = written["rows"]
    assert [r["variant"] for r in rows] == EAGER_CPU
    cfg = bench.CONFIGS["tiny"]
    # 2·B·H·W·4h·(c_in+h)·k² per layer and step, × T, × 3 for forward + backward.
    expected_flops = 3 * 2 * 2 * 8 * 8 * 4 * 4 * (2 + 4) * 9 * 3
    assert cfg.train_flops() == expected_flops == written["configs"][0]["train_flops"]
    for r in rows:
        assert r["error"] is None, r
        for key in (
            "median_ms",
            "ms_per_step",
            "tflops",
            "pct_bf16_peak",
            "ratio_to_reference",
            "speedup",
            "max_abs_diff",
            "rel_diff",
            "grad_rel_diff",
        ):
            assert isinstance(r[key], float) and math.isfinite(r[key]), (key, r)
        assert r["median_ms"] > 0 and r["tflops"] > 0
        assert r["ms_per_step"] == pytest.approx(r["median_ms"] / cfg.steps, rel=1e-3)
        assert r["check_ok"] is True, r
        assert r["rel_diff"] <= r["tolerance"] and r["grad_rel_diff"] <= r["grad_tolerance"]
        assert r["params"] == rows[0]["params"] > 0
    assert rows[0]["ratio_to_reference"] == 1.0
    fp32 = [r for r in rows if r["precision"] == "fp32"]
    assert max(r["rel_diff"] for r in fp32) < 1e-5  # same weights: the fp32 paths agree closely
    bf16 = next(r for r in rows if r["precision"] == "bf16")
    assert bf16["rel_diff"] > 0  # autocast really ran in bf16
    for precision in ("bf16", "fp32"):
        peak = written["peaks"][precision]
        assert peak["n"] == 128 and peak["tflops"] > 0 and math.isfinite(peak["tflops"])
    assert written["finished"] is True and written["torch"] == torch.__version__
    assert {t["target"] for t in written["targets"]} == {
        "cpu fp32 <= 1.0x reference time",
        "cpu bf16 >= 2x faster than reference fp32",
    }
    assert all(t["met"] in (True, False) for t in written["targets"])
    assert result["rows"] == rows


def test_a_variant_computing_something_else_fails_the_check(bench, tmp_path, monkeypatch):
    def wrong_copy(src, dst):
        dst.load_state_dict(src.state_dict())
        with torch.no_grad():
            dst.cells[0].weight_hh.mul_(1.5)

    monkeypatch.setattr(bench, "copy_cnnlstm", wrong_copy)
    _, written = _run(bench, tmp_path, "--variants", "fused fp32")
    rows = {r["variant"]: r for r in written["rows"]}
    assert set(rows) == {"reference fp32", "cnnlstm-fused fp32"}
    assert rows["reference fp32"]["check_ok"] is True
    assert rows["cnnlstm-fused fp32"]["check_ok"] is False
    fp32_target = next(t for t in written["targets"] if t["target"].startswith("cpu fp32"))
    assert fp32_target["met"] is None and fp32_target["candidates"] == {}  # a wrong row never counts


def test_one_failing_variant_is_recorded_and_the_run_goes_on(bench, tmp_path, monkeypatch):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("compile unavailable here\nsecond line")

    monkeypatch.setattr(torch, "compile", broken_compile)
    _, written = _run(bench, tmp_path, "--variants", "auto fp32")
    rows = {r["variant"]: r for r in written["rows"]}
    assert set(rows) == {"reference fp32", "cnnlstm-auto fp32", "cnnlstm-auto fp32 compile"}
    assert rows["cnnlstm-auto fp32 compile"]["error"] == "RuntimeError: compile unavailable here"
    assert "median_ms" not in rows["cnnlstm-auto fp32 compile"]
    assert rows["cnnlstm-auto fp32"]["error"] is None and rows["cnnlstm-auto fp32"]["check_ok"] is True


def test_variant_filters_keep_the_reference(bench):
    chosen = bench.select_variants(bench.device_variants("cuda"), "bf16 cuda-graph", None)
    assert [v.name for v in chosen] == [
        "reference fp32",
        "cnnlstm-auto bf16 cuda-graph",
        "cnnlstm-auto bf16 channels-last cuda-graph",
    ]
    chosen = bench.select_variants(bench.device_variants("cuda"), None, "fp32 compile,tf32 compile")
    names = [v.name for v in chosen]
    assert "cnnlstm-auto bf16 compile" in names and "cnnlstm-auto fp32 compile" not in names
    assert "cnnlstm-auto fp32 cuda-graph" in names and len(names) == 12


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_is_a_one_line_error(bench, tmp_path):
    with pytest.raises(SystemExit) as info:
        bench.main(["--device", "cuda", "--configs", "tiny", "--out", str(tmp_path / "x.json")])
    message = str(info.value)
    assert "needs CUDA" in message and "\n" not in message
    assert not (tmp_path / "x.json").exists()


def test_budget_skips_compile_variants_but_keeps_the_rest(bench, tmp_path):
    _, written = _run(bench, tmp_path, "--variants", "auto fp32", "--budget-s", "0")
    rows = {r["variant"]: r for r in written["rows"]}
    assert rows["cnnlstm-auto fp32 compile"]["error"].startswith("skipped: --budget-s")
    assert rows["cnnlstm-auto fp32"]["error"] is None and rows["cnnlstm-auto fp32"]["check_ok"] is True

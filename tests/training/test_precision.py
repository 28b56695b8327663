"""The CPU precision choice: bf16 autocast only where the CPU has bf16 instructions."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.training.precision import cpu_has_native_bf16, fastest_cpu_precision


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(True, False, "bf16-mixed"), (False, True, "bf16-mixed"), (False, False, "32-true")],
)
def test_bf16_only_with_native_bf16_instructions(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert cpu_has_native_bf16() is (expected == "bf16-mixed")
    assert fastest_cpu_precision() == expected


def test_a_torch_without_the_checks_counts_as_no_bf16(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert fastest_cpu_precision() == "32-true"

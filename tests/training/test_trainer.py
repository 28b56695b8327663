"""Trainer(precision="auto"): the fastest safe precision for the hardware, Lightning's otherwise."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.training import trainer as trainer_module
from cnnlstm.training.trainer import Trainer, resolve_precision


def _quiet_trainer(**kwargs):
    return Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_a_cpu_is_bf16_only_where_the_cpu_has_bf16_instructions(monkeypatch, native):
    monkeypatch.setattr(
        trainer_module, "fastest_cpu_precision", lambda: "bf16-mixed" if native else "32-true"
    )
    assert resolve_precision("auto", "cpu") == ("bf16-mixed" if native else "32-true")
    assert _quiet_trainer(precision="auto", accelerator="cpu").precision == (
        "bf16-mixed" if native else "32-true"
    )


def test_auto_accelerator_without_a_gpu_resolves_as_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(trainer_module, "fastest_cpu_precision", lambda: "bf16-mixed")
    assert resolve_precision("auto", "auto") == "bf16-mixed"


def test_auto_on_a_gpu_follows_its_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto", "gpu") == "bf16-mixed"
    assert resolve_precision("auto", "auto") == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_precision("auto", "cuda") == "32-true"
    assert resolve_precision("auto", "mps") == "32-true"


@pytest.mark.parametrize("given", ["32-true", "bf16-mixed", "64-true", None])
def test_every_other_precision_is_lightnings_own(given):
    assert resolve_precision(given, "cpu") == given
    expected = "32-true" if given is None else given
    assert _quiet_trainer(precision=given, accelerator="cpu").precision == expected


def test_an_unknown_precision_is_still_refused_by_lightning():
    with pytest.raises(ValueError, match="Precision"):
        _quiet_trainer(precision="fp8", accelerator="cpu")

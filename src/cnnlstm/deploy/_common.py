"""Names, constants and checks shared by the export, pretrained-loading and streaming-step modules."""

from __future__ import annotations

import contextlib
import importlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from torch import Tensor

FORMAT_VERSION = 1
"""Version of the ``config.json`` layout written by :func:`cnnlstm.deploy.export_model`."""

EXPORT_FORMATS = ("safetensors", "onnx", "torch_export")
"""Formats :func:`cnnlstm.deploy.export_model` can write."""

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
PT2_FILE = "model.pt2"
REPORT_FILE = "export_report.json"

FORMAT_FILES = {"safetensors": WEIGHTS_FILE, "onnx": ONNX_FILE, "torch_export": PT2_FILE}
INSTALL_HINT = "pip install 'cnnlstm[export]'"
# safetensors metadata key: JSON {name: kept name} for state-dict entries that are the same tensor.
ALIASES_KEY = "cnnlstm.aliases"
# Weights above this go to an external-data file next to model.onnx (protobuf caps a file at 2 GiB).
ONNX_INLINE_LIMIT = 1 << 30
LAYOUTS = {3: "(B, T, C)", 5: "(B, T, C, H, W)"}
INPUT_NAMES = {3: "sequence", 5: "frames"}


class ExportVerificationError(RuntimeError):
    """An exported file's outputs differ from the eager model's by more than the tolerance."""


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or raise an ImportError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{purpose} needs the '{module}' package: {INSTALL_HINT}") from err


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence known, harmless exporter noise (torch 2.13): a FutureWarning from torch's own
    pytree code, a UserWarning that axes sharing one ``Dim`` get one name, and log lines about torchvision ops it cannot register when torchvision is absent."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning
            )
            # one Dim("batch") shared by several inputs (the step's frame and states): expected
            warnings.filterwarnings(
                "ignore", message=r".*axis name: (batch|source_len) will not be used", category=UserWarning
            )
            yield
    finally:
        logger.setLevel(level)


def compare_outputs(
    fmt: str, actual: Mapping[int, Tensor], expected: Mapping[int, Tensor], tolerance: float
) -> dict[str, Any]:
    """Max |actual - expected| per batch size; raises :class:`ExportVerificationError` above tolerance."""
    per_batch: dict[str, float] = {}
    for batch, want in expected.items():
        got = actual[batch].detach().cpu()
        want = want.detach().cpu()
        if got.shape != want.shape:
            raise ExportVerificationError(
                f"{fmt}: output shape {tuple(got.shape)} differs from eager {tuple(want.shape)} "
                f"for a batch of {batch}"
            )
        diff = (got.double() - want.double()).abs().max().item() if want.numel() else 0.0
        if not diff <= tolerance:  # also catches NaN
            raise ExportVerificationError(
                f"{fmt}: max abs difference from eager is {diff:.3g} for a batch of {batch}, above the "
                f"tolerance {tolerance:.3g}"
            )
        per_batch[str(batch)] = diff
    return {"max_abs_diff": max(per_batch.values()), "max_abs_diff_per_batch": per_batch}

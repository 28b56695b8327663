"""torch.export and ONNX: trace a model with a dynamic batch dimension, convert, save and run it.

The ONNX exporter is ``torch.onnx.export(..., dynamo=True)`` (built on ``torch.export``, needs
onnxscript). The legacy TorchScript exporter is deprecated, and on these models, which build
their LSTM state with ``x.new_zeros(..., batch, ...)`` inside a Python loop over time steps, it
bakes the traced batch size into the graph, so the exported file fails on any other batch size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._io import one_line
from cnnlstm.deploy._common import INPUT_NAMES, ONNX_INLINE_LIMIT, quiet_exporter, require

__all__ = ["export_onnx", "run_onnxruntime", "torch_export", "trace_input"]


def trace_input(example_input: Tensor) -> Tensor:
    # torch.export specialises a dimension of size 1, so a batch of one is traced as two.
    return example_input if example_input.shape[0] > 1 else torch.cat([example_input, example_input])


def batch_dynamic_shapes() -> tuple[dict[int, Any]]:
    return ({0: torch.export.Dim("batch")},)


def torch_export(model: nn.Module, example_input: Tensor, model_name: str) -> torch.export.ExportedProgram:
    try:
        with quiet_exporter():
            return torch.export.export(
                model, (trace_input(example_input),), dynamic_shapes=batch_dynamic_shapes(), strict=False
            )
    except Exception as err:
        raise RuntimeError(
            f"torch.export could not trace {model_name!r} with a dynamic batch dimension "
            f"({type(err).__name__}: {one_line(err, sep='; ', limit=400)})"
        ) from err


def export_onnx(
    program: torch.export.ExportedProgram,
    model: nn.Module,
    example_input: Tensor,
    path: Path,
    opset: int | None,
) -> dict[str, Any]:
    """Convert the exported program to ONNX, save it and check it; returns facts for the report."""
    onnx = require("onnx", "exporting to ONNX")
    require("onnxscript", "exporting to ONNX (torch.onnx dynamo exporter)")
    input_name = INPUT_NAMES.get(example_input.dim(), "input")
    weight_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    external = weight_bytes > ONNX_INLINE_LIMIT
    try:
        with quiet_exporter():
            onnx_program = torch.onnx.export(
                program,
                (trace_input(example_input),),
                dynamo=True,
                dynamic_shapes=batch_dynamic_shapes(),
                input_names=[input_name],
                output_names=["logits"],
                opset_version=opset,
                external_data=external,
                optimize=True,
                verbose=False,
            )
            assert onnx_program is not None  # None only for the legacy exporter (dynamo=False)
            deduplicated = _deduplicate_initializers(onnx_program.model)
            onnx_program.save(str(path), external_data=external)
        onnx.checker.check_model(str(path))
    except Exception as err:
        raise RuntimeError(
            f"ONNX export failed ({type(err).__name__}: {one_line(err, sep='; ', limit=400)})"
        ) from err
    proto = onnx.load(str(path), load_external_data=False)
    files = [path.name]
    data_file = path.with_name(path.name + ".data")
    if external and data_file.is_file():
        files.append(data_file.name)
    return {
        "files": files,
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None),
        "input_name": input_name,
        "output_name": "logits",
        "dynamic_axes": {input_name: {"0": "batch"}, "logits": {"0": "batch"}},
        "external_data": external,
        "deduplicated_initializers": deduplicated,
    }


def _deduplicate_initializers(model: Any) -> int:
    """Merge identical initializers of an ONNX IR model in place; returns how many were removed.

    The exporter's constant folding turns the ``weight_hh.t()`` of every unrolled time step into
    its own initializer, and its own deduplication skips tensors over 1024 elements, so without
    this pass the ONNX file holds one copy of each transposed recurrent weight per time step.
    Contents are compared in full, not by hash. Skipped (returns 0) where onnx_ir lacks the pass.
    """
    try:
        from onnx_ir.passes.common import DeduplicateInitializersPass
    except ImportError:
        return 0
    before = len(model.graph.initializers)
    DeduplicateInitializersPass(size_limit=1 << 62)(model)
    return before - len(model.graph.initializers)


def run_onnxruntime(path: Path, inputs: Mapping[int, Tensor]) -> dict[int, Tensor]:
    ort = require("onnxruntime", "checking the ONNX export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    results = {}
    for batch, x in inputs.items():
        (y, *_) = session.run(None, {name: x.detach().cpu().numpy()})
        results[batch] = torch.from_numpy(y)
    return results

"""An ONNX model of a streaming model that takes clips of any length: its step inside an ONNX Loop.

``model.onnx`` (:func:`cnnlstm.deploy.export_model`) is unrolled for the number of time steps it
was traced with, so onnxruntime refuses a clip of another length. :func:`export_sequence` writes
``sequence.onnx`` instead: ``sequence`` ``(B, T, ...)`` ``-> output``, the same output as the eager
``model(frames)`` (logits, or a forecaster's predicted frames), for any ``T`` and any batch
size. Inside, the step graph of :func:`cnnlstm.deploy.export_step` is the body of an ONNX
``Loop`` over ``T``: the state starts at zeros sized from the input's batch, each iteration
gathers frame ``t`` and carries the state, and the last step's output is returned. The weights
are stored once, in the loop's body.

The file is checked in onnxruntime against the eager model at several lengths, none of them the
length of a traced example (there is none: the step is traced on one frame); the report
``sequence.json`` lists them.

Example:
    >>> from cnnlstm import create_model
    >>> model = create_model("convlstm_classifier_tiny", num_classes=3)
    >>> report = export_sequence(model, torch.zeros(2, 3, 32, 32), "seq_export/", lengths=(2, 5), step_checks=2)
    >>> report["lengths_checked"], report["max_abs_diff"] < 1e-4
    ([2, 5], True)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._io import atomic_write_json
from cnnlstm._validation import check_positive_int
from cnnlstm.deploy._common import require
from cnnlstm.deploy.step import export_step

__all__ = ["export_sequence", "loop_over_step", "run_sequence"]

SEQUENCE_FILE = "sequence.onnx"
INPUT = "sequence"  # the clip (B, T, ...); not a name the exporter gives a step graph's values


def loop_over_step(step_dir: str | Path, output_file: str = SEQUENCE_FILE) -> Path:
    """Write ``output_file`` in ``step_dir``: the ``step.onnx`` there driven by an ONNX Loop.

    Reads ``step.json`` for the state shapes (``"batch"`` marks the free dimension).
    """
    onnx = require("onnx", "export")
    from onnx import TensorProto, helper

    folder = Path(step_dir)
    info = json.loads((folder / "step.json").read_text())
    step = onnx.load(str(folder / "step.onnx"))  # with its external weights
    output_name = info["outputs"][0]
    state_names = [n for n in info["inputs"] if n != "frame"]

    # Body: (iteration, condition, *state) -> (condition, *new_state, output as a scan output).
    body = onnx.GraphProto()
    body.CopyFrom(step.graph)
    body.name = "step"
    frame_input = next(i for i in body.input if i.name == "frame")
    float_type = frame_input.type.tensor_type.elem_type
    del body.input[:]
    body.input.extend(
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition_in", TensorProto.BOOL, []),
            *[i for i in step.graph.input if i.name != "frame"],
        ]
    )
    # The step's output is renamed inside the loop: the outer graph defines that name.
    step_output = f"step_{output_name}"
    for node in body.node:
        node.input[:] = [step_output if n == output_name else n for n in node.input]
        node.output[:] = [step_output if n == output_name else n for n in node.output]
    body.node.insert(0, helper.make_node("Gather", [INPUT, "iteration"], ["frame"], axis=1))
    body.node.append(helper.make_node("Identity", ["condition_in"], ["condition_out"]))
    outputs = {o.name: o for o in step.graph.output}
    scan = onnx.ValueInfoProto()
    scan.CopyFrom(outputs[output_name])
    scan.name = step_output
    del body.output[:]
    body.output.extend(
        [
            helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
            *[outputs[f"new_{n}"] for n in state_names],
            scan,
        ]
    )

    # Outer graph: zero state sized from the batch, the loop over T, the last step's output.
    nodes = [
        helper.make_node("Shape", [INPUT], ["seq_shape"]),
        helper.make_node("Gather", ["seq_shape", "seq_zero_index"], ["seq_batch"], axis=0),
        helper.make_node("Gather", ["seq_shape", "seq_one_index"], ["seq_steps"], axis=0),
    ]
    constants = [
        helper.make_tensor("seq_zero_index", TensorProto.INT64, [1], [0]),
        helper.make_tensor("seq_one_index", TensorProto.INT64, [], [1]),
        helper.make_tensor("seq_last_index", TensorProto.INT64, [], [-1]),
        helper.make_tensor("seq_always", TensorProto.BOOL, [], [True]),
    ]
    initial = []
    for name in state_names:
        dims = info["inputs"][name]
        parts = []
        for d, size in enumerate(dims):
            if size == "batch":
                parts.append("seq_batch")
            else:
                constants.append(
                    helper.make_tensor(f"seq_{name}_dim{d}", TensorProto.INT64, [1], [int(size)])
                )
                parts.append(f"seq_{name}_dim{d}")
        nodes.append(helper.make_node("Concat", parts, [f"seq_{name}_shape"], axis=0))
        zero = helper.make_tensor("value", float_type, [1], [0.0])
        nodes.append(
            helper.make_node("ConstantOfShape", [f"seq_{name}_shape"], [f"seq_{name}_zeros"], value=zero)
        )
        initial.append(f"seq_{name}_zeros")
    nodes.append(
        helper.make_node(
            "Loop",
            ["seq_steps", "seq_always", *initial],
            [*[f"seq_final_{n}" for n in state_names], "seq_per_step"],
            body=body,
        )
    )
    nodes.append(helper.make_node("Gather", ["seq_per_step", "seq_last_index"], [output_name], axis=0))

    frame_shape = info["inputs"]["frame"]
    frames = helper.make_tensor_value_info(INPUT, float_type, [frame_shape[0], "time", *frame_shape[1:]])
    result = onnx.ValueInfoProto()
    result.CopyFrom(outputs[output_name])  # the last step's output has the step output's shape
    graph = helper.make_graph(nodes, "sequence", [frames], [result], initializer=constants)
    model = helper.make_model(graph, opset_imports=list(step.opset_import), producer_name="cnnlstm")
    model.ir_version = step.ir_version
    model.functions.extend(step.functions)
    onnx.checker.check_model(model)
    path = folder / output_file
    onnx.save(model, str(path))
    return path


def run_sequence(path: str | Path, frames: Tensor) -> Tensor:
    """Run ``sequence.onnx`` in onnxruntime (CPU) on ``frames`` ``(B, T, ...)`` of any ``T``."""
    ort = require("onnxruntime", "export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {INPUT: frames.detach().cpu().numpy()})
    return torch.from_numpy(output)


def export_sequence(
    model: nn.Module,
    example_frame: Tensor,
    output_dir: str | Path,
    *,
    lengths: Sequence[int] = (3, 7),
    step_checks: int = 50,
    tolerance: float = 1e-4,
) -> dict[str, Any]:
    """Write ``step.onnx`` and ``sequence.onnx`` for a streaming model and check the latter.

    ``example_frame`` is one time step of a batch, as for :func:`export_step`. The check runs
    random clips of each of ``lengths`` (in [0, 1]) through onnxruntime and through
    ``model(frames)``; the report (also ``sequence.json``) has the largest difference and raises
    ``RuntimeError`` above ``tolerance``; ``step`` holds :func:`export_step`'s report (its
    loop of ``step_checks`` frames).
    """
    checked = [check_positive_int("lengths", n) for n in lengths]
    if not checked:
        raise ValueError("lengths needs at least one clip length to check; received lengths=()")
    out = Path(output_dir)
    step_report = export_step(model, example_frame, out, steps=step_checks, tolerance=tolerance)
    path = loop_over_step(out)
    model = model.eval()
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    with torch.no_grad():
        for steps in checked:
            if steps < getattr(model, "min_steps", 1):
                raise ValueError(f"lengths={steps} is shorter than the model's min_steps={model.min_steps}")
            frames = torch.rand(example_frame.shape[0], steps, *example_frame.shape[1:], generator=generator)
            worst = max(worst, float((run_sequence(path, frames) - model(frames)).abs().max()))
    report = {
        "file": path.name,
        "inputs": {INPUT: ["batch", "time", *example_frame.shape[1:]]},
        "outputs": [json.loads((out / "step.json").read_text())["outputs"][0]],
        "lengths_checked": checked,
        "max_abs_diff": worst,
        "how": "ONNX Loop over the time axis with step.onnx as its body; the state starts at zeros",
        "step": step_report,
    }
    atomic_write_json(out / "sequence.json", report)
    if worst > tolerance:
        raise RuntimeError(f"sequence.onnx differs from eager by {worst:.3g} (tolerance {tolerance})")
    return report

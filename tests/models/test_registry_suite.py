"""Properties every registered model has, whatever its task: register a model and it is tested here.

The cases come from the registry (``list_models()``, ``ModelInfo.streams``), the inputs from
``example_inputs(info)``. What depends on the task (the output's shape, a training loss) is in
``TASK_CHECKS``: a new task adds its entry there and its input recipe in ``cnnlstm/models/_examples.py``.
Behaviour particular to one model stays in that model's own test file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

import cnnlstm
from cnnlstm.models import (
    TASKS,
    ClassifierBase,
    ModelInfo,
    StreamingModel,
    can_stream,
    create_model,
    example_inputs,
    list_models,
    model_info,
    shape_kwargs_for,
)
from cnnlstm.models._examples import SEQ2SEQ_VOCAB

ALL = list_models()
TINY = list_models("*_tiny")
FULL_SIZE = list_models(exclude="*_tiny")
STREAMING = list_models(streams=True)
STREAMING_TINY = list_models("*_tiny", streams=True)
CLASSIFIERS = list_models(task="classification")
TRANSLATORS = list_models(task="seq2seq")
# models fed one feature tensor (B, T, ...); translators take token ids (source, target) and are
# exported as an encoder and a decoder step (tests/deploy/test_translation_export.py)
FEATURE_INPUT = [n for n in ALL if n not in TRANSLATORS]
NUM_CLASSES = 7


@dataclass(frozen=True)
class TaskChecks:
    """What the suite needs to know of a task: constructor arguments, the output's shape for the
    forward's inputs, a loss."""

    kwargs: dict[str, object]
    output_shape: Callable[[nn.Module, tuple[Tensor, ...]], tuple[int, ...]]
    loss: Callable[[Tensor], Tensor]
    step_output: str
    # a step returns the output frames it completes (B, k, ...), whose concatenation over the
    # steps so far is the forward's output, instead of the forward's output itself
    step_emits_frames: bool = False


TASK_CHECKS = {
    "classification": TaskChecks(
        kwargs={"num_classes": NUM_CLASSES},
        output_shape=lambda model, xs: (xs[0].shape[0], NUM_CLASSES),
        loss=lambda out: nn.functional.cross_entropy(out, torch.arange(out.shape[0]) % out.shape[1]),
        step_output="logits",
    ),
    "forecasting": TaskChecks(
        kwargs={},
        output_shape=lambda model, xs: (xs[0].shape[0], model.future_frames, *xs[0].shape[2:]),
        loss=lambda out: out.square().mean(),
        step_output="frames",
    ),
    "speech": TaskChecks(
        kwargs={"num_classes": NUM_CLASSES},
        output_shape=lambda model, xs: (xs[0].shape[0], (xs[0].shape[1] + 3) // 4, NUM_CLASSES),
        loss=lambda out: nn.functional.ctc_loss(
            out.transpose(0, 1),
            torch.arange(2 * out.shape[0]).reshape(out.shape[0], 2) % (out.shape[2] - 1) + 1,
            torch.full((out.shape[0],), out.shape[1]),
            torch.full((out.shape[0],), 2),
        ),
        step_output="log_probs",
        step_emits_frames=True,
    ),
    "anomaly": TaskChecks(
        kwargs={},
        output_shape=lambda model, xs: (xs[0].shape[0], model.output_steps(xs[0].shape[1]), xs[0].shape[2]),
        loss=lambda out: out.square().mean(),
        step_output="forecast",
    ),
    "seq2seq": TaskChecks(
        kwargs={"num_classes": SEQ2SEQ_VOCAB},
        # teacher-forced logits, one row per decoder input token
        output_shape=lambda model, xs: (*xs[1].shape, SEQ2SEQ_VOCAB),
        loss=lambda out: nn.functional.cross_entropy(
            out.flatten(0, 1), torch.arange(out.shape[0] * out.shape[1]) % out.shape[-1]
        ),
        step_output="logits",
    ),
}


def _kwargs(name: str, *, nominal: bool = False) -> dict[str, object]:
    """The task's constructor arguments and those the example input's shape implies (shape_kwargs)."""
    info = model_info(name)
    size = info.input_size if nominal else info.test_input_size
    return {**TASK_CHECKS[info.task].kwargs, **shape_kwargs_for(name, size)}


def _build(name: str, *, nominal: bool = False, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(name, **_kwargs(name, nominal=nominal))


def _inputs(name: str, batch: int = 2, *, seed: int = 0, nominal: bool = False) -> tuple[Tensor, ...]:
    """The positional arguments of one forward call."""
    return example_inputs(name, batch, seed=seed, nominal=nominal)


def _input(name: str, batch: int = 2, *, seed: int = 0, nominal: bool = False) -> Tensor:
    """The one input of a model fed a single tensor."""
    (x,) = _inputs(name, batch, seed=seed, nominal=nominal)
    return x


def _checks(name: str) -> TaskChecks:
    return TASK_CHECKS[model_info(name).task]


# --- the registry's record -----------------------------------------------------------------------


def test_every_task_has_checks_and_example_inputs():
    assert set(TASK_CHECKS) == set(TASKS)
    for task in TASKS:
        info = ModelInfo(
            name="probe",
            builder=nn.Identity,
            task=task,
            modality="any",
            input_size=(4, 2),
            test_input_size=(3, 2),
            description="probe",
        )
        xs = example_inputs(info, 5, seed=1)
        assert xs[0].shape[:2] == (5, 3)
        assert all(torch.equal(a, b) for a, b in zip(xs, example_inputs(info, 5, seed=1), strict=True))


@pytest.mark.parametrize("name", ALL)
def test_model_info_is_complete(name):
    info = model_info(name)
    assert info.name == name and info.description, f"{name} has no docstring"
    assert info.task in TASKS and info.modality
    assert len(info.input_size) == len(info.test_input_size)
    if not name.endswith("_tiny"):
        assert f"{name}_tiny" in ALL, f"{name} has no tiny variant"


@pytest.mark.parametrize("name", ALL)
def test_streams_declaration_matches_the_model(name):
    model = _build(name)
    assert model_info(name).streams == can_stream(model) == isinstance(model, StreamingModel)


# --- forward, gradients, batches, weights --------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_forward_shape_and_finite(name):
    """Built from its test input's shape alone (shape_kwargs), the model maps it to the task's output."""
    model = _build(name).eval()
    xs = _inputs(name)
    with torch.no_grad():
        out = model(*xs)
    assert out.shape == _checks(name).output_shape(model, xs)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL)
def test_accepts_its_nominal_input_size(name):
    model = _build(name, nominal=True).eval()
    xs = _inputs(name, 1, nominal=True)
    with torch.no_grad():
        assert model(*xs).shape == _checks(name).output_shape(model, xs)


@pytest.mark.parametrize("name", ALL)
def test_gradients_reach_every_parameter(name):
    model = _build(name).train()
    _checks(name).loss(model(*_inputs(name))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not zero, f"all-zero gradient for {zero}"


@pytest.mark.parametrize("name", ALL)
def test_batch_independent(name):
    model = _build(name).eval()
    xs = _inputs(name, batch=3)
    with torch.no_grad():
        batched = model(*xs)
        for i in range(3):
            one = model(*(x[i : i + 1] for x in xs))[0]
            torch.testing.assert_close(one, batched[i], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip(name, tmp_path):
    model = _build(name).eval()
    xs = _inputs(name)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = _build(name, seed=123).eval()  # a differently initialised copy
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    with torch.no_grad():
        torch.testing.assert_close(fresh(*xs), model(*xs))
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    loaded = create_model(name, **_kwargs(name), checkpoint_path=path).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(*xs), model(*xs))


# --- arguments and inputs ------------------------------------------------------------------------

_BAD_ARGUMENTS = [({"num_classes": -1}, "num_classes=-1"), ({"in_channels": 0}, "in_channels=0")]
_BAD_SEQ2SEQ_ARGUMENTS = [({"num_classes": 0}, "num_classes=0"), ({"embed_dim": 0}, "embed_dim=0")]


@pytest.mark.parametrize(
    ("name", "kwargs", "received"),
    [
        pytest.param(n, kw, r, id=f"{n}-{r}")
        for n in FEATURE_INPUT
        for kw, r in _BAD_ARGUMENTS
        if "num_classes" not in kw or n in CLASSIFIERS
    ]
    + [pytest.param(n, kw, r, id=f"{n}-{r}") for n in TRANSLATORS for kw, r in _BAD_SEQ2SEQ_ARGUMENTS],
)
def test_bad_constructor_arguments_raise(name, kwargs, received):
    with pytest.raises(ValueError, match=received):
        create_model(name, **kwargs)


@pytest.mark.parametrize("name", TRANSLATORS)
def test_token_ids_out_of_the_vocabulary_raise_a_clear_error(name):
    model = _build(name)
    source, target = _inputs(name)
    with pytest.raises(ValueError, match=rf"token ids in \[0, {SEQ2SEQ_VOCAB}\)"):
        model(source + SEQ2SEQ_VOCAB, target)
    with pytest.raises(ValueError, match=r"token ids \(B, S\) of dtype int64"):
        model(source.float(), target)


@pytest.mark.parametrize("name", FEATURE_INPUT)
def test_wrong_input_channels_raise_a_clear_error(name):
    model = _build(name)
    shape = list(model_info(name).test_input_size)
    shape[1] += 1  # (T, C, H, W) or (T, C): one channel too many
    with pytest.raises(ValueError, match=r"expects .*\(B, T, C"):
        model(torch.randn(1, *shape))


# --- the classifier interface --------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_interface(name):
    model = _build(name).eval()
    assert isinstance(model, ClassifierBase)
    x = _input(name)
    model.reset_classifier(3)
    assert model.num_classes == 3
    with torch.no_grad():
        assert model(x).shape == (2, 3)
        model.reset_classifier(0)
        assert model.num_classes == 0
        features = model(x)
        assert features.shape == (2, model.num_features)
        torch.testing.assert_close(features, model.forward_head(model.forward_features(x), pre_logits=True))


# --- torch.export, ONNX, safetensors ---------------------------------------------------------------


@pytest.mark.parametrize("name", FULL_SIZE)
def test_torch_export_matches_eager(name):
    """The full-size models; the tiny ones are exported to every format below."""
    model = _build(name).eval()
    xs = _inputs(name)
    program = torch.export.export(model, xs)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(*xs), model(*xs), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in TINY if n in FEATURE_INPUT])
def test_export_all_formats_match_eager(name, tmp_path):
    for module in ("safetensors", "onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module)
    import onnxruntime as ort

    from cnnlstm.deploy import export_model, load_pretrained
    from cnnlstm.deploy._common import CONFIG_FILE, WEIGHTS_FILE

    kwargs = _kwargs(name)
    model = _build(name).train()
    x = _input(name)
    out = tmp_path / "export"
    report = export_model(model, model_name=name, model_kwargs=kwargs, example_input=x, output_dir=out)
    assert model.training, "export_model restores the model's mode"
    model.eval()

    files = {CONFIG_FILE, WEIGHTS_FILE, "model.onnx", "model.pt2", "export_report.json"}
    assert {p.name for p in out.iterdir()} == files
    assert json.loads((out / "export_report.json").read_text()) == report
    config = json.loads((out / CONFIG_FILE).read_text())
    assert config["format_version"] == 1 and config["cnnlstm_version"] == cnnlstm.__version__
    assert config["model_name"] == name and config["model_kwargs"] == kwargs
    assert config["input_shape"] == list(x.shape[1:])
    assert config["input_layout"] == {3: "(B, T, C)", 5: "(B, T, C, H, W)"}[x.dim()]
    assert config.get("num_classes") == _checks(name).kwargs.get("num_classes")
    assert set(config["files"]) == files
    assert config["torch_version"] == torch.__version__

    loaded = load_pretrained(out)  # the safetensors weights rebuild the model exactly
    assert not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))

    # ONNX and pt2 were checked on the example batch and on one of another size.
    assert report["example_input_shape"] == list(x.shape)
    for fmt in ("onnx", "torch_export", "safetensors"):
        entry = report["formats"][fmt]
        assert set(entry["max_abs_diff_per_batch"]) == {"2", "3"}
        assert entry["max_abs_diff"] < 1e-4 and entry["size_bytes"] == (out / entry["file"]).stat().st_size
        assert report["max_abs_diff"][fmt] == entry["max_abs_diff"]
    assert report["formats"]["safetensors"]["max_abs_diff"] == 0.0

    # The ONNX batch dimension is dynamic: onnxruntime runs a batch of yet another size.
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    (input_meta,) = session.get_inputs()
    assert isinstance(input_meta.shape[0], str) and input_meta.shape[1:] == list(x.shape[1:])
    x5 = _input(name, 5, seed=1)
    (y5,) = session.run(None, {input_meta.name: x5.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(y5), model(x5), atol=1e-4, rtol=1e-4)


# --- torch.compile -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TINY)
def test_fullgraph_capture_matches_eager_forward_and_backward(name):
    # backend="eager" runs the captured graph without code generation: fullgraph=True fails on any
    # graph break, which is the property; inductor's code generation is covered once below.
    torch._dynamo.reset()
    model = _build(name).train()
    xs = _inputs(name, seed=1)
    torch.manual_seed(5)  # the same dropout masks in both runs
    eager_out = model(*xs)
    eager_out.square().mean().backward()
    eager_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    torch.manual_seed(5)
    out = compiled(*xs)
    out.square().mean().backward()
    torch.testing.assert_close(out, eager_out, rtol=1e-5, atol=1e-6)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, eager_grads[n], rtol=1e-4, atol=1e-6, msg=n)


@pytest.mark.slow
def test_inductor_compiled_model_matches_eager():
    torch._dynamo.reset()
    model = _build("deepconvlstm_tiny").eval()
    x = _input("deepconvlstm_tiny", seed=1)
    with torch.no_grad():
        expected = model(x)
        model.compile(fullgraph=True)  # in place, as `cnnlstm fit --compile` does
        got = model(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert set(model.state_dict()) == set(_build("deepconvlstm_tiny").state_dict())


# --- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STREAMING)
def test_each_step_equals_the_forward_on_the_steps_so_far(name):
    """From ``min_steps`` on (1 unless the model needs more before its first output)."""
    model = _build(name).eval()
    assert model.step_output == _checks(name).step_output
    x = _input(name, batch=3, seed=1)
    state = model.init_state(3, frame_size=tuple(x.shape[-2:]))
    emitted = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            output, state = model.step(x[:, t], state)
            if _checks(name).step_emits_frames:
                emitted.append(output)
                output = torch.cat(emitted, dim=1)
            if t + 1 >= getattr(model, "min_steps", 1):
                torch.testing.assert_close(output, model(x[:, : t + 1]), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", STREAMING_TINY)
def test_exported_step_loop_matches_the_eager_forward_over_50_steps(name, tmp_path):
    """A step whose state is a tuple of tensors exports to ONNX; any other state is refused, clearly."""
    pytest.importorskip("onnxruntime")
    from cnnlstm.deploy.step import export_step

    model = _build(name)
    example = torch.zeros_like(_input(name)[:, 0])  # one time step of a batch of two
    state = model.init_state(2, frame_size=tuple(example.shape[-2:]))
    if not (isinstance(state, tuple) and all(isinstance(s, Tensor) for s in state)):
        with pytest.raises(ValueError, match="state is not a tuple of tensors.*cnnlstm.deploy.Stream"):
            export_step(model, example, tmp_path)
        return
    report = export_step(model, example, tmp_path, steps=50, tolerance=1e-5)
    assert report["steps_checked"] == 50 and report["max_abs_diff"] < 1e-5
    assert report["outputs"][0] == model.step_output and len(report["outputs"]) == 1 + len(state)
    assert json.loads((tmp_path / "step.json").read_text()) == report
    assert (tmp_path / "step.onnx").stat().st_size > 0

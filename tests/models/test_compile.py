"""Every registered model is captured whole by torch.compile(fullgraph=True) and matches eager."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model, list_models, model_info

TINY = list_models("*_tiny")


def _model_and_input(name: str):
    info = model_info(name)
    kwargs = {} if info.task == "forecasting" else {"num_classes": 3}
    torch.manual_seed(0)
    model = create_model(name, **kwargs)
    x = torch.randn(2, *info.test_input_size, generator=torch.Generator().manual_seed(1))
    if info.task == "forecasting":
        x = x.sigmoid()
    return model, x


@pytest.mark.parametrize("name", TINY)
def test_fullgraph_capture_matches_eager_forward_and_backward(name):
    # backend="eager" runs the captured graph without code generation: fullgraph=True fails on any
    # graph break, which is the property; inductor's code generation is covered once below.
    torch._dynamo.reset()
    model, x = _model_and_input(name)
    model.train()
    torch.manual_seed(5)  # the same dropout masks in both runs
    eager_out = model(x)
    eager_out.square().mean().backward()
    eager_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    torch.manual_seed(5)
    out = compiled(x)
    out.square().mean().backward()
    torch.testing.assert_close(out, eager_out, rtol=1e-5, atol=1e-6)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, eager_grads[n], rtol=1e-4, atol=1e-6, msg=n)


def test_inductor_compiled_model_matches_eager():
    torch._dynamo.reset()
    model, x = _model_and_input("deepconvlstm_tiny")
    model.eval()
    with torch.no_grad():
        expected = model(x)
        model.compile(fullgraph=True)  # in place, as `cnnlstm fit --compile` does
        got = model(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert set(model.state_dict()) == set(create_model("deepconvlstm_tiny", num_classes=3).state_dict())

"""Properties every registered model must have; a new model is covered by registering it."""

from __future__ import annotations

import io

import pytest
import torch

from cnnlstm import create_model, list_models, model_info

ALL_MODELS = list_models(task="classification")  # forecasters: tests/models/test_forecasting.py
NUM_CLASSES = 7


def _input(name: str, batch: int = 2, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *model_info(name).test_input_size, generator=generator)


def _build(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, num_classes=NUM_CLASSES, **kwargs)


def test_registry_is_not_empty_and_every_model_has_a_tiny_variant():
    assert {"seed_conv3d_lstm", "lrcn", "convlstm_classifier", "frame_mean"} <= set(ALL_MODELS)
    for name in ALL_MODELS:
        if not name.endswith("_tiny"):
            assert f"{name}_tiny" in ALL_MODELS, f"{name} has no tiny variant"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_shape_and_finite(name):
    model = _build(name).eval()
    with torch.no_grad():
        out = model(_input(name))
    assert out.shape == (2, NUM_CLASSES)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_accepts_its_nominal_input_size(name):
    model = _build(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, *model_info(name).input_size))
    assert out.shape == (1, NUM_CLASSES)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_backward_reaches_every_parameter(name):
    model = _build(name).train()
    loss = torch.nn.functional.cross_entropy(model(_input(name)), torch.tensor([1, 3]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not zero, f"all-zero gradient for {zero}"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_batch_independent(name):
    model = _build(name).eval()
    x = _input(name, batch=3)
    with torch.no_grad():
        batched = model(x)
        for i in range(3):
            torch.testing.assert_close(model(x[i : i + 1])[0], batched[i], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_state_dict_round_trip(name, tmp_path):
    model = _build(name).eval()
    x = _input(name)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(123)  # a differently initialised copy
    fresh = create_model(name, num_classes=NUM_CLASSES).eval()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), model(x))
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    loaded = create_model(name, num_classes=NUM_CLASSES, checkpoint_path=path).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_torch_export_matches_eager(name):
    model = _build(name).eval()
    x = _input(name)
    program = torch.export.export(model, (x,))
    with torch.no_grad():
        expected = model(x)
        exported = program.module()(x)
    torch.testing.assert_close(exported, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_reset_classifier_and_features(name):
    model = _build(name).eval()
    x = _input(name)
    model.reset_classifier(3)
    assert model.num_classes == 3
    with torch.no_grad():
        assert model(x).shape == (2, 3)
        model.reset_classifier(0)
        assert model(x).shape == (2, model.num_features)


@pytest.mark.parametrize("name", ALL_MODELS)
@pytest.mark.parametrize("kwargs, received", [({"num_classes": -1}, "num_classes=-1"), ({"in_channels": 0}, "in_channels=0")])
def test_bad_constructor_arguments_raise(name, kwargs, received):
    with pytest.raises(ValueError, match=received):
        create_model(name, **kwargs)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_wrong_input_channels_raise_a_clear_error(name):
    model = _build(name)
    shape = list(model_info(name).test_input_size)
    shape[1] += 1  # (T, C, H, W) or (T, C): one channel too many
    with pytest.raises(ValueError, match=r"expects .*\(B, T, C"):
        model(torch.randn(1, *shape))


def test_every_model_info_is_consistent():
    for name in ALL_MODELS:
        info = model_info(name)
        assert info.description, f"{name} has no docstring"
        assert info.task in ("classification", "forecasting")
        assert len(info.input_size) == len(info.test_input_size)

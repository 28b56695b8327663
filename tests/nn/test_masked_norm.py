"""MaskedBatchNorm1d: BatchNorm itself without padding, BatchNorm of the valid steps with it."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from cnnlstm.nn import MaskedBatchNorm1d


def _pair(channels: int = 5, **kwargs) -> tuple[MaskedBatchNorm1d, nn.BatchNorm1d]:
    torch.manual_seed(0)
    masked = MaskedBatchNorm1d(num_features=channels, **kwargs)
    with torch.no_grad():
        masked.weight.normal_()
        masked.bias.normal_()
    plain = nn.BatchNorm1d(channels, **kwargs)
    plain.load_state_dict(masked.state_dict())
    return masked, plain


def _mask(lengths: list[int], steps: int) -> torch.Tensor:
    return (torch.arange(steps)[None, :] < torch.tensor(lengths)[:, None]).unsqueeze(1)  # (B, 1, T)


@pytest.mark.parametrize("training", [True, False])
def test_without_a_mask_it_is_batchnorm_to_the_bit(training):
    masked, plain = _pair()
    masked.train(training)
    plain.train(training)
    x = torch.randn(4, 5, 9, requires_grad=True)
    for _ in range(3):  # the running statistics move alike too
        a, b = masked(x), plain(x)
        assert torch.equal(a, b)
    assert torch.equal(torch.autograd.grad(a.sum(), x)[0], torch.autograd.grad(b.sum(), x)[0])
    for key, value in plain.state_dict().items():
        assert torch.equal(masked.state_dict()[key], value), key


@pytest.mark.parametrize("momentum", [0.1, None])
def test_an_all_valid_mask_gives_batchnorm_values_gradients_and_running_stats(momentum):
    masked, plain = _pair(momentum=momentum)
    x = torch.randn(4, 5, 9, requires_grad=True)
    mask = torch.ones(4, 1, 9, dtype=torch.bool)
    for _ in range(3):
        a, b = masked(x, mask), plain(x)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    params_a = [x, masked.weight, masked.bias]
    params_b = [x, plain.weight, plain.bias]
    w = torch.randn_like(a)
    for ga, gb in zip(
        torch.autograd.grad((a * w).sum(), params_a),
        torch.autograd.grad((b * w).sum(), params_b),
        strict=True,
    ):
        torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(masked.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_masked_statistics_are_batchnorm_of_the_valid_steps_alone():
    # Reference: nn.BatchNorm1d over one "series" made of every valid step of the batch.
    masked, plain = _pair()
    lengths = [9, 4, 1, 6]
    x = torch.randn(4, 5, 9)
    mask = _mask(lengths, 9)
    valid = torch.cat([x[i, :, :n] for i, n in enumerate(lengths)], dim=1)[None]  # (1, C, sum of lengths)
    got = masked(x, mask)
    want = plain(valid)[0]
    torch.testing.assert_close(torch.cat([got[i, :, :n] for i, n in enumerate(lengths)], dim=1), want)
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)  # unbiased, as BatchNorm's
    assert int(masked.num_batches_tracked) == 1


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_padding_values_change_no_valid_output_nor_gradient(training, track):
    masked, _ = _pair(track_running_stats=track)
    masked.train(training)
    lengths = [7, 3, 5]
    mask = _mask(lengths, 7)
    x = torch.randn(3, 5, 7)
    garbage = x.masked_fill(~mask, -3e5).masked_fill(~mask & (torch.rand(3, 5, 7) < 0.5), 1e6)
    outputs, grads = [], []
    for inputs in (x, garbage):
        before = copy.deepcopy(masked.state_dict())
        out = masked(inputs, mask).masked_fill(~mask, 0.0)
        outputs.append(out)
        grads.append(torch.autograd.grad((out**3).sum(), [masked.weight, masked.bias]))
        masked.load_state_dict(before)  # the same running statistics for both inputs
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_nan_padding_changes_no_valid_output_in_training():
    masked, _ = _pair()
    x, mask = torch.randn(3, 5, 7), _mask([7, 2, 4], 7)
    want = masked(x, mask)
    got = masked(x.masked_fill(~mask, float("nan")), mask)
    assert not got.isnan().any()
    torch.testing.assert_close(got.masked_fill(~mask, 0), want.masked_fill(~mask, 0), rtol=0, atol=0)


def test_eval_mode_uses_the_running_statistics_of_valid_steps():
    masked, plain = _pair()
    x, mask = torch.randn(2, 5, 6), _mask([6, 2], 6)
    masked(x, mask)  # one training update of the running statistics
    plain.load_state_dict(masked.state_dict())
    masked.eval()
    plain.eval()
    assert torch.equal(masked(x, mask), plain(x))  # per element: the mask has nothing to do


def test_errors_name_what_is_wrong():
    masked, _ = _pair()
    with pytest.raises(ValueError, match="more than one valid value per channel"):
        masked(torch.randn(1, 5, 4), _mask([1], 4))
    with pytest.raises(ValueError, match=r"a mask needs maps \(B, C, T\); received x of shape \(3, 5\)"):
        masked(torch.randn(3, 5), torch.ones(3, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="num_features"):
        MaskedBatchNorm1d(num_features=0)

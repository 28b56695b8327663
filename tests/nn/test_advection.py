"""warp and AdvectionHead: identities, shifts against torch.roll, bilinear values, gradients, errors."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.nn import AdvectionHead, warp


def _motion(b: int, h: int, w: int, dx: float, dy: float) -> torch.Tensor:
    motion = torch.zeros(b, 2, h, w)
    motion[:, 0], motion[:, 1] = dx, dy
    return motion


def test_zero_motion_returns_the_frames_exactly_on_power_of_two_sizes():
    frames = torch.rand(2, 3, 16, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(warp(frames, torch.zeros(2, 2, 16, 32)), frames)
    odd = torch.rand(2, 1, 12, 20, generator=torch.Generator().manual_seed(1))  # coordinate rounding only
    torch.testing.assert_close(warp(odd, torch.zeros(2, 2, 12, 20)), odd, atol=2e-6, rtol=0)


@pytest.mark.parametrize(("dx", "dy"), [(3, 0), (0, -2), (2, 5), (-4, -1)])
def test_an_integer_motion_is_torch_roll_inside_and_no_echo_entering(dx, dy):
    h, w = 16, 32
    frames = torch.rand(2, 2, h, w, generator=torch.Generator().manual_seed(2)) + 0.5  # no zeros
    out = warp(frames, _motion(2, h, w, dx, dy))
    rolled = torch.roll(frames, shifts=(dy, dx), dims=(-2, -1))
    rows = slice(max(dy, 0), h + min(dy, 0))
    cols = slice(max(dx, 0), w + min(dx, 0))
    assert torch.equal(out[..., rows, cols], rolled[..., rows, cols])
    entered = torch.ones(h, w, dtype=torch.bool)
    entered[rows, cols] = False
    assert entered.any() and (out[..., entered] == 0).all()


def test_a_fractional_motion_is_bilinear_and_varies_per_pixel():
    frames = torch.arange(8.0).repeat(8, 1)[None, None]  # value = column index
    motion = torch.zeros(1, 2, 8, 8)
    motion[0, 0, :, 4:] = 0.25  # right half moves a quarter pixel right: reads x - 0.25
    out = warp(frames, motion)
    torch.testing.assert_close(out[0, 0, :, 4:], frames[0, 0, :, 4:] - 0.25)
    torch.testing.assert_close(out[0, 0, :, :4], frames[0, 0, :, :4])


def test_gradients_reach_frames_and_motion():
    frames = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(3)).requires_grad_()
    motion = (0.3 * torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(4))).requires_grad_()
    warp(frames, motion).square().sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0
    assert motion.grad is not None and motion.grad[:, 0].abs().sum() > 0 and motion.grad[:, 1].abs().sum() > 0


@pytest.mark.parametrize(
    ("frames", "motion", "match"),
    [
        (torch.zeros(1, 8, 8), torch.zeros(1, 2, 8, 8), r"frames \(B, C, H, W\)"),
        (torch.zeros(1, 1, 8, 8), torch.zeros(1, 3, 8, 8), r"motion \(B, 2, H, W\)"),
        (torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 4, 4), "one \\(dx, dy\\) per frame pixel"),
    ],
)
def test_warp_rejects_mismatched_shapes(frames, motion, match):
    with pytest.raises(ValueError, match=match):
        warp(frames, motion)


def _zeroed_head(channels: int, patch_size: int, dx: float = 0.0, dy: float = 0.0) -> AdvectionHead:
    head = AdvectionHead(in_channels=4, channels=channels, patch_size=patch_size)
    with torch.no_grad():
        for conv in (head.motion, head.change):
            conv.weight.zero_()
            conv.bias.zero_()
        head.motion.bias.copy_(torch.tensor([dx, dy]))
    return head


@pytest.mark.parametrize("patch_size", [1, 4])
def test_head_with_no_motion_and_no_change_returns_the_previous_frame(patch_size):
    previous = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    hidden = torch.randn(2, 4, 16 // patch_size, 16 // patch_size)
    assert torch.equal(_zeroed_head(3, patch_size)(hidden, previous), previous)


def test_head_moves_by_its_motion_and_adds_its_change_at_full_resolution():
    head = _zeroed_head(1, 4, dx=1.0, dy=2.0)
    previous = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(6))
    hidden = torch.randn(1, 4, 4, 4)
    moved = head(hidden, previous)
    assert torch.equal(moved[..., 2:, 1:], previous[..., :-2, :-1])
    with torch.no_grad():
        head.change.bias[5] = 0.5  # patch channel 5 of 16 = row 1, column 1 of every 4x4 patch
    changed = head(hidden, previous) - moved
    expected = torch.zeros(4, 4)
    expected[1, 1] = 0.5
    torch.testing.assert_close(changed[0, 0], expected.repeat(4, 4))


def test_head_gradients_reach_its_parameters_and_the_hidden_maps():
    torch.manual_seed(0)
    head = AdvectionHead(in_channels=4, channels=2, patch_size=2)
    hidden = torch.randn(2, 4, 4, 4, requires_grad=True)
    head(hidden, torch.rand(2, 2, 8, 8)).square().mean().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert hidden.grad is not None and hidden.grad.abs().sum() > 0


def test_head_checks_its_arguments_and_inputs():
    with pytest.raises(ValueError, match="patch_size"):
        AdvectionHead(in_channels=4, channels=1, patch_size=0)
    head = AdvectionHead(in_channels=4, channels=1, patch_size=4)
    with pytest.raises(ValueError, match="AdvectionHead expects"):
        head(torch.randn(1, 4, 4, 4), torch.rand(1, 1, 8, 8))

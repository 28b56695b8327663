"""Advection: carry a frame along a dense motion field, and a head that predicts the next frame so.

* :func:`warp` — semi-Lagrangian backward sampling: each output pixel ``p`` takes the frame's
  value at ``p - motion(p)`` (bilinear; no value enters from outside the frame), so a motion of
  ``(dx, dy)`` pixels moves the pattern by ``dx`` to the right and ``dy`` down. It is the
  extrapolation step of optical-flow nowcasting (ROVER, Bowler et al. 2004) and of NowcastNet's
  evolution network (Zhang et al. 2023, Nature).
* :class:`AdvectionHead` — from a recurrent model's hidden maps ``(B, F, h, w)`` on a grid
  ``patch_size`` times coarser than the frames, a motion field (2 channels, upsampled bilinearly
  to the frames' size) and an additive intensity change (growth and decay, ``C`` channels at
  full size through ``pixel_shuffle``); the next frame is the previous one warped by the motion
  plus the change. Details of the previous frame are carried, not redrawn, so a forecast made
  this way is as sharp as its input wherever the motion is right.

Both are differentiable in the frame, the motion and the change, and export to ONNX (GridSample,
opset 16 or newer). ``grid_sample``'s backward pass on CUDA has no deterministic implementation:
training on a GPU with ``torch.use_deterministic_algorithms(True)`` raises; on the CPU it runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import check_positive_int

__all__ = ["AdvectionHead", "warp"]


def warp(frames: Tensor, motion: Tensor) -> Tensor:
    """Frames ``(B, C, H, W)`` moved by ``motion`` ``(B, 2, H, W)`` (pixels: ``dx``, ``dy``) → ``(B, C, H, W)``.

    ``out[b, :, y, x] = frames[b, :, y - dy, x - dx]`` with ``(dx, dy) = motion[b, :, y, x]``,
    sampled bilinearly; positions outside the frame read 0. A zero motion returns ``frames``, and
    an integer motion shifts them: exactly when ``H`` and ``W`` are powers of two, else up to the
    float rounding of ``grid_sample``'s normalised coordinates (about 1e-6).

    Example:
        >>> frame = torch.zeros(1, 1, 5, 5)
        >>> frame[0, 0, 2, 1] = 1.0
        >>> right = torch.zeros(1, 2, 5, 5)
        >>> right[:, 0] = 2.0  # two pixels to the right
        >>> warp(frame, right)[0, 0, 2].tolist()
        [0.0, 0.0, 0.0, 1.0, 0.0]
    """
    if frames.dim() != 4 or motion.dim() != 4 or motion.shape[1] != 2:
        raise ValueError(
            f"warp expects frames (B, C, H, W) and motion (B, 2, H, W); "
            f"received {tuple(frames.shape)} and {tuple(motion.shape)}"
        )
    if motion.shape[0] != frames.shape[0] or motion.shape[2:] != frames.shape[2:]:
        raise ValueError(
            f"motion {tuple(motion.shape)} does not match frames {tuple(frames.shape)}: "
            f"give one (dx, dy) per frame pixel"
        )
    h, w = frames.shape[-2:]
    ys = torch.arange(h, dtype=motion.dtype, device=motion.device)
    xs = torch.arange(w, dtype=motion.dtype, device=motion.device)
    # the source pixel of each output pixel, in grid_sample's [-1, 1] coordinates (align_corners=False)
    src_x = (xs[None, None, :] - motion[:, 0] + 0.5) * (2.0 / w) - 1.0
    src_y = (ys[None, :, None] - motion[:, 1] + 0.5) * (2.0 / h) - 1.0
    grid = torch.stack((src_x, src_y), dim=-1)  # (B, H, W, 2): x then y, as grid_sample reads it
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class AdvectionHead(nn.Module):
    """The next frame as the previous one advected by a predicted motion, plus a predicted change.

    Args:
        in_channels: ``F``, channels of the hidden maps the head reads.
        channels: ``C``, channels of a frame.
        patch_size: ``p``, how many times the frames are larger than the hidden maps in each
            direction (1: the same size).

    ``forward(hidden, previous)``: hidden maps ``(B, F, H/p, W/p)`` and the previous frame ``(B, C,
    H, W)`` → the next frame ``(B, C, H, W)`` = ``warp(previous, motion) + change``, where the
    motion ``(B, 2, H, W)`` (pixels per step) is a 1×1 convolution of ``hidden`` upsampled
    bilinearly and the change a 1×1 convolution to ``C·p²`` channels folded into ``p × p``
    patches.

    Example:
        >>> head = AdvectionHead(in_channels=8, channels=1, patch_size=4)
        >>> head(torch.randn(2, 8, 4, 4), torch.rand(2, 1, 16, 16)).shape
        torch.Size([2, 1, 16, 16])
    """

    def __init__(self, *, in_channels: int, channels: int, patch_size: int = 1) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.channels = check_positive_int("channels", channels)
        self.patch_size = check_positive_int("patch_size", patch_size)
        self.motion = nn.Conv2d(self.in_channels, 2, kernel_size=1)
        self.change = nn.Conv2d(self.in_channels, self.channels * self.patch_size**2, kernel_size=1)
        # no change at first: an untrained head advects the previous frame and adds no noise to it
        # (the change's weights still get gradients, and the motion's carry them to the states)
        with torch.no_grad():
            self.change.weight.zero_()
            self.change.bias.zero_()  # type: ignore[union-attr]  # Conv2d(bias=True) has one

    def forward(self, hidden: Tensor, previous: Tensor) -> Tensor:
        p = self.patch_size
        if (
            hidden.dim() != 4
            or previous.dim() != 4
            or previous.shape[1] != self.channels
            or previous.shape[2:] != (hidden.shape[2] * p, hidden.shape[3] * p)
        ):
            raise ValueError(
                f"AdvectionHead expects hidden (B, {self.in_channels}, h, w) and a previous frame "
                f"(B, {self.channels}, h·{p}, w·{p}); received {tuple(hidden.shape)} and {tuple(previous.shape)}"
            )
        motion, change = self.motion(hidden), self.change(hidden)
        if p > 1:
            motion = F.interpolate(motion, size=previous.shape[-2:], mode="bilinear", align_corners=False)
            change = F.pixel_shuffle(change, p)
        return warp(previous, motion) + change

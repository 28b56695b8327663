"""Live inference: feed frames (or sensor samples) one at a time, get the prediction after each.

:class:`Stream` wraps a model that offers ``init_state(batch_size)`` and
``step(frame, state) -> (output, state)`` (:class:`cnnlstm.models.StreamingModel`; the registry
lists them: ``cnnlstm.list_models(streams=True)``): the work per frame stays the same however
many frames came before, unlike re-running a window.

A model's ``step_output`` attribute says what its ``step`` returns: ``"logits"`` (the default,
classifiers), which :meth:`Stream.push` turns into class probabilities, or ``"frames"``
(forecasters), the predicted future frames ``(B, future_frames, C, H, W)``, returned as they are,
as is an anomaly detector's ``"forecast"`` ``(B, horizon, C)`` (:class:`~cnnlstm.deploy.AnomalyStream`
turns it into scores and alarms).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn

from cnnlstm.models import StreamingModel, can_stream, list_models

__all__ = ["Stream"]


class Stream:
    """Frame-by-frame prediction for live sources (a camera, a sensor feed).

    Args:
        model: a model with ``init_state`` and ``step``; it is put in eval mode.
        batch_size: independent streams fed together (frames ``(batch_size, C, H, W)``).
        device: where the state lives (default: the model's device).

    Example:
        >>> from cnnlstm import create_model
        >>> model = create_model("lrcn_tiny", num_classes=4)
        >>> stream = Stream(model)
        >>> for frame in torch.rand(5, 1, 3, 32, 32):  # five frames of one stream
        ...     probs = stream.push(frame)
        >>> probs.shape, stream.frames_seen
        (torch.Size([1, 4]), 5)

        A forecaster's stream returns the frames it predicts after the frames so far:

        >>> stream = Stream(create_model("convlstm_forecaster_tiny", future_frames=3))
        >>> for frame in torch.rand(5, 1, 1, 16, 16):
        ...     forecast = stream.push(frame)
        >>> forecast.shape
        torch.Size([1, 3, 1, 16, 16])
    """

    def __init__(
        self, model: nn.Module, *, batch_size: int = 1, device: torch.device | str | None = None
    ) -> None:
        if not can_stream(model):
            streaming = ", ".join(list_models(streams=True, exclude="*_tiny"))
            raise TypeError(
                f"{type(model).__name__} cannot stream: it has no init_state/step (these models have them: "
                f"{streaming}, and their _tiny variants)"
            )
        self.model = model.eval()
        # the same model, typed for init_state and step, which can_stream checked
        self._steps = cast(StreamingModel, self.model)
        self.batch_size = int(batch_size)
        # forecasters' frames, speech models' log-probabilities and an anomaly detector's
        # "forecast" are returned as they are
        self.returns_frames = getattr(model, "step_output", "logits") in ("frames", "log_probs", "forecast")
        first = next(model.parameters(), None)
        default = first.device if first is not None else None
        self.device = torch.device(device) if device is not None else default
        self.reset()

    def reset(self) -> None:
        """Forget the frames seen so far (a new video, a new recording)."""
        self.state: Any = None  # made on the first frame, whose size some models need
        self.frames_seen = 0

    @torch.no_grad()
    def push(self, frame: Tensor) -> Tensor:
        """Add one frame ``(batch_size, C, H, W)`` or sensor sample ``(batch_size, C)``.

        Returns, for everything seen so far, a classifier's class probabilities
        ``(batch_size, num_classes)`` or a forecaster's predicted frames
        ``(batch_size, future_frames, C, H, W)``.
        """
        if frame.dim() == 3:
            frame = frame[None]
        if frame.shape[0] != self.batch_size:
            raise ValueError(
                f"this stream was opened for batch_size={self.batch_size}; received a frame batch of "
                f"{frame.shape[0]}"
            )
        frame = frame.to(self.device)
        if self.state is None:
            frame_size = tuple(frame.shape[-2:])
            self.state = self._steps.init_state(self.batch_size, device=self.device, frame_size=frame_size)
        output, self.state = self._steps.step(frame, self.state)
        self.frames_seen += 1
        return output if self.returns_frames else torch.softmax(output, dim=-1)

"""Spatiotemporal forecasting with ConvLSTM: frames in, future frames out.

* :class:`ConvLSTMForecaster` — the encoder–forecaster of Shi et al. 2015, "Convolutional LSTM
  Network: A Machine Learning Approach for Precipitation Nowcasting" (NeurIPS): a ConvLSTM
  encoder stack reads the input frames; a forecaster stack of the same sizes starts from the
  encoder's final states; a 1×1 convolution over the concatenated forecaster states gives each
  output frame. Frames may be folded into ``patch_size × patch_size`` patches first (the paper's
  patching: a 64×64×1 frame with 4×4 patches becomes 16×16×16).
* :class:`ConvLSTMSingleStack` — one ConvLSTM stack that reads a frame and predicts the next,
  fed its own predictions after the inputs end, as OpenSTL's ConvLSTM baseline (Tan et al. 2023,
  "OpenSTL: A Comprehensive Benchmark of Spatio-Temporal Predictive Learning") does.

Both take frames ``(B, T_in, C, H, W)`` with values in [0, 1] and return
``(B, future_frames, C, H, W)`` in [0, 1] (a sigmoid output by default, matching the paper's
per-pixel cross-entropy; ``output="linear"`` clips the output convolution's values instead, in
evaluation), and both predict any number of frames: past the inputs they feed back their own
previous prediction, so a model trained for 10 frames can be rolled out for 30. During training
``teacher_forcing`` (scheduled sampling, Bengio et al. 2015) replaces fed-back predictions with
the true frames with that probability.

Both stream (``init_state``/``step``, as the classifiers do; see :class:`cnnlstm.deploy.Stream`):
each new frame advances the encoder (or the single stack) by one step and rolls out
``future_frames`` frames from a copy of its state, so the work per frame does not grow with the
frames seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_positive_int, check_probability
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn import AdvectionHead, ConvLSTM

__all__ = ["OUTPUTS", "ConvLSTMForecaster", "ConvLSTMSingleStack", "NextFrameForecaster"]

OUTPUTS = ("sigmoid", "linear")

State = tuple[Tensor, Tensor]


def _check_teacher_forcing(value: float) -> float:
    return check_probability("teacher_forcing", value)


class _FrameForecaster(nn.Module):
    """Shared parts: argument checks, patching, feeding back predictions or true frames, streaming.

    Subclasses implement ``_read(patched_frames, states)``, which runs their recurrent stack over
    patched frames ``(B, T, C·p², h, w)`` from ``states`` (zeros when ``None``) and returns what
    the roll-out starts from and the new states, and ``_rollout(start, states, steps, targets,
    teacher_forcing)``, the patched predictions ``(B, steps, C·p², h, w)``. :meth:`forward` reads
    the whole input, :meth:`step` one frame; both then roll out the same way.
    """

    step_output = "frames"  # what ``step`` returns (classifiers: logits); read by Stream and export_step

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: Sequence[int],
        kernel_size: int | Sequence[int],
        patch_size: int,
        future_frames: int,
        output: str = "sigmoid",
        outputs: Sequence[str] = OUTPUTS,
    ) -> None:
        super().__init__()
        self.output_activation = check_choice("output", output, tuple(outputs))
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.patch_size = check_positive_int("patch_size", patch_size)
        self.future_frames = check_positive_int("future_frames", future_frames)
        self.patched_channels = self.in_channels * self.patch_size**2
        self.hidden_channels = [check_positive_int("hidden_channels", h) for h in hidden_channels]
        if not self.hidden_channels:
            raise ValueError("hidden_channels needs at least one layer; received hidden_channels=()")
        self.kernels = list(kernel_size) if isinstance(kernel_size, Sequence) else kernel_size

    def activate(self, raw: Tensor) -> Tensor:
        """Output frames from the output layer's ``raw`` values (see ``output``): a sigmoid, or
        the values as they are in training and clipped to [0, 1] in evaluation."""
        if self.output_activation == "sigmoid":
            return torch.sigmoid(raw)
        return raw if self.training else raw.clamp(0.0, 1.0)

    def _rollout_args(self, future_frames: int | None, teacher_forcing: float) -> tuple[int, float]:
        """The checked number of frames to predict (default ``self.future_frames``) and forcing rate."""
        if future_frames is None:
            return self.future_frames, _check_teacher_forcing(teacher_forcing)
        return check_positive_int("future_frames", future_frames), _check_teacher_forcing(teacher_forcing)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects frames (B, T, C, H, W) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(
                f"frames of {h}x{w} do not split into {self.patch_size}x{self.patch_size} patches; "
                f"use a patch_size that divides both, or resize the frames"
            )

    def patch(self, frames: Tensor) -> Tensor:
        """``(B, T, C, H, W)`` → ``(B, T, C·p², H/p, W/p)``."""
        if self.patch_size == 1:
            return frames
        b, t = frames.shape[:2]
        return F.pixel_unshuffle(frames.flatten(0, 1), self.patch_size).unflatten(0, (b, t))

    def unpatch(self, frames: Tensor) -> Tensor:
        """``(B, T, C·p², h, w)`` → ``(B, T, C, h·p, w·p)``."""
        if self.patch_size == 1:
            return frames
        b, t = frames.shape[:2]
        return F.pixel_shuffle(frames.flatten(0, 1), self.patch_size).unflatten(0, (b, t))

    def _next_input(
        self, prediction: Tensor, targets: Tensor | None, step: int, teacher_forcing: float
    ) -> Tensor:
        """The patched frame fed after future step ``step``: the prediction, or the true frame."""
        if targets is None or teacher_forcing <= 0.0 or step >= targets.shape[1]:
            return prediction
        truth = self.patch(targets[:, step : step + 1])[:, 0]
        if teacher_forcing >= 1.0:
            return truth
        use_truth = torch.rand(prediction.shape[0], 1, 1, 1, device=prediction.device) < teacher_forcing
        return torch.where(use_truth, truth, prediction)

    @property
    def _reader(self) -> Any:
        """The stack that reads the input frames, whose state a streaming step carries: it has
        ``zero_state``, ``flat_state`` and ``unflat_state`` (ConvLSTM, ConvGRU, STLSTM)."""
        raise NotImplementedError  # pragma: no cover

    def _read(self, frames: Tensor, states: Any = None) -> tuple[Tensor, Any]:
        raise NotImplementedError  # pragma: no cover

    def _rollout(
        self,
        start: Tensor,
        states: Any,
        steps: int,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> Tensor:
        raise NotImplementedError  # pragma: no cover

    def forward(
        self,
        x: Tensor,
        future_frames: int | None = None,
        *,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> Tensor:
        """Predict ``future_frames`` frames ``(B, F, C, H, W)`` after the frames ``x``.

        ``targets`` ``(B, F', C, H, W)`` and ``teacher_forcing``: each fed-back frame is the true
        one with probability ``teacher_forcing`` (not with ``forecaster_input="none"``, which
        feeds none).
        """
        steps, teacher_forcing = self._rollout_args(future_frames, teacher_forcing)
        self._check_input(x)
        start, states = self._read(self.patch(x))
        return self.unpatch(self._rollout(start, states, steps, targets, teacher_forcing))

    # -- streaming: one frame at a time; states are tuples of tensors (exportable) ------------------
    def init_state(
        self, batch_size: int, device: torch.device | None = None, *, frame_size: tuple[int, int], **_: Any
    ) -> tuple[Tensor, ...]:
        """The state before the first frame of :meth:`step`: ``(h_1, c_1, h_2, c_2, ...)``, zeros.

        ``frame_size`` is the ``(H, W)`` of the frames (before patching); each map is
        ``(B, hidden_channels[layer], H / patch_size, W / patch_size)``.
        """
        h, w = frame_size
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f"frame_size={tuple(frame_size)!r} does not split into {p}x{p} patches; "
                f"use frames whose H and W divide by patch_size={p}"
            )
        return self._reader.flat_state(self._reader.zero_state(batch_size, (h // p, w // p), device=device))

    def step(self, frame: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One frame ``(B, C, H, W)`` → the forecast ``(B, future_frames, C, H, W)`` after it, new state.

        After frames ``x[:, 0] ... x[:, t]`` (``x`` is ``(B, T, C, H, W)``) the forecast equals
        ``model(x[:, : t + 1])``. The work per frame is one recurrent step plus the roll-out of
        ``future_frames`` frames, whatever the number of frames seen.

        Example:
            >>> model = ConvLSTMForecaster(hidden_channels=(8,), patch_size=2, future_frames=3).eval()
            >>> state = model.init_state(2, frame_size=(16, 16))
            >>> for frame in torch.rand(4, 2, 1, 16, 16):  # four frames of two streams
            ...     forecast, state = model.step(frame, state)
            >>> forecast.shape
            torch.Size([2, 3, 1, 16, 16])
        """
        frames = frame[:, None]  # (B, 1, C, H, W)
        self._check_input(frames)
        start, states = self._read(self.patch(frames), self._reader.unflat_state(state))
        forecast = self._rollout(start, states, self.future_frames)
        return self.unpatch(forecast), self._reader.flat_state(states)


class ConvLSTMForecaster(_FrameForecaster):
    """Encoder–forecaster ConvLSTM (Shi et al. 2015): frames ``(B, T_in, C, H, W)`` → future frames.

    Args:
        in_channels: channels of a frame.
        hidden_channels: hidden channels of each layer; the encoder and forecaster stacks have the
            same sizes, so the forecaster starts from the encoder's states layer by layer.
        kernel_size: odd kernel size of every ConvLSTM layer (int or one per layer).
        patch_size: fold ``p × p`` patches into channels before the stacks (the paper's patching).
        future_frames: frames predicted when ``forward`` is not told otherwise.
        forecaster_input: ``"prediction"`` feeds the forecaster its previous output frame (the
            last input frame first), which lets it roll out autoregressively; ``"none"`` gives
            it no input, as in the paper's figure, where only the copied states drive it.
        peephole: the paper's peephole connections (per channel).
        norm, recurrent_dropout, zoneout: of every ConvLSTM layer (see :class:`cnnlstm.nn.ConvLSTM`;
            ``norm="layer_split"`` is OpenSTL's layer norm).
        output: ``"sigmoid"`` (frames in (0, 1), for the per-pixel BCE loss) or ``"linear"`` (the
            output convolution's values as they are in training, clipped to [0, 1] in evaluation,
            as OpenSTL's models with an MSE loss: a black pixel can be predicted exactly black,
            which SSIM rewards on mostly black frames), or ``"advection"``: each predicted frame
            is the previous frame (the last input, then the model's own previous prediction, or
            the true frame under teacher forcing, whatever ``forecaster_input``) carried along a motion field that the forecaster's states predict, plus a predicted
            intensity change (:class:`cnnlstm.nn.AdvectionHead`: motion at the states'
            resolution upsampled bilinearly, change at full resolution, semi-Lagrangian bilinear
            sampling, no echo entering from outside), as NowcastNet's evolution network (Zhang et
            al. 2023); values as they are in training and clipped to [0, 1] in evaluation, as
            ``"linear"``. Full-resolution detail is carried rather than redrawn through the
            patches, so the first frames are as sharp as the input wherever the motion is right.

    Example:
        >>> model = ConvLSTMForecaster(in_channels=1, hidden_channels=(16, 16), patch_size=4)
        >>> model(torch.rand(2, 10, 1, 64, 64), future_frames=12).shape
        torch.Size([2, 12, 1, 64, 64])
        >>> advect = ConvLSTMForecaster(in_channels=3, hidden_channels=(8,), patch_size=4, output="advection")
        >>> advect(torch.rand(2, 5, 3, 32, 32), future_frames=4).shape
        torch.Size([2, 4, 3, 32, 32])
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        hidden_channels: Sequence[int] = (64, 64),
        kernel_size: int | Sequence[int] = 5,
        patch_size: int = 4,
        future_frames: int = 10,
        forecaster_input: str = "prediction",
        peephole: bool = False,
        norm: str | None = None,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        output: str = "sigmoid",
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            hidden_channels=hidden_channels,
            kernel_size=kernel_size,
            patch_size=patch_size,
            future_frames=future_frames,
            output=output,
            outputs=(*OUTPUTS, "advection"),
        )
        self.forecaster_input = check_choice("forecaster_input", forecaster_input, ("prediction", "none"))
        hidden = self.hidden_channels
        options: dict[str, Any] = dict(
            peephole=peephole, norm=norm, recurrent_dropout=recurrent_dropout, zoneout=zoneout
        )
        self.encoder = ConvLSTM(self.patched_channels, hidden, self.kernels, **options)
        self.forecaster = ConvLSTM(self.patched_channels, hidden, self.kernels, **options)
        self.output: nn.Module
        if self.output_activation == "advection":
            self.output = AdvectionHead(
                in_channels=sum(hidden), channels=self.in_channels, patch_size=self.patch_size
            )
        else:
            self.output = nn.Conv2d(sum(hidden), self.patched_channels, kernel_size=1)
        self.num_features = sum(hidden)

    @property
    def _reader(self) -> ConvLSTM:
        return self.encoder

    def forward_features(self, x: Tensor) -> list[State]:
        """The encoder's final ``(h, c)`` per layer for frames ``(B, T_in, C, H, W)``."""
        self._check_input(x)
        return self._read(self.patch(x))[1]

    def _read(self, frames: Tensor, states: list[State] | None = None) -> tuple[Tensor, list[State]]:
        """The encoder over patched frames; the roll-out starts from the last of them."""
        _, states = self.encoder(frames, states)
        return frames[:, -1], states

    def _rollout(
        self,
        frame: Tensor,
        states: list[State],
        steps: int,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> Tensor:
        """Patched predictions ``(B, steps, C·p², h, w)`` of the forecaster stack started from the
        encoder's ``states``, after the last patched input ``frame`` ``(B, C·p², h, w)``.

        With ``output="advection"`` each prediction is the previous frame (``frame``, then the
        previous prediction, or the true frame under teacher forcing) advected, whatever the
        forecaster reads."""
        feed = torch.zeros_like(frame) if self.forecaster_input == "none" else frame
        outputs = []
        for step in range(steps):
            _, states = self.forecaster(feed[:, None], states)
            hidden = torch.cat([h for h, _ in states], dim=1)  # (B, sum(hidden), h, w)
            if self.output_activation == "advection":
                previous = self.unpatch(frame[:, None])[:, 0]  # (B, C, H, W), exact: a permutation
                prediction = self.activate(self.patch(self.output(hidden, previous)[:, None])[:, 0])
            else:
                prediction = self.activate(self.output(hidden))
            outputs.append(prediction)
            if self.forecaster_input == "prediction" or self.output_activation == "advection":
                frame = self._next_input(prediction, targets, step, teacher_forcing)
            if self.forecaster_input == "prediction":
                feed = frame
        return torch.stack(outputs, dim=1)


class NextFrameForecaster(_FrameForecaster):
    """One recurrent stack predicting the next frame from each frame; subclasses pick the stack.

    It reads the ``T_in`` input frames one by one, then keeps going on its own predictions; the
    output frame after each step is a 1×1 convolution of the last layer's hidden state. The
    stack (built by :meth:`make_stack`) takes ``(frames, state)`` and returns ``(outputs,
    state)`` with outputs ``(B, T, H_last, h, w)``, and has ``zero_state``, ``flat_state`` and
    ``unflat_state`` for streaming.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        hidden_channels: Sequence[int] = (128, 128, 128, 128),
        kernel_size: int | Sequence[int] = 5,
        patch_size: int = 4,
        future_frames: int = 10,
        output: str = "sigmoid",
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            hidden_channels=hidden_channels,
            kernel_size=kernel_size,
            patch_size=patch_size,
            future_frames=future_frames,
            output=output,
        )
        self.stack = self.make_stack()
        self.output = nn.Conv2d(self.hidden_channels[-1], self.patched_channels, kernel_size=1, bias=False)
        self.input_predictions: Tensor | None = None  # see forward's predict_inputs
        self.num_features = self.hidden_channels[-1]

    def make_stack(self) -> nn.Module:
        raise NotImplementedError  # pragma: no cover

    @property
    def _reader(self) -> Any:
        return self.stack

    supports_input_truth = True  # ForecastingTask's reverse scheduled sampling (PredRNN-V2)

    def run_stack(self, frames: Tensor, states: Any) -> tuple[Tensor, Any]:
        """The stack over patched ``frames`` ``(B, T, C·p², h, w)`` from ``states``."""
        return cast(tuple[Tensor, Any], self.stack(frames, states))

    def forward(
        self,
        x: Tensor,
        future_frames: int | None = None,
        *,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
        input_truth: float = 1.0,
        predict_inputs: bool = False,
    ) -> Tensor:
        """Predict ``future_frames`` frames after ``x``; see :meth:`_FrameForecaster.forward`.

        ``input_truth`` < 1 (training only) is PredRNN-V2's reverse scheduled sampling: while
        reading the inputs, each frame after the first is the true one with this probability and
        the model's own prediction of it otherwise (per sample), so reading and rolling out see
        the same kind of inputs. 1 (the default, and always in evaluation) reads the true frames.

        ``predict_inputs`` (training only): also keep the model's predictions of input frames
        2 ... T_in, made while reading, in :attr:`input_predictions` ``(B, T_in - 1, C, H, W)``
        (None otherwise), so that a loss can supervise every next-frame prediction, as OpenSTL's
        recurrent models are trained; it costs one 1×1 convolution per input frame.
        """
        input_truth = check_probability("input_truth", input_truth)
        self.input_predictions = None
        keep = predict_inputs and self.training
        if input_truth >= 1.0 or not self.training:
            if not keep:
                return super().forward(x, future_frames, targets=targets, teacher_forcing=teacher_forcing)
            steps, teacher_forcing = self._rollout_args(future_frames, teacher_forcing)
            self._check_input(x)
            outs, read_states = self.run_stack(self.patch(x), None)  # outs (B, T_in, H_last, h, w)
            if x.shape[1] > 1:
                self.input_predictions = self.unpatch(self._output_frames(outs[:, :-1]))
            return self.unpatch(self._rollout(outs[:, -1], read_states, steps, targets, teacher_forcing))
        steps, teacher_forcing = self._rollout_args(future_frames, teacher_forcing)
        self._check_input(x)
        frames = self.patch(x)  # (B, T_in, C·p², h, w)
        states: Any = None
        frame = frames[:, 0]
        read: list[Tensor] = []
        for t in range(frames.shape[1]):
            out, states = self.run_stack(frame[:, None], states)
            if t + 1 < frames.shape[1]:
                prediction = self.activate(self.output(out[:, 0]))
                read.append(prediction)
                use_truth = torch.rand(frame.shape[0], 1, 1, 1, device=frame.device) < input_truth
                frame = torch.where(use_truth, frames[:, t + 1], prediction)
        if keep and read:
            self.input_predictions = self.unpatch(torch.stack(read, dim=1))
        return self.unpatch(self._rollout(out[:, 0], states, steps, targets, teacher_forcing))

    def _output_frames(self, outs: Tensor) -> Tensor:
        """Patched frames ``(B, T, C·p², h, w)`` from last-layer outputs ``(B, T, H_last, h, w)``."""
        return self.activate(self.output(outs.flatten(0, 1))).unflatten(0, outs.shape[:2])

    def forward_features(self, x: Tensor) -> tuple[Tensor, Any]:
        """Last-layer outputs ``(B, T_in, H_last, h, w)`` and final states after reading ``x``."""
        self._check_input(x)
        return self.run_stack(self.patch(x), None)

    def _read(self, frames: Tensor, states: Any = None) -> tuple[Tensor, Any]:
        """The stack over patched frames; the roll-out starts from its last output."""
        out, states = self.run_stack(frames, states)
        return out[:, -1], states

    def _rollout(
        self,
        out: Tensor,
        states: Any,
        steps: int,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> Tensor:
        """Patched predictions ``(B, steps, C·p², h, w)`` after the stack's last output ``out``
        ``(B, H_last, h, w)`` and ``states``, fed back (or fed the true frames) one by one."""
        prediction = self.activate(self.output(out))  # the frame after the inputs
        outputs = [prediction]
        for step in range(steps - 1):
            frame = self._next_input(prediction, targets, step, teacher_forcing)
            out_step, states = self.run_stack(frame[:, None], states)
            prediction = self.activate(self.output(out_step[:, 0]))
            outputs.append(prediction)
        return torch.stack(outputs, dim=1)


class ConvLSTMSingleStack(NextFrameForecaster):
    """One ConvLSTM stack predicting the next frame from each frame (OpenSTL's ConvLSTM baseline).

    It reads the ``T_in`` input frames one by one, then keeps going on its own predictions; the
    output frame after each step is a 1×1 convolution of the last layer's hidden state.

    Args:
        in_channels, kernel_size, patch_size, future_frames, output: as in :class:`ConvLSTMForecaster`.
        hidden_channels: hidden channels of each layer (OpenSTL's ConvLSTM-S: 4 × 128, 5×5,
            patch 4).

    Example:
        >>> model = ConvLSTMSingleStack(in_channels=1, hidden_channels=(16, 16), patch_size=4)
        >>> model(torch.rand(2, 10, 1, 64, 64)).shape
        torch.Size([2, 10, 1, 64, 64])
    """

    def make_stack(self) -> nn.Module:
        return ConvLSTM(self.patched_channels, self.hidden_channels, self.kernels)


_FRAMES: dict[str, Any] = dict(
    task="forecasting", modality="frames", shape_kwargs={"in_channels": 1}, streams=True
)


@register_model(**_FRAMES, input_size=(10, 1, 64, 64), test_input_size=(4, 1, 16, 16))
def convlstm_forecaster(**kwargs: Any) -> ConvLSTMForecaster:
    """Encoder–forecaster ConvLSTM (Shi et al. 2015), paper-like: 3 layers 128-64-64, 5×5, 4×4 patches."""
    return with_defaults(
        ConvLSTMForecaster, dict(hidden_channels=(128, 64, 64), kernel_size=5, patch_size=4), kwargs
    )


@register_model(**_FRAMES, input_size=(4, 1, 16, 16))
def convlstm_forecaster_tiny(**kwargs: Any) -> ConvLSTMForecaster:
    """Tiny encoder–forecaster for tests (2 layers of 8, 3×3, 2×2 patches)."""
    return with_defaults(
        ConvLSTMForecaster, dict(hidden_channels=(8, 8), kernel_size=3, patch_size=2), kwargs
    )


@register_model(**_FRAMES, input_size=(10, 1, 64, 64), test_input_size=(4, 1, 16, 16))
def convlstm_single_stack(**kwargs: Any) -> ConvLSTMSingleStack:
    """One ConvLSTM stack as OpenSTL's ConvLSTM-S: 4 layers of 128, 5×5, 4×4 patches."""
    return with_defaults(
        ConvLSTMSingleStack, dict(hidden_channels=(128,) * 4, kernel_size=5, patch_size=4), kwargs
    )


@register_model(**_FRAMES, input_size=(4, 1, 16, 16))
def convlstm_single_stack_tiny(**kwargs: Any) -> ConvLSTMSingleStack:
    """Tiny single-stack ConvLSTM for tests (2 layers of 8, 3×3, 2×2 patches)."""
    return with_defaults(
        ConvLSTMSingleStack, dict(hidden_channels=(8, 8), kernel_size=3, patch_size=2), kwargs
    )

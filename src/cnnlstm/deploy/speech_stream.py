"""Live transcription: audio chunks in, the transcript so far out, with a streaming CTC model.

:class:`SpeechStream` chains :class:`cnnlstm.data.audio.StreamingLogMel` (log-mel frames as soon
as their window is complete), the model's ``step_chunk`` on all of a chunk's frames at once where
it has one (``cnn_lstm_ctc_stream``; else :class:`cnnlstm.deploy.Stream` frame by frame over
``init_state`` / ``step``; every 4th feature frame completes one output frame) and greedy
CTC decoding carried across chunks. The work per chunk is bounded and independent of what came
before; the transcript equals the whole-utterance transcript of the same model, because the
features, the model's steps and the decoding are each equal to their offline counterparts.

The features must be causal: a model trained on per-utterance normalised features
(``--data.normalization utterance``) cannot stream; train it with ``normalization: none`` (the
streaming model's ``input_norm`` normalises with running statistics), as ``speech-stream`` does.

Example:
    >>> import cnnlstm, torch
    >>> model = cnnlstm.create_model("cnn_lstm_ctc_stream_tiny", num_classes=3, in_channels=80)
    >>> stream = SpeechStream(model, vocabulary=["<blank>", " ", "a"])
    >>> for chunk in torch.randn(16000).split(1600):  # one second in 100 ms chunks
    ...     text = stream.push(chunk)
    >>> isinstance(stream.finish(), str), stream.feature_frames
    (True, 101)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cnnlstm.data.audio import LogMel, StreamingLogMel
from cnnlstm.deploy.stream import Stream

__all__ = ["SpeechStream"]


class SpeechStream:
    """Chunk-by-chunk transcription of one audio stream.

    Args:
        model: a streaming speech model (``cnnlstm.list_models(task="speech", streams=True)``).
        vocabulary: its tokens, the CTC blank first (a checkpoint's ``class_names``).
        sample_rate, n_mels, win_length, hop_length: the feature settings the model was trained
            with (samples; :meth:`from_preprocessing` reads them from a checkpoint's or an
            export's ``preprocessing``).
        normalization: the training data's normalisation; only ``"none"`` streams.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        vocabulary: Sequence[str],
        sample_rate: int = 16000,
        n_mels: int = 80,
        win_length: int = 400,
        hop_length: int = 160,
        normalization: str = "none",
    ) -> None:
        if normalization != "none":
            raise ValueError(
                f"a model trained on normalization={normalization!r} features needs the whole utterance; "
                "train the streaming model with --data.normalization none"
            )
        self.vocabulary = list(vocabulary)
        mel = LogMel(
            sample_rate=sample_rate,
            n_mels=n_mels,
            win_ms=win_length * 1000 / sample_rate,
            hop_ms=hop_length * 1000 / sample_rate,
        )
        self.features = StreamingLogMel(mel)
        self.stream = Stream(model)
        self.reset()

    @classmethod
    def from_preprocessing(cls, model: nn.Module, preprocessing: Mapping[str, Any]) -> SpeechStream:
        """Settings from a :class:`~cnnlstm.data.speech.SpeechDataModule`'s ``preprocessing()``."""
        return cls(
            model,
            vocabulary=preprocessing["vocabulary"],
            sample_rate=int(preprocessing["sample_rate"]),
            n_mels=int(preprocessing["n_mels"]),
            win_length=int(preprocessing["win_length"]),
            hop_length=int(preprocessing["hop_length"]),
            normalization=str(preprocessing.get("normalization", "none")),
        )

    def reset(self) -> None:
        """Start a new recording."""
        self.features.reset()
        self.stream.reset()
        self.tokens: list[int] = []
        self._previous = 0
        self.feature_frames = 0
        self.log_probs: list[Tensor] = []  # every output frame so far, (1, V) each
        self.first_token_frame: int | None = None  # the feature frame at which a first label appeared

    def _consume(self, frames: Tensor) -> None:
        if not len(frames):
            return
        chunked = getattr(self.stream.model, "step_chunk", None)
        if callable(chunked):  # all the chunk's frames in one call (cnn_lstm_ctc_stream)
            if self.stream.state is None:
                self.stream.state = self.stream._steps.init_state(1, device=self.stream.device)
            with torch.no_grad():
                out, self.stream.state = chunked(frames[None].to(self.stream.device), self.stream.state)
            self._decode(out[0].cpu(), self.feature_frames + len(frames))
            self.feature_frames += len(frames)
            return
        for frame in frames:
            out = self.stream.push(frame[None])  # (1, k, V)
            self.feature_frames += 1
            self._decode(out[0].cpu(), self.feature_frames)

    def _decode(self, steps: Tensor, frames_seen: int) -> None:
        """Greedy CTC over new output frames ``(k, V)``, continuing the previous chunks' path."""
        for step in steps:
            self.log_probs.append(step[None])
            token = int(step.argmax())
            if token != self._previous and token != 0:
                self.tokens.append(token)
                if self.first_token_frame is None:
                    self.first_token_frame = frames_seen
            self._previous = token

    @property
    def text(self) -> str:
        """The transcript so far."""
        return "".join(self.vocabulary[i] for i in self.tokens if i < len(self.vocabulary))

    def push(self, audio: Tensor | np.ndarray) -> str:
        """Add mono samples ``(N,)`` at the model's rate; the transcript so far."""
        self._consume(self.features.push(audio))
        return self.text

    def finish(self) -> str:
        """End of the recording: the last frames, and the final transcript."""
        self._consume(self.features.finish())
        return self.text

    def output(self) -> Tensor:
        """Every output frame so far, ``(1, frames, V)``: what the model's forward gives offline."""
        if not self.log_probs:
            return torch.zeros(1, 0, len(self.vocabulary))
        return torch.cat(self.log_probs)[None]

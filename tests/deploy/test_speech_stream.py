"""Live transcription equals the whole-utterance transcript of the same model."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.data.audio import LogMel
from cnnlstm.deploy.speech_stream import SpeechStream
from cnnlstm.nn.ctc import ctc_greedy_decode
from tests.deploy._speech_models import VOCAB
from tests.deploy._speech_models import stream_model as _model


@pytest.mark.parametrize("per_frame", [False, True], ids=["step_chunk", "step"])
@pytest.mark.parametrize("chunk", [160, 777, 4000])
def test_streamed_transcript_equals_the_whole_utterance_transcript(chunk, per_frame, monkeypatch):
    model = _model()
    if per_frame:  # the frame-by-frame path through cnnlstm.deploy.Stream
        monkeypatch.setattr(model, "step_chunk", None)
    wave = torch.randn(16000 + 123, generator=torch.Generator().manual_seed(0)) * 0.1
    mel = LogMel(n_mels=40)
    with torch.no_grad():
        offline = model(mel(wave[None]))
    stream = SpeechStream(model, vocabulary=VOCAB, n_mels=40)
    for piece in wave.split(chunk):
        stream.push(piece)
    text = stream.finish()
    torch.testing.assert_close(stream.output(), offline, atol=1e-4, rtol=1e-4)
    expected = "".join(VOCAB[i] for i in ctc_greedy_decode(offline)[0])
    assert text == expected and len(expected) >= 3
    assert stream.feature_frames == 1 + len(wave) // 160


def test_utterance_normalised_features_cannot_stream():
    with pytest.raises(ValueError, match="normalization none"):
        SpeechStream(_model(), vocabulary=VOCAB, n_mels=40, normalization="utterance")

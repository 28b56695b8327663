"""A tiny streaming speech model with a few non-blank labels, shared by the speech deploy tests."""

from __future__ import annotations

import torch

from cnnlstm import create_model

VOCAB = ["<blank>", " ", "a", "b", "c", "d"]


def stream_model() -> torch.nn.Module:
    """``cnn_lstm_ctc_stream_tiny`` (40 mel bands) in eval mode, with trained-like input statistics."""
    torch.manual_seed(3)
    model = create_model("cnn_lstm_ctc_stream_tiny", num_classes=len(VOCAB), in_channels=40, lstm_hidden=16)
    model.fc.bias.data[0] = -2.0  # fewer blanks: a random model then emits several labels
    with torch.no_grad():  # running statistics of the input normalisation, as after training
        model.train()(torch.randn(4, 200, 40) * 3 - 5)
    return model.eval()

"""Layers: the LSTM from its equations, ConvLSTM, frame/clip/signal encoders, time folding.

``cnnlstm.nn`` knows nothing of tasks or data.
"""

from cnnlstm.nn.convlstm import ConvLSTM, ConvLSTM1d, ConvLSTM3d, ConvLSTMCell
from cnnlstm.nn.encoders import Conv3dStem, FrameCNN, TemporalConvEncoder
from cnnlstm.nn.heads import SequenceClassifierHead
from cnnlstm.nn.lstm import LSTM, LSTMCell
from cnnlstm.nn.time_distributed import TimeDistributed, fold_time, unfold_time

__all__ = [
    "LSTM",
    "Conv3dStem",
    "ConvLSTM",
    "ConvLSTM1d",
    "ConvLSTM3d",
    "ConvLSTMCell",
    "FrameCNN",
    "LSTMCell",
    "SequenceClassifierHead",
    "TemporalConvEncoder",
    "TimeDistributed",
    "fold_time",
    "unfold_time",
]

"""Layers: the LSTM from its equations, ConvLSTM, ConvGRU, PredRNN's STLSTM, frame/clip/signal encoders, time folding,
advection (warping frames along a motion field).

``cnnlstm.nn`` knows nothing of tasks or data.
"""

from cnnlstm.nn.advection import AdvectionHead, warp
from cnnlstm.nn.convgru import ConvGRU, ConvGRU1d, ConvGRUCell
from cnnlstm.nn.convlstm import ConvLSTM, ConvLSTM1d, ConvLSTM3d, ConvLSTMCell
from cnnlstm.nn.encoders import Conv3dStem, FrameCNN, TemporalConvEncoder
from cnnlstm.nn.heads import SequenceClassifierHead
from cnnlstm.nn.lstm import LSTM, LSTMCell
from cnnlstm.nn.masked_norm import MaskedBatchNorm1d
from cnnlstm.nn.stlstm import STLSTM, STLSTMCell
from cnnlstm.nn.time_distributed import TimeDistributed, fold_time, unfold_time

__all__ = [
    "LSTM",
    "STLSTM",
    "AdvectionHead",
    "Conv3dStem",
    "ConvGRU",
    "ConvGRU1d",
    "ConvGRUCell",
    "ConvLSTM",
    "ConvLSTM1d",
    "ConvLSTM3d",
    "ConvLSTMCell",
    "FrameCNN",
    "LSTMCell",
    "MaskedBatchNorm1d",
    "STLSTMCell",
    "SequenceClassifierHead",
    "TemporalConvEncoder",
    "TimeDistributed",
    "fold_time",
    "unfold_time",
    "warp",
]

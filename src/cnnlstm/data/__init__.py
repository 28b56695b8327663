"""Datasets and DataModules; ``cnnlstm.data`` never imports ``cnnlstm.tasks``."""

from importlib import import_module

from cnnlstm.data.base import BaseDataModule, EpochSeededSampler
from cnnlstm.data.synthetic import MovingSquareVideos, SyntheticVideoDataModule

__all__ = [
    "AnomalyDataModule",
    "BaseDataModule",
    "EpochSeededSampler",
    "ForecastDataModule",
    "FrameSequenceDataModule",
    "MovingMNISTDataModule",
    "MovingSquareVideos",
    "RadarEchoDataModule",
    "NumbersDataModule",
    "ParallelTextDataModule",
    "SensorStreamDataModule",
    "SpeechDataModule",
    "SyntheticVideoDataModule",
    "UCRDataModule",
    "VideoDataModule",
]

# Modules with optional dependencies (PyAV, sktime, pandas, mlxtend, sentencepiece, num2words) load when first asked for.
_LAZY = {
    "VideoDataModule": "cnnlstm.data.video",
    "UCRDataModule": "cnnlstm.data.timeseries",
    "SensorStreamDataModule": "cnnlstm.data.sensor",
    "SpeechDataModule": "cnnlstm.data.speech",
    "MovingMNISTDataModule": "cnnlstm.data.moving_mnist_data",
    "AnomalyDataModule": "cnnlstm.data.anomaly",
    "FrameSequenceDataModule": "cnnlstm.data.frame_sequences",
    "RadarEchoDataModule": "cnnlstm.data.radar_echoes_data",
    "ParallelTextDataModule": "cnnlstm.data.text",
    "NumbersDataModule": "cnnlstm.data.text_synth",
    "ForecastDataModule": "cnnlstm.data.forecasting",  # deprecated: builds one of the two above
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnnlstm.data' has no attribute {name!r}")

"""Datasets and DataModules; ``cnnlstm.data`` never imports ``cnnlstm.tasks``."""

from cnnlstm.data.base import BaseDataModule, EpochSeededSampler
from cnnlstm.data.synthetic import MovingSquareVideos, SyntheticVideoDataModule

__all__ = [
    "BaseDataModule",
    "EpochSeededSampler",
    "MovingSquareVideos",
    "SyntheticVideoDataModule",
    "VideoDataModule",
]


def __getattr__(name: str):
    # Video support needs PyAV (the [video] extra): imported only when asked for.
    if name == "VideoDataModule":
        from cnnlstm.data.video import VideoDataModule

        return VideoDataModule
    raise AttributeError(f"module 'cnnlstm.data' has no attribute {name!r}")

"""Datasets and DataModules; ``cnnlstm.data`` never imports ``cnnlstm.tasks``."""

from cnnlstm.data.base import BaseDataModule, EpochSeededSampler
from cnnlstm.data.synthetic import MovingSquareVideos, SyntheticVideoDataModule

__all__ = ["BaseDataModule", "EpochSeededSampler", "MovingSquareVideos", "SyntheticVideoDataModule"]

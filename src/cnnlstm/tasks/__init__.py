"""LightningModules, one per kind of problem; models come from the registry by name."""

from cnnlstm.tasks.base import BaseTask, NonFiniteLossError
from cnnlstm.tasks.classification import ClassificationTask
from cnnlstm.tasks.forecasting import ForecastingTask
from cnnlstm.tasks.seq2seq import Seq2SeqTask

__all__ = ["BaseTask", "ClassificationTask", "ForecastingTask", "NonFiniteLossError", "Seq2SeqTask"]

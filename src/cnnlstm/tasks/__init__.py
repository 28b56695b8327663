"""LightningModules, one per kind of problem; models come from the registry by name."""

from cnnlstm.tasks.anomaly import AnomalyTask
from cnnlstm.tasks.base import BaseTask, NonFiniteLossError
from cnnlstm.tasks.classification import ClassificationTask
from cnnlstm.tasks.forecasting import ForecastingTask
from cnnlstm.tasks.seq2seq import Seq2SeqTask
from cnnlstm.tasks.speech import SpeechTask

__all__ = [
    "AnomalyTask",
    "BaseTask",
    "ClassificationTask",
    "ForecastingTask",
    "NonFiniteLossError",
    "Seq2SeqTask",
    "SpeechTask",
]

"""What is computed on anomaly scores: metrics written from their published definitions, thresholds
and alarms, and the baseline rows of every table. Imported by tasks, deploy, the command line and
benchmarks; imports nothing else from the package (numpy, scipy, scikit-learn)."""

from cnnlstm.metrics.anomaly import (
    METRICS,
    anomaly_metrics,
    auc_pr,
    auc_roc,
    best_range_f1,
    point_adjust,
    point_adjusted_f1,
    point_f1,
    range_f1,
    range_precision_recall,
    segments,
    vus,
)
from cnnlstm.metrics.baselines import moving_median_scores, random_scores
from cnnlstm.metrics.thresholds import SPOT, Alarm, alarm_intervals, fit_gpd, quantile_threshold

__all__ = [
    "METRICS",
    "SPOT",
    "Alarm",
    "alarm_intervals",
    "fit_gpd",
    "moving_median_scores",
    "quantile_threshold",
    "random_scores",
    "anomaly_metrics",
    "auc_pr",
    "auc_roc",
    "best_range_f1",
    "point_adjust",
    "point_adjusted_f1",
    "point_f1",
    "range_f1",
    "range_precision_recall",
    "segments",
    "vus",
]

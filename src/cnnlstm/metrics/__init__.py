"""Metrics that are part of the product: written from their published definitions, imported by
tasks, the command line and benchmarks; they import nothing else from the package."""

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

__all__ = [
    "METRICS",
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

"""Realized metrics of the stream: the last labelled events, measured by the model's task.

A label joins its event on the stream (in the prediction's message, or later in one of
its own); :class:`LabelledWindow` keeps the prediction values of recent events until
their label arrives (at most ``awaiting`` of them, oldest forgotten first) and the last
``size`` labelled events. :func:`window_metrics` measures them with the batch metric
functions of the model's task:

- binary: accuracy, precision, recall, F1, ROC AUC (when the probability is logged);
- multiclass: accuracy, macro/weighted precision, recall and F1, one-vs-rest ROC AUC
  (when every class's probability is logged);
- regression: MAE, RMSE, MAPE (zero targets left out), R², mean error.

Labels are not checkpointed: after a restart the labelled window fills again from the
labels that arrive from then on (the landed labels are complete; the daily
``model_performance`` asset measures them).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.metrics import classification_metrics
from monitoring_assets.core.performance.multiclass import multiclass_metrics
from monitoring_assets.core.performance.regression import regression_metrics

#: The metrics of each task, in the order they are reported.
TASK_METRICS = {
    "binary_classification": ("accuracy", "precision", "recall", "f1", "roc_auc"),
    "multiclass": (
        "accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "weighted_f1",
        "macro_roc_auc",
    ),
    "regression": ("mae", "rmse", "mape", "r2", "mean_error"),
}


def window_metrics(
    model: ModelConfig, y: Sequence[Any], pred: Sequence[Any], probabilities: np.ndarray | None
) -> dict[str, float | None]:
    """The realized metrics of labelled events (see the module docstring); ``probabilities``
    is rows × logged probability columns (classes in ascending order), or None."""
    if model.task == "regression":
        m: Any = regression_metrics(y, pred)
    elif model.task == "multiclass":
        classes = list(model.classes or ())
        ok = probabilities is not None and not np.isnan(probabilities).any()
        m = multiclass_metrics(y, pred, classes, probabilities if ok else None)
    else:
        p = None
        if probabilities is not None and not np.isnan(probabilities[:, 0]).any():
            p = probabilities[:, 0]
        m = classification_metrics(
            np.asarray(y, dtype=int), np.asarray(pred, dtype=int), p, classes=model.classes
        )
    out: dict[str, float | None] = {}
    for name in TASK_METRICS[model.task]:
        v = getattr(m, name)
        out[name] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


class LabelledWindow:
    """The last ``size`` labelled events of one model (see the module docstring)."""

    def __init__(self, model: ModelConfig, size: int, awaiting: int):
        self.model = model
        self.size, self.awaiting = size, awaiting
        self.n_probabilities = len(model.probability_columns)
        self._waiting: OrderedDict[str, list] = OrderedDict()
        self._labelled: deque[tuple[Any, list]] = deque(maxlen=size)
        self.labels_without_event = 0

    @property
    def rows(self) -> int:
        return len(self._labelled)

    def predicted(self, rid: str, outputs: list) -> None:
        """An event joined: its output values (prediction, probabilities, latency)."""
        self._waiting[rid] = outputs
        if len(self._waiting) > self.awaiting:
            self._waiting.popitem(last=False)

    def labelled(self, rid: str, target: Any) -> bool:
        """A label arrived; False when its event is not held (forgotten, or before a restart)."""
        outputs = self._waiting.pop(rid, None)
        if outputs is None:
            self.labels_without_event += 1
            return False
        self._labelled.append((target, outputs))
        return True

    def metrics(self) -> dict[str, float | None] | None:
        """The realized metrics of the labelled events held, None when there are none."""
        if not self._labelled:
            return None
        y = [t for t, _ in self._labelled]
        pred = [o[0] for _, o in self._labelled]
        k = self.n_probabilities
        probs = np.asarray([o[1 : 1 + k] for _, o in self._labelled], dtype=float) if k else None
        return window_metrics(self.model, y, pred, probs)

"""Champion vs challenger: train on the labeled window, compare on one holdout, decide.

Pure core (no Dagster import). :func:`monitoring_assets.core.retraining.retrain` claims a
trigger, then calls :func:`train_and_judge`:

1. The most recent labeled window is split by time: the last ``holdout_days`` days
   are the holdout, the days before are the training set. Testing on the newest days
   measures what matters after a shift; a random split would mix pre- and post-shift
   rows into both sides.
2. The challenger is trained by ``trainer`` (default: a fresh clone of the champion's
   estimator, i.e. same pipeline and hyper-parameters, fitted on the window; a model
   file's ``training.entry_point``, see ``core.trainer.trainer_for``). Too few
   labeled days or rows raise :class:`InsufficientLabels`: the run is skipped.
3. Champion and challenger predict the same holdout rows: metric deltas, and
   McNemar's test on the paired predictions. A champion registered without an
   estimator (a model driftwarden did not train) is its logged predictions.
4. Promotion needs ``challenger - champion >= min_improvement`` on ``policy.metric``
   (and, if ``require_significance``, McNemar p < ``significance`` in the
   challenger's favour). In review mode a better challenger stops at
   ``pending_review`` for a person (:func:`review_decision`); otherwise it is promoted
   for partitions from ``effective_from`` on. A challenger that is not better is
   ``rejected``.

A new version carries what monitoring needs to follow it: its training rows as
``reference`` data, the holdout (scored by the new version) as ``validation``, the
holdout metrics as ``reference_performance`` and a fitted CBPE calibration as ``cbpe``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from monitoring_assets.core.performance import (
    CBPE,
    McNemarResult,
    Metrics,
    classification_metrics,
    mcnemar_paired,
)
from monitoring_assets.core.performance.references import score
from monitoring_assets.core.registry import ModelRegistry, ModelStatus, RegistryError

Trainer = Callable[[pd.DataFrame, pd.Series, Any], Any]
#: How a retraining run ended.
RetrainResult = Literal["promoted", "rejected", "pending_review", "already_handled", "skipped"]
COMPARED = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "calibration_error")


class RetrainingError(ValueError):
    """The labeled window cannot support a retraining; the message says what is missing."""


class InsufficientLabels(RetrainingError):
    """Too few labeled days or rows yet: a retraining is skipped, not failed."""


@dataclass(frozen=True)
class RetrainPolicy:
    """How challengers are trained and judged."""

    metric: Literal["accuracy", "f1", "roc_auc"] = "accuracy"
    min_improvement: float = 0.01
    window_days: int = 28
    holdout_days: int = 7
    min_train_rows: int = 500
    min_holdout_rows: int = 200
    require_significance: bool = False
    significance: float = 0.05

    def __post_init__(self) -> None:
        if self.metric not in ("accuracy", "f1", "roc_auc"):
            raise ValueError(
                f"RetrainPolicy: metric must be accuracy, f1 or roc_auc, got {self.metric!r}"
            )
        if self.holdout_days < 1 or self.window_days <= self.holdout_days:
            raise ValueError(
                f"RetrainPolicy: need 1 <= holdout_days < window_days, got "
                f"holdout_days={self.holdout_days}, window_days={self.window_days}"
            )


@dataclass(frozen=True)
class Comparison:
    """Champion vs challenger on the same holdout rows."""

    n_holdout: int
    champion: Metrics
    challenger: Metrics
    deltas: dict[str, float | None]
    mcnemar: McNemarResult

    def as_dict(self) -> dict[str, Any]:
        """Flat numbers for the registry and UI metadata."""
        out: dict[str, Any] = {"n_holdout": self.n_holdout}
        for k in COMPARED:
            out[f"champion_{k}"] = getattr(self.champion, k)
            out[f"challenger_{k}"] = getattr(self.challenger, k)
            out[f"delta_{k}"] = self.deltas.get(k)
        out["mcnemar_p_value"] = self.mcnemar.p_value
        out["mcnemar_statistic"] = self.mcnemar.statistic
        out["only_champion_right"] = self.mcnemar.only_a_right
        out["only_challenger_right"] = self.mcnemar.only_b_right
        return out


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retraining run decided."""

    model: str
    trigger: str
    decision: RetrainResult
    reason: str
    trained: bool
    champion: str | None
    challenger: str | None = None
    comparison: Comparison | None = None
    training_window: tuple[dt.date, dt.date] | None = None
    holdout_window: tuple[dt.date, dt.date] | None = None
    effective_from: dt.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Trigger, decision, reason, versions and the comparison's numbers (UI metadata)."""
        out: dict[str, Any] = {
            "trigger": self.trigger,
            "decision": self.decision,
            "reason": self.reason,
            "champion": str(self.champion),
            "challenger": str(self.challenger),
        }
        if self.comparison is not None:
            for k, v in self.comparison.as_dict().items():
                if v is not None:
                    out[k] = float(v)
        return out


def clone_champion(features: pd.DataFrame, target: pd.Series, champion: Any) -> Any:
    """Default trainer: the champion's estimator, unfitted, fitted on the window."""
    from sklearn.base import clone  # lazy import

    return clone(champion).fit(features, target)


def split_window(
    window: pd.DataFrame, date_column: str, holdout_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows (earlier days) and holdout rows (the last ``holdout_days`` days)."""
    if date_column not in window.columns:
        raise RetrainingError(f"labeled window lacks the date column {date_column!r}")
    days = sorted(pd.to_datetime(window[date_column]).dt.date.unique())
    if len(days) <= holdout_days:
        raise InsufficientLabels(
            f"only {len(days)} labelled day(s) (< {holdout_days + 1}: {holdout_days} to hold "
            "out and at least one to train on)"
        )
    cut = days[-holdout_days]
    d = pd.to_datetime(window[date_column]).dt.date
    return window[d < cut], window[d >= cut]


def _date_range(frame: pd.DataFrame, date_column: str) -> tuple[dt.date, dt.date]:
    d = pd.to_datetime(frame[date_column]).dt.date
    return d.min(), d.max()


def labeled_split(
    window: pd.DataFrame,
    features: list[str],
    target: str,
    classes: tuple[int, int],
    date_column: str,
    policy: RetrainPolicy,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and holdout rows of ``window``: labeled rows of the last
    ``policy.window_days`` days, split by :func:`split_window`. Too few labeled days or
    rows raise :class:`InsufficientLabels`, a malformed window :class:`RetrainingError`."""
    missing = [c for c in [*features, target, date_column] if c not in window.columns]
    if missing and len(window):
        raise RetrainingError(f"labeled window lacks column(s) {missing}")
    if len(window) == 0:
        raise InsufficientLabels(
            f"only 0 labelled days (< {policy.holdout_days + 1}: {policy.holdout_days} to hold "
            "out and at least one to train on)"
        )
    labeled = window[window[target].isin(list(classes))]
    if len(labeled) == 0:
        raise InsufficientLabels(f"labeled window has no rows with {target!r} in {list(classes)}")
    last = pd.to_datetime(labeled[date_column]).dt.date.max()
    first_allowed = last - dt.timedelta(days=policy.window_days - 1)
    labeled = labeled[pd.to_datetime(labeled[date_column]).dt.date >= first_allowed]
    train, holdout = split_window(labeled, date_column, policy.holdout_days)
    if len(train) < policy.min_train_rows or len(holdout) < policy.min_holdout_rows:
        raise InsufficientLabels(
            f"labeled window too small: {len(train)} training rows (min {policy.min_train_rows}), "
            f"{len(holdout)} holdout rows (min {policy.min_holdout_rows})"
        )
    return train, holdout


def train_and_judge(
    *,
    model: str,
    registry: ModelRegistry,
    window: pd.DataFrame,
    features: list[str],
    target: str,
    trigger: str,
    effective_from: dt.date,
    policy: RetrainPolicy,
    review: bool,
    classes: tuple[int, int],
    date_column: str,
    trainer: Trainer,
    logged_prediction: str | None = None,
    logged_probability: str | None = None,
) -> RetrainOutcome:
    """Train a challenger on ``window`` for a claimed ``trigger``, compare it with the
    current champion on the window's last ``policy.holdout_days`` days, and promote it
    (from ``effective_from``), hold it for review, or reject it (see the module doc).
    A champion registered without an estimator (a model driftwarden did not train) is
    represented by the window's logged ``logged_prediction`` / ``logged_probability``."""
    champion_version = registry.current_champion(model)
    if champion_version is None:
        raise RegistryError(f"model {model!r} has no champion to compare a challenger with")
    train, holdout = labeled_split(window, features, target, classes, date_column, policy)
    train_window, holdout_window = (
        _date_range(train, date_column),
        _date_range(holdout, date_column),
    )

    champion = registry.load_artifact(model, champion_version)
    challenger = trainer(train[features], train[target].astype(int), champion)
    if not hasattr(challenger, "predict_proba"):
        raise RetrainingError(
            f"model {model!r}: the trainer returned {type(challenger).__name__}, which has no "
            "predict_proba; it must return a fitted classifier"
        )
    y = holdout[target].astype(int).to_numpy()
    x = holdout[features]
    if champion is not None:
        pred_a, prob_a = score(champion, x, classes)
    elif logged_prediction and logged_prediction in holdout:
        # No estimator for the served version: its logged predictions are the champion's.
        pred_a = holdout[logged_prediction].astype(int).to_numpy()
        prob_a = (
            holdout[logged_probability].astype(float).to_numpy()
            if logged_probability and logged_probability in holdout
            else None
        )
    else:
        raise RetrainingError(
            f"model {model!r}: champion {champion_version!r} has no estimator and the labeled "
            "window no logged predictions to compare a challenger with"
        )
    pred_b, prob_b = score(challenger, x, classes)
    m_a = classification_metrics(y, pred_a, prob_a, classes=classes)
    m_b = classification_metrics(y, pred_b, prob_b, classes=classes)
    deltas = {
        k: (getattr(m_b, k) - getattr(m_a, k))
        if getattr(m_a, k) is not None and getattr(m_b, k) is not None
        else None
        for k in COMPARED
    }
    test = mcnemar_paired(y, pred_a, pred_b)
    comparison = Comparison(len(holdout), m_a, m_b, deltas, test)

    gain = deltas[policy.metric]
    significant = test.p_value < policy.significance and test.better == "b"
    better = gain is not None and gain >= policy.min_improvement
    if policy.require_significance:
        better = better and significant
    gain_txt = "n/a" if gain is None else f"{gain:+.4f}"
    summary = (
        f"{policy.metric} on {len(holdout)} holdout rows {holdout_window[0]}..{holdout_window[1]}: "
        f"champion {champion_version} {getattr(m_a, policy.metric)}, challenger "
        f"{getattr(m_b, policy.metric)} ({gain_txt}; margin {policy.min_improvement}); "
        f"McNemar p={test.p_value:.3g}"
    )
    version = registry.register(
        model,
        challenger,
        status=ModelStatus.CHALLENGER,
        trigger=trigger,
        training_window=train_window,
        metrics={
            **comparison.as_dict(),
            "holdout_start": holdout_window[0],
            "holdout_end": holdout_window[1],
        },
        parent=champion_version,
        note=summary,
    ).version
    _attach_reference(
        registry, model, version, train, holdout, target, prob_b, pred_b, m_b, classes
    )

    common = dict(
        model=model,
        trigger=trigger,
        trained=True,
        champion=champion_version,
        challenger=version,
        comparison=comparison,
        training_window=train_window,
        holdout_window=holdout_window,
    )
    if not better:
        registry.set_status(model, version, ModelStatus.REJECTED, note=f"not better: {summary}")
        return RetrainOutcome(decision="rejected", reason=f"not better: {summary}", **common)
    if review:
        registry.set_status(
            model, version, ModelStatus.PENDING_REVIEW, note=f"awaiting review: {summary}"
        )
        return RetrainOutcome(
            decision="pending_review", reason=f"better, awaiting human review: {summary}", **common
        )
    registry.promote(model, version, effective_from, note=f"promoted: {summary}")
    return RetrainOutcome(
        decision="promoted",
        reason=f"promoted from {effective_from}: {summary}",
        effective_from=effective_from,
        **common,
    )


def _attach_reference(
    registry: ModelRegistry,
    model: str,
    version: str,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    prob: np.ndarray,
    pred: np.ndarray,
    metrics: Metrics,
    classes: tuple[int, int],
) -> None:
    """Give the new version what monitoring needs if it becomes the champion."""
    validation = holdout.copy()
    validation["prediction"] = pred
    validation["probability"] = prob
    registry.put_frame(model, version, "reference", train.reset_index(drop=True))
    registry.put_frame(model, version, "validation", validation.reset_index(drop=True))
    registry.put_json(model, version, "reference_performance", metrics.as_dict())
    cbpe = CBPE(classes).fit(holdout[target].astype(int).to_numpy(), prob)
    registry.put_json(model, version, "cbpe", cbpe.to_state())


def review_decision(
    registry: ModelRegistry,
    model: str,
    version: str,
    *,
    approve: bool,
    effective_from: dt.date,
    reviewer: str = "",
) -> str:
    """Apply a person's decision on a ``pending_review`` version: promote or reject.
    Returns the new status."""
    v = registry.get(model, version)
    if v.status != ModelStatus.PENDING_REVIEW:
        raise RegistryError(
            f"model {model!r} version {version!r} is {v.status}, not pending_review"
        )
    who = f" by {reviewer}" if reviewer else ""
    if approve:
        registry.promote(model, version, effective_from, note=f"approved in review{who}")
        return str(ModelStatus.CHAMPION)
    registry.set_status(model, version, ModelStatus.REJECTED, note=f"rejected in review{who}")
    return str(ModelStatus.REJECTED)

"""Retraining: when a failure asks for it, and how a ``retrain_<model>`` run is carried out.

Pure core (no Dagster import). ``monitoring_assets.monitors.retraining`` builds the
``retrain_<model>`` / ``review_<model>`` jobs around :func:`retrain_model` and
:func:`review_model`; the alert routing and the ``check_failure_alerts`` sensor ask
:func:`retraining_decision`.

**The decision** (:func:`retraining_decision`, the one place for it): a failed check's
alert asks for ``retrain`` (critical drift, if the policy and the model allow it),
``review`` (a performance alert of a model under the review rule: retrain, then stop for
a person) or ``none``; a request is blocked when its trigger was handled before
(``already_handled``), when the model has no retraining job (``no_job``), or while the
model's previous run of that action is within its cooldown (``cooldown``). The routing
asks what an alert wants; the sensor asks again with the ``alert_actions`` history
(:func:`trigger_history`); :func:`retrain` asks with the registry's record of the
trigger, so the same event twice trains once.

**The trainer** (:func:`~monitoring_assets.core.trainer.trainer_for`): the model file's
``training.entry_point``, else the simulator's built-in one. A model with neither
(:func:`~monitoring_assets.core.trainer.has_trainer`) asks for no action and gets no
retraining job.

**A run** (:func:`retrain_model`): the labeled window from the lake, :func:`retrain`
(too few labeled days or rows: ``skipped``; else claim the trigger, then
:func:`~monitoring_assets.core.challenger.train_and_judge`: champion vs challenger on one
holdout, promote, reject or hold for review), and a ``retraining_runs`` row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from monitoring_assets.core.alerts.policy import Actions, tier_at_least
from monitoring_assets.core.challenger import (
    InsufficientLabels,
    RetrainOutcome,
    RetrainPolicy,
    Trainer,
    clone_champion,
    labeled_split,
    review_decision,
    train_and_judge,
)
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import MonitorInputError
from monitoring_assets.core.performance.references import ServedEstimator, ensure_registry
from monitoring_assets.core.performance.store import labeled_window, newest_monitored_day, now
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.registry import ModelRegistry
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import ALERT_ACTIONS, RETRAINING_TABLE
from monitoring_assets.core.trainer import has_trainer, trainer_for

# ----------------------------------------------------------------------------- the decision

#: Tags of a ``retrain_<model>`` run: the trigger it answers (its idempotency key), the
#: alert behind it, review mode, and optional as-of / effective-from dates.
TRIGGER_TAG = "driftwarden/trigger"
ALERT_TAG = "driftwarden/alert"
REVIEW_TAG = "driftwarden/review"
AS_OF_TAG = "driftwarden/as_of"
EFFECTIVE_FROM_TAG = "driftwarden/effective_from"

#: A run a failure can ask for: ``retrain`` (promote if better) or ``review`` (retrain,
#: then stop at human review). Both run the model's ``retrain_<model>`` job.
RunAction = Literal["retrain", "review"]
Blocker = Literal["already_handled", "no_job", "cooldown"]


@dataclass(frozen=True)
class FailedCheck:
    """An alert opened by a failed check, as the retraining decision sees it."""

    category: str  # the alert policy's category of the check: 'drift', 'performance' or ''
    tier: str  # the alert's tier: 'critical', 'warning' or 'info'


@dataclass(frozen=True)
class TriggerHistory:
    """What was done before about one trigger, and about the model's runs of its action."""

    trigger: str
    handled: str | None = None  # how the trigger was handled before; None: never seen
    last_requested: dt.datetime | None = None  # the model's last requested run of the action
    missing_job: str | None = None  # the job the action needs, when it is not defined


@dataclass(frozen=True)
class RetrainingDecision:
    """What a failure asks for (``action``) and what, if anything, blocks it."""

    action: Literal["retrain", "review", "none"]
    blocked_by: Blocker | None = None
    reason: str = ""

    @property
    def proceeds(self) -> bool:
        """Whether a run should start (or, inside the run, go on)."""
        return self.action != "none" and self.blocked_by is None


def retraining_decision(
    asked: FailedCheck | RunAction,
    *,
    policy: Actions | None = None,
    model: ModelConfig | None = None,
    history: TriggerHistory | None = None,
    now: dt.datetime | None = None,
) -> RetrainingDecision:
    """The retraining decision: what a failure asks for, and whether it is blocked.

    ``asked`` is either the alert of a failed check, whose action follows the alert
    policy's ``actions`` (``policy``) and the model file's ``alerting`` settings
    (``model``): critical drift asks for ``retrain`` unless the model opts out; a
    performance alert of a model under the review rule asks for ``review`` — or an action
    already asked for (a recorded request, a run's tags).

    With ``history``, the request is checked against what happened before, in this
    order: a trigger handled before blocks it (``already_handled``), then a missing job
    (``no_job``), then the action's cooldown since the model's last requested run of it
    (``cooldown``, measured at ``now``). Without ``history`` nothing is checked yet.
    """
    if isinstance(asked, FailedCheck):
        if policy is None or model is None:
            raise ValueError("retraining_decision: a FailedCheck needs policy= and model=")
        action = _asked_by(asked, policy, model)
        why = f"{asked.tier} {asked.category or 'uncategorised'} alert of {model.name}"
    else:
        if asked not in ("retrain", "review"):
            raise ValueError(f"retraining_decision: asked must be retrain or review, got {asked!r}")
        action, why = asked, f"{asked} requested"
    if action == "none":
        return RetrainingDecision("none", reason=f"{why}: no action under the policy")
    if history is None:
        return RetrainingDecision(action, reason=f"{why}: {action}")
    if history.handled is not None:
        return RetrainingDecision(
            action,
            "already_handled",
            f"trigger {history.trigger!r} was handled before ({history.handled})",
        )
    if history.missing_job is not None:
        return RetrainingDecision(action, "no_job", f"job {history.missing_job} is not defined")
    if history.last_requested is not None:
        if policy is None or now is None:
            raise ValueError("retraining_decision: a cooldown check needs policy= and now=")
        cooldown = policy.retrain.cooldown if action == "retrain" else policy.review.cooldown
        if history.last_requested + cooldown > now:
            return RetrainingDecision(
                action, "cooldown", f"cooldown since {history.last_requested.isoformat()}"
            )
    return RetrainingDecision(action, reason=f"{why}: {action}")


def _asked_by(
    failure: FailedCheck, policy: Actions, model: ModelConfig
) -> Literal["retrain", "review", "none"]:
    if not has_trainer(model):
        return "none"  # both actions run retrain_<model>, which such a model does not have
    if (
        failure.category == "drift"
        and policy.retrain.enabled
        and model.alerting.retrain_on_critical_drift
        and tier_at_least(failure.tier, policy.retrain.min_tier)
    ):
        return "retrain"
    under_review = model.alerting.human_review_on_performance or model.name in policy.review.models
    if (
        failure.category == "performance"
        and policy.review.enabled
        and under_review
        and tier_at_least(failure.tier, policy.review.min_tier)
    ):
        return "review"
    return "none"


def trigger_history(
    wh: Warehouse, action: RunAction, model: str, run_key: str, missing_job: str | None = None
) -> TriggerHistory:
    """What ``alert_actions`` records about a requested run (``run_key`` is its trigger)
    and about the model's requested runs of ``action``."""
    wh.migrate([ALERT_ACTIONS])
    table = ident(ALERT_ACTIONS.name)
    seen = wh.query(f"SELECT status FROM {table} WHERE run_key = ?", [run_key])
    last = wh.query(
        f"SELECT max(requested_at) AS t FROM {table} WHERE model = ? AND kind = ? AND status = ?",
        [model, action, "requested"],
    )
    return TriggerHistory(
        trigger=run_key,
        handled=str(seen.status.iloc[0]) if len(seen) else None,
        last_requested=_utc(last.t.iloc[0]) if len(last) else None,
        missing_job=missing_job,
    )


@dataclass(frozen=True)
class RequestedRun:
    """A run recorded as requested in ``alert_actions``."""

    kind: RunAction
    model: str
    alert_id: str
    trigger_event_id: int


def requested_runs(wh: Warehouse, since: dt.datetime) -> list[RequestedRun]:
    """Runs recorded as requested at or after ``since`` (aware), oldest first."""
    wh.migrate([ALERT_ACTIONS])
    df = wh.query(
        f"SELECT kind, model, alert_id, trigger_event_id FROM {ident(ALERT_ACTIONS.name)} "
        "WHERE status = ? AND requested_at >= ? ORDER BY requested_at, run_key",
        ["requested", since.astimezone(dt.UTC).replace(tzinfo=None)],
    )
    return [
        RequestedRun(r.kind, r.model, r.alert_id, int(r.trigger_event_id))
        for r in df.itertuples(index=False)
    ]


def run_tags(action: RunAction, trigger: str, alert_id: str) -> dict[str, str]:
    """The tags of a ``retrain_<model>`` run requested for an alert."""
    tags = {TRIGGER_TAG: trigger, ALERT_TAG: alert_id}
    if action == "review":
        tags[REVIEW_TAG] = "required"
    return tags


def _utc(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=dt.UTC)


# ----------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class RetrainRequest:
    """What a ``retrain_<model>`` run was asked to do, read from its tags."""

    trigger: str
    action: RunAction
    as_of: dt.date | None = None
    effective_from: dt.date | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], run_id: str) -> RetrainRequest:
        """A run without a trigger tag is a manual run, its own trigger."""

        def day(tag: str) -> dt.date | None:
            return dt.date.fromisoformat(tags[tag]) if tags.get(tag) else None

        review = tags.get(REVIEW_TAG, "").lower() == "required"
        return cls(
            trigger=tags.get(TRIGGER_TAG) or f"manual-{run_id}",
            action="review" if review else "retrain",
            as_of=day(AS_OF_TAG),
            effective_from=day(EFFECTIVE_FROM_TAG),
        )


def default_effective_from(wh: Warehouse, model: str, as_of: dt.date) -> dt.date:
    """The day after the newest monitored day (at least ``as_of``): partitions already
    built keep their results."""
    newest = newest_monitored_day(wh, model) or as_of
    return max(newest, as_of) + dt.timedelta(days=1)


def retrain_model(
    model: ModelConfig,
    request: RetrainRequest,
    policy: RetrainPolicy,
    *,
    registry: ModelRegistry,
    lake: Lake,
    wh: Warehouse,
    served: ServedEstimator,
    run_id: str,
) -> RetrainOutcome:
    """Carry out a ``retrain_<model>`` request: the labeled window from the lake (labels
    ``arrived`` up to ``request.as_of``), :func:`retrain` with the model's trainer, and a
    ``retraining_runs`` row when a challenger was trained or the retraining was skipped
    (no trainer, too few labels). Promotions apply from ``request.effective_from``, by
    default the day after the newest monitored day."""
    if not model.is_binary:
        raise MonitorInputError(
            f"model {model.name!r}: no built-in trainer for task {model.task}; retraining "
            "declined (retrain outside driftwarden and register the new version)",
            {"model": model.name, "task": model.task},
        )
    ensure_registry(model, registry, lake, served)
    trainer = trainer_for(model)
    window = labeled_window(model, lake, wh, request.as_of, policy.window_days)
    if trainer is None:
        outcome = skipped_outcome(
            model.name,
            request.trigger,
            registry,
            f"model {model.name!r} has no trainer (set training.entry_point in the model file)",
        )
    else:
        last_labeled = (
            pd.to_datetime(window["partition_date"]).dt.date.max() if len(window) else None
        )
        outcome = retrain(
            model=model.name,
            registry=registry,
            window=window,
            features=model.feature_names,
            target=model.columns.target,
            trigger=request.trigger,
            effective_from=request.effective_from
            or default_effective_from(wh, model.name, last_labeled or dt.date.min),
            policy=policy,
            review=request.action == "review",
            classes=model.classes,
            trainer=trainer,
            logged_prediction=model.columns.prediction,
            logged_probability=model.columns.probability,
        )
    if outcome.trained or outcome.decision == "skipped":
        row = retraining_row(outcome, run_id, policy.metric)
        wh.replace(
            RETRAINING_TABLE.name,
            pd.DataFrame([row], columns=list(RETRAINING_TABLE.columns)),
            {"model": model.name, "trigger": request.trigger},
        )
    return outcome


def skipped_outcome(model: str, trigger: str, registry: ModelRegistry, why: str) -> RetrainOutcome:
    """A retraining that did not train: ``skipped: <why>``."""
    return RetrainOutcome(
        model=model,
        trigger=trigger,
        decision="skipped",
        reason=f"skipped: {why}",
        trained=False,
        champion=registry.current_champion(model),
    )


def retraining_row(outcome: RetrainOutcome, run_id: str, metric: str) -> dict[str, Any]:
    """One ``retraining_runs`` row."""
    c = outcome.comparison
    tw, hw = outcome.training_window, outcome.holdout_window
    return {
        "model": outcome.model,
        "trigger": outcome.trigger,
        "run_id": run_id,
        "decision": outcome.decision,
        "champion": outcome.champion,
        "challenger": outcome.challenger,
        "metric": metric,
        "champion_value": getattr(c.champion, metric) if c else None,
        "challenger_value": getattr(c.challenger, metric) if c else None,
        "mcnemar_p_value": c.mcnemar.p_value if c else None,
        "n_holdout": c.n_holdout if c else None,
        "training_start": tw[0] if tw else None,
        "training_end": tw[1] if tw else None,
        "holdout_start": hw[0] if hw else None,
        "holdout_end": hw[1] if hw else None,
        "effective_from": outcome.effective_from,
        "reason": outcome.reason,
        "finished_at": now(),
    }


def review_model(
    model: ModelConfig,
    version: str,
    *,
    approve: bool,
    effective_from: dt.date | None,
    reviewer: str,
    registry: ModelRegistry,
    wh: Warehouse,
) -> str:
    """Apply a reviewer's decision (:func:`review_decision`) and record it on the
    version's ``retraining_runs`` row. Returns the version's new status."""
    eff = effective_from or default_effective_from(
        wh, model.name, dt.date.min + dt.timedelta(days=1)
    )
    status = review_decision(
        registry, model.name, version, approve=approve, effective_from=eff, reviewer=reviewer
    )
    wh.execute(
        f"UPDATE {ident(RETRAINING_TABLE.name)} SET decision = ?, effective_from = ? "
        "WHERE model = ? AND challenger = ?",
        ["promoted" if approve else "rejected", eff if approve else None, model.name, version],
    )
    return status


def retrain(
    *,
    model: str,
    registry: ModelRegistry,
    window: pd.DataFrame,
    features: Sequence[str],
    target: str,
    trigger: str,
    effective_from: dt.date,
    policy: RetrainPolicy | None = None,
    review: bool = False,
    classes: tuple[int, int] = (0, 1),
    date_column: str = "partition_date",
    trainer: Trainer | None = None,
    logged_prediction: str | None = None,
    logged_probability: str | None = None,
) -> RetrainOutcome:
    """Train, compare and decide for one trigger (idempotent per ``trigger``).

    ``window`` holds labeled rows (``features``, ``target`` and ``date_column``) of the
    most recent labeled days; rows older than ``policy.window_days`` before its last
    day are ignored. Too few labeled days or rows give a ``skipped`` outcome without
    claiming the trigger (a later run of it, with more labels, can train). A failure
    releases the trigger so it can be retried.
    """
    policy = policy or RetrainPolicy()
    try:
        labeled_split(window, list(features), target, classes, date_column, policy)
    except InsufficientLabels as exc:
        return skipped_outcome(model, trigger, registry, str(exc))
    claimed, claim = registry.claim_trigger(model, trigger)
    if not claimed:
        decision = retraining_decision(
            "review" if review else "retrain",
            history=TriggerHistory(trigger, handled=f"{claim.state}: {claim.outcome}"),
        )
        return RetrainOutcome(
            model=model,
            trigger=trigger,
            decision="already_handled",
            reason=f"{decision.reason}; not training again",
            trained=False,
            champion=registry.current_champion(model),
            challenger=claim.version,
        )
    try:
        outcome = train_and_judge(
            model=model,
            registry=registry,
            window=window,
            features=list(features),
            target=target,
            trigger=trigger,
            effective_from=effective_from,
            policy=policy,
            review=review,
            classes=classes,
            date_column=date_column,
            trainer=trainer or clone_champion,
            logged_prediction=logged_prediction,
            logged_probability=logged_probability,
        )
    except Exception as exc:
        registry.finish_trigger(model, trigger, version=None, outcome=f"failed: {exc}", failed=True)
        raise
    registry.finish_trigger(model, trigger, version=outcome.challenger, outcome=outcome.decision)
    return outcome

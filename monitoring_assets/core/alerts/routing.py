"""The alert state machine (plain Python, no Dagster import).

An *alert* is one episode of a failing condition, identified by its fingerprint
(model, asset, check): it opens on a failed evaluation (its onset partition),
follows later failures (a persisting failure stays one alert; ``partition_key``
moves to the latest failing partition) and resolves on a passing evaluation of
the same or a later partition. Evaluations of older partitions than the newest
seen for that check do not change the current state. See
:mod:`~monitoring_assets.core.alerts.episodes` for onset, latest, count and duration,
and :mod:`~monitoring_assets.core.alerts.notifications` for the messages planned from
the alerts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from monitoring_assets.core.alerts.episodes import duration_days, episode_text, is_history
from monitoring_assets.core.alerts.lineage import CheckEvent, build_lineage, stable_id, summarize
from monitoring_assets.core.alerts.policy import AlertPolicy, tier_at_least
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.retraining import FailedCheck, retraining_decision, run_tags

#: ``Alert.backfill_group`` of an episode that opened on history and awaits its summary.
BACKFILL_PENDING = "pending"


@dataclass
class Alert:
    """One alert episode; mirrors a row of the ``alerts`` table."""

    alert_id: str
    fingerprint: str
    model: str
    model_version: str
    asset_key: str
    check_name: str
    partition_key: str  # the latest failing partition
    severity: str
    tier: str
    status: str  # 'firing' | 'resolved'
    category: str
    channels: list[str]
    owners: list[str]
    muted: bool
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    trigger_event_id: int
    last_event_id: int
    failures: int = 1
    resolved_at: dt.datetime | None = None
    resolve_event_id: int | None = None
    notified_at: dt.datetime | None = None
    last_notified_at: dt.datetime | None = None
    notify_count: int = 0
    notify_group: str = ""
    resolve_notified: bool = False
    summary: str = ""
    lineage: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    onset_partition: str = ""  # the first failing partition
    failing_partitions: int = 1  # distinct failing partitions (``failures`` counts evaluations)
    resolved_partition: str = ""  # the passing partition that resolved it
    # '' (paged as usual), 'pending' (history: waits for its backfill summary) or the
    # group id of the backfill summary that reported it.
    backfill_group: str = ""
    # The most likely causes, best first (``Cause.to_dict()`` of
    # :mod:`monitoring_assets.core.root_cause`); empty when not explained.
    causes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def duration_days(self) -> int | None:
        return duration_days(self)

    @property
    def episode(self) -> str:
        """Onset, latest, count and duration in words."""
        return episode_text(self)


@dataclass
class CheckState:
    """The newest evaluation seen for one fingerprint."""

    fingerprint: str
    partition_key: str
    last_event_id: int
    passed: bool


@dataclass(frozen=True)
class ActionRequest:
    """A run the sensor should request for an alert (retraining or human review)."""

    kind: str  # 'retrain' | 'review'
    model: str
    alert_id: str
    trigger_event_id: int

    @property
    def job_name(self) -> str:
        return f"retrain_{self.model}"

    @property
    def run_key(self) -> str:
        """Unique per (model, triggering event): a re-read event never starts a second run."""
        return f"{self.kind}:{self.model}:{self.trigger_event_id}"

    def tags(self) -> dict[str, str]:
        return run_tags(self.kind, str(self.trigger_event_id), self.alert_id)


@dataclass
class Changes:
    """What applying a batch of events changed."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    states: dict[str, CheckState] = field(default_factory=dict)
    actions: list[ActionRequest] = field(default_factory=list)
    ignored: int = 0


class AlertBook:
    """Open alerts and per-check state; applies evaluations in event order."""

    def __init__(
        self,
        policy: AlertPolicy,
        models: dict[str, ModelConfig],
        open_alerts: list[Alert],
        states: list[CheckState],
    ):
        self.policy = policy
        self.models = models
        self.open: dict[str, Alert] = {a.fingerprint: a for a in open_alerts if a.firing}
        self.states: dict[str, CheckState] = {s.fingerprint: s for s in states}

    def apply(self, events: list[CheckEvent], now: dt.datetime) -> Changes:
        """Apply ``events`` (ascending event id); return the alerts and states touched."""
        changes = Changes()
        for event in events:
            if event.model not in self.models:
                changes.ignored += 1
                continue
            state = self.states.get(event.fingerprint)
            if state is not None and event.event_id and event.event_id <= state.last_event_id:
                # Already applied before a restart: the cursor lagged the warehouse.
                changes.ignored += 1
                continue
            pk = event.partition or ""
            if state is not None and pk < state.partition_key:
                changes.ignored += 1
                continue
            state = CheckState(event.fingerprint, pk, event.event_id, event.passed)
            self.states[event.fingerprint] = state
            changes.states[event.fingerprint] = state
            if event.passed:
                self._resolve(event, changes)
            else:
                self._fire(event, now, changes)
        return changes

    def _fire(self, event: CheckEvent, now: dt.datetime, changes: Changes) -> None:
        model = self.models[event.model]
        tier, channels, route_owners, muted = self.policy.route(
            event.model, event.asset, event.check, event.severity, model.alerting.tier_overrides
        )
        lineage = build_lineage(event, model.version, tier, self.policy.ui_base_url).to_dict()
        alert = self.open.get(event.fingerprint)
        if alert is not None:
            # A persisting failure: same alert, newest evidence; escalate, never de-escalate.
            alert.last_seen_at = event.timestamp
            alert.last_event_id = event.event_id
            if (event.partition or "") != alert.partition_key:
                alert.failing_partitions += 1
            alert.partition_key = event.partition or ""
            alert.failures += 1
            alert.lineage = lineage
            alert.summary = summarize(lineage)
            if tier_at_least(tier, alert.tier) and tier != alert.tier:
                alert.tier, alert.channels, alert.severity = tier, channels, event.severity
                alert.lineage["tier"] = tier
            changes.alerts[alert.alert_id] = alert
            return
        owners = list(dict.fromkeys(route_owners + model.alerting.owners + self.policy.owners))
        alert = Alert(
            alert_id=stable_id("alert", event.fingerprint, event.event_id, event.partition, n=12),
            fingerprint=event.fingerprint,
            model=event.model,
            model_version=model.version,
            asset_key=event.asset_path,
            check_name=event.check,
            partition_key=event.partition or "",
            severity=event.severity,
            tier=tier,
            status="firing",
            category=self.policy.category(event.asset, event.check) or "",
            channels=channels,
            owners=owners,
            muted=muted,
            opened_at=event.timestamp,
            last_seen_at=event.timestamp,
            trigger_event_id=event.event_id,
            last_event_id=event.event_id,
            summary=summarize(lineage),
            lineage=lineage,
            onset_partition=event.partition or "",
        )
        if not event.present and is_history(event.partition, self.policy.page_window, now):
            alert.backfill_group = BACKFILL_PENDING
        self.open[event.fingerprint] = alert
        changes.alerts[alert.alert_id] = alert
        action = self._action_for(alert, model)
        if action is not None:
            changes.actions.append(action)

    def _resolve(self, event: CheckEvent, changes: Changes) -> None:
        alert = self.open.pop(event.fingerprint, None)
        if alert is None:
            return
        alert.status = "resolved"
        alert.resolved_partition = event.partition or ""
        alert.resolved_at = event.timestamp
        alert.resolve_event_id = event.event_id
        changes.alerts[alert.alert_id] = alert

    def _action_for(self, alert: Alert, model: ModelConfig) -> ActionRequest | None:
        """The run a new alert asks for (see :func:`retraining_decision`), if any."""
        decision = retraining_decision(
            FailedCheck(alert.category, alert.tier), policy=self.policy.actions, model=model
        )
        if decision.action == "none":
            return None
        return ActionRequest(decision.action, alert.model, alert.alert_id, alert.trigger_event_id)

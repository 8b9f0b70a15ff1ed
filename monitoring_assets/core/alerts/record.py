"""Check events into alerts and queued messages: the one path from a verdict to the outbox.

The ``check_failure_alerts`` sensor (events read from Dagster's event log, plus
freshness evaluations) and the stream consumer (window verdicts) both hand their
:class:`~monitoring_assets.core.alerts.lineage.CheckEvent` s to :func:`record_events`:
the stored alerts and check states are loaded, the events applied in order
(:class:`~monitoring_assets.core.alerts.routing.AlertBook`), messages planned
(:func:`~monitoring_assets.core.alerts.notifications.plan_notifications`), and alerts, states
and messages saved in one transaction. Delivering the outbox and requesting runs for
the actions stay with the caller. Episodes that open on history are not paged; their
backfill summary (:mod:`~monitoring_assets.core.alerts.backfill`) is planned here too.
An alert opened or moved to a new partition gets its ranked causes from ``explain``
(:class:`~monitoring_assets.core.root_cause.explain.AlertExplainer`) before its messages
are planned, so they carry the causes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from monitoring_assets.core.alerts.backfill import plan_backfill_summaries
from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.notifications import Notification, plan_notifications
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.routing import ActionRequest, Alert, AlertBook
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.root_cause.causes import Cause, rank_causes
from monitoring_assets.core.segment_causes import as_cause

log = logging.getLogger("driftwarden.alerts")

#: The ranked causes of an alert (see :mod:`monitoring_assets.core.root_cause`).
Explain = Callable[[Alert], list[Cause]]


@dataclass
class RecordedEvents:
    """What :func:`record_events` wrote.

    ``alerts``: every alert whose row changed (opened, followed, resolved or notified);
    ``notifications``: the messages queued in the outbox; ``actions``: runs the new
    alerts ask for (not yet recorded); ``ignored``: events of unknown models, or older
    than what was already applied.
    """

    alerts: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    actions: list[ActionRequest] = field(default_factory=list)
    ignored: int = 0


def record_events(
    store: AlertStore,
    policy: AlertPolicy,
    models: Mapping[str, ModelConfig],
    events: Sequence[CheckEvent],
    now: dt.datetime,
    caught_up: bool = True,
    explain: Explain | None = None,
) -> RecordedEvents:
    """Apply ``events`` (ascending event id) to the stored alerts and queue their messages.

    ``models`` are the model configurations by name; events about other models are
    ignored. Planning also covers alerts the events did not touch (a re-notification or
    a grouped message that came due), so a call with no events is a planning pass.
    ``caught_up``: no further evaluations are waiting to be read (the sensor read fewer
    than its batch); backfill summaries wait for it, so a backfill read over several
    ticks gets one summary per model.
    ``explain``: gives the causes of a firing alert the events opened or moved to a new
    partition (None: alerts carry no causes).
    Alerts, check states and messages are written in one transaction; a warehouse
    failure raises before anything is written.
    """
    active = store.active_alerts()
    explained = {a.alert_id: a.partition_key for a in active}
    book = AlertBook(policy, dict(models), active, store.states())
    changes = book.apply(list(events), now)
    for a in changes.alerts.values():
        if a.firing and explained.get(a.alert_id) != a.partition_key:
            a.causes = _causes(explain, a)

    # The book updates the firing alerts it was given in place and adds new ones.
    current = {a.alert_id: a for a in active}
    for a in store.pending_backfill():
        current.setdefault(a.alert_id, a)
    current.update(changes.alerts)
    open_groups = {a.notify_group for a in current.values() if a.firing and a.notify_group}
    notes, touched = plan_notifications(
        policy,
        [a for a in current.values() if a.firing or not a.resolve_notified],
        now,
        store.last_notified(),
        open_groups,
    )
    summaries, summarized = plan_backfill_summaries(policy, list(current.values()), now, caught_up)
    notes += summaries
    changed = {**changes.alerts, **{a.alert_id: a for a in touched + summarized}}
    store.save(changed.values(), changes.states.values(), notes, now)
    return RecordedEvents(list(changed.values()), notes, changes.actions, changes.ignored)


def _causes(explain: Explain | None, alert: Alert) -> list[dict]:
    """The alert's causes, features and segments ranked together: the feature causes from
    ``explain`` (none, logged, when explaining fails, which must never keep an alert from
    being recorded and paged) and the segment causes its check evaluation carried."""
    found: list[Cause] = []
    if explain is not None:
        try:
            found += explain(alert)
        except Exception as exc:  # best effort by design: the alert matters more
            log.warning(
                "alert %s: causes not computed: %s: %s", alert.alert_id, type(exc).__name__, exc
            )
    found += [as_cause(c) for c in alert.lineage.get("causes") or [] if c.get("segment")]
    return [c.to_dict() for c in rank_causes(found)]

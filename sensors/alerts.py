"""Alert dispatch: the ``check_failure_alerts`` sensor, inference freshness and the weekly digest.

Open-source Dagster has no alert policies and a failed non-blocking check does
not fail its run, so this sensor reads check evaluations from the instance by a
JSON cursor (``{"after_id": N}``), turns failures into tiered alerts in the
warehouse outbox, delivers them, and requests ``retrain_<model>`` runs.
"""

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from monitoring_assets.core.alerts.console import console_entry
from monitoring_assets.core.alerts.delivery import DeliveryReport
from monitoring_assets.core.alerts.digest import digest_payload, week_bounds
from monitoring_assets.core.alerts.lineage import CheckEvent, stable_id
from monitoring_assets.core.alerts.notifications import Notification
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy, load_policy, tier_severity
from monitoring_assets.core.alerts.record import record_events
from monitoring_assets.core.alerts.routing import ActionRequest, Alert
from monitoring_assets.core.alerts.rows import utcnow
from monitoring_assets.core.alerts.segments import per_segment, with_segment_causes
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.retraining import requested_runs, retraining_decision, trigger_history
from monitoring_assets.core.root_cause.explain import AlertExplainer
from monitoring_assets.core.segment_days import stored_causes
from monitoring_assets.core.trend_report import REPORT_JOB
from resources.notifiers import AlertingResource
from resources.outbox_delivery import deliver_exclusively
from resources.warehouse import WarehouseResource
from sensors.check_events import (
    INFERENCE_LOGS,
    check_evaluation_records,
    materialized_partitions,
    to_check_event,
)

log = logging.getLogger("driftwarden.alerts")

SENSOR_NAME = "check_failure_alerts"
DIGEST_JOB = "alert_digest"
DIGEST_SCHEDULE = "weekly_alert_digest"
FRESHNESS_CHECK = "inference_partition_on_time"
ALERTS_ASSET = "alerts"
# Requested runs are re-emitted this long: Dagster drops a repeated run_key, and a
# crash between recording and returning the request would otherwise lose the run.
_REEMIT = dt.timedelta(minutes=10)


def parse_cursor(cursor: str | None) -> int:
    """The last processed event id from the sensor's JSON cursor (0 when new)."""
    if not cursor:
        return 0
    try:
        return int(json.loads(cursor).get("after_id", 0))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"unreadable {SENSOR_NAME} cursor {cursor!r}; reset the sensor") from None


def make_cursor(after_id: int) -> str:
    return json.dumps({"after_id": int(after_id)})


# --------------------------------------------------------------------------- freshness


def freshness_events(
    instance: dg.DagsterInstance,
    models: Sequence[ModelConfig],
    policy: AlertPolicy,
    states: dict[str, tuple[str, bool]],
    now: dt.datetime,
) -> list[CheckEvent]:
    """Synthetic evaluations: is every due ``inference_logs`` partition materialized?

    A day is due ``freshness.deadline`` after it ends. Only the last
    ``lookback_days`` due days are checked, so an old gap in history stays quiet.
    Only changes against ``states`` (fingerprint -> (partition, passed)) are returned.
    """
    fr = policy.freshness
    if not fr.enabled:
        return []
    out = []
    for m in models:
        last_due = (now - fr.deadline).date() - dt.timedelta(days=1)
        if m.last_date_exclusive is not None:
            last_due = min(last_due, m.last_date_exclusive - dt.timedelta(days=1))
        first = max(m.first_date, last_due - dt.timedelta(days=fr.lookback_days - 1))
        if last_due < first:
            continue
        key = (m.name, INFERENCE_LOGS)
        have = materialized_partitions(instance, key)
        days = [first + dt.timedelta(days=i) for i in range((last_due - first).days + 1)]
        missing = [d.isoformat() for d in days if d.isoformat() not in have]
        passed = not missing
        pk = missing[-1] if missing else last_due.isoformat()
        event = CheckEvent(
            event_id=0,
            asset_key=key,
            check=FRESHNESS_CHECK,
            passed=passed,
            severity=tier_severity(fr.tier),
            timestamp=now,
            partition=pk,
            present=True,  # a day missing now is news, however old the day
            metadata={
                "missing_partitions": len(missing),
                "deadline_hours": fr.deadline.total_seconds() / 3600,
            },
            description=(
                f"inference_logs partitions missing past their deadline: {', '.join(missing)}"
                if missing
                else "every due inference_logs partition arrived"
            ),
        )
        if states.get(event.fingerprint) == (pk, passed):
            continue
        out.append(event)
    return out


# --------------------------------------------------------------------------- one tick


@dataclass
class TickResult:
    """What one sensor evaluation did (also rendered into the tick's log)."""

    after_id: int
    events: int = 0
    changed: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    skipped_actions: list[str] = field(default_factory=list)


def alert_tick(
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    alerting: AlertingResource,
    models: Sequence[ModelConfig],
    after_id: int,
    now: Callable[[], dt.datetime] = utcnow,
    job_names: set[str] | None = None,
    batch: int = 500,
    explainer: AlertExplainer | None = None,
) -> TickResult:
    """Read new evaluations, update alerts, plan and deliver messages, decide actions.

    ``job_names`` are the retraining jobs that exist (``None``: assume all do);
    ``explainer`` gives new alerts their ranked causes (None: no causes).
    """
    policy = alerting.policy()
    channels, missing = alerting.channels(policy)
    store = AlertStore(warehouse)
    by_name = {m.name: m for m in models}
    t = now()

    records = check_evaluation_records(instance, after_id, limit=batch)
    cache: dict = {}
    events = [e for e in (to_check_event(instance, r, cache) for r in records) if e is not None]
    # One event per segment of a segment check; drift alerts carry the day's segment causes.
    events = [s for e in events for s in per_segment(e)]
    events = with_segment_causes(
        events,
        lambda m, p, k: (
            stored_causes(warehouse, m, p, k) if m in by_name and by_name[m].segments else []
        ),
    )
    result = TickResult(after_id=records[-1].storage_id if records else after_id)
    result.events = len(events)

    state_map = {s.fingerprint: (s.partition_key, s.passed) for s in store.states()}
    events += freshness_events(instance, models, policy, state_map, t)

    # A full batch means more evaluations are waiting: backfill summaries wait for them.
    caught_up = len(records) < batch
    explain = explainer.bound(warehouse) if explainer is not None else None
    recorded = record_events(
        store, policy, by_name, events, t, caught_up=caught_up, explain=explain
    )
    result.changed = recorded.alerts
    result.notifications = recorded.notifications

    result.run_requests, result.skipped_actions = _actions(
        store, policy, recorded.actions, t, job_names
    )
    # Under the delivery lock: the stream consumer may be delivering the same outbox.
    result.delivery = deliver_exclusively(store, channels, policy, now, missing) or DeliveryReport()
    return result


def _actions(
    store: AlertStore,
    policy: AlertPolicy,
    actions: list[ActionRequest],
    now: dt.datetime,
    job_names: set[str] | None,
) -> tuple[list[dg.RunRequest], list[str]]:
    requests, skipped = [], []
    for action in actions:
        defined = job_names is None or action.job_name in job_names
        history = trigger_history(
            store.warehouse,
            action.kind,
            action.model,
            action.run_key,
            missing_job=None if defined else action.job_name,
        )
        decision = retraining_decision(action.kind, policy=policy.actions, history=history, now=now)
        if decision.blocked_by == "already_handled":
            continue
        store.record_action(action, decision.blocked_by or "requested", now)
        if decision.blocked_by is not None:
            skipped.append(f"{action.run_key}: {decision.reason}")
    for r in requested_runs(store.warehouse, since=now - _REEMIT):
        action = ActionRequest(r.kind, r.model, r.alert_id, r.trigger_event_id)
        requests.append(
            dg.RunRequest(run_key=action.run_key, job_name=action.job_name, tags=action.tags())
        )
    return requests, skipped


def _observations(
    store: AlertStore,
    changed: list[Alert],
    ui_base_url: str,
    report_url: Callable[[str], str | None] | None = None,
) -> list[dg.AssetObservation]:
    """One observation of ``<model>/alerts`` per model whose alerts changed: open episodes
    by tier, the console table (tier, check, onset, latest, count, links) and a URL per
    episode to the failed check's partition."""
    out = []
    for model in sorted({a.model for a in changed}):
        firing = store.list_alerts(model=model, status="firing", limit=None)
        report = report_url(model) if report_url else None
        entry = console_entry(firing, ui_base_url, report)
        metadata: dict[str, Any] = {
            "open_critical": entry.counts["critical"],
            "open_warning": entry.counts["warning"],
            "open_info": entry.counts["info"],
            "changed": dg.MetadataValue.text(str(sum(1 for a in changed if a.model == model))),
            "open_episodes": dg.MetadataValue.md(entry.table),
        }
        if report:
            metadata["monitoring_report"] = dg.MetadataValue.url(report)
        for name, url in entry.links.items():
            metadata[name] = dg.MetadataValue.url(url)
        out.append(dg.AssetObservation(asset_key=[model, ALERTS_ASSET], metadata=metadata))
    return out


def report_requests(changed: list[Alert], jobs: set[str], after_id: int) -> list[dg.RunRequest]:
    """A ``report_<model>`` run per model whose alerts changed (its monitoring report marks
    alert onsets), when that job exists."""
    out = []
    for model in sorted({a.model for a in changed}):
        job = REPORT_JOB.format(model=model)
        if job in jobs:
            out.append(dg.RunRequest(run_key=f"{job}-{after_id}", job_name=job))
    return out


# --------------------------------------------------------------------------- definitions


@dataclass
class AlertDefinitions:
    """What the alert module contributes to ``dg.Definitions``."""

    sensors: list[dg.SensorDefinition]
    schedules: list[dg.ScheduleDefinition]
    assets: list[dg.AssetSpec]
    jobs: list[dg.JobDefinition]


def build_alert_definitions(
    models: Sequence[ModelConfig],
    retrain_jobs: Sequence[str | dg.JobDefinition | UnresolvedAssetJobDefinition] = (),
    alert_deps: Sequence[str] = (INFERENCE_LOGS,),
    policy: AlertPolicy | None = None,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    explainer: AlertExplainer | None = None,
    deps_by_model: Mapping[str, Sequence[dg.AssetKey]] | None = None,
    report_jobs: Sequence[dg.JobDefinition | UnresolvedAssetJobDefinition] = (),
    report_url: Callable[[str], str | None] | None = None,
) -> AlertDefinitions:
    """Build the sensor, digest job and schedule, and one ``[model, "alerts"]`` asset per model.

    ``retrain_jobs``: the ``retrain_<model>`` jobs (definitions, or one job name);
    the sensor targets them with ``RunRequest(job_name=…)``. A model without one
    gets its actions recorded as ``no_job`` instead of a run. ``alert_deps``: the
    asset names each model's ``alerts`` asset is drawn downstream of, unless
    ``deps_by_model`` names the assets (the monitors whose checks feed the alerts).
    ``report_jobs``: ``report_<model>`` jobs the sensor requests when a model's alerts
    change; ``report_url(model)``: the monitoring report's URL, linked from the alerts.
    ``explainer``: the root cause of each new alert (built with the other resources
    in ``definitions``).
    Requires resources ``warehouse`` (WarehouseResource) and ``alerting``
    (AlertingResource), chosen with every other resource in
    ``monitoring_assets.definitions.build_resources``.
    """
    models = list(models)
    policy = policy or load_policy()
    jobs = list(retrain_jobs)
    names = [j if isinstance(j, str) else j.name for j in jobs]
    if any(isinstance(j, str) for j in jobs) and len(jobs) > 1:
        raise ValueError("retrain_jobs: pass job definitions when there is more than one job")
    job_set = set(names)
    report_names = {j.name for j in report_jobs}
    if report_jobs:
        if any(isinstance(j, str) for j in jobs):
            raise ValueError("retrain_jobs: pass job definitions together with report_jobs")
        jobs = [*jobs, *report_jobs]
    ui_base_url = policy.ui_base_url

    def _evaluate(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        alerting: AlertingResource,
    ) -> dg.SensorResult:
        after_id = parse_cursor(context.cursor)
        result = alert_tick(
            context.instance,
            warehouse.get(),
            alerting,
            models,
            after_id,
            job_names=job_set,
            explainer=explainer,
        )
        store = AlertStore(warehouse.get())
        d = result.delivery
        context.log.info(
            f"{result.events} evaluations, {len(result.changed)} alerts changed, "
            f"{len(result.notifications)} messages planned; delivered {d.delivered}, "
            f"retrying {d.retrying}, failed {d.failed}, left for the next tick {d.deferred}, "
            f"delivery meta-alerts queued {d.meta} ({d.seconds:.1f}s)"
        )
        for err in d.errors or []:
            context.log.warning(err)
        for skipped in result.skipped_actions:
            context.log.info(f"action not requested: {skipped}")
        base = alerting.policy().ui_base_url or ui_base_url
        return dg.SensorResult(
            run_requests=[
                *result.run_requests,
                *report_requests(result.changed, report_names, result.after_id),
            ],
            cursor=make_cursor(result.after_id),
            asset_events=_observations(store, result.changed, base, report_url),
        )

    # RunRequest(job_name=…) must name a job the sensor targets.
    sensor_kwargs: dict[str, Any] = {}
    if len(jobs) == 1 and isinstance(jobs[0], str):
        sensor_kwargs["job_name"] = jobs[0]
    elif jobs:
        sensor_kwargs["jobs"] = jobs
    sensor = dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Check failures -> tiered alerts, outbox delivery and retraining runs.",
        **sensor_kwargs,
    )(_evaluate)

    @dg.op(name="send_alert_digest")
    def send_alert_digest(
        context: dg.OpExecutionContext, warehouse: WarehouseResource, alerting: AlertingResource
    ) -> None:
        """Summarise the past week per model and deliver it through the outbox."""
        report = deliver_digest(warehouse.get(), alerting, utcnow())
        context.log.info(f"digest delivered {report.delivered}, failed {report.failed}")

    @dg.job(name=DIGEST_JOB, description="Weekly alert digest (the info tier in full).")
    def digest_job() -> None:
        send_alert_digest()

    schedule = dg.ScheduleDefinition(
        name=DIGEST_SCHEDULE,
        cron_schedule=policy.digest.cron,
        execution_timezone=policy.digest.timezone,
        job=digest_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Send the weekly alert digest ({policy.digest.cron}, {policy.digest.timezone}; "
            "the alert policy's digest section). Starts running whenever a daemon runs; "
            f"turn it off with its toggle in the UI (Automation) or `dagster schedule stop "
            f"{DIGEST_SCHEDULE} -w workspace.yaml` with DAGSTER_HOME set to the instance "
            "folder (.driftwarden/dagster)."
        ),
    )
    assets = [
        dg.AssetSpec(
            key=[m.name, ALERTS_ASSET],
            deps=list((deps_by_model or {}).get(m.name) or [[m.name, d] for d in alert_deps]),
            group_name=m.name,
            description=(
                f"The alert console of model {m.name}: its open alert episodes (tier, check, "
                "onset, latest failing day, failing days) with links to each failed check's "
                f"partition, observed by the {SENSOR_NAME} sensor whenever an alert changes. "
                "An alert's lineage carries the checked day's own data version (its content "
                "hash): Dagster 1.13 gives every day of a range run one dagster/data_version."
            ),
            metadata={
                "table": "alerts",
                "model": m.name,
                **(
                    {"monitoring_report": dg.MetadataValue.url(url)}
                    if report_url and (url := report_url(m.name))
                    else {}
                ),
            },
            kinds={"alerts"},
        )
        for m in models
    ]
    return AlertDefinitions(
        sensors=[sensor],
        schedules=[schedule],
        assets=assets,
        jobs=[digest_job],
    )


def deliver_digest(
    warehouse: Warehouse, alerting: AlertingResource, now: dt.datetime
) -> DeliveryReport:
    """Queue the week's digest (once per week) and deliver pending messages."""
    policy = alerting.policy()
    channels, missing = alerting.channels(policy)
    store = AlertStore(warehouse)
    start, end = week_bounds(now)
    payload = digest_payload(store.alerts_between(start, end), start, end)
    targets = policy.digest.channels or policy.tiers["info"].channels
    notes = [
        Notification(
            stable_id("delivery", payload["group_id"], c), payload["group_id"], c, "digest", payload
        )
        for c in targets
    ]
    store.save(notifications=notes, now=now)
    return deliver_exclusively(store, channels, policy, lambda: now, missing) or DeliveryReport()

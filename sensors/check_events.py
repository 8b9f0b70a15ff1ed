"""Reading check evaluations and their lineage from a Dagster instance.

The one place that touches Dagster's event storage for alerts, so an upgrade
changes one module (tested in ``tests/alerts/test_events.py``).

Why not ``instance.get_event_records`` alone: on plain SQLite event storage
(the default ``DAGSTER_HOME`` and ``instance_for_test``) that call is run-sharded
for check events and rejects a plain integer cursor. Check evaluations are
however mirrored into the SQLite *index* shard with a global, increasing id,
and on the consolidated SQLite and Postgres storages that id is the event id
itself. Querying that index by id gives one cursor that survives restarts and
works on all three.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._core.events import DagsterEventType
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

from monitoring_assets.core.alerts.lineage import CheckEvent

log = logging.getLogger("driftwarden.alerts")

INFERENCE_LOGS = "inference_logs"
#: What an alert's "data version" is (Dagster 1.13 has no per-partition data version in a
#: single-run range: its ``dagster/data_version`` tag is the range's, the same every day).
DAY_VERSION_NOTE = (
    "the day's own content hash (materialization metadata data_version); Dagster 1.13's "
    "dagster/data_version of a range run is one value for every day"
)


def check_evaluation_records(
    instance: dg.DagsterInstance, after_id: int, limit: int = 500
) -> Sequence[dg.EventLogRecord]:
    """Check evaluation events with storage id > ``after_id``, ascending."""
    records_filter = dg.EventRecordsFilter(
        event_type=DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after_id or None
    )
    storage = instance.event_log_storage
    if isinstance(storage, SqlEventLogStorage):
        # The base-class query reads the index shard (see the module docstring).
        return SqlEventLogStorage._get_event_records(
            storage, event_records_filter=records_filter, limit=limit, ascending=True
        )
    return instance.get_event_records(records_filter, limit=limit, ascending=True)


def latest_event_id(instance: dg.DagsterInstance) -> int:
    """The newest check evaluation id (0 if none): where a fresh cursor may start."""
    records_filter = dg.EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    storage = instance.event_log_storage
    if isinstance(storage, SqlEventLogStorage):
        recs = SqlEventLogStorage._get_event_records(
            storage, event_records_filter=records_filter, limit=1, ascending=False
        )
    else:
        recs = instance.get_event_records(records_filter, limit=1, ascending=False)
    return recs[0].storage_id if recs else 0


def plain_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata values as plain JSON-able Python values."""
    out: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        raw = getattr(value, "value", value)
        if isinstance(raw, bool | int | float | str) or raw is None:
            out[key] = raw
        elif isinstance(raw, dict | list):
            out[key] = raw  # JSON metadata (e.g. a segment check's per-segment verdicts)
        elif isinstance(raw, dg.AssetKey):
            out[key] = raw.to_user_string()
        else:
            out[key] = str(getattr(raw, "path", None) or getattr(raw, "url", None) or raw)
    return out


def _materialization(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    partition: str | None,
    storage_id: int | None = None,
) -> dict[str, Any] | None:
    records_filter = dg.AssetRecordsFilter(
        asset_key=key,
        asset_partitions=[partition] if partition else None,
        storage_ids=[storage_id] if storage_id else None,
    )
    recs = instance.fetch_materializations(records_filter, limit=1).records
    if not recs:
        return None
    rec = recs[0]
    mat = rec.asset_materialization
    tags = (mat.tags if mat is not None else None) or {}
    metadata = plain_metadata(mat.metadata) if mat is not None else {}
    out = {
        "asset_key": key.to_user_string(),
        "partition": rec.partition_key or partition,
        "storage_id": rec.storage_id,
        "run_id": rec.run_id,
        "timestamp": dt.datetime.fromtimestamp(rec.timestamp, dt.UTC).isoformat(),
        "data_version": tags.get(DATA_VERSION_TAG),
        "metadata": metadata,
    }
    # Dagster 1.13 stamps every day of a single-run range with the range's one data
    # version (its tag), and has no per-partition data version for materializations; the
    # day's own content hash is the asset's metadata ``data_version``. Lineage carries that.
    if metadata.get("data_version"):
        out["data_version"] = str(metadata["data_version"])
        out["data_version_source"] = DAY_VERSION_NOTE
        out["dagster_data_version"] = tags.get(DATA_VERSION_TAG)
    return out


def to_check_event(
    instance: dg.DagsterInstance, record: dg.EventLogRecord, cache: dict | None = None
) -> CheckEvent | None:
    """A :class:`CheckEvent` with the checked materialization and upstream inference logs.

    ``cache`` (one dict per tick) saves repeated lookups: every check of one
    partition points at the same materialization and the same upstream.
    """
    cache = {} if cache is None else cache

    def lookup(key: dg.AssetKey, partition: str | None, storage_id: int | None = None):
        k = (key.to_string(), partition, storage_id)
        if k not in cache:
            cache[k] = _materialization(instance, key, partition, storage_id)
        return dict(cache[k]) if cache[k] is not None else None

    entry = record.event_log_entry
    dagster_event = entry.dagster_event
    if dagster_event is None:
        return None
    evaluation = dagster_event.event_specific_data
    if not isinstance(evaluation, dg.AssetCheckEvaluation):
        return None
    key = evaluation.asset_key
    partition = evaluation.partition
    target = evaluation.target_materialization_data
    materialization = None
    upstream = None
    try:
        materialization = lookup(key, partition, target.storage_id if target else None)
        if partition is None and materialization is not None:
            # A check yielded by its asset in a one-partition run carries no partition;
            # the materialization it checked does.
            partition = materialization.get("partition")
        if len(key.path) > 1 and key.path[-1] != INFERENCE_LOGS:
            upstream_key = dg.AssetKey([*key.path[:-1], INFERENCE_LOGS])
            upstream = lookup(upstream_key, partition)
            if upstream is not None:
                upstream.pop("metadata", None)
    except dg.DagsterError as exc:
        # Lineage is best effort: an alert must not be lost because a lookup failed.
        log.warning("lineage lookup for %s failed: %s", key.to_user_string(), exc)
    if materialization is None and target is not None:
        materialization = {"storage_id": target.storage_id, "run_id": target.run_id}
    return CheckEvent(
        event_id=record.storage_id,
        asset_key=tuple(key.path),
        check=evaluation.check_name,
        passed=bool(evaluation.passed),
        severity=evaluation.severity.value,
        timestamp=dt.datetime.fromtimestamp(entry.timestamp, dt.UTC),
        partition=partition,
        run_id=entry.run_id or "",
        metadata=plain_metadata(evaluation.metadata),
        description=evaluation.description,
        materialization=materialization,
        upstream=upstream,
    )


def materialized_partitions(instance: dg.DagsterInstance, key: Sequence[str]) -> set[str]:
    """Partition keys of ``key`` that have a materialization."""
    return set(instance.get_materialized_partitions(dg.AssetKey(list(key))))

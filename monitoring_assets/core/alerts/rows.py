"""How alert state is stored: :class:`Alert` as an ``alerts`` row, and warehouse timestamps.

The warehouse stores UTC without a zone (a portable ``TIMESTAMP``); the code works in
timezone-aware UTC. JSON columns (``channels``, ``owners``, ``lineage``, ``causes``) hold
sorted JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import pandas as pd

from monitoring_assets.core.alerts.routing import Alert
from monitoring_assets.core.tables import ALERTS

_JSON_COLUMNS = {"channels", "owners", "lineage", "causes"}
_TS_COLUMNS = {c for c, t in ALERTS.columns.items() if t == "TIMESTAMP"}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def naive_utc(ts: dt.datetime | None) -> dt.datetime | None:
    """``ts`` as the warehouse stores it: UTC without a zone."""
    if ts is None:
        return None
    return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts


def aware_utc(value: Any) -> dt.datetime | None:
    """A stored timestamp as timezone-aware UTC; None for a missing one."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=dt.UTC)


def cell(value: Any) -> Any:
    """A stored value, with NULL/NaN/NaT as None."""
    if value is None:
        return None
    if not isinstance(value, list | dict | str) and pd.isna(value):
        return None
    return value


def alert_to_row(alert: Alert) -> dict[str, Any]:
    """An :class:`Alert` as an ``alerts`` row."""
    row: dict[str, Any] = {}
    for f in fields(Alert):
        value = getattr(alert, f.name)
        if f.name in _JSON_COLUMNS:
            value = json.dumps(value, default=str, sort_keys=True)
        elif f.name in _TS_COLUMNS:
            value = naive_utc(value)
        row[f.name] = value
    row["duration_days"] = alert.duration_days
    return row


def row_to_alert(row: Mapping[str, Any]) -> Alert:
    """An ``alerts`` row as an :class:`Alert`."""
    kw: dict[str, Any] = {}
    for f in fields(Alert):
        value = cell(row.get(f.name))
        if f.name in _JSON_COLUMNS:
            value = json.loads(value) if value else ({} if f.name == "lineage" else [])
        elif f.name in _TS_COLUMNS:
            value = aware_utc(value)
        elif f.name in (
            "trigger_event_id",
            "last_event_id",
            "failures",
            "notify_count",
            "failing_partitions",
        ):
            value = int(value or 0)
        elif f.name == "resolve_event_id":
            value = int(value) if value is not None else None
        elif f.name in ("muted", "resolve_notified"):
            value = bool(value)
        elif value is None:
            value = ""
        kw[f.name] = value
    return Alert(**kw)

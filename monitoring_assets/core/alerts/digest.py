"""The weekly digest: a per-model summary of the week's alerts, the info tier's listed in full.

Info alerts are not sent as they fire (the tier is not ``immediate`` by default); the
digest is where they are read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.notifications import alert_payload
from monitoring_assets.core.alerts.routing import Alert


def week_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The 7 days ending at ``now``'s midnight (UTC): ``[start, end)``."""
    end = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return end - dt.timedelta(days=7), end


def digest_payload(alerts: list[Alert], start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """A message payload (same shape as alert messages) summarising ``alerts``."""
    by_model: dict[str, list[Alert]] = defaultdict(list)
    for a in alerts:
        by_model[a.model].append(a)
    models = []
    for model, items in sorted(by_model.items()):
        opened = Counter(a.tier for a in items if start <= a.opened_at < end)
        resolved = sum(1 for a in items if a.resolved_at and start <= a.resolved_at < end)
        firing = Counter(a.tier for a in items if a.firing)
        checks = Counter(a.check_name for a in items).most_common(5)
        models.append(
            {
                "model": model,
                "opened_by_tier": dict(opened),
                "resolved": resolved,
                "firing_by_tier": dict(firing),
                "top_checks": [{"check": c, "alerts": n} for c, n in checks],
            }
        )
    info = [a for a in alerts if a.tier == "info"]
    week = f"{start.date()}..{(end - dt.timedelta(days=1)).date()}"
    group_id = stable_id("digest", start.isoformat())
    lines = []
    for m in models:
        lines.append(
            f"{m['model']}: opened {sum(m['opened_by_tier'].values())} "
            f"{m['opened_by_tier']}, resolved {m['resolved']}, firing {m['firing_by_tier']}"
        )
    return {
        "kind": "digest",
        "group_id": group_id,
        "origin_group_id": group_id,
        "title": f"[DIGEST] driftwarden week {week}: {len(alerts)} alerts, {len(models)} models",
        "tier": "info",
        "models": [m["model"] for m in models],
        "partitions": [],
        "summary_lines": lines,
        "per_model": models,
        "created_at": end.isoformat(),
        "alerts": [alert_payload(a, f"{a.summary} — {a.status}") for a in info],
    }

"""The alerts asset as the alert console: open episodes as a Markdown table with deep links.

Plain Python (no Dagster import). The sensor turns :func:`console_entries` into an
``AssetObservation`` of ``<model>/alerts`` on every tick that changes an alert; the
Markdown table is what the UI shows on the asset's page, and every episode also gets a
``url`` entry that links to the failed check's partition.

Dagster 1.13's UI has no URL for one partition of an asset check (its check-partition
panel is chosen by a click, not by the address), so an episode links to the two pages
that are addressable: the checked asset's partition (``?view=partitions&partition=``),
whose materialization the check judged, and the check itself (``?view=checks&checkDetail=``),
whose "Partitions" tab lists the failed day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitoring_assets.core.alerts.lineage import UiLinks
from monitoring_assets.core.alerts.policy import TIERS
from monitoring_assets.core.alerts.routing import Alert

#: Episodes listed in the table (the newest first); the rest are counted.
SHOWN_EPISODES = 25
#: Episodes that also get a ``url`` metadata entry of their own.
LINKED_EPISODES = 10
_TIER_ORDER = {t: i for i, t in enumerate(("critical", "warning", "info"))}


@dataclass(frozen=True)
class ConsoleEntry:
    """What the alerts asset shows for one model on one tick."""

    counts: dict[str, int]
    table: str
    links: dict[str, str]


def episode_order(alerts: Sequence[Alert]) -> list[Alert]:
    """Most severe tier first, then the latest failing day (newest first)."""
    return sorted(
        alerts,
        key=lambda a: (_TIER_ORDER.get(a.tier, 9), _neg_day(a.partition_key), a.alert_id),
    )


def _neg_day(day: str) -> tuple:
    return tuple(-ord(c) for c in day or "")


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def asset_key_tuple(asset_key: str) -> tuple[str, ...]:
    return tuple(asset_key.split("/"))


def partition_link(links: UiLinks, alert: Alert) -> str:
    return links.asset_partition(asset_key_tuple(alert.asset_key), alert.partition_key or None)


def check_link(links: UiLinks, alert: Alert) -> str:
    return links.check_detail(asset_key_tuple(alert.asset_key), alert.check_name)


def console_entry(
    firing: Sequence[Alert], ui_base_url: str, report_url: str | None = None
) -> ConsoleEntry:
    """The table of open episodes (tier, check, onset, latest, count, links) and the
    per-episode links, for one model's ``firing`` alerts."""
    links = UiLinks(ui_base_url)
    ordered = episode_order(firing)
    counts = {t: sum(1 for a in firing if a.tier == t) for t in TIERS}
    head = (
        "| tier | asset | check | onset | latest | failing days | links |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for a in ordered[:SHOWN_EPISODES]:
        onset = a.onset_partition or a.partition_key or a.opened_at.date().isoformat()
        latest = a.partition_key or a.last_seen_at.date().isoformat()
        rows.append(
            f"| {a.tier} | {_md(a.asset_key.split('/')[-1])} | {_md(a.check_name)} | {onset} "
            f"| {latest} | {a.failing_partitions} | [partition]({partition_link(links, a)}) · "
            f"[check]({check_link(links, a)}) |"
        )
    if not firing:
        table = "No open alert episodes."
    else:
        table = head + "\n".join(rows)
        if len(ordered) > SHOWN_EPISODES:
            model = ordered[0].model
            table += (
                f"\n\n… and {len(ordered) - SHOWN_EPISODES} more: "
                f"`driftwarden alerts list --model {model}`"
            )
        table += (
            "\n\nA *partition* link opens the checked asset's day (the materialization the "
            "check judged); a *check* link opens the check, whose Partitions tab marks the "
            "failed day."
        )
    if report_url:
        table += f"\n\nTrends with thresholds and alert onsets: [monitoring report]({report_url})"
    out_links = {}
    for a in ordered[:LINKED_EPISODES]:
        name = f"{a.tier} {a.asset_key.split('/')[-1]}.{a.check_name} @ {a.partition_key}"
        out_links[name] = partition_link(links, a)
    return ConsoleEntry(counts=counts, table=table, links=out_links)

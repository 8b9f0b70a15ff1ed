"""An alert episode in words and days: onset, latest, count and duration.

An episode runs from its *onset* (the first failing partition) to its *latest*
failing partition; it resolves at the first passing partition after that. Its
*count* is the number of failing evaluations (a partition evaluated twice counts
twice); ``failing_partitions`` counts distinct failing partitions. Its *duration*
is the days from the onset to the latest failing partition, or to the resolving
partition once resolved. Partition keys are ISO dates (``2026-07-01``) or start
with one; an episode without dated partitions has no duration.

Every message and ``driftwarden alerts show`` describe an episode with
:func:`episode_text`, e.g. ``since 2026-07-01 (onset), latest 2026-11-27,
150 failing days, duration 149 days``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol


class EpisodeLike(Protocol):
    """The fields of an alert this module reads."""

    onset_partition: str
    partition_key: str
    resolved_partition: str
    failures: int
    failing_partitions: int
    status: str
    opened_at: dt.datetime
    last_seen_at: dt.datetime


def partition_day(partition: str | None) -> dt.date | None:
    """The day a partition key names (its leading ISO date), or None."""
    if not partition or len(partition) < 10:
        return None
    try:
        return dt.date.fromisoformat(partition[:10])
    except ValueError:
        return None


def duration_days(episode: EpisodeLike) -> int | None:
    """Days from onset to latest (to the resolving partition once resolved); None without
    dated partitions."""
    onset = partition_day(episode.onset_partition)
    end = partition_day(
        episode.resolved_partition
        if episode.status == "resolved" and episode.resolved_partition
        else episode.partition_key
    )
    if onset is None or end is None:
        return None
    return (end - onset).days


def is_history(partition: str | None, page_window: dt.timedelta, now: dt.datetime) -> bool:
    """True if ``partition``'s day is before the day of ``now - page_window``: an
    evaluation of history (a backfill), not of the present. Undated partitions are
    never history."""
    day = partition_day(partition)
    return day is not None and day < (now - page_window).date()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def episode_text(episode: EpisodeLike) -> str:
    """Onset, latest, count and duration of an episode in one phrase."""
    count = int(episode.failures or 0)
    if not episode.partition_key:
        since = f"{episode.opened_at:%Y-%m-%d %H:%M} UTC"
        text = f"since {since}, {_plural(count, 'failing evaluation')}"
        if episode.status == "resolved":
            text += ", resolved"
        return text
    dated = partition_day(episode.partition_key) is not None
    unit = "failing day" if dated else "failing partition"
    distinct = int(episode.failing_partitions or 0)
    onset = episode.onset_partition
    parts = [f"since {onset} (onset)" if onset else "onset not recorded"]
    parts.append(f"latest {episode.partition_key}")
    if distinct and distinct != count:
        parts.append(f"{_plural(distinct, unit)} ({_plural(count, 'failing evaluation')})")
    else:
        parts.append(_plural(count, unit if distinct else "failing evaluation"))
    if episode.status == "resolved" and episode.resolved_partition:
        parts.append(f"resolved {episode.resolved_partition}")
    days = duration_days(episode)
    if days is not None:
        parts.append(f"duration {_plural(days, 'day')}")
    return ", ".join(parts)


def episode_fields(episode: EpisodeLike) -> dict[str, Any]:
    """The episode as payload/JSON fields (one name each, as in the ``alerts`` table)."""
    return {
        "onset_partition": episode.onset_partition or None,
        "latest_partition": episode.partition_key or None,
        "resolved_partition": episode.resolved_partition or None,
        "failures": int(episode.failures or 0),
        "failing_partitions": int(episode.failing_partitions or 0),
        "duration_days": duration_days(episode),
        "episode": episode_text(episode),
    }

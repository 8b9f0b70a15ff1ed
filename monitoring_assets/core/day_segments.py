"""Day profiles and segment profiles of a segmented model from one scan of the logs.

For a model with ``segments:``, ``feature_profiles`` profiles each day by (day, segment)
with :func:`~monitoring_assets.core.segments.profile_day_segments` and builds the day
profile by merging its segments, so the day is read once; the segment profiles are
stored in ``segment_profiles`` for ``segment_drift``, which then reads no log file.
Days are chunked like :func:`~monitoring_assets.core.day_profiles.profile_days`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import CHUNK_ROWS, MonitorInputError, scan_day_chunks
from monitoring_assets.core.ports import Lake
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.segments import SegmentPlan, profile_day_segments


def profile_days_with_segments(
    lake: Lake,
    model: ModelConfig,
    plans: Sequence[SegmentPlan],
    dates: Sequence[dt.date],
    max_rows: int = CHUNK_ROWS,
) -> tuple[dict[dt.date, DatasetProfile], dict[tuple[dt.date, str], DatasetProfile]]:
    """(day profiles, (day, segment) profiles) of the inference logs of ``dates``. A day
    with no rows gets an empty day profile and no segment profile; a column absent from
    a day's file is marked not present; a day's file lacking a segment column raises
    :class:`MonitorInputError` naming the column and the day."""
    days: dict[dt.date, DatasetProfile] = {}
    segments: dict[tuple[dt.date, str], DatasetProfile] = {}

    def profile(con, paths, chunk, files, have):  # type: ignore[no-untyped-def]
        for d in chunk:
            lacking = [p.column for p in plans if p.column not in have.get(files[d], set())]
            if lacking:
                raise MonitorInputError(
                    f"model {model.name!r}: segment column(s) {lacking} missing from "
                    f"inference_logs of {d} ({files[d]}); add the column or remove it "
                    "from segments",
                    {"segment_columns": ", ".join(lacking), "partition": d.isoformat()},
                )
        return profile_day_segments(
            paths, model, plans, partition_column="date", id_column=model.columns.id, connection=con
        )

    for chunk_days, segs in scan_day_chunks(lake, model, dates, profile, max_rows):
        days.update(chunk_days)
        for (p, seg), prof in segs.items():
            segments[(dt.date.fromisoformat(p), seg)] = prof
    return days, segments

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

import duckdb

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import (
    CHUNK_ROWS,
    MonitorInputError,
    _chunks,
    day_files,
    profiled_columns,
)
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.ports import Lake
from monitoring_assets.core.profile import ColumnProfile, DatasetProfile, empty_profile
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
    kinds = profiled_columns(model)
    files = day_files(lake, model, "inference_logs", dates)
    days: dict[dt.date, DatasetProfile] = {}
    segments: dict[tuple[dt.date, str], DatasetProfile] = {}
    for chunk in _chunks(files, max_rows):
        paths = [files[d] for d in chunk]
        con = scan_connection()
        try:
            schema = con.execute(
                "SELECT file_name, name FROM parquet_schema(?)", [paths]
            ).fetchall()
            have: dict[str, set[str]] = {}
            for f, name in schema:
                have.setdefault(str(f), set()).add(name)
            for d in chunk:
                lacking = [p.column for p in plans if p.column not in have.get(files[d], set())]
                if lacking:
                    raise MonitorInputError(
                        f"model {model.name!r}: segment column(s) {lacking} missing from "
                        f"inference_logs of {d} ({files[d]}); add the column or remove it "
                        "from segments",
                        {"segment_columns": ", ".join(lacking), "partition": d.isoformat()},
                    )
            con.execute("SET preserve_insertion_order = false")
            parts, segs = profile_day_segments(
                paths,
                model,
                plans,
                partition_column="date",
                id_column=model.columns.id,
                connection=con,
            )
        except duckdb.Error as exc:
            raise MonitorInputError(
                f"model {model.name!r}: cannot profile inference_logs "
                f"{chunk[0]} .. {chunk[-1]}: {exc}"
            ) from exc
        finally:
            con.close()
        for d in chunk:
            cols = have.get(files[d], set())
            prof = parts.get(d.isoformat()) or empty_profile(kinds, source_columns=cols)
            for name, kind in kinds.items():
                if name not in cols and prof.columns[name].present:
                    prof.columns[name] = ColumnProfile(
                        name, kind, "ABSENT", prof.rows, present=False
                    )
            days[d] = prof
        for (p, seg), prof in segs.items():
            segments[(dt.date.fromisoformat(p), seg)] = prof
    return days, segments

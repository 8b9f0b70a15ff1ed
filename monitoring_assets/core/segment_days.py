"""One run of the segment monitor over some days (plain Python over the storage ports).

:func:`segment_days` reads the days' segment profiles stored by ``feature_profiles``
(a day without them is profiled from its logs, one grouped DuckDB pass per segment
column, and stored), merges stored trailing days into small segments' windows,
judges every segment (:mod:`~monitoring_assets.core.segment_drift`) and ranks the
segments behind the day's drift (:mod:`~monitoring_assets.core.segment_causes`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from monitoring_assets.core import metrics as m
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import MonitorInputError, profiled_columns
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.references import reference_file
from monitoring_assets.core.segment_causes import SegmentCause, drift_causes
from monitoring_assets.core.segment_drift import SegmentCalibration, SegmentResult, judge_segments
from monitoring_assets.core.segment_performance import (
    accuracy_by_segment,
    accuracy_causes,
    judge_accuracy,
    labelled_day,
)
from monitoring_assets.core.segments import (
    SegmentPlan,
    load_segment_profiles,
    plan_segments,
    profile_segment_days,
    profile_segments,
    store_segment_profiles,
)
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import SEGMENT_CAUSES_TABLE, SEGMENT_RESULTS_TABLE


@dataclass(frozen=True)
class SegmentDay:
    """The segments of one day: each one's judgement, and the segments behind its drift."""

    date: dt.date
    results: list[SegmentResult]
    causes: list[SegmentCause]

    @property
    def drifted(self) -> list[SegmentResult]:
        return [r for r in self.results if r.drifted]

    @property
    def mix_shifted(self) -> list[SegmentResult]:
        return [r for r in self.results if r.mix_shift]


def reference_frame(lake: Lake, model: ModelConfig) -> pd.DataFrame:
    """The reference's profiled, segment and target columns (a clear error naming a
    missing segment column)."""
    location = reference_file(lake, model)
    con = duckdb.connect()
    try:
        have = {
            r[0]
            for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [location]).fetchall()
        }
        missing = [s.column for s in model.segments if s.column not in have]
        if missing:
            raise MonitorInputError(
                f"model {model.name!r}: segment column(s) {missing} are not in the reference "
                f"data ({location}); add them to the reference or remove them from segments",
                {"segment_columns": ", ".join(missing)},
            )
        wanted = [c for c in profiled_columns(model) if c in have]
        wanted += [s.column for s in model.segments if s.column not in wanted]
        if model.columns.target in have and model.columns.target not in wanted:
            wanted.append(model.columns.target)
        cols = ", ".join(quote_ident(c) for c in wanted)
        return con.execute(f"SELECT {cols} FROM read_parquet(?)", [location]).df()
    finally:
        con.close()


def segment_days(
    lake: Lake,
    wh: Warehouse,
    model: ModelConfig,
    dates: Sequence[dt.date],
    log: Callable[[str], None] | None = None,
) -> dict[dt.date, SegmentDay]:
    """Judge the segments of ``dates`` from their profiles stored by ``feature_profiles``;
    a day with none stored (profiled before segment profiles were stored with the day's,
    or with no rows) is profiled from its logs and stored, and ``log`` says which."""
    ref = reference_frame(lake, model)
    plans: list[SegmentPlan] = plan_segments(ref, model)
    ref_profiles = {k: p for (_, k), p in profile_segments(ref, model, plans).items()}
    profiles = load_segment_profiles(wh, model, dates)
    stored = {d for d, _ in profiles}
    missing = [d for d in dates if d not in stored]
    if missing:
        if log:
            log(
                f"{model.name} segment_drift: no stored segment profiles for {len(missing)} "
                f"day(s) ({missing[0]} .. {missing[-1]}): profiling them from inference_logs"
            )
        scanned = profile_segment_days(lake, model, plans, missing)
        store_segment_profiles(wh, model, scanned, missing)
        profiles.update(scanned)
    reach = model.segment_settings.max_days
    trailing = sorted(
        {d - dt.timedelta(days=b) for d in dates for b in range(1, reach)} - set(dates)
    )
    profiles = {**load_segment_profiles(wh, model, trailing), **profiles}
    calibration = SegmentCalibration(model, ref, plans)
    columns = list(profiled_columns(model))
    out = {}
    for d in dates:
        results = judge_segments(model, d, profiles, ref_profiles, calibration, plans)
        today = {k: p for (day, k), p in profiles.items() if day == d}
        out[d] = SegmentDay(d, results, drift_causes(ref_profiles, today, columns))
    return out


def result_rows(model: ModelConfig, days: dict[dt.date, SegmentDay], run_id: str) -> list[dict]:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows = []
    for d, day in days.items():
        for r in day.results:
            row = r.row()
            row.update(
                model=model.name,
                model_version=model.version,
                partition_date=d,
                run_id=run_id,
                computed_at=now,
            )
            rows.append({c: row.get(c) for c in SEGMENT_RESULTS_TABLE.columns})
    return rows


def cause_rows(
    model: ModelConfig, causes: dict[dt.date, list[SegmentCause]], kind: str, run_id: str
) -> list[dict]:
    """Rows of ``segment_causes`` (``kind``: drift | performance)."""
    return [
        {
            "model": model.name,
            "partition_date": d,
            "kind": kind,
            "causes": json.dumps([c.as_dict() for c in found]),
            "run_id": run_id,
        }
        for d, found in causes.items()
    ]


def segment_metrics(day: SegmentDay) -> dict[tuple[str, str], float]:
    """{(metric, segment): value} for ``monitor_metrics`` (the exporter's segment label)."""
    out: dict[tuple[str, str], float] = {}
    for r in day.results:
        out[(m.SEGMENT_TRAFFIC_SHARE.name, r.segment)] = r.share
        if r.judged:
            if not math.isnan(r.drift_share):
                out[(m.SEGMENT_DRIFT_SHARE.name, r.segment)] = r.drift_share
            if r.prediction_score is not None:
                out[(m.SEGMENT_PREDICTION_DRIFT_SCORE.name, r.segment)] = r.prediction_score
            out[(m.SEGMENT_MISSING_SHARE.name, r.segment)] = r.missing_share
    return out


def stored_causes(wh: Warehouse, model: str, partition: str, kind: str) -> list[dict]:
    """The stored segment causes of one day's drift or accuracy change (``kind``), empty
    when none were computed."""
    t = SEGMENT_CAUSES_TABLE.name
    df = wh.query(
        f"SELECT causes FROM {ident(t)} WHERE model = ? AND partition_date = ? AND kind = ?",
        [model, partition, kind],
    )
    return json.loads(df["causes"].iloc[0]) if len(df) else []


def segment_accuracy_days(
    lake: Lake, model: ModelConfig, dates: Sequence[dt.date], run_id: str
) -> tuple[list[dict], dict[dt.date, list[SegmentCause]]]:
    """Rows of ``segment_performance`` and the accuracy causes of the labelled ``dates``
    (a day whose labels are pending has neither)."""
    ref = reference_frame(lake, model)
    plans = plan_segments(ref, model)
    target = model.columns.target
    if target not in ref.columns:
        raise MonitorInputError(
            f"model {model.name!r}: the reference has no target column {target!r}; "
            "segment accuracy has no baseline"
        )
    reference = accuracy_by_segment(ref[ref[target].notna()], model, plans)
    rows, causes = [], {}
    for d in dates:
        if not lake.has_day(model.name, "ground_truth", d):
            continue
        frame = labelled_day(lake, model, plans, d)
        frame = frame[frame[target].notna()]
        if not len(frame):
            continue
        current = accuracy_by_segment(frame, model, plans)
        for r in judge_accuracy(model, current, reference):
            rows.append({"model": model.name, "partition_date": d, **r.__dict__, "run_id": run_id})
        causes[d] = accuracy_causes(current, reference)
    return rows, causes

"""Accuracy per segment once a day's labels are in, and the segments behind a drop.

A segment's accuracy drop is a finding when it is at least
``thresholds.performance.accuracy_drop`` **and** at least ``segment_settings.k``
standard errors of the difference of two proportions (the segment's labelled rows on
the day against its reference rows), so a 60-row segment does not fire on noise. The
reference accuracy of a segment is measured on the reference's rows that carry the
target (the training snapshot: optimistic by the same margin for every segment, which
the shares below do not depend on much).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import Lake
from monitoring_assets.core.segment_causes import SegmentCause, performance_causes
from monitoring_assets.core.segment_drift import segment_labels
from monitoring_assets.core.segments import SegmentPlan, segment_key


@dataclass(frozen=True)
class SegmentAccuracy:
    """One segment's labelled accuracy on a day against its reference."""

    segment: str
    rows: int
    accuracy: float
    reference_rows: int
    reference_accuracy: float
    z: float
    dropped: bool


def accuracy_by_segment(
    frame: pd.DataFrame, model: ModelConfig, plans: Sequence[SegmentPlan]
) -> dict[str, tuple[int, float]]:
    """{segment: (labelled rows, accuracy)} of rows with prediction and target columns."""
    ok = frame[model.columns.prediction].astype(str) == frame[model.columns.target].astype(str)
    labelled = frame[model.columns.target].notna().to_numpy()
    out: dict[str, tuple[int, float]] = {}
    for plan in plans:
        labels = segment_labels(frame, plan)[labelled]
        hits = ok.to_numpy()[labelled]
        for value in np.unique(labels):
            sel = labels == value
            out[segment_key(plan.column, str(value))] = (int(sel.sum()), float(hits[sel].mean()))
    return out


def labelled_day(lake: Lake, model: ModelConfig, plans: Sequence[SegmentPlan], date: dt.date):
    """The day's logs joined with its labels (segment, prediction and target columns)."""
    logs = lake.day_location(model.name, "inference_logs", date)
    labels = lake.day_location(model.name, "ground_truth", date)
    c = model.columns
    segs = "".join(f"l.{quote_ident(p.column)}, " for p in plans)
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT {segs}l.{quote_ident(c.prediction)}, g.{quote_ident(c.target)} "
            f"FROM read_parquet(?) l JOIN read_parquet(?) g "
            f"ON l.{quote_ident(c.id)} = g.{quote_ident(c.id)}",
            [logs, labels],
        ).df()
    finally:
        con.close()


def judge_accuracy(
    model: ModelConfig,
    current: Mapping[str, tuple[int, float]],
    reference: Mapping[str, tuple[int, float]],
) -> list[SegmentAccuracy]:
    """Each segment's accuracy against its reference; a drop needs size and significance."""
    drop, k = model.thresholds.performance.accuracy_drop, model.segment_settings.k
    out = []
    for seg, (n, acc) in sorted(current.items()):
        n0, acc0 = reference.get(seg, (0, math.nan))
        if not n or not n0:
            out.append(SegmentAccuracy(seg, n, acc, n0, acc0, 0.0, False))
            continue
        pooled = (acc * n + acc0 * n0) / (n + n0)
        se = math.sqrt(max(pooled * (1 - pooled) * (1 / n + 1 / n0), 1e-12))
        z = (acc0 - acc) / se
        out.append(SegmentAccuracy(seg, n, acc, n0, acc0, z, acc0 - acc >= drop and z >= k))
    return out


def accuracy_causes(
    current: Mapping[str, tuple[int, float]], reference: Mapping[str, tuple[int, float]]
) -> list[SegmentCause]:
    """The segments behind the day's accuracy change (:func:`performance_causes`)."""
    return performance_causes(reference, current)

"""Judging segments: drift, data quality and traffic mix per segment, per day.

Each segment (``country=DE``) is compared with its own rows of the reference. Noise is
the danger: K segments × every column are tested each day, on fewer rows than the whole
day. So:

- a segment-day with fewer than ``segment_settings.min_rows`` rows is judged on its
  window (it and the days before it, merged from stored segment profiles, at most
  ``max_days``); still too few rows is "insufficient data", never an alert;
- thresholds are calibrated for the window's row count (its size bucket, as for the
  whole model: ``core/calibration.py``) on the segment's own reference rows: chunks of
  that many rows drawn without replacement, each compared with the rest of the
  segment's reference (so the reference's own sampling noise is in the spread), with
  distance methods (Wasserstein, Jensen-Shannon) unless the feature names its own, at
  ``exp(mean + k·σ)`` of the log scores with ``segment_settings.k`` (default 4, above
  the model's 3: K segments × every column are tested); a segment whose reference is too
  small to calibrate at that size (under 1.5 windows) is not judged, with the reason
  (fixed thresholds fire on noise at small volumes);
- a mix shift needs both a large relative change of the segment's share of traffic
  (``mix_shift_ratio``) and a large one in binomial standard errors (``mix_shift_z``).

A segment drifts when its prediction column drifts, a feature marked ``critical``
drifts, or its drifted share of features reaches ``thresholds.drift.drift_share_warn``
(the whole model's rules, per segment).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitoring_assets.core.calibration import log_sigma_levels, size_bucket
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import profiled_columns, window_label
from monitoring_assets.core.drift import (
    INSUFFICIENT_DATA,
    P_VALUE_METHODS,
    column_drift,
    from_oriented,
    oriented,
)
from monitoring_assets.core.monitor import prediction_column
from monitoring_assets.core.profile import DatasetProfile, merge_profiles
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.segments import MISSING, SegmentPlan, segment_key, split_key

#: Chunks per (segment, window size) calibration; a seeded sample.
SEGMENT_CHUNKS = 40
SEGMENT_SEED = 20260
#: A segment's reference must hold this many times the window's rows to calibrate it
#: (each chunk is compared with the rest, at least half a window).
MIN_REFERENCE_FACTOR = 1.5
#: Reference rows of one segment a calibration draws its chunks from, at most (each of
#: the chunks and its rest is profiled, so this bounds the work per segment and size).
CALIBRATION_ROWS = 20_000


@dataclass(frozen=True)
class SegmentThreshold:
    """A column's drift method and error-level threshold for one segment and size."""

    method: str
    threshold: float
    source: str


@dataclass(frozen=True)
class SegmentThresholds:
    """Every column's threshold for one segment at one window size; ``reason`` when none."""

    segment: str
    window_rows: int
    columns: Mapping[str, SegmentThreshold] = field(default_factory=dict)
    reason: str = ""


class SegmentCalibration:
    """Calibrated thresholds per (segment, window size bucket), from the reference frame
    labelled with segments. Computed on demand, kept for the object's life."""

    def __init__(self, model: ModelConfig, reference: pd.DataFrame, plans: Sequence[SegmentPlan]):
        self.model = model
        self.kinds = profiled_columns(model)
        self.reference = reference
        self.labels = {p.column: segment_labels(reference, p) for p in plans}
        self._cache: dict[tuple[str, int], SegmentThresholds] = {}

    def for_rows(self, segment: str, rows: int) -> SegmentThresholds:
        bucket = size_bucket(rows)
        key = (segment, bucket)
        if key not in self._cache:
            self._cache[key] = self._compute(segment, bucket)
        return self._cache[key]

    def _compute(self, segment: str, bucket: int) -> SegmentThresholds:
        column, value = split_key(segment)
        idx = np.flatnonzero(self.labels[column] == value)
        settings = self.model.thresholds.calibration
        need = int(math.ceil(MIN_REFERENCE_FACTOR * bucket))
        if bucket < 1 or len(idx) < need:
            return SegmentThresholds(
                segment,
                bucket,
                {},
                f"not judged: the segment's reference ({len(idx)} rows) is too small to "
                f"calibrate windows of {bucket} rows (needs {need})",
            )
        rng = np.random.default_rng([SEGMENT_SEED, bucket, len(idx)])
        if len(idx) > max(CALIBRATION_ROWS, 2 * bucket):
            # a large segment: a sample of its reference (the rest is then a little
            # smaller than the reference a day meets, which errs quiet)
            idx = np.sort(rng.choice(idx, max(CALIBRATION_ROWS, 2 * bucket), replace=False))
        n_chunks = min(SEGMENT_CHUNKS, settings.max_chunks)
        cols = [c for c in self.kinds if c in self.reference.columns]
        frames = []
        for i in range(n_chunks):
            pick = rng.permutation(idx)
            frames.append(self.reference.iloc[pick[:bucket]][cols].assign(_part=f"c{i}"))
            frames.append(self.reference.iloc[pick[bucket:]][cols].assign(_part=f"r{i}"))
        parts = profile_partitions(
            pd.concat(frames, ignore_index=True),
            {c: self.kinds[c] for c in cols},
            partition_column="_part",
        )
        out: dict[str, SegmentThreshold] = {}
        for c in cols:
            forced = self.model.feature(c).drift_method if c in self.model.feature_names else None
            # Distances, not p-values: a p-value's tail is not a multiple of its spread.
            forced = forced or ("wasserstein" if self.kinds[c] == "numerical" else "jensenshannon")
            results = [
                column_drift(parts[f"r{i}"].columns[c], parts[f"c{i}"].columns[c], forced)
                for i in range(n_chunks)
                if f"c{i}" in parts and f"r{i}" in parts
            ]
            ok = [r for r in results if r.computable and math.isfinite(r.score)]
            if len(ok) < settings.min_chunks:
                continue
            method = max({r.method for r in ok}, key=lambda m: sum(r.method == m for r in ok))
            scores = np.array([oriented(method, r.score) for r in ok if r.method == method])
            if len(scores) < settings.min_chunks or float(scores.std(ddof=1)) <= 1e-12:
                continue
            k = self.model.segment_settings.k
            if method in P_VALUE_METHODS:
                level = float(scores.mean() + k * scores.std(ddof=1))
            else:
                level = log_sigma_levels(scores, k, k)[0]
            out[c] = SegmentThreshold(
                method,  # type: ignore[arg-type]
                from_oriented(method, level),  # type: ignore[arg-type]
                f"exp(mean+{k:g}σ of log score) of {len(scores)} chunks of {bucket} rows of "
                "the segment's reference, each against the rest",
            )
        return SegmentThresholds(segment, bucket, out)


def segment_labels(frame: pd.DataFrame, plan: SegmentPlan) -> np.ndarray:
    """Each row's segment value under ``plan`` (pure pandas; the reference side)."""
    col = frame[plan.column]
    if plan.bins is not None:
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        idx = np.searchsorted(np.asarray(plan.bins), x, side="right")
        labels = np.asarray(plan.values, dtype=object)[np.minimum(idx, len(plan.values) - 1)]
        return np.where(np.isnan(x), MISSING, labels)
    s = col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v))
    known = set(plan.values)
    return np.asarray(
        [MISSING if v is None else (v if v in known else "other") for v in s], dtype=object
    )


@dataclass(frozen=True)
class SegmentResult:
    """One segment's judgement on one day (a row of ``segment_results``)."""

    segment: str
    rows: int
    window_rows: int
    window: str
    share: float
    reference_share: float
    mix_z: float
    mix_shift: bool
    tested_features: int = 0
    drifted_features: tuple[str, ...] = ()
    drift_share: float = math.nan
    prediction_score: float | None = None
    prediction_threshold: float | None = None
    prediction_drifted: bool = False
    missing_share: float = 0.0
    threshold_mode: str = "calibrated"
    judged: bool = False
    drifted: bool = False
    reason: str = ""

    @property
    def column(self) -> str:
        return split_key(self.segment)[0]

    def row(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["segment_column"] = self.column
        d["drifted_features"] = ", ".join(self.drifted_features)
        return d


def mix_shift(rows: int, total: int, ref_rows: int, ref_total: int, model: ModelConfig):
    """(share, reference share, z, shifted) of a segment's traffic on one day."""
    s = model.segment_settings
    share = rows / total if total else 0.0
    p = max(ref_rows, 0.5) / max(ref_total, 1)
    z = (rows - total * p) / math.sqrt(max(total * p * (1 - p), 1e-12)) if total else 0.0
    ratio = max(share, 1e-12) / p
    shifted = abs(z) >= s.mix_shift_z and max(ratio, 1 / ratio) >= s.mix_shift_ratio
    return share, ref_rows / ref_total if ref_total else 0.0, float(z), bool(shifted)


def judge_segments(
    model: ModelConfig,
    day: dt.date,
    profiles: Mapping[tuple[dt.date, str], DatasetProfile],
    reference: Mapping[str, DatasetProfile],
    calibration: SegmentCalibration,
    plans: Sequence[SegmentPlan],
) -> list[SegmentResult]:
    """Every segment of ``plans`` on ``day``. ``profiles`` holds the day's segment
    profiles and those of the trailing days (for windows); ``reference`` the reference
    profile of each segment."""
    settings = model.segment_settings
    drift_share_warn = model.thresholds.drift.drift_share_warn
    pred = prediction_column(model)
    out = []
    for plan in plans:
        keys = plan.keys + [segment_key(plan.column, MISSING)]
        total = sum(profiles[(day, k)].rows for k in keys if (day, k) in profiles)
        ref_total = sum(p.rows for k, p in reference.items() if split_key(k)[0] == plan.column)
        for seg in keys:
            today = profiles.get((day, seg))
            ref = reference.get(seg)
            rows = today.rows if today else 0
            if ref is None and rows == 0:
                continue
            share, ref_share, z, shifted = mix_shift(
                rows, total, ref.rows if ref else 0, ref_total, model
            )
            base = dict(
                segment=seg,
                rows=rows,
                share=share,
                reference_share=ref_share,
                mix_z=z,
                mix_shift=shifted,
            )
            dates, window = _window(profiles, seg, day, settings.min_rows, settings.max_days)
            wrows = window.rows if window else 0
            label = window_label(dates, wrows)
            if ref is None:
                out.append(
                    SegmentResult(
                        **base,
                        window_rows=wrows,
                        window=label,
                        reason="not judged: segment absent from the reference",
                    )
                )
                continue
            if wrows < settings.min_rows:
                out.append(
                    SegmentResult(
                        **base,
                        window_rows=wrows,
                        window=label,
                        reason=f"{INSUFFICIENT_DATA} ({wrows} rows < segment_settings.min_rows "
                        f"{settings.min_rows} over {len(dates)} day(s))",
                    )
                )
                continue
            thr = calibration.for_rows(seg, wrows)
            if thr.reason:
                out.append(
                    SegmentResult(**base, window_rows=wrows, window=label, reason=thr.reason)
                )
                continue
            out.append(_judge(model, seg, base, window, ref, thr, label, pred, drift_share_warn))
    return out


def _window(
    profiles: Mapping[tuple[dt.date, str], DatasetProfile],
    seg: str,
    day: dt.date,
    min_rows: int,
    max_days: int,
) -> tuple[list[dt.date], DatasetProfile | None]:
    dates, parts, rows = [], [], 0
    for back in range(max_days):
        d = day - dt.timedelta(days=back)
        p = profiles.get((d, seg))
        if back == 0 or p is not None:
            dates.append(d)
        if p is not None:
            parts.append(p)
            rows += p.rows
        if rows >= min_rows:
            break
    return dates, (merge_profiles(parts) if parts else None)


def _judge(model, seg, base, cur, ref, thr, label, pred, drift_share_warn) -> SegmentResult:  # type: ignore[no-untyped-def]
    drifted, tested = [], 0
    pscore = pthr = None
    pdrift = False
    missing = 0.0
    for name, t in thr.columns.items():
        if name not in ref.columns or name not in cur.columns:
            continue
        r = column_drift(ref.columns[name], cur.columns[name], t.method, t.threshold)
        if name in model.feature_names and cur.rows:
            missing = max(missing, cur.columns[name].missing / cur.rows)
        if not r.computable:
            continue
        if name == pred:
            pscore, pthr, pdrift = r.score, r.threshold, r.drifted
        elif name in model.feature_names:
            tested += 1
            if r.drifted:
                drifted.append(name)
    share = len(drifted) / tested if tested else math.nan
    critical = {f.name for f in model.features if f.critical}
    verdict = pdrift or bool(critical & set(drifted)) or (tested > 0 and share >= drift_share_warn)
    return SegmentResult(
        **base,
        window_rows=cur.rows,
        window=label,
        tested_features=tested,
        drifted_features=tuple(drifted),
        drift_share=share,
        prediction_score=pscore,
        prediction_threshold=pthr,
        prediction_drifted=pdrift,
        missing_share=missing,
        judged=True,
        drifted=bool(verdict),
    )

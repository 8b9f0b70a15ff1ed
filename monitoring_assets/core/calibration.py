"""Drift thresholds calibrated on the reference, per column, method and window size.

A fixed threshold (Evidently's normed Wasserstein 0.1, Jensen-Shannon 0.1, p 0.05) says
nothing about the statistic's own noise at the monitored volume: at ~150 rows a day an
unchanged feature crosses 0.1 by chance on a good share of days. A calibrated threshold
is measured instead:

1. The reference is split into chunks of the monitored window's size. **By day** when
   the reference has a timestamp column and at least ``calibration.min_chunks`` of its
   days hold the window's rows (each such day cut, seeded, into as many disjoint chunks
   of exactly that many rows as it holds); otherwise **by rows**, contiguous in file
   order. At most
   ``calibration.max_chunks`` chunks are used (a seeded sample).
2. All chunks are profiled in one grouped DuckDB pass
   (:func:`~monitoring_assets.core.profile_build.profile_partitions`), and each chunk's
   statistic against the whole reference is computed by
   :func:`~monitoring_assets.core.drift.column_drift` with the method the monitored
   window gets. Statistics are oriented so larger means more drift (p-values as
   ``-log10(p)``, :func:`~monitoring_assets.core.drift.oriented`).
3. ``rule: sigma``: warn = mean + k·σ, error = mean + k_error·σ, taken on the
   logarithm of distance statistics (they are positive and right-skewed, see
   :func:`log_sigma_levels`) and on ``-log10(p)`` for p-value methods; ``rule: quantile``:
   the ``quantile`` / ``quantile_error`` of the chunk statistics. A feature drifts at
   the warn level; the prediction column is WARN at warn and ERROR at error.

Rules when calibration cannot apply (the result is fixed and says why):

- fewer than ``min_chunks`` chunks: "fixed: reference too small to calibrate
  (reference yields 6 chunks of 150 rows, < 10)";
- σ = 0 across chunks (a constant reference column): the method's fixed threshold,
  "fixed: constant on the reference";
- the window's method differs from the one calibrated (a different default choice
  for this window): the fixed threshold, with that reason.

Window sizes vary from day to day, so thresholds are calibrated per **size bucket**:
:func:`size_bucket` rounds a row count *down* to 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8
×10^k (165 rows → 150). Chunks are never larger than the window, so the statistic's
noise is never underestimated and the threshold errs on the high (quiet) side.

:class:`ReferenceCalibration` computes a bucket once per model version, reference
file digest and calibration settings, and keeps it in ``drift_thresholds`` beside the
reference profile; a rerun reads it back instead of recomputing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitoring_assets.core.config import Calibration, ModelConfig
from monitoring_assets.core.drift import P_VALUE_METHODS, column_drift, from_oriented, oriented
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import DRIFT_THRESHOLDS_TABLE

CALIBRATED, FIXED = "calibrated", "fixed"
#: The seed of every sample calibration draws (chunks, rows within a day).
CALIBRATION_SEED = 20_260_601
BUCKET_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
#: Windows smaller than this are never calibrated.
MIN_WINDOW_ROWS = 2
CONSTANT_REASON = "constant on the reference"


def size_bucket(rows: int) -> int:
    """The calibration bucket of a window of ``rows`` rows: the largest
    ``s × 10^k`` (s in :data:`BUCKET_STEPS`, rounded down to an integer) not above
    ``rows``; 0 for no rows."""
    if rows < 1:
        return 0
    best = 1
    for exp in range(len(str(int(rows))) + 1):
        for s in BUCKET_STEPS:
            v = int(s * 10**exp)
            if best < v <= rows:
                best = v
    return best


@dataclass(frozen=True)
class ColumnThreshold:
    """The threshold of one column for one window size.

    ``warn``/``error`` are in the method's own units (p-values for p-value methods)
    and None when ``mode`` is ``fixed`` (then the method's fixed threshold applies and
    ``source`` says why)."""

    column: str
    method: str | None
    mode: str
    warn: float | None
    error: float | None
    source: str
    chunks: int = 0
    mean: float = math.nan
    std: float = math.nan


@dataclass(frozen=True)
class WindowThresholds:
    """Every column's threshold for windows of one size bucket.

    ``reason`` is empty when the reference yielded enough chunks; otherwise it says why
    every column is fixed."""

    window_rows: int
    chunks: int
    chunk_by: str
    columns: dict[str, ColumnThreshold] = field(default_factory=dict)
    reason: str = ""

    def column(self, name: str) -> ColumnThreshold | None:
        return self.columns.get(name)


def _source(
    settings: Calibration, chunks: int, rows: int, chunk_by: str, method: str | None = None
) -> str:
    if settings.rule == "quantile":
        rule = f"quantile {settings.quantile:g}"
    elif method in P_VALUE_METHODS:
        rule = f"mean+{settings.k:g}σ of -log10(p)"
    else:
        rule = f"exp(mean+{settings.k:g}σ of log score)"
    by = " (within days)" if chunk_by == "day" else ""
    return f"{rule} of {chunks} reference chunks of {rows} rows{by}"


def log_sigma_levels(scores: np.ndarray, k: float, k_error: float) -> tuple[float, float]:
    """``exp(mean + k·σ)`` and ``exp(mean + k_error·σ)`` of the logarithm of positive
    distance ``scores``.

    A distance between a small sample and its reference is positive and right-skewed
    (it behaves like the root of a chi-square): mean + 3σ on the raw scores leaves
    about 1 % of unchanged feature-days above it, measured on 150-row days. On the log
    scale the scores are close to symmetric, and the same k leaves a few per thousand.
    A chunk that scores exactly 0 is counted at half the smallest positive score."""
    positive = scores[scores > 0]
    floor = float(positive.min()) / 2 if len(positive) else 1e-12
    logs = np.log(np.maximum(scores, floor))
    mean, std = float(logs.mean()), float(logs.std(ddof=1))
    return math.exp(mean + k * std), math.exp(mean + k_error * std)


def too_few_chunks(chunks: int, rows: int, settings: Calibration) -> str:
    return (
        f"fixed: reference too small to calibrate (reference yields {chunks} chunks of "
        f"{rows} rows, < {settings.min_chunks})"
    )


def calibrate_chunks(
    reference: DatasetProfile,
    chunks: Mapping[str, DatasetProfile],
    settings: Calibration,
    window_rows: int,
    chunk_by: str,
    methods: Mapping[str, str | None] | None = None,
    columns: list[str] | None = None,
) -> WindowThresholds:
    """Thresholds from chunk profiles against the whole ``reference`` (pure: no I/O).

    ``methods`` forces a column's method (the model file's ``drift_method``); otherwise
    the method is the one :func:`column_drift` picks for a chunk, the most common one
    when chunks disagree."""
    methods = methods or {}
    names = columns if columns is not None else list(reference.columns)
    n = len(chunks)
    out: dict[str, ColumnThreshold] = {}
    if n < settings.min_chunks:
        why = too_few_chunks(n, window_rows, settings)
        for name in names:
            out[name] = ColumnThreshold(name, methods.get(name), FIXED, None, None, why, n)
        return WindowThresholds(window_rows, n, chunk_by, out, why)
    for name in names:
        ref = reference.columns.get(name)
        if ref is None:
            continue
        results = [
            column_drift(ref, c.columns[name], methods.get(name))
            for c in chunks.values()
            if name in c.columns
        ]
        ok = [r for r in results if r.computable and math.isfinite(r.score)]
        if not ok:
            why = results[0].reason if results else "column absent from every chunk"
            out[name] = ColumnThreshold(name, methods.get(name), FIXED, None, None, f"fixed: {why}")
            continue
        method = Counter(r.method for r in ok).most_common(1)[0][0]
        scores = np.array([oriented(method, r.score) for r in ok if r.method == method])
        if len(scores) < settings.min_chunks:
            why = too_few_chunks(len(scores), window_rows, settings)
            out[name] = ColumnThreshold(name, method, FIXED, None, None, why, len(scores))
            continue
        mean, std = float(scores.mean()), float(scores.std(ddof=1))
        if std <= 1e-12 or ref.n_unique <= 1:
            out[name] = ColumnThreshold(
                name, method, FIXED, None, None, f"fixed: {CONSTANT_REASON}", len(scores), mean, std
            )
            continue
        if settings.rule == "sigma" and method not in P_VALUE_METHODS:
            warn, error = log_sigma_levels(scores, settings.k, settings.k_error)
        elif settings.rule == "sigma":
            warn, error = mean + settings.k * std, mean + settings.k_error * std
        else:
            warn = float(np.quantile(scores, settings.quantile))
            error = float(np.quantile(scores, settings.quantile_error))
        out[name] = ColumnThreshold(
            name,
            method,
            CALIBRATED,
            from_oriented(method, warn),  # type: ignore[arg-type]
            from_oriented(method, error),  # type: ignore[arg-type]
            _source(settings, len(scores), window_rows, chunk_by, method),
            len(scores),
            mean,
            std,
        )
    return WindowThresholds(window_rows, n, chunk_by, out)


# --------------------------------------------------------------------------- chunks


def chunk_frame(
    frame: pd.DataFrame,
    window_rows: int,
    settings: Calibration,
    timestamp: str | None = None,
    seed: int = CALIBRATION_SEED,
) -> tuple[pd.DataFrame, str]:
    """The rows of ``frame`` (in file order) labelled with their chunk (``_chunk``) and
    how they were chunked (``day`` or ``rows``); see the module docstring."""
    rng = np.random.default_rng(seed)
    picks: list[np.ndarray] = []
    chunk_by = "rows"
    if timestamp and timestamp in frame.columns:
        ts = pd.to_datetime(frame[timestamp], errors="coerce")
        days = ts.dt.floor("D")
        counts = days.value_counts()
        full = sorted(d for d, c in counts.items() if c >= window_rows and pd.notna(d))
        if len(full) >= settings.min_chunks:
            chunk_by = "day"
            codes = days.to_numpy()
            for d in full:
                # as many disjoint chunks as the day holds: more chunks, and every one
                # still inside one day, so day-to-day differences stay in the spread
                idx = rng.permutation(np.flatnonzero(codes == np.datetime64(d)))
                for j in range(len(idx) // window_rows):
                    picks.append(np.sort(idx[j * window_rows : (j + 1) * window_rows]))
    if chunk_by == "rows":
        n = len(frame) // window_rows
        picks = [np.arange(i * window_rows, (i + 1) * window_rows) for i in range(n)]
    if len(picks) > settings.max_chunks:
        keep = np.sort(rng.choice(len(picks), settings.max_chunks, replace=False))
        picks = [picks[i] for i in keep]
    if not picks:
        return frame.iloc[0:0].assign(_chunk=pd.Series(dtype="int64")), chunk_by
    idx = np.concatenate(picks)
    labels = np.repeat(np.arange(len(picks)), [len(p) for p in picks])
    out = frame.iloc[idx].reset_index(drop=True)
    out["_chunk"] = labels
    return out, chunk_by


def reference_chunks(
    location: str,
    kinds: Mapping[str, str],
    window_rows: int,
    settings: Calibration,
    timestamp: str | None,
) -> tuple[dict[str, DatasetProfile], str]:
    """Chunk profiles of the reference file at ``location`` (one grouped DuckDB pass)."""
    con = scan_connection()
    try:
        have = {
            r[0]
            for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [location]).fetchall()
        }
        wanted = [c for c in kinds if c in have]
        if timestamp and timestamp in have and timestamp not in wanted:
            wanted.append(timestamp)
        # data columns are the model file's names (validated, any printable text)
        cols = ", ".join(quote_ident(c) for c in wanted) or "1 AS _none"
        frame = con.execute(f"SELECT {cols} FROM read_parquet(?)", [location]).df()
    finally:
        con.close()
    chunked, chunk_by = chunk_frame(frame, window_rows, settings, timestamp)
    if not len(chunked):
        return {}, chunk_by
    parts = profile_partitions(chunked, dict(kinds), partition_column="_chunk")  # type: ignore[arg-type]
    return parts, chunk_by


# --------------------------------------------------------------------------- stored


def settings_key(model: ModelConfig) -> str:
    """A digest of everything a calibration depends on besides the reference file:
    the calibration settings and the features' configured methods."""
    body = {
        "calibration": model.thresholds.calibration.model_dump(),
        "methods": {f.name: f.drift_method for f in model.features},
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class ThresholdSource:
    """Anything that gives the thresholds of a window of ``rows`` rows."""

    def for_rows(self, rows: int) -> WindowThresholds:  # pragma: no cover - interface
        raise NotImplementedError


class Uncalibrated(ThresholdSource):
    """Every window fixed, for one stated reason (e.g. a rolling reference)."""

    def __init__(self, reason: str):
        self.reason = reason

    def for_rows(self, rows: int) -> WindowThresholds:
        return WindowThresholds(size_bucket(rows), 0, "", {}, f"fixed: {self.reason}")


class ReferenceCalibration(ThresholdSource):
    """Calibrated thresholds of one model version's reference file, per size bucket:
    read from ``drift_thresholds`` when stored for this file digest and settings, else
    computed from the file and stored. Buckets are cached for the object's life."""

    def __init__(
        self,
        wh: Warehouse,
        model: ModelConfig,
        reference: DatasetProfile,
        location: str,
        digest: str,
    ):
        self.wh, self.model, self.reference = wh, model, reference
        self.location, self.digest = location, digest
        self.settings = model.thresholds.calibration
        self.key = settings_key(model)
        self._cache: dict[int, WindowThresholds] = {}
        self.computed: list[int] = []  # buckets computed (not read back) by this object

    def for_rows(self, rows: int) -> WindowThresholds:
        bucket = size_bucket(rows)
        if bucket not in self._cache:
            self._cache[bucket] = self._load(bucket) or self._compute(bucket)
        return self._cache[bucket]

    def _where(self, bucket: int) -> dict:
        return {
            "model": self.model.name,
            "model_version": self.model.version,
            "source_digest": self.digest,
            "settings": self.key,
            "window_rows": bucket,
        }

    def _load(self, bucket: int) -> WindowThresholds | None:
        where = self._where(bucket)
        df = self.wh.query(
            f"SELECT * FROM {ident(DRIFT_THRESHOLDS_TABLE.name)} WHERE "
            + " AND ".join(f"{ident(k)} = ?" for k in where),
            list(where.values()),
        )
        if not len(df):
            return None
        cols: dict[str, ColumnThreshold] = {}
        for r in df.to_dict("records"):
            cols[r["column_name"]] = ColumnThreshold(
                r["column_name"],
                r["method"] or None,
                r["mode"],
                _num(r["warn"]),
                _num(r["error"]),
                r["source"],
                int(r["chunks"] or 0),
                _num(r["mean"]) or math.nan,
                _num(r["std"]) or math.nan,
            )
        first = df.iloc[0]
        reason = str(first["window_reason"] or "")
        return WindowThresholds(
            bucket, int(first["window_chunks"]), str(first["chunk_by"]), cols, reason
        )

    def _compute(self, bucket: int) -> WindowThresholds:
        kinds = {n: c.kind for n, c in self.reference.columns.items()}
        names = list(kinds)
        methods = {f.name: f.drift_method for f in self.model.features}
        if bucket < MIN_WINDOW_ROWS:
            chunks: dict[str, DatasetProfile] = {}
            chunk_by = "rows"
        else:
            chunks, chunk_by = reference_chunks(
                self.location, kinds, bucket, self.settings, self.model.columns.timestamp
            )
        result = calibrate_chunks(
            self.reference, chunks, self.settings, bucket, chunk_by, methods, names
        )
        self._store(result)
        self.computed.append(bucket)
        return result

    def _store(self, t: WindowThresholds) -> None:
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        rows = [
            {
                **self._where(t.window_rows),
                "column_name": c.column,
                "method": c.method,
                "mode": c.mode,
                "warn": c.warn,
                "error": c.error,
                "chunks": c.chunks,
                "mean": c.mean if math.isfinite(c.mean) else None,
                "std": c.std if math.isfinite(c.std) else None,
                "source": c.source,
                "chunk_by": t.chunk_by,
                "window_chunks": t.chunks,
                "window_reason": t.reason,
                "computed_at": now,
            }
            for c in t.columns.values()
        ]
        frame = pd.DataFrame(rows, columns=list(DRIFT_THRESHOLDS_TABLE.columns))
        self.wh.replace(DRIFT_THRESHOLDS_TABLE.name, frame, self._where(t.window_rows))


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None

"""Calibrated performance bands: how far a metric varies on healthy days of a given size.

A day's accuracy is a sample: on 1,900 labelled rows a model whose accuracy is 0.83 shows
0.81 or 0.85 without anything having changed. The band of a metric is learned once per
model version from its labelled validation split, which the version was never trained on:

1. the split is cut into disjoint chunks of ``chunk_rows`` rows (:func:`chunk_indices`):
   contiguous in time when its timestamps span at least as many days as there are
   chunks (``chunking = time``), else a seeded shuffle (``chunking = rows``); at most
   ``calibration.max_chunks`` chunks (a seeded sample);
2. each chunk gives accuracy, F1, ROC AUC, precision, recall, the label-free (CBPE)
   accuracy estimate and the expected calibration error (:data:`BAND_METRICS`);
3. a band's lower edges (:meth:`Band.edges`) are ``mean − k·σ`` (warn) and
   ``mean − k_error·σ`` (error) with ``rule: sigma``, where σ is the band's σ for one
   new day (:func:`day_sigma`: the chunks' σ at its upper 90 % confidence bound, times
   √(1 + 1/n) for the uncertainty of their mean — a band of 11 chunks is 1.5 times the
   chunks' σ, of 200 chunks 1.07 times), or the lower quantiles
   ``1 − quantile`` / ``1 − quantile_error`` with ``rule: quantile``. A metric where
   larger is worse (:data:`UPPER_METRICS`: the calibration error) has upper edges instead:
   ``mean + k·σ`` / ``mean + k_error·σ``, or the quantiles ``quantile`` / ``quantile_error``. σ is the chunks'
   sample standard deviation (ddof 1). When every chunk has the same value (σ = 0, e.g. a
   perfect model) σ is taken as one row's worth, ``1 / chunk_rows``, so a band never
   collapses onto its mean; both rules use that floor.

The daily labelled size varies, so bands are calibrated per size bucket
(:func:`size_bucket`: geometric steps of 2^(1/4), rounded down — a day is judged against
chunks at most 19 % smaller than itself, whose band is slightly wider: the safe side) and
stored in ``performance_bands`` (:class:`BandStore`), so each (version, bucket) is
calibrated once.

A threshold records where it came from (:class:`Threshold`): ``calibrated`` with the
text "mean−3σ of 40 validation chunks of 1,900 rows", or ``fixed`` with the configured
number and, in ``auto`` mode, why no band applied.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_assets.core.config import Calibration, ModelConfig
from monitoring_assets.core.performance.cbpe import CBPE
from monitoring_assets.core.performance.metrics import expected_calibration_error
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import PERFORMANCE_BANDS_TABLE

#: The metrics a band is calibrated for (``estimated_accuracy`` is CBPE's estimate).
BAND_METRICS = (
    "accuracy",
    "f1",
    "roc_auc",
    "precision",
    "recall",
    "estimated_accuracy",
    "calibration_error",
)

#: Band metrics where larger is worse: their edges lie above the mean.
UPPER_METRICS = frozenset({"calibration_error"})

#: Days with fewer labelled rows than this get no band (their metrics are too coarse).
MIN_BAND_ROWS = 30

#: The confidence of the upper bound taken for the chunks' σ (:func:`day_sigma`).
SIGMA_CONFIDENCE = 0.9

#: Buckets per doubling of the day's size.
BUCKETS_PER_DOUBLING = 4


def size_bucket(n: int) -> int:
    """The chunk size a day of ``n`` rows is judged with: the largest 2^(j/4), rounded
    down to an integer, not above ``n`` (0 below :data:`MIN_BAND_ROWS`)."""
    if n < MIN_BAND_ROWS:
        return 0
    j = math.floor(BUCKETS_PER_DOUBLING * math.log2(n) + 1e-9)
    b = math.floor(2 ** (j / BUCKETS_PER_DOUBLING) + 1e-9)
    return min(b, n)


@functools.lru_cache(maxsize=1024)
def day_sigma_factor(n_chunks: int) -> float:
    """How many of the chunks' sample σ (ddof 1) make the σ one new day is judged with.

    Two uncertainties a sample of ``n_chunks`` chunks leaves: its σ is itself an
    estimate (with 11 chunks the true σ is above the sample's one time in four), and so
    is its mean. The σ taken is the upper :data:`SIGMA_CONFIDENCE` confidence bound of σ
    (χ² with n − 1 degrees of freedom: ``√((n − 1) / χ²_{1−c}(n − 1))``), times
    ``√(1 + 1/n)``, the spread of a new value around an estimated mean."""
    from scipy.stats import chi2  # lazy: keeps code-location load light

    n = n_chunks
    if n < 2:
        raise ValueError(f"{n} chunk(s): no σ")
    return math.sqrt((n - 1) / float(chi2.ppf(1.0 - SIGMA_CONFIDENCE, n - 1))) * math.sqrt(
        1.0 + 1.0 / n
    )


def _seed(model: str, version: str, chunk_rows: int) -> int:
    return zlib.crc32(f"{model}/{version}/{chunk_rows}".encode())


def chunk_indices(
    timestamps: pd.Series | None, n_rows: int, chunk_rows: int, max_chunks: int, seed: int
) -> tuple[list[np.ndarray], str]:
    """Row positions of each disjoint chunk of ``chunk_rows`` rows, and how they were cut
    (``time`` or ``rows``; ``none`` when not even one chunk fits)."""
    n_chunks = n_rows // chunk_rows if chunk_rows > 0 else 0
    if n_chunks == 0:
        return [], "none"
    rng = np.random.default_rng(seed)
    ts = None
    if timestamps is not None and len(timestamps) == n_rows:
        ts = pd.to_datetime(timestamps, errors="coerce")
        if ts.isna().any() or ts.dt.normalize().nunique() < min(n_chunks, max_chunks):
            ts = None
    if ts is not None:
        order, chunking = np.argsort(ts.to_numpy(), kind="stable"), "time"
    else:
        order, chunking = rng.permutation(n_rows), "rows"
    chunks = [order[i * chunk_rows : (i + 1) * chunk_rows] for i in range(n_chunks)]
    if len(chunks) > max_chunks:
        keep = np.sort(rng.choice(len(chunks), size=max_chunks, replace=False))
        chunks = [chunks[i] for i in keep]
    return chunks, chunking


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the Mann–Whitney rank sum (ties averaged), NaN with one class."""
    from scipy.stats import rankdata  # lazy: keeps code-location load light

    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def chunk_metrics(
    y: np.ndarray, pred: np.ndarray, prob: np.ndarray | None, cbpe: CBPE | None
) -> dict[str, float]:
    """The band metrics of one chunk (``y``/``pred`` as 0/1 for negative/positive);
    NaN where a metric is undefined (no predicted or actual positives, one class)."""
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y == 0)))
    fn = float(np.sum((pred == 0) & (y == 1)))
    nan = float("nan")
    out = {
        "accuracy": float(np.mean(pred == y)),
        "precision": tp / (tp + fp) if tp + fp else nan,
        "recall": tp / (tp + fn) if tp + fn else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else nan,
        "roc_auc": nan,
        "estimated_accuracy": nan,
        "calibration_error": nan,
    }
    if prob is not None:
        ok = ~np.isnan(prob)
        if ok.any():
            out["roc_auc"] = _roc_auc(y[ok], prob[ok])
            out["calibration_error"] = expected_calibration_error(y[ok], prob[ok])
            if cbpe is not None and cbpe.fitted:
                c = cbpe.calibrate(prob[ok])
                out["estimated_accuracy"] = float(np.mean(np.where(pred[ok] == 1, c, 1.0 - c)))
    return out


@dataclass(frozen=True)
class Band:
    """One metric's values over validation chunks of ``chunk_rows`` rows."""

    metric: str
    chunk_rows: int
    chunking: str
    validation_rows: int
    values: tuple[float, ...]
    reason: str = ""

    @property
    def n_chunks(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.values)) if self.values else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if len(self.values) >= 2 else None

    def edges(self, cal: Calibration) -> dict[str, tuple[float, str]]:
        """``{"warn": (edge, rule text), "error": (edge, rule text)}`` under ``cal``
        (needs >= 2 chunks): below the mean, above it for :data:`UPPER_METRICS`."""
        if self.n_chunks < 2:
            raise ValueError(f"band of {self.metric} has {self.n_chunks} chunk(s): no edges")
        mean, std = self.mean, self.std
        assert mean is not None and std is not None
        sign, op = (1.0, "+") if self.metric in UPPER_METRICS else (-1.0, "−")
        factor = day_sigma_factor(self.n_chunks)
        where = (
            f"of {self.n_chunks} validation chunks of {self.chunk_rows:,} rows "
            f"(σ of one day: {factor:.3g} × the chunks' σ)"
        )
        note = ""
        if std == 0.0:
            std = 1.0 / self.chunk_rows
            note = f"; σ = 0 across chunks, taken as 1/{self.chunk_rows:,}"
        std *= factor
        if cal.rule == "sigma" or note:
            return {
                "warn": (mean + sign * cal.k * std, f"mean{op}{cal.k:g}σ {where}{note}"),
                "error": (
                    mean + sign * cal.k_error * std,
                    f"mean{op}{cal.k_error:g}σ {where}{note}",
                ),
            }
        if sign > 0:
            q, q_err = cal.quantile, cal.quantile_error
        else:
            q, q_err = 1.0 - cal.quantile, 1.0 - cal.quantile_error
        return {
            "warn": (float(np.quantile(self.values, q)), f"{q:.3g} quantile {where}"),
            "error": (float(np.quantile(self.values, q_err)), f"{q_err:.3g} quantile {where}"),
        }


def calibrate_bands(
    frame: pd.DataFrame,
    model: ModelConfig,
    version: str,
    chunk_rows: int,
    cbpe: CBPE | None,
    max_chunks: int,
) -> dict[str, Band]:
    """Every :data:`BAND_METRICS` band of ``version`` for chunks of ``chunk_rows`` rows,
    from its labelled validation ``frame`` (target, prediction and, if logged, probability)."""
    cols = model.columns
    neg, pos = model.classes
    y_raw, p_raw = frame[cols.target].to_numpy(), frame[cols.prediction].to_numpy()
    ok = np.isin(y_raw, [neg, pos]) & np.isin(p_raw, [neg, pos])
    frame = frame.loc[ok].reset_index(drop=True)
    y = (frame[cols.target].to_numpy() == pos).astype(int)
    pred = (frame[cols.prediction].to_numpy() == pos).astype(int)
    prob = None
    if cols.probability and cols.probability in frame:
        prob = pd.to_numeric(frame[cols.probability], errors="coerce").to_numpy(dtype=float)
        prob[(prob < 0) | (prob > 1)] = np.nan
    ts = frame[cols.timestamp] if cols.timestamp in frame else None
    chunks, chunking = chunk_indices(
        ts, len(frame), chunk_rows, max_chunks, _seed(model.name, version, chunk_rows)
    )
    values: dict[str, list[float]] = {m: [] for m in BAND_METRICS}
    for idx in chunks:
        got = chunk_metrics(y[idx], pred[idx], None if prob is None else prob[idx], cbpe)
        for m, v in got.items():
            if not math.isnan(v):
                values[m].append(v)
    reason = (
        ""
        if chunks
        else f"validation split of {len(frame):,} rows holds no chunk of {chunk_rows:,} rows"
    )
    return {
        m: Band(m, chunk_rows, chunking, len(frame), tuple(values[m]), reason) for m in BAND_METRICS
    }


# ----------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Threshold:
    """The lower limit a metric is judged against, and where it came from."""

    value: float | None
    mode: str  # calibrated | fixed
    source: str

    def metadata(self, prefix: str = "") -> dict[str, object]:
        out: dict[str, object] = {
            f"{prefix}threshold_mode": self.mode,
            f"{prefix}threshold_source": self.source,
        }
        if self.value is not None:
            out[f"{prefix}threshold"] = self.value
        return out


def band_threshold(
    model: ModelConfig,
    check: str,
    band: Band | None,
    level: str,
    fixed: Callable[[], Threshold],
) -> Threshold:
    """The ``level`` (``warn`` or ``error``) lower edge of ``band`` for ``check`` when the
    check's mode allows it, else ``fixed()`` with the reason a band did not apply."""
    thr = model.thresholds
    mode = thr.mode_for(check)
    if mode == "fixed":
        return fixed()
    cal = thr.calibration
    needed = cal.min_chunks if mode == "auto" else 2
    if band is None:
        why = "no band stored for this version and day size"
    elif band.n_chunks < needed:
        why = band.reason or (
            f"validation split of {band.validation_rows:,} rows gives {band.n_chunks} "
            f"chunk(s) of {band.chunk_rows:,} rows with {band.metric} defined, "
            f"< {'min_chunks ' if mode == 'auto' else ''}{needed}"
        )
    else:
        edge, text = band.edges(cal)[level]
        return Threshold(edge, "calibrated", text)
    base = fixed()
    return Threshold(base.value, "fixed", f"{base.source}; {mode} mode: {why}")


# ----------------------------------------------------------------------------- storage


class BandStore:
    """Bands of one model in ``performance_bands``: read once per (version, chunk size),
    calibrated and written when missing (or stored with another ``max_chunks``)."""

    def __init__(
        self,
        wh: Warehouse,
        model: ModelConfig,
        validation: Callable[[str], pd.DataFrame | None] | None = None,
        cbpe: Callable[[str], CBPE | None] | None = None,
    ):
        self.wh, self.model = wh, model
        self.validation, self.cbpe = validation, cbpe
        self._cache: dict[tuple[str, int], dict[str, Band]] = {}

    def _read(self, version: str, chunk_rows: int) -> dict[str, Band] | None:
        df = self.wh.query(
            f"SELECT * FROM {ident(PERFORMANCE_BANDS_TABLE.name)} "
            "WHERE model = ? AND model_version = ? AND chunk_rows = ?",
            [self.model.name, version, chunk_rows],
        )
        if (
            df.empty
            or int(df.max_chunks.iloc[0]) != self.model.thresholds.calibration.max_chunks
            or not set(BAND_METRICS) <= set(df.metric)
        ):
            return None  # none stored, other settings, or stored before a metric was added
        return {r.metric: _band_from_row(r) for r in df.itertuples(index=False)}

    def get(self, version: str, n_rows: int) -> dict[str, Band]:
        """The bands of ``version`` for a day of ``n_rows`` rows ({} below
        :data:`MIN_BAND_ROWS`); calibrated and stored now when not stored yet. Without a
        validation split the bands are empty, with the reason (not stored: a split
        attached later is used then)."""
        chunk_rows = size_bucket(n_rows)
        if chunk_rows == 0:
            return {}
        key = (version, chunk_rows)
        if key not in self._cache:
            bands = self._read(version, chunk_rows)
            if bands is None and self.validation is not None:
                frame = self.validation(version)
                if frame is None:
                    why = f"version {version} has no labelled validation split with predictions"
                    bands = {m: Band(m, chunk_rows, "none", 0, (), why) for m in BAND_METRICS}
                else:
                    cbpe = self.cbpe(version) if self.cbpe else None
                    bands = calibrate_bands(
                        frame,
                        self.model,
                        version,
                        chunk_rows,
                        cbpe,
                        self.model.thresholds.calibration.max_chunks,
                    )
                    self._write(version, chunk_rows, bands)
            self._cache[key] = bands or {}
        return self._cache[key]

    def _write(self, version: str, chunk_rows: int, bands: dict[str, Band]) -> None:
        stamp = pd.Timestamp.now(tz="UTC").tz_localize(None)
        rows = [
            {
                "model": self.model.name,
                "model_version": version,
                "chunk_rows": chunk_rows,
                "metric": b.metric,
                "chunking": b.chunking,
                "validation_rows": b.validation_rows,
                "n_chunks": b.n_chunks,
                "max_chunks": self.model.thresholds.calibration.max_chunks,
                "mean": b.mean,
                "std": b.std,
                "chunk_values": json.dumps(list(b.values)),
                "reason": b.reason,
                "computed_at": stamp,
            }
            for b in bands.values()
        ]
        self.wh.replace(
            PERFORMANCE_BANDS_TABLE.name,
            pd.DataFrame(rows, columns=list(PERFORMANCE_BANDS_TABLE.columns)),
            {"model": self.model.name, "model_version": version, "chunk_rows": chunk_rows},
        )

    def prefetch(self, versions: Iterable[str]) -> None:
        """Read every stored band of ``versions`` at once (the checks' single query)."""
        names = sorted(set(versions))
        if not names:
            return
        marks = ", ".join("?" for _ in names)
        df = self.wh.query(
            f"SELECT * FROM {ident(PERFORMANCE_BANDS_TABLE.name)} "
            f"WHERE model = ? AND model_version IN ({marks})",
            [self.model.name, *names],
        )
        max_chunks = self.model.thresholds.calibration.max_chunks
        for r in df.itertuples(index=False):
            if int(r.max_chunks) != max_chunks:
                continue
            self._cache.setdefault((r.model_version, int(r.chunk_rows)), {})[r.metric] = (
                _band_from_row(r)
            )
        for key in [k for k, b in self._cache.items() if not set(BAND_METRICS) <= set(b)]:
            del self._cache[key]  # stored before a metric was added: recalibrated by get()


def _band_from_row(r: object) -> Band:
    return Band(
        metric=str(r.metric),  # type: ignore[attr-defined]
        chunk_rows=int(r.chunk_rows),  # type: ignore[attr-defined]
        chunking=str(r.chunking),  # type: ignore[attr-defined]
        validation_rows=int(r.validation_rows),  # type: ignore[attr-defined]
        values=tuple(float(v) for v in json.loads(r.chunk_values)),  # type: ignore[attr-defined]
        reason=str(r.reason or ""),  # type: ignore[attr-defined]
    )

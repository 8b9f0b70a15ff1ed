"""Column and dataset drift from two profiles, matching Evidently 0.7.23.

Every rule here mirrors ``evidently.legacy.calculations`` (``data_drift.get_one_column_drift``,
``stattests.registry._get_default_stattest`` and the stattest modules):

- Missing values and +/-inf are dropped before any test; a side with no finite values
  is not computable (Evidently raises).
- Default method (``n_unique`` = distinct finite values of reference and current
  together; "reference rows" = the reference's finite values):

  ========================  ===================  ======================================
  reference rows            numerical            categorical
  ========================  ===================  ======================================
  <= 1000                   n_unique <= 2: z;    n_unique <= 2: z; else chisquare
                            3..5: chisquare;
                            > 5: ks
  > 1000                    n_unique <= 5:       jensenshannon
                            jensenshannon;
                            > 5: wasserstein
  ========================  ===================  ======================================

- p-value methods (ks, chisquare, z; default threshold 0.05): ks drifts when
  ``p <= threshold``, chisquare and z when ``p < threshold``.
- Distance methods (wasserstein, jensenshannon, psi, kl_div, hellinger; default 0.1)
  drift when ``score >= threshold``.
- jensenshannon/psi/kl_div bin numerical columns with numpy's Sturges edges over the
  combined data when the *reference* has more than 20 distinct values, else use each
  value's share; psi and kl_div replace empty bins by ``min(nonzero)/1e6`` (when that
  minimum is <= 1e-4) or 1e-4; jensenshannon uses natural logs and no replacement.
- wasserstein is divided by ``max(std(reference), 0.001)`` (population std).
- hellinger on numerical columns bins the *distinct* values with Sturges edges and
  sums ``sqrt(density_ref * density_cur) * bin_width``.

Exactness: when both profiles count values exactly, every score equals Evidently's up
to float rounding. When a side was rounded to ``k`` significant digits (see
:mod:`monitoring_assets.core.profile`), wasserstein carries a rigorous bound
``(sum|x-round(x)|_ref/n_ref + sum|x-round(x)|_cur/n_cur) / norm``; ks's statistic moves
by at most the largest rounded bucket's share; binned methods may move a value near a
bin edge into the neighbouring bin. Such results carry ``exact=False``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps
from scipy.spatial import distance

from monitoring_assets.core.profile import ColumnProfile, DatasetProfile

P_VALUE_METHODS = ("ks", "chisquare", "z")
DISTANCE_METHODS = ("wasserstein", "jensenshannon", "psi", "kl_div", "hellinger")
METHODS = P_VALUE_METHODS + DISTANCE_METHODS
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
    "kl_div": 0.1,
    "hellinger": 0.1,
}
# Methods Evidently accepts per column type (chisquare and z are registered for
# categoricals only; its default selection still applies them to numerical columns).
ALLOWED: dict[str, tuple[str, ...]] = {
    "numerical": ("ks", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"),
    "categorical": ("chisquare", "z", "jensenshannon", "psi", "kl_div", "hellinger"),
}
#: Where a fixed threshold comes from when nothing else is said.
EVIDENTLY_DEFAULT = "Evidently default"
#: The reason prefix of a result judged on too few rows: its checks pass, never alert.
INSUFFICIENT_DATA = "insufficient data"
SMALL_REFERENCE_ROWS = 1000
#: Below this many finite reference values a drift test is reported as not computable.
MIN_REFERENCE_ROWS = 30


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict for one column.

    ``computable`` is False (with ``reason``) when no test could run; then ``score`` is
    NaN and ``drifted`` False. ``error_bound`` bounds ``|score - exact score|`` when the
    score came from rounded values (0 when exact, NaN when no bound is known).

    ``threshold`` is in the method's own units (a p-value for ks/chisquare/z);
    ``threshold_error`` is the error level where one applies (calibrated prediction
    drift). ``threshold_mode`` is ``calibrated`` or ``fixed`` and ``threshold_source``
    says where the number came from ("mean+3σ of 120 reference chunks of 150 rows",
    "Evidently default", "fixed: reference too small to calibrate (…)").
    """

    column: str
    kind: str
    method: str | None
    threshold: float | None
    score: float
    drifted: bool
    computable: bool = True
    reason: str = ""
    exact: bool = True
    error_bound: float = 0.0
    reference_rows: int = 0
    current_rows: int = 0
    threshold_error: float | None = None
    threshold_mode: str = "fixed"
    threshold_source: str = EVIDENTLY_DEFAULT

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def insufficient(self) -> bool:
        """Not judged because the window had too few rows (a pass, never an alert)."""
        return not self.computable and self.reason.startswith(INSUFFICIENT_DATA)


@dataclass(frozen=True)
class DatasetDrift:
    """Share of drifted columns among the computable ones, against ``drift_share``."""

    columns: dict[str, ColumnDrift]
    drift_share: float
    n_columns: int
    n_drifted: int
    share_drifted: float
    dataset_drift: bool
    not_computable: tuple[str, ...]


def not_computable(
    col: str, kind: str, reason: str, method: str | None = None, threshold: float | None = None
) -> ColumnDrift:
    """The result of a column no test could run on, and why."""
    return ColumnDrift(
        col, kind, method, threshold, float("nan"), False, computable=False, reason=reason
    )


def is_drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's verdict: ks drifts at ``p <= threshold``, chisquare and z at
    ``p < threshold``, distances at ``score >= threshold``."""
    if method == "ks":
        return score <= threshold
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


def oriented(method: str, value: float) -> float:
    """``value`` (a score or threshold) on a scale where larger means more drift:
    p-values as ``-log10(p)`` (floored at 1e-300), distances as they are."""
    if method in P_VALUE_METHODS:
        return -math.log10(max(float(value), 1e-300))
    return float(value)


def from_oriented(method: str, value: float) -> float:
    """The inverse of :func:`oriented`: back to the method's own units."""
    if method in P_VALUE_METHODS:
        return float(10.0 ** (-value))
    return float(value)


def default_method(reference: ColumnProfile, current: ColumnProfile) -> str:
    """Evidently 0.7's default test for a column (see the module docstring)."""
    n_unique = _n_unique(reference, current)
    if reference.count <= SMALL_REFERENCE_ROWS:
        if reference.kind == "numerical":
            if n_unique <= 5:
                return "chisquare" if n_unique > 2 else "z"
            return "ks"
        return "chisquare" if n_unique > 2 else "z"
    if reference.kind == "numerical":
        return "jensenshannon" if n_unique <= 5 else "wasserstein"
    return "jensenshannon"


def _n_unique(reference: ColumnProfile, current: ColumnProfile) -> int:
    # Rounded profiles have more than EXACT_CAP (>> 5) distinct values, so the union of
    # their rounded values already decides every "<= 5" / "> 20" rule correctly.
    if reference.kind == "numerical":
        return len(np.union1d(reference.values, current.values))
    return len(set(reference.values.tolist()) | set(current.values.tolist()))


def column_drift(
    reference: ColumnProfile,
    current: ColumnProfile,
    method: str | None = None,
    threshold: float | None = None,
    min_reference_rows: int = MIN_REFERENCE_ROWS,
) -> ColumnDrift:
    """Drift of one column from its reference and current profiles.

    ``method``/``threshold`` override Evidently's default choice and the method's default
    threshold. Never raises for bad data: the result says why it is not computable.
    """
    col, kind = reference.name, reference.kind
    if method is not None and method not in METHODS:
        raise ValueError(f"column {col!r}: unknown drift method {method!r}; known: {METHODS}")
    if method is not None and method not in ALLOWED[kind]:
        raise ValueError(
            f"column {col!r}: method {method!r} does not apply to {kind} columns; "
            f"use one of {ALLOWED[kind]}"
        )
    if current.kind != kind:
        return not_computable(col, kind, f"current profile is {current.kind}, reference {kind}")
    for side, p in (("reference", reference), ("current", current)):
        if not p.present:
            return not_computable(col, kind, f"column missing from the {side} data")
        if p.error:
            return not_computable(col, kind, f"{side}: {p.error}")
    if reference.count == 0:
        return not_computable(col, kind, "reference has no finite, non-missing values")
    if current.count == 0:
        what = "no rows" if current.rows == 0 else "only missing or infinite values"
        return not_computable(col, kind, f"current data has {what}")
    if reference.count < min_reference_rows:
        return not_computable(
            col,
            kind,
            f"reference has {reference.count} finite values; at least {min_reference_rows} needed",
        )
    chosen = method or default_method(reference, current)
    thr = DEFAULT_THRESHOLDS[chosen] if threshold is None else float(threshold)
    score, bound = _SCORERS[chosen](reference, current)
    exact = reference.exact and current.exact
    drifted = is_drifted(chosen, score, thr)
    return ColumnDrift(
        col,
        kind,
        chosen,
        thr,
        float(score),
        bool(drifted),
        exact=exact,
        error_bound=0.0 if exact else bound,
        reference_rows=reference.count,
        current_rows=current.count,
        threshold_source=EVIDENTLY_DEFAULT if threshold is None else "configured",
    )


def dataset_drift(
    reference: DatasetProfile,
    current: DatasetProfile,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str | None] | None = None,
    thresholds: Mapping[str, float | None] | None = None,
    drift_share: float = 0.5,
    min_reference_rows: int = MIN_REFERENCE_ROWS,
) -> DatasetDrift:
    """Per-column drift and the dataset verdict (drifted share ``>= drift_share``).

    Columns that are not computable are left out of the share (Evidently would fail the
    whole report instead) and listed in ``not_computable``.
    """
    names = list(columns) if columns is not None else list(reference.columns)
    methods = methods or {}
    thresholds = thresholds or {}
    results: dict[str, ColumnDrift] = {}
    for name in names:
        if name not in reference.columns:
            raise KeyError(f"column {name!r} is not in the reference profile")
        ref = reference.columns[name]
        cur = current.columns.get(name)
        if cur is None:
            results[name] = not_computable(name, ref.kind, "column missing from the current data")
            continue
        results[name] = column_drift(
            ref, cur, methods.get(name), thresholds.get(name), min_reference_rows
        )
    return dataset_from_columns(results, drift_share)


def dataset_from_columns(results: Mapping[str, ColumnDrift], drift_share: float) -> DatasetDrift:
    """The dataset verdict over per-column results (not computable ones left out)."""
    results = dict(results)
    ok = [r for r in results.values() if r.computable]
    n_drifted = sum(r.drifted for r in ok)
    share = n_drifted / len(ok) if ok else float("nan")
    return DatasetDrift(
        columns=results,
        drift_share=drift_share,
        n_columns=len(ok),
        n_drifted=n_drifted,
        share_drifted=share,
        dataset_drift=bool(ok) and share >= drift_share,
        not_computable=tuple(n for n, r in results.items() if not r.computable),
    )


# --------------------------------------------------------------------------- methods


def _samples(p: ColumnProfile) -> np.ndarray:
    return np.repeat(p.values, p.counts)


def _max_bucket_share(p: ColumnProfile) -> float:
    return 0.0 if p.exact or p.count == 0 else float(p.counts.max()) / p.count


def _ks(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    # scipy's p-value depends on the exact/asymptotic mode it picks from the sample sizes,
    # so the samples are rebuilt from the counts (KS only runs for references <= 1000).
    p = sps.ks_2samp(_samples(ref), _samples(cur)).pvalue
    return float(p), _max_bucket_share(ref) + _max_bucket_share(cur)


def _aligned(ref: ColumnProfile, cur: ColumnProfile) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both sides over the sorted union of their values."""
    if ref.kind == "numerical":
        rv, cv = ref.values, cur.values
    else:
        rv, cv = ref.values.astype(str), cur.values.astype(str)
    keys = np.union1d(rv, cv)
    rc = np.zeros(len(keys), dtype=np.int64)
    cc = np.zeros(len(keys), dtype=np.int64)
    rc[np.searchsorted(keys, rv)] = ref.counts
    cc[np.searchsorted(keys, cv)] = cur.counts
    return rc, cc


def _chisquare(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    rc, cc = _aligned(ref, cur)
    k_norm = cur.count / ref.count
    f_exp = rc * k_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sps.chisquare(cc, f_exp)[1]
    return float(p), float("nan")


def _z(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    if len(ref.values) == 1 and len(cur.values) == 1 and str(ref.values[0]) == str(cur.values[0]):
        return 1.0, float("nan")
    rc, cc = _aligned(ref, cur)
    # Evidently codes the smallest key 0 and every other value 1, then compares shares.
    n1, n2 = ref.count, cur.count
    p1 = float(n1 - rc[0]) / n1
    p2 = float(n2 - cc[0]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - sps.norm.cdf(np.abs(z)))), float("nan")


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    norm = max(float(ref.std or 0.0), 0.001)
    w = sps.wasserstein_distance(ref.values, cur.values, ref.counts, cur.counts) / norm
    bound = (ref.abs_rounding_error / ref.count + cur.abs_rounding_error / cur.count) / norm
    return float(w), float(bound)


def sturges_edges(lo: float, hi: float, n: int, integer: bool) -> np.ndarray:
    """``np.histogram_bin_edges(x, "sturges")`` for data with min ``lo``, max ``hi``,
    size ``n`` and integer dtype or not, without the data."""
    first, last = (int(lo), int(hi)) if integer else (float(lo), float(hi))
    ptp = last - first
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = ptp / (np.log2(n) + 1.0)
    if width:
        if integer and width < 1:
            width = 1
        n_bins = int(np.ceil((last - first) / width))
    else:
        n_bins = 1
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=float)


def _clipped(p: ColumnProfile) -> np.ndarray:
    # Rounded values may step just outside the exact range; keep them in the outer bins.
    if p.exact or p.min is None or p.max is None:
        return p.values
    return np.clip(p.values, p.min, p.max)


def _binned(
    ref: ColumnProfile, cur: ColumnProfile, fill_zeroes: bool
) -> tuple[np.ndarray, np.ndarray]:
    if ref.kind == "numerical" and ref.n_unique > 20:
        integer = ref.integer and cur.integer
        edges = sturges_edges(
            min(ref.min, cur.min),  # type: ignore[type-var]
            max(ref.max, cur.max),  # type: ignore[type-var]
            ref.count + cur.count,
            integer,
        )
        rp = np.histogram(_clipped(ref), edges, weights=ref.counts)[0] / ref.count
        cp = np.histogram(_clipped(cur), edges, weights=cur.counts)[0] / cur.count
    else:
        rc, cc = _aligned(ref, cur)
        rp = rc / ref.count
        cp = cc / cur.count
    if fill_zeroes:
        rp, cp = _fill(rp), _fill(cp)
    return rp, cp


def _fill(p: np.ndarray) -> np.ndarray:
    p = p.astype(float).copy()
    nz = p[p != 0]
    smallest = nz.min()
    p[p == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return p


def _jensenshannon(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    rp, cp = _binned(ref, cur, fill_zeroes=False)
    return float(distance.jensenshannon(rp, cp)), float("nan")


def _psi(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    rp, cp = _binned(ref, cur, fill_zeroes=True)
    return float(np.sum((rp - cp) * np.log(rp / cp))), float("nan")


def _kl_div(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    rp, cp = _binned(ref, cur, fill_zeroes=True)
    return float(sps.entropy(rp, cp)), float("nan")


def _hellinger(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float]:
    if ref.kind == "categorical":
        rc, cc = _aligned(ref, cur)
        total = float(np.sum(np.sqrt((rc / ref.count) * (cc / cur.count))))
    else:
        keys = np.union1d(ref.values, cur.values)
        integer = ref.integer and cur.integer
        edges = sturges_edges(keys.min(), keys.max(), len(keys), integer)
        h1 = np.histogram(ref.values, edges, weights=ref.counts, density=True)[0]
        h2 = np.histogram(cur.values, edges, weights=cur.counts, density=True)[0]
        width = (edges.max() - edges.min()) / (len(edges) - 1)
        total = float(np.sum(np.sqrt(h1 * h2) * width))
    return math.sqrt(1 - float(np.clip(total, 0, 1))), float("nan")


_SCORERS = {
    "ks": _ks,
    "chisquare": _chisquare,
    "z": _z,
    "wasserstein": _wasserstein,
    "jensenshannon": _jensenshannon,
    "psi": _psi,
    "kl_div": _kl_div,
    "hellinger": _hellinger,
}

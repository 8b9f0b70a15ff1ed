"""Segment root cause: which segments explain a drift or a performance change.

For an alert on a drift of some columns or on a drop of accuracy, each segment gets the
**share of the total change attributable to it** (shares over a segment column's
segments sum to 1), and the alert lists the top ones as its ``causes``.

- Drift: per column, the traffic of the whole day is a histogram over common bins
  (categories, or deciles of the reference for numbers, plus a bin for missing values);
  the change D = Σ_s (c_s − r_s), where r_s, c_s are segment s's joint shares of the
  reference and the day (so both a change inside s and a change of s's traffic count).
  Segment s's share is ⟨c_s − r_s, D⟩ / ⟨D, D⟩, summed over the alert's columns before
  dividing (a column that moved a lot weighs more). It is the projection of the
  segment's part of the change on the total: exact additivity, no refit.
- Performance: the shift-share split of ΔA = A_day − A_ref:
  Σ_s w'_s (A'_s − A_s) + (w'_s − w_s)(A_s − A_ref), each term a segment's part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from monitoring_assets.core.profile import ColumnProfile, DatasetProfile
from monitoring_assets.core.root_cause.causes import TOP_CAUSES, Cause
from monitoring_assets.core.segments import split_key

_BINS = 10


@dataclass(frozen=True)
class SegmentCause:
    """One segment's part in a change: ``share`` of the total change attributable to it;
    ``traffic_share`` / ``reference_traffic_share`` its share of rows on the day and in
    the reference; ``change`` its own change (total-variation distance of its
    distribution for drift, accuracy difference for performance)."""

    segment: str
    share: float
    traffic_share: float
    reference_traffic_share: float
    change: float
    kind: str  # 'drift' | 'performance'

    def as_dict(self) -> dict:
        return {"kind": "segment", **asdict(self)}

    @property
    def text(self) -> str:
        return cause_text(self.as_dict())


def as_cause(stored: Mapping) -> Cause:
    """A stored segment cause (:meth:`SegmentCause.as_dict`) as a ranked :class:`Cause`:
    its share of the change is its score, on the same 0..1 scale as feature causes."""
    numbers = {k: stored.get(k) for k in ("change", "traffic_share", "reference_traffic_share")}
    numbers["change_kind"] = stored.get("kind")
    return Cause(
        "segment", str(stored["segment"]), float(stored["share"]), numbers, cause_text(stored)
    )


def cause_text(cause: dict) -> str:
    """One cause in words (from :meth:`SegmentCause.as_dict`, as alerts store it)."""
    what = "distribution change" if cause.get("kind") == "drift" else "accuracy change"
    return (
        f"{cause['segment']}: {cause['share']:.0%} of the change ({what} "
        f"{cause['change']:+.3f}, traffic {cause['reference_traffic_share']:.1%} → "
        f"{cause['traffic_share']:.1%})"
    )


def _edges(ref: Sequence[ColumnProfile]) -> np.ndarray | None:
    vals = np.concatenate([p.values for p in ref if len(p.values)]) if ref else np.empty(0)
    if not len(vals):
        return None
    cnts = np.concatenate([p.counts for p in ref if len(p.values)]).astype(float)
    order = np.argsort(vals)
    cdf = np.cumsum(cnts[order]) / cnts.sum()
    qs = np.searchsorted(cdf, np.linspace(0, 1, _BINS + 1)[1:-1])
    return np.unique(vals[order][np.minimum(qs, len(vals) - 1)])


def _hist(p: ColumnProfile | None, edges: np.ndarray | None, cats: list) -> np.ndarray:
    size = (len(edges) + 1 if edges is not None else len(cats)) + 1
    out = np.zeros(size)
    if p is None or not p.present:
        return out
    if p.kind == "numerical":
        if edges is not None and len(p.values):
            idx = np.searchsorted(edges, p.values, side="right")
            np.add.at(out, idx, p.counts.astype(float))
    else:
        pos = {c: i for i, c in enumerate(cats)}
        for v, n in zip(p.values.tolist(), p.counts.tolist()):
            out[pos[v]] += n
    out[-1] = p.rows - p.count  # missing, NaN and infinite values
    return out


def drift_causes(
    reference: Mapping[str, DatasetProfile],
    current: Mapping[str, DatasetProfile],
    columns: Sequence[str],
    top: int = TOP_CAUSES,
) -> list[SegmentCause]:
    """The ``top`` segments explaining most of the drift of ``columns``, ranked, from the
    segment profiles of the reference and of the judged day (keys ``country=DE``).
    Segment columns are ranked together; within each, shares sum to 1."""
    out: list[SegmentCause] = []
    for seg_col in sorted({split_key(k)[0] for k in reference}):
        keys = sorted(k for k in set(reference) | set(current) if split_key(k)[0] == seg_col)
        n_ref = sum(reference[k].rows for k in keys if k in reference)
        n_cur = sum(current[k].rows for k in keys if k in current)
        if not n_ref or not n_cur:
            continue
        num = dict.fromkeys(keys, 0.0)
        den = 0.0
        own = dict.fromkeys(keys, 0.0)
        for col in columns:
            refs = [
                reference[k].columns[col]
                for k in keys
                if k in reference and col in reference[k].columns
            ]
            curs = [
                current[k].columns[col] for k in keys if k in current and col in current[k].columns
            ]
            if not refs:
                continue
            numeric = refs[0].kind == "numerical"
            edges = _edges(refs) if numeric else None
            cats = (
                []
                if numeric
                else sorted({v for p in refs + curs for v in p.values.tolist()}, key=str)
            )
            diffs = {}
            for k in keys:
                r = _hist(reference[k].columns.get(col) if k in reference else None, edges, cats)
                c = _hist(current[k].columns.get(col) if k in current else None, edges, cats)
                diffs[k] = c / n_cur - r / n_ref
                if r.sum() and c.sum():
                    own[k] = max(own[k], 0.5 * float(np.abs(c / c.sum() - r / r.sum()).sum()))
            total = sum(diffs.values())
            den += float(total @ total)
            for k in keys:
                num[k] += float(diffs[k] @ total)
        if den <= 0:
            continue
        for k in keys:
            out.append(
                SegmentCause(
                    k,
                    num[k] / den,
                    current[k].rows / n_cur if k in current else 0.0,
                    reference[k].rows / n_ref if k in reference else 0.0,
                    own[k],
                    "drift",
                )
            )
    return sorted(out, key=lambda c: -c.share)[:top]


def performance_causes(
    reference: Mapping[str, tuple[int, float]],
    current: Mapping[str, tuple[int, float]],
    top: int = TOP_CAUSES,
) -> list[SegmentCause]:
    """The ``top`` segments explaining most of an accuracy change. Each mapping is
    segment -> (labelled rows, accuracy). Segment columns are ranked together."""
    out: list[SegmentCause] = []
    for seg_col in sorted({split_key(k)[0] for k in reference}):
        keys = sorted(k for k in set(reference) | set(current) if split_key(k)[0] == seg_col)
        n_ref = sum(reference[k][0] for k in keys if k in reference)
        n_cur = sum(current[k][0] for k in keys if k in current)
        if not n_ref or not n_cur:
            continue
        a_ref = sum(reference[k][0] * reference[k][1] for k in keys if k in reference) / n_ref
        a_cur = sum(current[k][0] * current[k][1] for k in keys if k in current) / n_cur
        delta = a_cur - a_ref
        if abs(delta) < 1e-12:
            continue
        for k in keys:
            w, a = (reference[k][0] / n_ref, reference[k][1]) if k in reference else (0.0, a_ref)
            w2, a2 = (current[k][0] / n_cur, current[k][1]) if k in current else (0.0, a)
            part = w2 * (a2 - a) + (w2 - w) * (a - a_ref)
            out.append(SegmentCause(k, part / delta, w2, w, a2 - a, "performance"))
    return sorted(out, key=lambda c: -c.share if math.isfinite(c.share) else 0)[:top]

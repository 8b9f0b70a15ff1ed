"""Ranked causes of an alert: which features (and, later, segments) most likely explain it.

A :class:`Cause` is one candidate explanation with a ``score`` on a common scale: the
share of the alert it explains (0..1, the causes of one alert sum to at most 1). Feature
causes (:func:`feature_causes`) split the alert between features in proportion to
``severity × weight``:

- ``severity``: the feature's drift in units of its own threshold, so methods compare:
  distances (wasserstein, psi, jensenshannon) as ``score / threshold``; p-value tests
  (ks, chisquare, z) as ``log10(p) / log10(threshold)`` (1 at the threshold, 2 at
  p = threshold², …; p is floored at 1e-300). A feature whose values are all null on the
  day (drift not computable) gets :data:`ALL_NULL_SEVERITY`.
- ``weight``: the model's reliance on the feature (its share of the summed permutation
  importance), mixed half-and-half with a uniform share, so a heavily drifted feature the
  model ignores still shows, ranked below one it relies on. Without importances (a model
  driftwarden cannot score) the weight is uniform and the text says so.

Segment causes (the share of a drop attributable to one segment) use the same ``score``
scale and slot into the same list (:func:`rank_causes`). Pure core (no Dagster import).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from monitoring_assets.core.drift import P_VALUE_METHODS

CauseKind = Literal["feature", "segment"]
#: Severity of a feature whose values are all null on the day (its drift cannot be
#: computed, yet it is the likeliest cause): ten times a threshold-level drift.
ALL_NULL_SEVERITY = 10.0
#: Smallest p-value the log scale distinguishes.
P_FLOOR = 1e-300
#: How many causes messages show.
TOP_CAUSES = 3


@dataclass(frozen=True)
class Cause:
    """One likely cause of an alert.

    ``kind``: ``feature`` or ``segment``; ``name``: the feature, or the segment as
    ``column=value``; ``score``: the share of the alert it explains (0..1, comparable
    across kinds); ``numbers``: the measurements behind the score (drift score,
    threshold, severity, importance, contribution shift, …; None when not known);
    ``text``: one line for people.
    """

    kind: CauseKind
    name: str
    score: float
    numbers: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Cause:
        kind = d.get("kind")
        if kind not in ("feature", "segment"):
            raise ValueError(f"cause kind must be 'feature' or 'segment', got {kind!r}")
        return cls(
            kind,
            str(d["name"]),
            float(d["score"]),
            dict(d.get("numbers") or {}),
            str(d.get("text") or ""),
        )


def severity(method: str | None, score: float | None, threshold: float | None) -> float | None:
    """A drift score in units of its threshold (1 = at the threshold, larger = more drift);
    None when there is no finite score or threshold."""
    if method is None or not _finite(score) or not _finite(threshold) or threshold <= 0:
        return None
    if method in P_VALUE_METHODS:
        if threshold >= 1:
            return None
        return math.log10(max(float(score), P_FLOOR)) / math.log10(threshold)
    return float(score) / float(threshold)


def feature_causes(
    drift: Iterable[Mapping[str, Any]],
    importance: Mapping[str, float] | None = None,
    contributions: Mapping[str, float | None] | None = None,
    contribution_method: str = "",
    null_share: Mapping[str, float] | None = None,
) -> list[Cause]:
    """Feature causes of one day's alert, best first.

    ``drift``: the day's per-feature drift rows (``drift_results`` columns:
    ``column_name``, ``method``, ``score``, ``threshold``, ``drifted``, ``computable``,
    ``reason``); ``importance``: permutation importance per feature (None: not known);
    ``contributions``: the shift in each feature's contribution to the prediction
    (``contribution_method`` says how it was measured); ``null_share``: the day's share
    of null values per feature (1.0 marks a feature all null).
    """
    rows = [dict(r) for r in drift]
    names = [str(r["column_name"]) for r in rows]
    if not rows:
        return []
    weights = reliance_weights(names, importance)
    contributions = contributions or {}
    null_share = null_share or {}
    raw: dict[str, float] = {}
    sev_of: dict[str, float | None] = {}
    for r in rows:
        name = str(r["column_name"])
        sev = severity(r.get("method"), r.get("score"), r.get("threshold"))
        if null_share.get(name, 0.0) >= 1.0:
            sev = max(sev or 0.0, ALL_NULL_SEVERITY)
        sev_of[name] = sev
        raw[name] = (sev or 0.0) * weights[name]
    total = sum(raw.values())
    out = []
    for r in rows:
        name = str(r["column_name"])
        share = raw[name] / total if total > 0 else 0.0
        numbers = {
            "drift_score": _num(r.get("score")),
            "method": r.get("method"),
            "threshold": _num(r.get("threshold")),
            "severity": _num(sev_of[name]),
            "drifted": bool(r.get("drifted")),
            "importance": _num((importance or {}).get(name)) if importance else None,
            "weight": weights[name],
            "contribution_shift": _num(contributions.get(name)),
            "contribution_method": contribution_method or None,
            "null_share": _num(null_share.get(name)),
        }
        out.append(Cause("feature", name, share, numbers, _feature_text(name, share, r, numbers)))
    return rank_causes(out)


def drift_causes(
    columns: Mapping[str, Any], features: Iterable[str], numbers: Mapping[str, Any] | None = None
) -> list[Cause]:
    """Feature causes from drift alone (no model reliance known, and the text says so):
    ``columns`` maps a column to its :class:`~monitoring_assets.core.drift.ColumnDrift`;
    only ``features`` count. ``numbers`` are added to every cause's numbers (the live
    window a stream finding judged, say)."""
    wanted = set(features)
    rows = [
        {
            "column_name": name,
            "method": c.method,
            "score": c.score,
            "threshold": c.threshold,
            "drifted": c.drifted,
            "computable": c.computable,
            "reason": c.reason,
        }
        for name, c in columns.items()
        if name in wanted
    ]
    causes = feature_causes(rows)
    if not numbers:
        return causes
    return [Cause(c.kind, c.name, c.score, {**c.numbers, **numbers}, c.text) for c in causes]


def reliance_weights(names: list[str], importance: Mapping[str, float] | None) -> dict[str, float]:
    """Each feature's weight: half uniform, half its share of the summed (non-negative)
    importance; uniform when ``importance`` is None or sums to zero."""
    n = len(names)
    if not n:
        return {}
    imp = {k: max(float(importance.get(k) or 0.0), 0.0) for k in names} if importance else {}
    total = sum(imp.values())
    if not imp or total <= 0:
        return {k: 1.0 / n for k in names}
    return {k: 0.5 / n + 0.5 * imp[k] / total for k in names}


def rank_causes(causes: Iterable[Cause]) -> list[Cause]:
    """Causes of any kind, highest score first (ties by kind, then name)."""
    return sorted(causes, key=lambda c: (-c.score, c.kind, c.name))


def cause_lines(causes: Iterable[Mapping[str, Any] | Cause], limit: int = TOP_CAUSES) -> list[str]:
    """Numbered one-line texts of the first ``limit`` causes."""
    out = []
    for i, c in enumerate(list(causes)[:limit], start=1):
        text = c.text if isinstance(c, Cause) else str(c.get("text") or c.get("name"))
        out.append(f"{i}. {text}")
    return out


def _feature_text(name: str, share: float, row: Mapping[str, Any], n: Mapping[str, Any]) -> str:
    parts = [f"{name} ({share:.0%})"]
    if n["null_share"] is not None and n["null_share"] >= 1.0:
        parts.append("all values null")
    elif n["severity"] is not None:
        parts.append(
            f"drift {n['method']} {_fmt(n['drift_score'])} = {n['severity']:.1f}× its "
            f"threshold {_fmt(n['threshold'])}"
        )
    else:
        parts.append(f"drift not computable ({row.get('reason') or 'no score'})")
    if n["importance"] is not None:
        parts.append(
            f"model reliance {n['weight']:.0%} (permutation importance {_fmt(n['importance'])})"
        )
    else:
        parts.append("no model reliance known: ranked by drift alone")
    if n["contribution_shift"] is not None:
        parts.append(
            f"contribution shift {n['contribution_shift']:+.3g} ({n['contribution_method']})"
        )
    return "; ".join(parts)


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _num(v: Any) -> float | None:
    return float(v) if _finite(v) else None


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3g}"

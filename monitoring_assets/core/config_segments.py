"""The model file's ``segments`` and ``segment_settings``: which slices of traffic are
monitored on their own.

``segments: [country, plan]`` names categorical columns; a numerical column needs stated
bins, ``{column: age, bins: [0, 30, 50]}`` (segments ``<0``, ``[0, 30)``, ``[30, 50)``,
``>=50``). Each column is segmented on its own (``country`` and ``plan``, not their
cross product). A segment column need not be a feature; it must be in the logs.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from monitoring_assets.core.config_fields import ColumnName, Strict


class Segment(Strict):
    """One segment column: categorical values, or numerical ``bins`` (increasing edges)."""

    column: ColumnName
    bins: list[float] | None = Field(
        None, description="numerical column: increasing bin edges (at least one)"
    )

    @field_validator("bins")
    @classmethod
    def _increasing(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("bins: give at least one edge, e.g. [0, 30, 50]")
        if not all(math.isfinite(b) for b in v):
            raise ValueError(f"bins: {v} must be finite numbers")
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"bins: {v} must be strictly increasing")
        return v

    @property
    def binned(self) -> bool:
        return self.bins is not None


class SegmentSettings(Strict):
    """How segments are monitored.

    The ``top_k`` values of a categorical segment column with the most reference rows are
    monitored one by one; the rest are pooled as ``other``. A segment-day with fewer than
    ``min_rows`` rows is judged on its window (it and the days before it, merged, at most
    ``max_days``) instead of on its own. ``validate`` refuses a categorical segment column
    with more than ``max_values`` distinct reference values (an identifier is not a
    segment). A segment's share of traffic is a mix shift when it moves by a factor of
    ``mix_shift_ratio`` or more and by ``mix_shift_z`` binomial standard errors or more.
    """

    top_k: int = Field(20, ge=1, le=200, description="segments monitored one by one per column")
    min_rows: int = Field(300, ge=1, description="fewer rows: judged over the trailing window")
    max_days: int = Field(28, ge=1, le=366, description="how far a small segment's window goes")
    max_values: int = Field(
        1000, ge=2, description="validate refuses a categorical segment with more values"
    )
    k: float = Field(
        4.0, gt=0, description="a segment's column drifts above exp(mean+k·σ) of log scores"
    )
    mix_shift_ratio: float = Field(1.5, gt=1.0, description="share change factor of a mix shift")
    mix_shift_z: float = Field(5.0, gt=0.0, description="and its size in standard errors")


def parse_segments(v: object) -> object:
    """``[country, {column: age, bins: [...]}]``: a bare name is a categorical column."""
    if isinstance(v, list):
        return [{"column": s} if isinstance(s, str) else s for s in v]
    return v


def check_segments(segments: list[Segment], model: object) -> None:
    """Refuse a column listed twice, the id/timestamp column, a numerical feature without
    bins and a categorical feature with bins (``model`` is the ModelConfig)."""
    seen: set[str] = set()
    kinds = {f.name.casefold(): f.type for f in getattr(model, "features", [])}
    cols = getattr(model, "columns", None)
    forbidden = {cols.id.casefold(): "id", cols.timestamp.casefold(): "timestamp"} if cols else {}
    for s in segments:
        key = s.column.casefold()
        if key in seen:
            raise ValueError(f"segments: column {s.column!r} is listed twice")
        seen.add(key)
        if key in forbidden:
            raise ValueError(
                f"segments: {s.column!r} is the {forbidden[key]} column; it cannot segment"
            )
        kind = kinds.get(key)
        if kind == "numerical" and not s.binned:
            raise ValueError(
                f"segments: {s.column!r} is a numerical feature; give its bins, e.g. "
                f"{{column: {s.column}, bins: [0, 30, 50]}}"
            )
        if kind == "categorical" and s.binned:
            raise ValueError(
                f"segments: {s.column!r} is a categorical feature; bins apply to "
                "numerical columns only"
            )

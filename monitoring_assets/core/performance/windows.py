"""Small labelled days are judged on a window of trailing days.

On 50–200 labelled rows a day's accuracy, F1, precision and recall (and the label-free
accuracy estimate) move by several points without anything having changed: the bands of
chunks that small are wide, and five metrics judged every day at ``mean − k·σ`` still
cross their edges now and then. A day with fewer than ``window.min_rows`` (model file
``thresholds.performance.window``, default 500) labelled (or estimated) rows is therefore
judged on the merge of itself and its trailing stored days of the same model version (days
whose labels are complete), newest first, until the window holds ``min_rows`` rows or
spans ``window.max_days`` (default 14) calendar days, against
the bands calibrated at the window's row count. Merging is exact for the metrics of a
confusion matrix (the stored ``tn/fp/fn/tp`` are summed) and for the estimate (a weighted
mean); ROC AUC is not mergeable and is judged only on days of at least ``min_rows`` rows. The calibration error and concept drift stay judgements of
the day (:mod:`.checks`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitoring_assets.core.config import PerformanceWindow
from monitoring_assets.core.performance.bands import BandStore
from monitoring_assets.core.performance.store import stored_rows
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import TableSpec


@dataclass(frozen=True)
class Window:
    """The stored days (partition keys, oldest first, ending at the judged day) a small
    day is judged on, and their row count."""

    days: tuple[str, ...]
    rows: int
    min_rows: int

    @property
    def label(self) -> str:
        return f"{self.days[0]}..{self.days[-1]}"

    def metadata(self) -> dict[str, Any]:
        return {"window": self.label, "window_days": len(self.days), "window_rows": self.rows}

    def describe(self, text: str, unit: str) -> str:
        return (
            f"window {self.label} ({len(self.days)} day(s), {self.rows:,} {unit} rows, "
            f"the day < {self.min_rows:,}): {text}"
        )


def window_range(keys: Sequence[str], settings: PerformanceWindow) -> list[str]:
    """``keys`` extended back by the trailing days a window of its first day may need."""
    if not keys:
        return []
    first = dt.date.fromisoformat(keys[0]) - dt.timedelta(days=settings.max_days - 1)
    return [first.isoformat(), *keys]


def _count(row: dict[str, Any], count: str) -> int:
    v = row.get(count)
    return 0 if v is None else int(v)


def small_day_window(
    rows: dict[str, dict[str, Any]],
    pk: str,
    count: str,
    usable=lambda r: True,
    enough=lambda n: True,
    *,
    settings: PerformanceWindow,
) -> Window | None:
    """The window of day ``pk`` from the stored ``rows`` by key (``count``: the row-count
    column), or None when the day holds at least ``settings.min_rows`` rows (judged
    alone). Trailing days of another model version, missing, or not ``usable`` are
    skipped. ``enough(n)``: whether the bands at ``n`` rows have enough validation chunks;
    the oldest days are dropped until they do (a small validation split holds few chunks
    of a window's size: their σ would be noise)."""
    need = settings.min_rows
    row = rows[pk]
    total = _count(row, count)
    if total >= need:
        return None
    day = dt.date.fromisoformat(pk)
    days = [pk]
    for back in range(1, settings.max_days):
        if total >= need:
            break
        key = (day - dt.timedelta(days=back)).isoformat()
        r = rows.get(key)
        if r is None or r.get("model_version") != row.get("model_version") or not usable(r):
            continue
        n = _count(r, count)
        if n:
            days.insert(0, key)
            total += n
    while len(days) > 1 and not enough(total):
        total -= _count(rows[days.pop(0)], count)
    return Window(tuple(days), total, need)


def merge_performance(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One ``model_performance`` row of the merged days (the last is the judged day, whose
    other fields are kept): summed confusion matrix and the metrics it gives; ROC AUC
    None (not mergeable)."""
    out = dict(rows[-1])
    tn, fp, fn, tp = (sum(_count(r, k) for r in rows) for k in ("tn", "fp", "fn", "tp"))
    n = tn + fp + fn + tp
    out.update(
        tn=tn,
        fp=fp,
        fn=fn,
        tp=tp,
        n_labeled=n,
        accuracy=(tp + tn) / n if n else None,
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        f1=2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else None,
        roc_auc=None,
    )
    return out


def merge_estimated(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One ``estimated_performance`` row of the merged days: the row-weighted mean
    estimate, its standard deviation assuming independent days."""
    out = dict(rows[-1])
    got = [r for r in rows if r.get("estimated_accuracy") is not None and _count(r, "n_estimated")]
    n = sum(_count(r, "n_estimated") for r in got)
    if not n:
        return out
    out["n_estimated"] = n
    out["estimated_accuracy"] = (
        sum(_count(r, "n_estimated") * r["estimated_accuracy"] for r in got) / n
    )
    stds = [r.get("estimated_accuracy_std") for r in got]
    out["estimated_accuracy_std"] = (
        math.sqrt(sum((_count(r, "n_estimated") * s) ** 2 for r, s in zip(got, stds))) / n
        if all(s is not None for s in stds)
        else None
    )
    return out


def calibrate_window_bands(
    wh: Warehouse,
    table: TableSpec,
    count: str,
    dates: Sequence[dt.date],
    bands: BandStore,
    metric: str,
    usable=lambda r: True,
) -> None:
    """Calibrate (once; :class:`BandStore`) the bands at the row counts the window of
    every small day of ``dates`` stored in ``table`` tries, so the checks find them."""
    keys = [d.isoformat() for d in sorted(dates)]
    settings = bands.model.thresholds.performance.window
    rows = stored_rows(wh, table, bands.model.name, window_range(keys, settings))
    for pk in keys:
        if pk in rows and usable(rows[pk]):
            enough = enough_chunks(bands, rows[pk]["model_version"], metric)
            small_day_window(rows, pk, count, usable, enough, settings=settings)


def enough_chunks(bands: BandStore, version: str, metric: str):
    """``enough(n)`` for :func:`small_day_window`: the ``metric`` band of ``version`` at
    ``n`` rows holds at least ``calibration.min_chunks`` chunks (read, or calibrated when
    ``bands`` can)."""
    need = bands.model.thresholds.calibration.min_chunks

    def enough(n: int) -> bool:
        band = bands.get(version, n).get(metric)
        return band is not None and band.n_chunks >= need

    return enough

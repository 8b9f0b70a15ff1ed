"""Sliding windows over the stream with incrementally maintained per-column aggregates.

A window keeps, per column, a counter of the values it holds (value -> count, missing
and non-finite values included under their own keys). Adding a micro-batch updates the
counters in one ``Counter.update`` per column (C speed, O(1) per event); events that
leave the window are subtracted the same way. Nothing is rescanned: evaluating the
window turns the counters into a :class:`~monitoring_assets.core.profile.DatasetProfile`
in O(distinct values), and the model's :class:`~monitoring_assets.core.monitor.DriftMonitor`
(the batch monitor's own object, fitted once on the reference) calculates its drift and
check outcomes, so a window and a batch partition holding the same events get the same
results and the same verdict.

Windows are *count-based* (the last ``size`` events) or *time-based* (events whose
timestamp is within ``seconds`` of the newest timestamp seen); events leave in arrival
order.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitoring_assets.core.checks import Verdict
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.drift import ColumnDrift, DatasetDrift
from monitoring_assets.core.monitor import DATA_DRIFT_CHECKS, DriftMonitor, DriftResult
from monitoring_assets.core.profile import (
    EXACT_CAP,
    SIG_DIGITS,
    ColumnProfile,
    DatasetProfile,
    Kind,
    round_sig,
)

_POS_INF, _NEG_INF = float("inf"), float("-inf")


class WindowSpec(BaseModel):
    """One sliding window: ``kind: count`` with ``size`` events, or ``kind: time`` with
    ``seconds`` of event time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["count", "time"] = "count"
    size: int | None = Field(None, ge=1)
    seconds: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> WindowSpec:
        if self.kind == "count" and self.size is None:
            raise ValueError("a count window needs 'size' (events)")
        if self.kind == "time" and self.seconds is None:
            raise ValueError("a time window needs 'seconds'")
        return self

    @property
    def name(self) -> str:
        return f"count_{self.size}" if self.kind == "count" else f"time_{self.seconds:g}s"


@dataclass
class _Block:
    columns: dict[str, list]
    ts: list[int]  # event time, epoch microseconds
    start: int = 0  # events before this index have left the window

    def __len__(self) -> int:
        return len(self.ts) - self.start


def _subtract(counter: Counter, values: list) -> None:
    for key, n in Counter(values).items():
        left = counter[key] - n
        if left:
            counter[key] = left
        else:
            del counter[key]


class SlidingWindow:
    """A sliding window over columns ``name -> kind`` (see the module docstring).

    ``dtypes`` gives the profile dtype of each column (as the batch profile would see
    it, e.g. ``DOUBLE``, ``VARCHAR``, ``BIGINT``; integer dtypes change histogram bins).
    """

    def __init__(
        self,
        spec: WindowSpec,
        columns: Mapping[str, Kind],
        dtypes: Mapping[str, str] | None = None,
    ):
        self.spec = spec
        self.columns = dict(columns)
        dtypes = dict(dtypes or {})
        self.dtypes = {
            c: dtypes.get(c, "DOUBLE" if k == "numerical" else "VARCHAR")
            for c, k in self.columns.items()
        }
        self.blocks: deque[_Block] = deque()
        self.counters: dict[str, Counter] = {c: Counter() for c in self.columns}
        self.rows = 0
        self.newest_us: int | None = None

    # ------------------------------------------------------------------ updates
    def add(self, columns: Mapping[str, list], ts: list[int]) -> None:
        """Add a micro-batch: ``columns`` name -> values (same length as ``ts``)."""
        n = len(ts)
        if n == 0:
            return
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise KeyError(f"window {self.spec.name}: batch lacks column(s) {missing}")
        block = _Block({c: list(columns[c]) for c in self.columns}, list(ts))
        for c, values in block.columns.items():
            if len(values) != n:
                raise ValueError(
                    f"window {self.spec.name}: column {c!r} has {len(values)} values, "
                    f"timestamps {n}"
                )
            self.counters[c].update(values)
        self.blocks.append(block)
        self.rows += n
        top = max(ts)
        self.newest_us = top if self.newest_us is None else max(self.newest_us, top)
        self._evict()

    def _evict(self) -> None:
        if self.spec.kind == "count":
            excess = self.rows - int(self.spec.size)  # type: ignore[arg-type]
            while excess > 0:
                head = self.blocks[0]
                k = min(excess, len(head))
                self._drop(head, k)
                excess -= k
            return
        cutoff = int(self.newest_us - self.spec.seconds * 1_000_000)  # type: ignore[operator]
        while self.blocks:
            head = self.blocks[0]
            ts, i, end = head.ts, head.start, len(head.ts)
            while i < end and ts[i] < cutoff:
                i += 1
            if i == head.start:
                return
            self._drop(head, i - head.start)

    def _drop(self, block: _Block, k: int) -> None:
        lo, hi = block.start, block.start + k
        for c, values in block.columns.items():
            _subtract(self.counters[c], values[lo:hi])
        block.start = hi
        self.rows -= k
        if len(block) == 0:
            self.blocks.popleft()

    # ------------------------------------------------------------------ state
    def events(self) -> tuple[dict[str, list], list[int]]:
        """The events in the window, oldest first (columns, timestamps)."""
        cols: dict[str, list] = {c: [] for c in self.columns}
        ts: list[int] = []
        for b in self.blocks:
            for c in self.columns:
                cols[c].extend(b.columns[c][b.start :])
            ts.extend(b.ts[b.start :])
        return cols, ts

    def load_events(
        self, columns: Mapping[str, list], ts: list[int], newest_us: int | None
    ) -> None:
        """Refill an empty window with events saved by :meth:`events` (a checkpoint):
        counters are derived, so they are recounted, not stored."""
        if self.rows:
            raise ValueError(f"window {self.spec.name}: load_events needs an empty window")
        if set(columns) != set(self.columns):
            raise ValueError(
                f"window {self.spec.name}: saved columns {sorted(columns)} are not the "
                f"window's {sorted(self.columns)}"
            )
        bad = [c for c, values in columns.items() if len(values) != len(ts)]
        if bad:
            raise ValueError(f"window {self.spec.name}: saved column(s) {bad} lack events")
        if ts:
            block = _Block({c: list(columns[c]) for c in self.columns}, list(ts))
            for c, values in block.columns.items():
                self.counters[c].update(values)
            self.blocks.append(block)
            self.rows = len(ts)
        self.newest_us = newest_us

    def __getstate__(self) -> dict:
        # For copies; checkpoints are JSON (monitoring_assets.streaming.checkpoint).
        cols, ts = self.events()
        return {
            "spec": self.spec.model_dump(),
            "columns": self.columns,
            "dtypes": self.dtypes,
            "events": (cols, ts),
            "newest_us": self.newest_us,
        }

    def __setstate__(self, state: dict) -> None:
        # Also how a version-1 (pickle) checkpoint is read by the one-off upgrade.
        self.__init__(WindowSpec(**state["spec"]), state["columns"], state["dtypes"])  # type: ignore[misc]
        cols, ts = state["events"]
        self.load_events(cols, ts, state["newest_us"])

    # ------------------------------------------------------------------ profile
    def profile(self, exact_cap: int = EXACT_CAP, sig_digits: int = SIG_DIGITS) -> DatasetProfile:
        """The window's :class:`DatasetProfile`, equal to ``profile_frame`` of its events
        (value counts are rounded to ``sig_digits`` when a numerical column holds more
        than ``exact_cap`` distinct values, as the batch profile does)."""
        cols = {
            c: _column_profile(
                c, k, self.dtypes[c], self.rows, self.counters[c], exact_cap, sig_digits
            )
            for c, k in self.columns.items()
        }
        return DatasetProfile(self.rows, cols, duplicate_ids=0)


def _column_profile(
    name: str,
    kind: Kind,
    dtype: str,
    rows: int,
    counter: Counter,
    exact_cap: int,
    sig_digits: int,
) -> ColumnProfile:
    if kind == "categorical":
        missing = counter.get(None, 0)
        keys = sorted(k for k in counter if k is not None)
        counts = np.fromiter((counter[k] for k in keys), dtype=np.int64, count=len(keys))
        return ColumnProfile(
            name,
            kind,
            dtype,
            rows,
            missing=missing,
            count=int(counts.sum()),
            values=np.asarray(keys, dtype=object),
            counts=counts,
        )
    missing = nan = pinf = ninf = 0
    keys: list[float] = []
    for k in counter:
        if k is None:
            missing += counter[k]
        elif k != k:
            nan += counter[k]
        elif k == _POS_INF:
            pinf += counter[k]
        elif k == _NEG_INF:
            ninf += counter[k]
        else:
            keys.append(k)
    keys.sort()
    values = np.asarray(keys, dtype=float)
    counts = np.fromiter((counter[k] for k in keys), dtype=np.int64, count=len(keys))
    count = int(counts.sum())
    prof = ColumnProfile(
        name,
        kind,
        dtype,
        rows,
        missing=missing + nan,
        nan=nan,
        pos_inf=pinf,
        neg_inf=ninf,
        count=count,
    )
    if count:
        mean = float(np.dot(values, counts) / count)
        prof.mean = mean
        prof.m2 = float(np.dot((values - mean) ** 2, counts))
        prof.min, prof.max = float(values[0]), float(values[-1])
    if len(values) > exact_cap:
        rounded = round_sig(values, sig_digits)
        prof.abs_rounding_error = float(np.dot(np.abs(values - rounded), counts))
        uniq, inv = np.unique(rounded, return_inverse=True)
        counts = np.bincount(inv, weights=counts, minlength=len(uniq)).astype(np.int64)
        values = uniq
        prof.sig_digits = sig_digits
    prof.values, prof.counts = values, counts
    return prof


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class WindowResult:
    """One evaluation of one window: the model's :class:`DriftMonitor` calculation over
    the window's profile, and its verdict (the batch ``data_drift`` checks' verdict)."""

    window: str
    rows: int
    newest_us: int | None
    result: DriftResult
    events_seen: int = 0
    realized: dict[str, float | None] | None = None  # of the last labelled events
    labelled: int = 0  # how many labelled events ``realized`` measures

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict(DATA_DRIFT_CHECKS)

    @property
    def drift(self) -> DatasetDrift:
        return self.result.dataset

    @property
    def prediction(self) -> ColumnDrift:
        return self.result.prediction

    @property
    def critical_drifted(self) -> tuple[str, ...]:
        return self.result.critical_drifted

    @property
    def drifted(self) -> list[str]:
        return self.result.drifted


def window_monitor(model: ModelConfig, reference: DatasetProfile) -> DriftMonitor:
    """The model's :class:`DriftMonitor` fitted once on ``reference``, judging the
    prediction column the windows track (``columns.prediction``)."""
    return DriftMonitor(model, prediction=model.columns.prediction).fit(
        reference, f"training {model.version}"
    )


def evaluate_window(
    monitor: DriftMonitor,
    window: SlidingWindow,
    events_seen: int = 0,
    realized: dict[str, float | None] | None = None,
    labelled: int = 0,
) -> WindowResult:
    """Evaluate ``window`` now (``realized``: the labelled window's metrics, reported beside)."""
    return WindowResult(
        window.spec.name,
        window.rows,
        window.newest_us,
        monitor.calculate(window.profile()),
        events_seen,
        realized,
        labelled,
    )


def window_columns(model: ModelConfig) -> tuple[dict[str, Kind], dict[str, str]]:
    """Columns a model's windows track (features and the prediction) and their dtypes.

    The prediction is a number: a class (``BIGINT``: its few values are compared as a
    class distribution, by a categorical method) or, for regression, the continuous
    prediction (``DOUBLE``: a numerical drift method)."""
    kinds: dict[str, Kind] = {f.name: f.type for f in model.features}
    kinds[model.columns.prediction] = "numerical"
    dtypes = {c: ("DOUBLE" if k == "numerical" else "VARCHAR") for c, k in kinds.items()}
    dtypes[model.columns.prediction] = "DOUBLE" if model.task == "regression" else "BIGINT"
    return kinds, dtypes


def build_windows(model: ModelConfig, specs: Sequence[WindowSpec]) -> list[SlidingWindow]:
    """One :class:`SlidingWindow` per spec over :func:`window_columns`."""
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"windows are declared twice: {dupes}")
    kinds, dtypes = window_columns(model)
    return [SlidingWindow(s, kinds, dtypes) for s in specs]

"""What a stream consumer remembers between checkpoints: counters, pending joins, windows.

Plain dataclasses shared by the processor (which updates them) and the checkpoint module
(which writes them as JSON), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitoring_assets.core.checks import Verdict
from monitoring_assets.streaming.windows import SlidingWindow

#: A raw message: (value, key, partition, offset).
Raw = tuple[bytes | None, bytes | None, int, int]


@dataclass
class Counters:
    """Running totals since the consumer group started (kept in the checkpoint)."""

    inputs: int = 0
    outputs: int = 0
    joined: int = 0
    labels: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    unmatched: int = 0
    other_model: int = 0
    evaluations: int = 0


@dataclass
class _Pending:
    ts_us: int
    values: list
    raw: Raw | None = None
    arrived: float = 0.0  # wall clock (epoch seconds) when consumed


@dataclass
class _PendingOut:
    pred: list | None
    target: int | None
    arrived: float  # wall clock (epoch seconds) when consumed
    raw: Raw | None = None


@dataclass
class ProcessorState:
    """What a checkpoint holds (written as JSON by :mod:`~monitoring_assets.streaming.checkpoint`)."""

    seq: int = 0
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    windows: list[SlidingWindow] = field(default_factory=list)
    pending_in: dict[str, _Pending] = field(default_factory=dict)
    pending_out: dict[str, _PendingOut] = field(default_factory=dict)
    watermark_us: int | None = None
    days: dict[str, dict[str, int]] = field(default_factory=dict)  # iso day -> rows/parts/...
    counters: Counters = field(default_factory=Counters)
    since_eval: int = 0
    # window -> its last verdict (the field keeps its old name: checkpoints store it)
    severity: dict[str, Verdict] = field(default_factory=dict)

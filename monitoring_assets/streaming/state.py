"""What a stream consumer remembers between checkpoints: counters, pending joins, windows.

Plain dataclasses shared by the processor (which updates them) and the checkpoint module
(which writes them as JSON), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from monitoring_assets.core.checks import Verdict
from monitoring_assets.streaming.windows import SlidingWindow

#: A raw message: (value, key, partition, offset).
Raw = tuple[bytes | None, bytes | None, int, int]


#: Counter names of older checkpoints -> today's.
_RENAMED = {
    "inputs": "input_messages",
    "outputs": "output_messages",
    "duplicates": "duplicate_messages",
}


@dataclass
class Counters:
    """Running totals since the consumer group started (kept in the checkpoint).

    An event is one request id: its input message plus its prediction message. Names
    ending in ``_messages`` (and ``dead_letters``) count Kafka messages; the others count
    events. A re-sent event is one ``duplicate_events`` and two ``duplicate_messages``.
    """

    input_messages: int = 0  # read from the inputs topic (valid or not)
    output_messages: int = 0  # read from the outputs topic (valid or not)
    joined: int = 0  # events joined and accepted (each once)
    labels: int = 0  # ground-truth labels accepted
    duplicate_events: int = 0  # events whose input message repeated a known request id
    duplicate_messages: int = 0  # every repeated message (inputs, predictions, labels)
    dead_letters: int = 0  # messages sent to the dead-letter topic
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)  # reason code -> messages
    unmatched: int = 0  # messages whose other half never came (also dead letters)
    other_model: int = 0  # messages for another model, skipped
    evaluations: int = 0

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Counters:
        """Counters from a checkpoint's JSON (older names are read under today's)."""
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for key, value in doc.items():
            key = _RENAMED.get(key, key)
            if key == "dead_letter_reasons":
                kw[key] = {str(k): int(v) for k, v in dict(value).items()}
            elif key in names:
                kw[key] = int(value)
        return cls(**kw)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name, f.default) for f in fields(self)}
        out["dead_letter_reasons"] = dict(getattr(self, "dead_letter_reasons", {}) or {})
        return out


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

"""The stream's message formats and their validation against the model file.

Two topics carry one inference, joined by request id:

- ``inference_inputs``: ``{"<id>": "...", "<timestamp>": "...", "<feature>": value, ...}``
  (column names from the model file's ``columns`` and ``features``; an optional
  ``"model"`` field names the model when several share the topics).
- ``inference_outputs``: ``{"<id>": "...", "<prediction>": 0|1, "<probability>": p,
  "<latency>": ms}``; ground truth travels here too, as ``"<target>": 0|1`` in the
  prediction's message or in a later message of its own (then with the prediction's
  ``"<timestamp>"`` so the label lands on the prediction's day). By task: a binary or
  multiclass prediction and target are one of the model's ``classes`` and a multiclass
  model sends one probability per class (``"<probability column>": p`` for each column
  of ``probability:``); a regression prediction and target are any finite number.

Timestamps are ISO-8601 strings (a zone suffix is converted to UTC) or epoch seconds.
Numerical features are JSON numbers or null; categorical features strings or null;
the prediction one of the model's ``classes``. Anything else is a :class:`Rejection`
with a reason, which the consumer sends to the dead-letter topic.

The format is documented for operators, with example messages, in docs/streaming.md.

Decoding is batched: a micro-batch of values is parsed with one ``orjson.loads`` call,
falling back to one call per message only when the batch holds a broken message.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from monitoring_assets.core.config import ModelConfig

#: Messages larger than this (bytes) are dead-lettered unread.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

#: Canonical NaN so the same object is counted (and evicted) in window counters.
NAN = float("nan")
_EPOCH = dt.datetime(1970, 1, 1)
_NUMBER = (int, float)


@dataclass(frozen=True)
class Rejection:
    """Why a message cannot be used: ``code`` is short and stable, ``detail`` human."""

    code: str  # oversized | not_json | not_object | missing_field | wrong_type | bad_value | ...
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


#: A valid message addressed to another model sharing the topics: skipped, not dead-lettered.
OTHER_MODEL = Rejection("other_model", "message names another model")


def decode_values(values: Sequence[bytes | None], max_bytes: int) -> list[Any]:
    """Parse every message value as JSON; unusable ones come back as a :class:`Rejection`."""
    out: list[Any] = [None] * len(values)
    good: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            out[i] = Rejection("not_json", "empty message (null value)")
        elif len(v) > max_bytes:
            out[i] = Rejection("oversized", f"{len(v)} bytes > max {max_bytes}")
        else:
            good.append(i)
    if not good:
        return out
    try:
        parsed = orjson.loads(b"[" + b",".join(values[i] for i in good) + b"]")  # type: ignore[misc]
        if len(parsed) != len(good):  # a value like '1,2' splits into two elements
            raise ValueError("element count mismatch")
        for i, obj in zip(good, parsed):
            out[i] = obj
    except (ValueError, UnicodeDecodeError):
        for i in good:
            try:
                out[i] = orjson.loads(values[i])  # type: ignore[arg-type]
            except (ValueError, UnicodeDecodeError) as exc:
                out[i] = Rejection("not_json", str(exc)[:200])
    return out


def parse_timestamp_us(value: Any) -> int | None:
    """Epoch microseconds (UTC) of an ISO-8601 string or epoch-seconds number; None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, _NUMBER):
        if not math.isfinite(value):
            return None
        return int(round(value * 1_000_000))
    if isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if t.tzinfo is not None:
            t = t.astimezone(dt.UTC).replace(tzinfo=None)
        return (t - _EPOCH) // dt.timedelta(microseconds=1)
    return None


def parse_timestamps_us(values: list[Any]) -> list[int | None]:
    """Vectorised :func:`parse_timestamp_us` for the common case (zone-less ISO strings)."""
    if values and all(type(v) is str for v in values):
        try:
            arr = np.array(values, dtype="datetime64[us]")
        except ValueError:
            pass
        else:
            if not np.isnat(arr).any():
                return arr.astype(np.int64).tolist()
    return [parse_timestamp_us(v) for v in values]


#: The tasks the stream monitors.
STREAM_TASKS = ("binary_classification", "multiclass", "regression")


class StreamUnsupported(ValueError):
    """The stream cannot monitor this model; the message names the model and why."""


def check_streamable(model: ModelConfig) -> None:
    """Raise :class:`StreamUnsupported` for a model the stream cannot monitor, before any
    message is read (the consumer and ``simulate --to-kafka`` call it at start)."""
    if model.task not in STREAM_TASKS:
        raise StreamUnsupported(
            f"model {model.name!r}: the stream monitors tasks {list(STREAM_TASKS)}, not "
            f"{model.task!r}; monitor it with the daily assets"
        )
    if model.task != "regression" and not model.classes:
        raise StreamUnsupported(f"model {model.name!r}: task {model.task} needs 'classes'")
    probs = model.probability_columns
    if model.task == "multiclass" and probs and set(probs) != set(model.classes or ()):
        raise StreamUnsupported(
            f"model {model.name!r}: 'probability' maps classes {sorted(probs)}, the model's "
            f"classes are {sorted(model.classes or ())}; map every class or none"
        )


def output_columns(model: ModelConfig) -> list[str]:
    """The values an output message contributes to an event, in order: the prediction,
    each class's probability (binary: the positive class's) and the latency."""
    c = model.columns
    probs = [model.probability_columns[k] for k in sorted(model.probability_columns)]
    return [c.prediction, *probs, *([c.latency] if c.latency else [])]


class MessageSchema:
    """Validation of input and output messages for one model (precomputed field lists)."""

    def __init__(self, model: ModelConfig):
        check_streamable(model)
        c = model.columns
        self.model = model
        self.id, self.ts = c.id, c.timestamp
        self.numerical = list(model.numerical)
        self.categorical = list(model.categorical)
        self.features = list(model.feature_names)
        self.prediction, self.latency = c.prediction, c.latency
        self.numbers = output_columns(model)[1:]  # probabilities and latency
        self.target = c.target
        self.regression = model.task == "regression"
        self.classes = set() if self.regression else set(model.classes or ())
        self.allow_extra = model.allow_extra_columns
        known_in = {self.id, self.ts, "model", *self.features}
        known_out = {self.id, self.ts, "model", self.prediction, self.target, *self.numbers}
        self.known_in, self.known_out = known_in, known_out

    def _outcome(self, name: str, v: Any) -> Rejection | int | float:
        """A prediction or target value: a class, or a finite number for regression."""
        if type(v) is bool or type(v) not in _NUMBER:
            return Rejection("wrong_type", f"{name!r} must be a number")
        if self.regression:
            if not math.isfinite(v):
                return Rejection("bad_value", f"{name!r}={v!r} is not a finite number")
            return float(v)
        if v not in self.classes or v != int(v):
            return Rejection("bad_value", f"{name!r}={v!r} is not one of {sorted(self.classes)}")
        return int(v)

    def _base(self, obj: Any, known: set[str]) -> Rejection | str:
        if not isinstance(obj, dict):
            return Rejection("not_object", f"expected a JSON object, got {type(obj).__name__}")
        rid = obj.get(self.id)
        if rid is None:
            return Rejection("missing_field", f"{self.id!r}")
        if not isinstance(rid, str | int) or isinstance(rid, bool) or rid == "":
            return Rejection("wrong_type", f"{self.id!r} must be a non-empty string")
        if not self.allow_extra and not obj.keys() <= known:
            return Rejection("unexpected_field", f"{sorted(obj.keys() - known)}")
        owner = obj.get("model")
        if owner is not None and owner != self.model.name:
            return OTHER_MODEL
        return str(rid)

    def input_row(self, obj: Any) -> tuple[str, Any, list[Any]] | Rejection:
        """``(request id, raw timestamp, feature values)`` of an input message."""
        rid = self._base(obj, self.known_in)
        if isinstance(rid, Rejection):
            return rid
        if self.ts not in obj:
            return Rejection("missing_field", f"{self.ts!r}")
        ts = obj[self.ts]
        if not isinstance(ts, str | int | float) or isinstance(ts, bool):
            return Rejection(
                "wrong_type", f"{self.ts!r} must be an ISO-8601 string or epoch seconds"
            )
        values: list[Any] = []
        for name in self.numerical:
            if name not in obj:
                return Rejection("missing_field", f"{name!r}")
            v = obj[name]
            t = type(v)
            if t is float:
                if v != v:
                    v = NAN
            elif t is int:
                v = float(v)
            elif v is not None:
                return Rejection(
                    "wrong_type", f"numerical feature {name!r} is {t.__name__}, expected a number"
                )
            values.append(v)
        for name in self.categorical:
            if name not in obj:
                return Rejection("missing_field", f"{name!r}")
            v = obj[name]
            if v is not None and type(v) is not str:
                return Rejection(
                    "wrong_type",
                    f"categorical feature {name!r} is {type(v).__name__}, expected a string",
                )
            values.append(v)
        return rid, ts, values

    def output_row(
        self, obj: Any
    ) -> tuple[str, list[Any] | None, int | float | None, Any] | Rejection:
        """``(request id, [prediction, *probabilities, latency] or None, target or None, raw
        timestamp or None)`` of an output message; it carries a prediction, a label, or both."""
        rid = self._base(obj, self.known_out)
        if isinstance(rid, Rejection):
            return rid
        has_pred = self.prediction in obj
        has_target = self.target in obj and obj[self.target] is not None
        if not has_pred and not has_target:
            return Rejection("missing_field", f"{self.prediction!r} (or {self.target!r})")
        pred_row = None
        if has_pred:
            p = self._outcome(self.prediction, obj[self.prediction])
            if isinstance(p, Rejection):
                return p
            pred_row = [p]
            for name in self.numbers:
                v = obj.get(name)
                if v is not None and (type(v) is bool or type(v) not in _NUMBER):
                    return Rejection("wrong_type", f"{name!r} must be a number")
                pred_row.append(NAN if v is None else float(v))
        target = None
        if has_target:
            t = self._outcome(self.target, obj[self.target])
            if isinstance(t, Rejection):
                return t if t.code == "bad_value" else Rejection("bad_value", t.detail)
            target = t
        ts = obj.get(self.ts)
        if ts is not None and (not isinstance(ts, str | int | float) or isinstance(ts, bool)):
            return Rejection(
                "wrong_type", f"{self.ts!r} must be an ISO-8601 string or epoch seconds"
            )
        return rid, pred_row, target, ts


def encode(obj: dict[str, Any]) -> bytes:
    """Compact JSON bytes of a message."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()

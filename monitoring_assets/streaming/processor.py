"""The stream's functional core: validate, join, de-duplicate, window, land, checkpoint.

:class:`StreamProcessor` knows nothing about Kafka: the consumer hands it micro-batches
of raw messages (value, key, partition, offset) from the inputs and outputs topics and
gets back the dead letters to publish; the benchmark feeds it the same way.

Durability (at-least-once in, exactly-once in effect): :meth:`StreamProcessor.checkpoint`
first lands the buffered events as Parquet parts named by the new checkpoint sequence,
then atomically replaces the checkpoint file (windows, pending joins, offsets, day
counts). Only then does the consumer commit the offsets. After a crash,
:meth:`StreamProcessor.restore` deletes parts newer than the checkpoint, reloads the
state and resumes from the checkpoint's offsets, and rebuilds the request-id index from
the landed parts, so replayed messages are neither lost nor counted twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.lake_io import Location
from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.streaming.checkpoint import read_checkpoint, write_checkpoint
from monitoring_assets.streaming.landing import (
    INFERENCE,
    LABELS,
    StreamLanding,
    day_of_us,
    read_location,
)
from monitoring_assets.streaming.messages import (
    NAN,
    OTHER_MODEL,
    MessageSchema,
    Rejection,
    decode_values,
    encode,
    output_columns,
    parse_timestamp_us,
    parse_timestamps_us,
)
from monitoring_assets.streaming.realized import LabelledWindow
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.state import (  # noqa: F401 (Raw is part of this module's API)
    Counters,
    ProcessorState,
    Raw,
    _Pending,
    _PendingOut,
)
from monitoring_assets.streaming.windows import (
    WindowResult,
    build_windows,
    evaluate_window,
)

log = logging.getLogger("driftwarden.stream")


@dataclass(frozen=True)
class DeadLetter:
    """A message the stream could not use, and why."""

    source_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str

    def payload(self, max_bytes: int) -> bytes:
        """The dead-letter message body: the reason, where it came from, and the original
        (as text when it is UTF-8, cut to ``max_bytes``)."""
        original: Any = None
        if self.value is not None:
            cut = self.value[:max_bytes]
            try:
                original = cut.decode()
            except UnicodeDecodeError:
                original = cut.hex()
        return encode(
            {
                "reason": self.reason,
                "topic": self.source_topic,
                "partition": self.partition,
                "offset": self.offset,
                "truncated": self.value is not None and len(self.value) > max_bytes,
                "value": original,
            }
        )


class StreamProcessor:
    """One model's stream: see the module docstring."""

    def __init__(
        self,
        model: ModelConfig,
        monitor: DriftMonitor,
        settings: StreamSettings,
        landing: StreamLanding | None = None,
        state_path: str | Path | None = None,
    ):
        self.model = model
        self.monitor = monitor
        self.settings = settings
        self.landing = landing
        self.state_path = (
            state_path if isinstance(state_path, Location) or not state_path else Path(state_path)
        )
        self.schema = MessageSchema(model)
        self.state = ProcessorState(windows=build_windows(model, settings.windows))
        self._seen: dict[dt.date, set[str]] = {}
        self._seen_all: set[str] = set()  # union of _seen (one lookup per message)
        self._labels_seen: dict[dt.date, set[str]] = {}
        self._buffer: dict[str, dict[dt.date, dict[str, list]]] = {INFERENCE: {}, LABELS: {}}
        self._buffered = 0
        self._last_eval = time.monotonic()
        self._next_expiry = 0.0
        c = model.columns
        self._in_cols = [*model.numerical, *model.categorical]
        self._out_cols = output_columns(model)
        self._window_cols = [*self._in_cols, c.prediction]
        self._max_bytes = settings.max_message_bytes
        size = settings.labelled_window_size
        self.labelled = LabelledWindow(model, size, awaiting=max(10 * size, 100_000))

    # ------------------------------------------------------------------ restore
    def restore(self) -> ProcessorState:
        """Load the checkpoint (if any), drop orphan parts, rebuild the id index."""
        if self.state_path is not None and (
            self.state_path.exists()
            if isinstance(self.state_path, Path)
            else read_location(self.state_path) is not None
        ):
            state = read_checkpoint(self.state_path, self.model.name)
            want = [s.name for s in self.settings.windows]
            have = [w.spec.name for w in state.windows]
            if want != have:
                log.warning("windows changed (%s -> %s): starting them empty", have, want)
                state.windows = build_windows(self.model, self.settings.windows)
            self.state = state
        if self.landing is not None:
            removed = self.landing.remove_after(self.state.seq)
            if removed:
                log.info(
                    "removed %d part(s) written after checkpoint %d", len(removed), self.state.seq
                )
            days = self._retained_days()
            self._seen = self.landing.ids(INFERENCE, days)
            self._seen_all = set().union(*self._seen.values())
            self._labels_seen = self.landing.ids(LABELS, days)
        return self.state

    def _retained_days(self) -> list[dt.date]:
        if self.state.watermark_us is None:
            return []
        last = day_of_us(self.state.watermark_us)
        return [last - dt.timedelta(days=i) for i in range(self.settings.dedup_days + 1)]

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        inputs: Sequence[Raw],
        outputs: Sequence[Raw],
        now: float | None = None,
    ) -> tuple[list[DeadLetter], list[WindowResult]]:
        """Process one micro-batch; return dead letters and any window evaluations due."""
        st = self.state
        dead: list[DeadLetter] = []
        joined: list[tuple[str, int, list, list]] = []
        labels: list[tuple[str, int, int]] = []
        topic_in, topic_out = self.settings.inputs_topic, self.settings.outputs_topic
        batch_ids: set[str] = set()  # joined in this batch (not yet in the id index)
        # Joins wait in wall-clock time: the two topics may be consumed far apart in event time.
        wall = time.time()

        # ---- inputs
        objs = decode_values([m[0] for m in inputs], self._max_bytes)
        rows: list[tuple[str, Any, list, Raw]] = []
        for raw, obj in zip(inputs, objs):
            r = obj if isinstance(obj, Rejection) else self.schema.input_row(obj)
            if isinstance(r, Rejection):
                if r is OTHER_MODEL:
                    st.counters.other_model += 1
                else:
                    dead.append(DeadLetter(topic_in, raw[2], raw[3], raw[1], raw[0], r.reason))
                continue
            rows.append((r[0], r[1], r[2], raw))
        stamps = parse_timestamps_us([r[1] for r in rows])
        st.counters.input_messages += len(inputs)
        pending_in, pending_out = st.pending_in, st.pending_out
        wm = st.watermark_us
        for (rid, ts_raw, values, raw), ts in zip(rows, stamps):
            if ts is None:
                dead.append(
                    DeadLetter(
                        topic_in,
                        raw[2],
                        raw[3],
                        raw[1],
                        raw[0],
                        f"bad_value: timestamp {ts_raw!r} is not ISO-8601 or epoch seconds",
                    )
                )
                continue
            if wm is None or ts > wm:
                wm = ts
            if rid in pending_in or rid in batch_ids or self._is_seen(rid):
                st.counters.duplicate_events += 1
                st.counters.duplicate_messages += 1
                continue
            out = pending_out.pop(rid, None)
            if out is None:
                pending_in[rid] = _Pending(ts, values, raw, wall)
                continue
            if out.pred is None:  # only a label had arrived
                pending_in[rid] = _Pending(ts, values, raw, wall)
                pending_out[rid] = out
                continue
            joined.append((rid, ts, values, out.pred))
            batch_ids.add(rid)
            if out.target is not None:
                labels.append((rid, ts, out.target))
        st.watermark_us = wm

        # ---- outputs
        objs = decode_values([m[0] for m in outputs], self._max_bytes)
        st.counters.output_messages += len(outputs)
        arrival = wall
        for raw, obj in zip(outputs, objs):
            r = obj if isinstance(obj, Rejection) else self.schema.output_row(obj)
            if isinstance(r, Rejection):
                if r is OTHER_MODEL:
                    st.counters.other_model += 1
                else:
                    dead.append(DeadLetter(topic_out, raw[2], raw[3], raw[1], raw[0], r.reason))
                continue
            rid, pred, target, ts_raw = r
            if pred is None:  # a label on its own
                day_us = self._label_time(rid, ts_raw)
                if day_us is None:
                    held = pending_out.get(rid)
                    if held is not None and held.target is None:
                        held.target = target
                    elif held is None:
                        pending_out[rid] = _PendingOut(None, target, arrival, raw)
                    else:
                        st.counters.duplicate_messages += 1
                    continue
                labels.append((rid, day_us, target))  # type: ignore[arg-type]
                continue
            if (
                (rid in pending_out and pending_out[rid].pred is not None)
                or rid in batch_ids
                or self._is_seen(rid)
            ):
                st.counters.duplicate_messages += 1
                continue
            held_label = pending_out.pop(rid, None)
            if held_label is not None and target is None:
                target = held_label.target
            inp = pending_in.pop(rid, None)
            if inp is None:
                pending_out[rid] = _PendingOut(pred, target, arrival, raw)
                continue
            joined.append((rid, inp.ts_us, inp.values, pred))
            batch_ids.add(rid)
            if target is not None:
                labels.append((rid, inp.ts_us, target))

        self._expire(dead, wall)
        results = self._accept(joined, now)
        self._accept_labels(labels)
        st.counters.dead_letters += len(dead)
        reasons = st.counters.dead_letter_reasons
        for d in dead:
            code = d.reason.split(":", 1)[0]
            reasons[code] = reasons.get(code, 0) + 1
        return dead, results

    def _is_seen(self, rid: str) -> bool:
        return rid in self._seen_all

    def _label_time(self, rid: str, ts_raw: Any) -> int | None:
        if ts_raw is not None:
            ts = parse_timestamp_us(ts_raw)
            if ts is not None:
                return ts
        inp = self.state.pending_in.get(rid)
        if inp is not None:
            return inp.ts_us
        for day, ids in self._seen.items():
            if rid in ids:
                return (day - dt.date(1970, 1, 1)).days * 86_400_000_000
        return None

    def _expire(self, dead: list[DeadLetter], wall: float) -> None:
        st = self.state
        if wall < self._next_expiry:  # a scan per second is plenty; keeps ingest O(batch)
            return
        self._next_expiry = wall + 1.0
        cutoff = wall - self.settings.join_timeout_seconds
        timeout = f"{self.settings.join_timeout_seconds:g}s"
        stale_in = [rid for rid, p in st.pending_in.items() if p.arrived < cutoff]
        for rid in stale_in:
            p = st.pending_in.pop(rid)
            raw = p.raw or (None, None, -1, -1)
            dead.append(
                DeadLetter(
                    self.settings.inputs_topic,
                    raw[2],
                    raw[3],
                    raw[1],
                    raw[0],
                    f"unmatched: no prediction for request {rid!r} within {timeout}",
                )
            )
        stale_out = [rid for rid, p in st.pending_out.items() if p.arrived < cutoff]
        for rid in stale_out:
            p = st.pending_out.pop(rid)
            raw = p.raw or (None, None, -1, -1)
            dead.append(
                DeadLetter(
                    self.settings.outputs_topic,
                    raw[2],
                    raw[3],
                    raw[1],
                    raw[0],
                    f"unmatched: no inputs for request {rid!r} within {timeout}",
                )
            )
        st.counters.unmatched += len(stale_in) + len(stale_out)

    # ------------------------------------------------------------------ joined events
    def _accept(
        self, joined: list[tuple[str, int, list, list]], now: float | None
    ) -> list[WindowResult]:
        st = self.state
        results: list[WindowResult] = []
        every = self.settings.evaluate_every_events
        i = 0
        while i < len(joined):
            # Split at evaluation boundaries so a verdict never depends on batch sizes.
            take = len(joined) - i if not every else min(len(joined) - i, every - st.since_eval)
            chunk = joined[i : i + take]
            i += take
            self._add(chunk)
            st.since_eval += take
            if every and st.since_eval >= every:
                results.extend(self.evaluate())
        t = time.monotonic() if now is None else now
        if (
            self.settings.evaluate_every_seconds
            and st.since_eval
            and t - self._last_eval >= self.settings.evaluate_every_seconds
        ):
            results.extend(self.evaluate(now=t))
        return results

    def _add(self, chunk: list[tuple[str, int, list, list]]) -> None:
        if not chunk:
            return
        st = self.state
        ids, ts, ins, outs = zip(*chunk)
        in_cols = list(zip(*ins))
        out_cols = list(zip(*outs))
        cols: dict[str, Any] = dict(zip(self._in_cols, in_cols))
        cols.update(zip(self._out_cols, out_cols))
        ts_list = list(ts)
        for w in st.windows:
            w.add(cols, ts_list)
        for rid, out in zip(ids, outs):
            self.labelled.predicted(rid, out)
        st.counters.joined += len(chunk)
        # Landing buffer and id index, per day.
        c = self.model.columns
        day_us = 86_400_000_000
        first = min(ts_list) // day_us
        if first == max(ts_list) // day_us:
            groups: dict[int, Any] = {first: range(len(ts_list))}
        else:
            groups = {}
            for j, t in enumerate(ts_list):
                groups.setdefault(t // day_us, []).append(j)
        for d, idx in groups.items():
            day = dt.date(1970, 1, 1) + dt.timedelta(days=d)
            buf = self._buffer[INFERENCE].setdefault(day, {})
            day_ids = _pick(ids, idx)
            buf.setdefault(c.id, []).extend(day_ids)
            buf.setdefault(c.timestamp, []).extend(_pick(ts_list, idx))
            for name, values in cols.items():
                buf.setdefault(name, []).extend(_pick(values, idx))
            self._seen.setdefault(day, set()).update(day_ids)
            self._seen_all.update(day_ids)
            info = st.days.setdefault(day.isoformat(), {"rows": 0, "parts": 0, "labels": 0})
            info["rows"] += len(day_ids)
        self._buffered += len(chunk)

    def _accept_labels(self, labels: list[tuple[str, int, int | float]]) -> None:
        if not labels:
            return
        c = self.model.columns
        arrived = self.state.watermark_us or 0
        for rid, ts, target in labels:
            day = day_of_us(ts)
            seen = self._labels_seen.setdefault(day, set())
            if rid in seen:
                self.state.counters.duplicate_messages += 1
                continue
            seen.add(rid)
            self.labelled.labelled(rid, target)
            buf = self._buffer[LABELS].setdefault(day, {})
            buf.setdefault(c.id, []).append(rid)
            buf.setdefault(c.target, []).append(target)
            buf.setdefault("label_timestamp", []).append(arrived)
            info = self.state.days.setdefault(day.isoformat(), {"rows": 0, "parts": 0, "labels": 0})
            info["labels"] += 1
            self.state.counters.labels += 1
            self._buffered += 1

    def tick(self, now: float | None = None) -> list[WindowResult]:
        """Evaluations due by wall time when no event arrived (``evaluate_every_seconds``)."""
        return self._accept([], now)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, now: float | None = None) -> list[WindowResult]:
        """Judge every window now: the model's fitted :class:`DriftMonitor` (the batch
        rules) over each non-empty window, with the realized metrics of the last labelled
        events beside (:mod:`.realized`)."""
        st = self.state
        st.since_eval = 0
        self._last_eval = time.monotonic() if now is None else now
        st.counters.evaluations += 1
        realized = self.labelled.metrics()
        out = []
        for w in st.windows:
            if w.rows == 0:
                continue
            out.append(
                evaluate_window(self.monitor, w, st.counters.joined, realized, self.labelled.rows)
            )
        return out

    # ------------------------------------------------------------------ checkpoint
    @property
    def buffered(self) -> int:
        """Events and labels accepted since the last checkpoint."""
        return self._buffered

    def checkpoint(self, offsets: dict[tuple[str, int], int]) -> int:
        """Land buffered events, then persist state with ``offsets`` (topic, partition ->
        next offset to read). Returns the new checkpoint sequence. Commit the offsets to
        the broker only after this returns."""
        st = self.state
        seq = st.seq + 1
        if self.landing is not None:
            for dataset, days in self._buffer.items():
                if days:
                    self.landing.write(dataset, seq, days)
                    for day in days:
                        info = st.days.setdefault(
                            day.isoformat(), {"rows": 0, "parts": 0, "labels": 0}
                        )
                        info["parts"] += 1
        self._buffer = {INFERENCE: {}, LABELS: {}}
        self._buffered = 0
        st.offsets.update(offsets)
        st.seq = seq
        self._forget_old_days()
        if self.state_path is not None:
            write_checkpoint(self.state_path, st, self.model.name)
        return seq

    def _forget_old_days(self) -> None:
        keep = set(self._retained_days())
        dropped = False
        for index in (self._seen, self._labels_seen):
            for day in [d for d in index if d not in keep]:
                del index[day]
                dropped = True
        if dropped:
            self._seen_all = set().union(*self._seen.values())

    def watermark_info(self, group: str) -> dict[str, Any]:
        """What the day sensor reads: the event-time watermark and per-day landed counts."""
        st = self.state
        wm = st.watermark_us
        return {
            "model": self.model.name,
            "group": group,
            "seq": st.seq,
            "watermark_us": wm,
            "watermark": None
            if wm is None
            else (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=wm)).isoformat(),
            "close_grace_seconds": self.settings.close_grace_seconds,
            "days": st.days,
            "pid": os.getpid(),
            "updated_at": time.time(),
        }


def tune_gc_for_streaming() -> None:
    """Make the cyclic garbage collector cheap for a long-running consumer.

    The consumer keeps hundreds of thousands of long-lived small objects (the request-id
    index, landing buffers, window blocks) and creates many short-lived tuples per
    micro-batch; with the default thresholds every few batches trigger a collection that
    rescans all of them (measured: more than half of the processing time). None of these
    objects form reference cycles, so: move what exists now out of the collector's view
    (``gc.freeze``) and collect the young generation less often. Memory is still freed
    by reference counting as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, 100_000), max(gen1, 50), max(gen2, 100))


def _pick(values: Sequence, idx: range | list[int]) -> list:
    if isinstance(idx, range):
        return list(values)
    return [values[j] for j in idx]


__all__ = ["NAN", "Counters", "DeadLetter", "ProcessorState", "Raw", "StreamProcessor"]

"""``driftwarden stream``: the Kafka consumer around :class:`StreamProcessor`.

One consumer process per model (its group id defaults to ``driftwarden-<model>``). The
loop consumes micro-batches from the inputs and outputs topics, hands them to the
processor, publishes dead letters, and checkpoints every ``commit_every_events`` events
or ``commit_every_seconds``: dead letters flushed, parts landed, state written, then
the offsets committed synchronously. On (re)assignment the consumer seeks to the
offsets in its checkpoint, so what the checkpoint holds is exactly what was consumed.
SIGTERM/SIGINT stop the loop: a last checkpoint and commit, then ``close()`` leaves
the group.

The log has one INFO line per window evaluation (its verdict) and a summary every
``log_every_seconds``: events per second, totals, dead letters by reason, and lag.
Offset lag from the broker's high-water marks is not computed (some Kafka-compatible
brokers report unreliable ones); the lag reported is event time (wall clock minus the
newest event's timestamp) and whether the last poll drained the topics.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.ports import version_key
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.references import REFERENCE_DATASET
from monitoring_assets.streaming.broker import check_reachable
from monitoring_assets.streaming.findings import FindingsSink
from monitoring_assets.streaming.health import HealthServer
from monitoring_assets.streaming.landing import StreamLanding
from monitoring_assets.streaming.messages import check_streamable
from monitoring_assets.streaming.processor import Raw, StreamProcessor, tune_gc_for_streaming
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import WindowResult, window_columns, window_monitor
from resources.lake import open_lake
from resources.warehouse import Warehouse

log = logging.getLogger("driftwarden.stream")


def reference_frame(model: ModelConfig, lake_root: str | Path | None) -> pd.DataFrame:
    """The model's reference data: the lake's ``reference`` partition for its version when
    the ``reference_data`` asset has written it, else the model's source."""
    if lake_root is not None:
        lake = open_lake(lake_root)
        key = version_key(model.version)
        if lake.has_partition(model.name, REFERENCE_DATASET, key):
            return lake.read_partition(model.name, REFERENCE_DATASET, key)
    from resources.sources import build_source

    return build_source(model).reference()


def reference_profile(model: ModelConfig, lake_root: str | Path | None) -> DatasetProfile:
    """The profile the windows are compared with (features and prediction)."""
    frame = reference_frame(model, lake_root)
    kinds, _ = window_columns(model)
    cols = [c for c in kinds if c in frame.columns]
    checked = frame[cols].copy()
    for f in model.numerical:
        checked[f] = pd.to_numeric(checked[f], errors="coerce").astype("float64")
    if model.columns.prediction in checked:
        outcome = "float64" if model.task == "regression" else "int64"
        checked[model.columns.prediction] = checked[model.columns.prediction].astype(outcome)
    return profile_frame(checked, {c: kinds[c] for c in cols})


def ensure_topics(
    bootstrap: str, topics: list[str], partitions: int = 1, timeout: float = 10.0
) -> None:
    """Create ``topics`` if they do not exist."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
    if not new:
        return
    for fut in admin.create_topics(new).values():
        try:
            fut.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


class StreamStartError(RuntimeError):
    """The consumer could not start (e.g. its health port is taken)."""


def verdict_line(r: WindowResult) -> str:
    """One evaluation as a log line."""
    dd = r.drift
    pred = f", prediction {r.prediction.score:.3g}" if r.prediction.computable else ""
    realized = ""
    if r.realized:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in r.realized.items() if v is not None)
        realized = f"; realized over the last {r.labelled} labelled events: {shown}"
    return (
        f"window {r.window}: {r.verdict}, {dd.n_drifted}/{dd.n_columns} features drifted "
        f"({', '.join(r.drifted) or 'none'}), drift share {dd.share_drifted:.2f}{pred}, "
        f"{r.rows} events{realized}"
    )


class StreamConsumer:
    """Runs one model's stream until :meth:`stop` (or SIGTERM)."""

    def __init__(
        self,
        model: ModelConfig,
        settings: StreamSettings,
        lake_root: str | Path,
        warehouse: Warehouse | None = None,
        reference: DatasetProfile | None = None,
        on_results: Callable[[list[WindowResult]], None] | None = None,
    ):
        check_streamable(model)  # before anything is read or connected
        self.model = model
        self.settings = settings
        self.group = settings.group_for(model.name)
        self.landing = StreamLanding(lake_root, model)
        state_path = self.landing.checkpoint_path(self.group)
        ref = reference if reference is not None else reference_profile(model, lake_root)
        self.processor = StreamProcessor(
            model, window_monitor(model, ref), settings, self.landing, state_path
        )
        self.sink = FindingsSink(
            model,
            warehouse,
            settings.alerts,
            settings.metrics,
            run_id=f"stream:{self.group}",
            deliver=settings.deliver_alerts,
        )
        self.on_results = on_results
        self._stop = threading.Event()
        self._state = "starting"
        self._last_poll: float | None = None
        self._positions: dict[tuple[str, int], int] = {}
        self._last_commit = time.monotonic()
        self._last_results: list[WindowResult] = []
        self._drained = False  # the last poll returned less than a full batch
        self._last_summary = time.monotonic()
        self._summary_counts = (0, 0)  # messages read, events joined at the last summary
        self._last_delivery = time.monotonic()
        self.health: HealthServer | None = None
        self.consumer: Consumer | None = None
        self.producer: Producer | None = None

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        st = self.processor.state
        return {
            "state": self._state,
            "model": self.model.name,
            "group": self.group,
            "last_poll": self._last_poll,
            "checkpoint": st.seq,
            "watermark_us": st.watermark_us,
            "counters": st.counters.as_dict(),
            "pending_joins": len(st.pending_in) + len(st.pending_out),
            "event_lag_seconds": self.event_lag_seconds(),
            "caught_up": self._drained,
            "windows": {
                r.window: {
                    "rows": r.rows,
                    "verdict": r.verdict,
                    "drift_share": r.drift.share_drifted,
                    "drifted": r.drifted,
                }
                for r in self._last_results
            },
        }

    def event_lag_seconds(self) -> float | None:
        """Wall clock minus the newest event's timestamp (None before the first event)."""
        wm = self.processor.state.watermark_us
        return None if wm is None else round(time.time() - wm / 1e6, 1)

    def summary(self) -> str:
        """The periodic progress line (rates since the previous summary)."""
        c = self.processor.state.counters
        now = time.monotonic()
        took = max(now - self._last_summary, 1e-9)
        messages = c.input_messages + c.output_messages
        rate = (c.joined - self._summary_counts[1]) / took
        msg_rate = (messages - self._summary_counts[0]) / took
        self._last_summary, self._summary_counts = now, (messages, c.joined)
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(c.dead_letter_reasons.items()))
        lag = self.event_lag_seconds()
        st = self.processor.state
        return (
            f"stream {self.model.name}: {rate:,.0f} events/s ({msg_rate:,.0f} messages/s) over "
            f"{took:.0f}s; {c.joined} events joined, {c.duplicate_events} duplicate events, "
            f"{c.dead_letters} dead letters ({reasons or 'none'}), "
            f"{len(st.pending_in) + len(st.pending_out)} awaiting their other half, "
            f"{c.evaluations} evaluations; lag: "
            + ("no event yet" if lag is None else f"newest event {_age(lag)} old")
            + (", topics drained" if self._drained else ", behind (full batches)")
        )

    def stop(self, *_: Any) -> None:
        """Ask the loop to finish (safe from a signal handler)."""
        self._stop.set()

    # ------------------------------------------------------------------ run
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        offsets = self.processor.state.offsets
        for p in partitions:
            stored = offsets.get((p.topic, p.partition))
            if stored is not None:
                p.offset = stored
        log.info("assigned %s", [(p.topic, p.partition, p.offset) for p in partitions])
        consumer.assign(partitions)

    def run(self, install_signals: bool = True) -> int:
        """Consume until stopped; returns 0 after a clean shutdown."""
        s = self.settings
        if install_signals:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        self.processor.restore()
        # One clear error (BrokerUnreachable) instead of librdkafka's retry log and a traceback.
        check_reachable(s.bootstrap_servers, s.connect_timeout_seconds)
        tune_gc_for_streaming()
        if s.health_port is not None:
            try:
                server = HealthServer(self.status, host=s.health_host, port=s.health_port)
            except OSError as exc:
                raise StreamStartError(
                    f"health endpoint: cannot listen on {s.health_host}:{s.health_port} "
                    f"({exc.strerror or exc}); pass --health-port with a free port (0: any)"
                ) from None
            self.health = server.start()
            log.info("health endpoint on http://%s:%d/health", s.health_host, self.health.port)
        ensure_topics(s.bootstrap_servers, [s.inputs_topic, s.outputs_topic, s.dead_letter_topic])
        conf: dict[str, Any] = {
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": self.group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": s.session_timeout_ms,
            "heartbeat.interval.ms": max(250, s.session_timeout_ms // 5),
            **s.consumer_config,
        }
        self.consumer = Consumer(conf)
        self.producer = Producer(
            {"bootstrap.servers": s.bootstrap_servers, "linger.ms": 5, **s.producer_config}
        )
        self.consumer.subscribe([s.inputs_topic, s.outputs_topic], on_assign=self._on_assign)
        self._state = "running"
        try:
            while not self._stop.is_set():
                self.step()
            self._state = "stopping"
            self.checkpoint(force=True)
        finally:
            self.consumer.close()  # leaves the group
            if self.health is not None:
                self.health.stop()
            self._state = "stopped"
        log.info("%s", self.summary())
        log.info("stream consumer stopped cleanly at checkpoint %d", self.processor.state.seq)
        return 0

    def step(self) -> None:
        """One consume / process / maybe-checkpoint round."""
        s = self.settings
        assert self.consumer is not None
        msgs = self.consumer.consume(s.batch_size, s.poll_timeout_seconds)
        self._last_poll = time.time()
        self._drained = len(msgs) < s.batch_size
        inputs: list[Raw] = []
        outputs: list[Raw] = []
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", err)
                continue
            topic, part, off = m.topic(), m.partition(), m.offset()
            (inputs if topic == s.inputs_topic else outputs).append((m.value(), m.key(), part, off))
            self._positions[(topic, part)] = off + 1
        if inputs or outputs:
            dead, results = self.processor.ingest(inputs, outputs)
            self._dead_letters(dead)
        else:
            results = self.processor.tick()  # time-based evaluation when idle
        if results:
            self._last_results = results
            for r in results:
                log.info("%s", verdict_line(r))
            self.sink.publish(results, self.processor.state.severity)
            if self.on_results is not None:
                self.on_results(results)
        self.checkpoint()
        now = time.monotonic()
        if s.log_every_seconds and now - self._last_summary >= s.log_every_seconds:
            log.info("%s", self.summary())
        if self.sink.delivery_pending and now - self._last_delivery >= s.deliver_retry_seconds:
            self._last_delivery = now
            self.sink.deliver_due()

    def _dead_letters(self, dead: list) -> None:
        assert self.producer is not None
        for d in dead:
            self.producer.produce(
                self.settings.dead_letter_topic,
                key=d.key,
                value=d.payload(self.settings.max_message_bytes),
                headers=[("reason", d.reason.encode()[:500])],
            )
        self.producer.poll(0)

    def checkpoint(self, force: bool = False) -> bool:
        """Make consumed work durable, then commit offsets; returns whether it ran."""
        s = self.settings
        due = (
            force
            or self.processor.buffered >= s.commit_every_events
            or time.monotonic() - self._last_commit >= s.commit_every_seconds
        )
        fresh = {
            k: v for k, v in self._positions.items() if self.processor.state.offsets.get(k) != v
        }
        if not due or not (fresh or self.processor.buffered):
            return False
        assert self.producer is not None and self.consumer is not None
        left = self.producer.flush(30)
        if left:
            raise RuntimeError(f"{left} dead letter(s) not acknowledged; not committing offsets")
        self.processor.checkpoint(dict(self._positions))
        self.landing.write_watermark(self.group, self.processor.watermark_info(self.group))
        if self._positions:
            tps = [TopicPartition(t, p, o) for (t, p), o in self._positions.items()]
            try:
                self.consumer.commit(offsets=tps, asynchronous=False)
            except KafkaException as exc:
                # The checkpoint already holds these offsets; a failed commit only means a
                # restart without the checkpoint would re-read (and de-duplicate) them.
                log.warning("offset commit failed (checkpoint is durable): %s", exc)
        self._last_commit = time.monotonic()
        return True

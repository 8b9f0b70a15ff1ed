"""The Prometheus exporter: a custom collector that reads the warehouse at each scrape.

Nothing is kept in the exporter but the last snapshot it read, so a restart loses
nothing and any number of runs (or processes) can feed one exporter through the
warehouse. When a scrape finds the warehouse locked by a writing run, the last good
snapshot is served and ``driftwarden_exporter_warehouse_up`` drops to 0, with
``driftwarden_exporter_snapshot_age_seconds`` telling how old the served numbers are.

Entry points: :func:`serve_metrics` (blocking), :func:`start_metrics_server`
(background, returns a handle), :func:`add_cli` (``driftwarden serve-metrics``) and
:func:`push_metrics` (Pushgateway, for the end of a run).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, push_to_gateway, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from monitoring_assets.core import metrics as m
from monitoring_assets.core.home import Home
from monitoring_assets.observability.snapshot import Snapshot, SnapshotUnavailable, read_snapshot
from resources.warehouse import DUCKDB_SCHEME, is_server

log = logging.getLogger(__name__)

SnapshotReader = Callable[[], Snapshot]


class WarehouseCollector(Collector):
    """Exposes the warehouse's latest monitoring numbers; see the module docstring.

    ``reader`` returns a fresh :class:`Snapshot` or raises :class:`SnapshotUnavailable`;
    it defaults to :func:`read_snapshot` over ``warehouse_path``. With a path, a scrape
    that finds the warehouse files unchanged since the last read (same size and
    modification time of the DuckDB file and its WAL) serves that read again without
    opening the database, for at most ``max_reuse_seconds``.
    """

    def __init__(
        self,
        warehouse_path: str | Path | None = None,
        *,
        lock_timeout: float = 0.5,
        reader: SnapshotReader | None = None,
        clock: Callable[[], float] = time.time,
        max_reuse_seconds: float = 60.0,
    ) -> None:
        # A DuckDB file can be fingerprinted (size, mtime) to skip unchanged re-reads;
        # a warehouse server (postgresql://) is read at every scrape.
        local = warehouse_path is not None and not is_server(warehouse_path)
        self._path = Path(str(warehouse_path).removeprefix(DUCKDB_SCHEME)) if local else None
        if reader is None:
            if warehouse_path is None:
                raise ValueError("WarehouseCollector needs warehouse_path or reader")
            location = warehouse_path

            def reader() -> Snapshot:
                return read_snapshot(location, lock_timeout=lock_timeout)

        self._reader = reader
        self._clock = clock
        self._max_reuse = max_reuse_seconds
        self._lock = threading.Lock()
        self._last_good: Snapshot | None = None
        self._fingerprint: tuple | None = None
        self._confirmed_at = 0.0
        self._read_errors = 0

    def snapshot(self) -> tuple[Snapshot | None, bool]:
        """A current snapshot, or the last good one when the warehouse cannot be read:
        ``(snapshot, fresh)``."""
        with self._lock:
            now = self._clock()
            fingerprint = _fingerprint(self._path) if self._path is not None else None
            if (
                fingerprint is not None
                and fingerprint == self._fingerprint
                and self._last_good is not None
                and now - self._last_good.read_at < self._max_reuse
            ):
                self._confirmed_at = now
                return self._last_good, True
            try:
                snap = self._reader()
            except SnapshotUnavailable as exc:
                self._read_errors += 1
                log.warning("serving the last good snapshot: %s", exc)
                return self._last_good, False
            self._last_good = snap
            self._fingerprint = fingerprint
            self._confirmed_at = snap.read_at
            return snap, True

    def collect(self) -> Iterator[Metric]:
        snap, fresh = self.snapshot()
        yield from self._exporter_metrics(snap, fresh)
        if snap is not None:
            yield from snapshot_metrics(snap)

    def _exporter_metrics(self, snap: Snapshot | None, fresh: bool) -> Iterator[Metric]:
        yield _gauge(m.EXPORTER_WAREHOUSE_UP, value=1.0 if fresh else 0.0)
        yield _counter(m.EXPORTER_READ_ERRORS, value=float(self._read_errors))
        if snap is None:
            return
        yield _gauge(m.EXPORTER_SNAPSHOT_AGE, value=max(0.0, self._clock() - self._confirmed_at))
        yield _gauge(m.EXPORTER_SNAPSHOT_TIMESTAMP, value=snap.read_at)
        yield _gauge(m.EXPORTER_READ_DURATION, value=snap.read_seconds)


def _gauge(family: m.MetricFamily, **kwargs) -> GaugeMetricFamily:
    """An empty (or, with ``value=``, unlabelled) gauge family as the catalogue declares it."""
    if "value" in kwargs:
        return GaugeMetricFamily(family.name, family.help, **kwargs)
    return GaugeMetricFamily(family.name, family.help, labels=family.labels, **kwargs)


def _counter(family: m.MetricFamily, **kwargs) -> CounterMetricFamily:
    if "value" in kwargs:
        return CounterMetricFamily(family.name, family.help, **kwargs)
    return CounterMetricFamily(family.name, family.help, labels=family.labels, **kwargs)


def _fingerprint(path: Path) -> tuple | None:
    """Size and modification time of the DuckDB file and its WAL; None if unreadable."""
    out: list[tuple[int, int] | None] = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
        except FileNotFoundError:
            out.append(None)
        except OSError:
            return None
        else:
            out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


def snapshot_metrics(snap: Snapshot) -> Iterator[Metric]:
    """The monitoring metric families of a snapshot (shared by the collector and the push)."""
    families: dict[str, GaugeMetricFamily] = {
        name: _gauge(family) for name, family in m.MONITOR_GAUGES.items()
    }
    generic_feature: dict[str, bool] = {}
    for s in snap.samples:
        if s.metric in m.MONITOR_GAUGES or not _generic_ok(s.metric):
            continue
        generic_feature[s.metric] = generic_feature.get(s.metric, False) or bool(s.feature)
    for name, per_feature in sorted(generic_feature.items()):
        # Undeclared names a monitor wrote are still served, with a generic help text.
        families[name] = GaugeMetricFamily(
            name,
            f"driftwarden monitor metric {name} (latest partition of monitor_metrics)",
            labels=m.FEATURE_LABELS if per_feature else m.MODEL_LABELS,
        )

    for s in snap.samples:
        family = families.get(s.metric)
        if family is None:
            continue
        spec = m.MONITOR_GAUGES.get(s.metric)
        # The third label (feature or window) comes from the row's feature column.
        detailed = spec.detail_label is not None if spec else generic_feature[s.metric]
        labels = [s.model, s.version, s.feature] if detailed else [s.model, s.version]
        family.add_metric(labels, s.value)
    yield from families.values()

    requests = _counter(m.INFERENCE_REQUESTS)
    for model, version, total in snap.requests:
        requests.add_metric([model, version], total if math.isfinite(total) else 0.0)
    yield requests

    duration = HistogramMetricFamily(
        m.INFERENCE_DURATION.name, m.INFERENCE_DURATION.help, labels=m.INFERENCE_DURATION.labels
    )
    for h in snap.histograms:
        duration.add_metric(
            [h.model, h.version],
            buckets=[(_le(le), count) for le, count in h.buckets],
            sum_value=h.sum_seconds,
        )
    yield duration

    last = _gauge(m.LAST_SUCCESS)
    for model, ts in snap.last_success:
        last.add_metric([model], ts)
    yield last

    latest = _gauge(m.LATEST_PARTITION)
    for model, ts in sorted(snap.latest_partition().items()):
        latest.add_metric([model], ts)
    yield latest

    stream_latest = _gauge(m.STREAM_LATEST_PARTITION)
    for model, ts in sorted(snap.stream_latest_partition().items()):
        stream_latest.add_metric([model], ts)
    yield stream_latest

    alerts = _gauge(m.OPEN_ALERTS)
    counts = {(model, tier): n for model, tier, n in snap.open_alerts}
    for model in snap.models:
        for tier in m.ALERT_TIERS:
            alerts.add_metric([model, tier], float(counts.get((model, tier), 0)))
    yield alerts


def _generic_ok(name: str) -> bool:
    """Whether a metric name a monitor wrote can be exposed as a gauge of its own."""
    return (
        bool(m.METRIC_NAME.match(name))
        and name not in m.RESERVED
        and not name.endswith(("_total", "_bucket", "_count", "_sum", "_created", "_info"))
    )


def _le(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


@dataclass
class MetricsServer:
    """A running exporter: ``url`` serves the exposition; :meth:`close` stops it."""

    server: WSGIServer
    thread: threading.Thread
    collector: WarehouseCollector
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def build_registry(collector: WarehouseCollector) -> CollectorRegistry:
    """A registry holding only ``collector`` (no process or platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def start_metrics_server(
    warehouse_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 9464,
    lock_timeout: float = 0.5,
    max_reuse_seconds: float = 60.0,
) -> MetricsServer:
    """Start the exporter in a background thread; ``port=0`` picks a free port.

    ``max_reuse_seconds=0`` reads the warehouse at every scrape even when unchanged.
    """
    collector = WarehouseCollector(
        warehouse_path, lock_timeout=lock_timeout, max_reuse_seconds=max_reuse_seconds
    )
    server, thread = start_http_server(port, addr=host, registry=build_registry(collector))
    bound = server.server_address[1]
    return MetricsServer(server, thread, collector, host, int(bound))


def serve_metrics(warehouse_path: str, host: str, port: int) -> None:
    """Serve the warehouse's metrics on ``http://host:port/metrics`` until interrupted."""
    running = start_metrics_server(warehouse_path, host, port)
    log.info("serving %s from %s", running.url, warehouse_path)
    print(f"driftwarden metrics on {running.url} (warehouse {warehouse_path})", flush=True)
    try:
        while running.thread.is_alive():
            running.thread.join(timeout=1.0)
    except KeyboardInterrupt:
        pass
    finally:
        running.close()


def push_metrics(
    warehouse_path: str | Path,
    gateway: str,
    job: str = "driftwarden",
    grouping_key: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Snapshot:
    """Push the warehouse's current metrics to a Pushgateway (e.g. at the end of a run).

    Replaces the group ``job`` (+ ``grouping_key``) on the gateway. Raises
    :class:`SnapshotUnavailable` if the warehouse cannot be read, ``OSError`` (from
    urllib) if the gateway does not accept the push.
    """
    snap = read_snapshot(warehouse_path, lock_timeout=30.0)
    registry = CollectorRegistry(auto_describe=False)

    class _Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            return snapshot_metrics(snap)

    registry.register(_Fixed())
    push_to_gateway(gateway, job=job, registry=registry, grouping_key=grouping_key, timeout=timeout)
    return snap


PUSHGATEWAY_ENV = "DRIFTWARDEN_PUSHGATEWAY"


def push_if_configured(
    warehouse_path: str | Path, environ: Mapping[str, str] | None = None
) -> bool:
    """End-of-run hook: push to the Pushgateway named by ``$DRIFTWARDEN_PUSHGATEWAY``
    (``host:port``), if set. A failed push is logged, never raised: monitoring
    output must not fail the run that produced it. Returns whether a push happened."""
    gateway = (os.environ if environ is None else environ).get(PUSHGATEWAY_ENV, "").strip()
    if not gateway:
        return False
    try:
        push_metrics(warehouse_path, gateway)
    except (OSError, SnapshotUnavailable) as exc:
        log.warning("push to Pushgateway %s failed: %s", gateway, exc)
        return False
    return True


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``serve-metrics`` to a ``driftwarden`` argparse CLI; returns its parser.

    The warehouse defaults to the home's (``$DRIFTWARDEN_WAREHOUSE``, else
    ``$DRIFTWARDEN_HOME/warehouse.duckdb``).
    """
    parser = subparsers.add_parser(
        "serve-metrics",
        help="serve Prometheus metrics read from the warehouse",
        description="HTTP Prometheus exporter: reads the latest monitoring numbers "
        "from the warehouse at every scrape.",
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        help="DuckDB warehouse file or postgresql:// URL (default: $DRIFTWARDEN_WAREHOUSE, "
        "else the home's DuckDB file)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9464, help="port to bind (default 9464)")
    parser.set_defaults(func=_serve_metrics_command)
    return parser


def _serve_metrics_command(args: argparse.Namespace) -> int:
    # The driftwarden command's global --home, else $DRIFTWARDEN_HOME; an explicit
    # --warehouse wins over both.
    path = args.warehouse or Home.from_env(root=getattr(args, "home", None)).warehouse_location
    serve_metrics(path, args.host, args.port)
    return 0

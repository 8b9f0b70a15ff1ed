"""Local stand-ins for Slack, PagerDuty and Alertmanager, an SMTP server, the real
Alertmanager binary, and a toy partitioned model graph with per-feature checks."""

import datetime as dt
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from monitoring_assets.core.config import ModelConfig
from resources.warehouse import Warehouse, open_warehouse
from tests.postgres import drop_schema, new_schema_name, require_postgres

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

SLACK_TOKEN = "xoxb-test-secret-token-123"
PD_KEY = "pd-routing-key-secret-456"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Fault:
    """How a fake service misbehaves on a request (see :meth:`FakeService.handle`).

    kinds: ``status`` (answer ``status`` with ``headers`` and raw ``body``), ``hang``
    (read the request, never answer), ``slow_body`` (headers, then the body one byte
    every ``seconds``), ``slow_headers`` (the status line and headers one byte every
    ``seconds``), ``reset`` (TCP reset), ``garbage`` (not HTTP at all),
    ``echo`` (answer ``status`` with the whole request as plain text).
    """

    kind: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.2


class FakeService:
    """A tiny HTTP server speaking one API shape; records requests, can be 'down', 429 or
    misbehave (:class:`Fault`)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.requests: list[dict[str, Any]] = []
        self.down = False  # answer 503
        self.rate_limit: list[float] = []  # pending 429s, each with its Retry-After
        self.faults: list[Fault] = []  # one per request, in order
        self.fault: Fault | None = None  # every request (after ``faults``)
        # Called after the request changed the service's state, before the answer goes out.
        self.before_answer: Any = None
        self.valid_tokens = {f"Bearer {SLACK_TOKEN}"}
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.incidents: dict[str, str] = {}  # PagerDuty dedup_key -> status
        self.incidents_opened = 0
        self.threads: dict[str, list[str]] = {}  # Slack ts -> replies
        self.am_alerts: dict[frozenset, dict] = {}  # Alertmanager: label set -> alert
        self._ts = 1700000000
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    service.handle(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up reading (a 10 MB answer, a deadline)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers=None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self.lock:
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError:
                body = raw.decode()
            record = {
                "path": h.path,
                "headers": dict(h.headers),
                "body": body,
                "raw": raw.decode(errors="replace"),
                "at": time.monotonic(),
            }
            self.requests.append(record)
            fault = self.faults.pop(0) if self.faults else self.fault
            if fault is not None:
                record["answer"] = fault.kind if fault.kind != "status" else fault.status
            elif self.down:
                record["answer"] = 503
                answer: tuple = (503, {"error": "unavailable"}, None)
            elif self.rate_limit:
                after = self.rate_limit.pop(0)
                record["answer"] = 429
                err = {"ok": False, "error": "ratelimited"}
                answer = (429, err, {"Retry-After": str(int(after))})
            else:
                answer = getattr(self, f"_{self.kind}")(h, body)
                record["answer"] = answer[0]
        if fault is not None:
            return self._misbehave(h, fault, raw)
        if self.before_answer is not None and 200 <= answer[0] < 300:
            self.before_answer(self, record)
        self._reply(h, *answer)

    def _misbehave(self, h: BaseHTTPRequestHandler, fault: Fault, raw: bytes) -> None:
        h.close_connection = True
        if fault.kind == "status":
            return self._reply(h, fault.status, fault.body, fault.headers)
        if fault.kind == "echo":
            text = f"{h.requestline}\n{h.headers}\n".encode() + raw
            return self._reply(h, fault.status, text, {"Content-Type": "text/plain"})
        if fault.kind == "hang":
            self.closing.wait(fault.seconds)
            return
        if fault.kind == "slow_body":
            body = fault.body or b"x" * 200
            h.send_response(fault.status)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            for i in range(len(body)):
                if self.closing.wait(fault.seconds):
                    return
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
            return
        if fault.kind == "slow_headers":
            # Every byte within the read timeout, the whole answer never: only a
            # deadline on the send as a whole ends this.
            head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 400
            for i in range(len(head)):
                if self.closing.wait(fault.seconds):
                    return
                h.wfile.write(head[i : i + 1])
                h.wfile.flush()
            return
        if fault.kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            return
        if fault.kind == "garbage":
            h.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            return
        raise ValueError(f"unknown fault {fault.kind!r}")

    def _slack(self, h: BaseHTTPRequestHandler, body: dict) -> tuple:
        if h.headers.get("Authorization") not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, None
        self._ts += 1
        ts = f"{self._ts}.000100"
        if body.get("thread_ts"):
            self.threads.setdefault(body["thread_ts"], []).append(body["text"])
        return 200, {"ok": True, "channel": "C1", "ts": ts}, None

    def _pagerduty(self, h: BaseHTTPRequestHandler, body: dict) -> tuple:
        key = body.get("dedup_key")
        if body.get("routing_key") != PD_KEY:
            return 400, {"status": "invalid event", "message": "Invalid routing key"}, None
        if body["event_action"] == "trigger":
            if self.incidents.get(key) != "triggered":
                self.incidents_opened += 1
            self.incidents[key] = "triggered"
        elif body["event_action"] == "resolve":
            self.incidents[key] = "resolved"
        return 202, {"status": "success", "dedup_key": key}, None

    def _alertmanager(self, h: BaseHTTPRequestHandler, body: list) -> tuple:
        # Like Alertmanager: an alert is identified by its label set; a repeat updates it.
        for alert in body:
            self.am_alerts[frozenset(alert["labels"].items())] = alert
        return 200, "", None

    def _webhook(self, h: BaseHTTPRequestHandler, body: dict) -> tuple:
        return 200, {"ok": True}, None

    def ok_bodies(self) -> list[Any]:
        return [r["body"] for r in self.requests if r.get("answer") in (200, 202)]


@pytest.fixture
def slack() -> Iterator[FakeService]:
    s = FakeService("slack")
    yield s
    s.close()


@pytest.fixture
def pagerduty() -> Iterator[FakeService]:
    s = FakeService("pagerduty")
    yield s
    s.close()


@pytest.fixture
def webhook() -> Iterator[FakeService]:
    s = FakeService("webhook")
    yield s
    s.close()


@pytest.fixture
def fake_alertmanager() -> Iterator[FakeService]:
    s = FakeService("alertmanager")
    yield s
    s.close()


class Mailbox:
    """aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        # Called with the message after it is kept, before the server answers 250.
        self.before_answer: Any = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append(msg)
        if self.before_answer is not None:
            self.before_answer(self, msg)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


AM_BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real Alertmanager on a 127.0.0.1 port (Debian package prometheus-alertmanager)."""
    if AM_BINARY is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI=true but the Alertmanager binary is missing (apt prometheus-alertmanager)"
            )
        pytest.skip("Alertmanager binary not installed (apt-get install prometheus-alertmanager)")
    d = tmp_path_factory.mktemp("alertmanager")
    cfg = d / "alertmanager.yml"
    cfg.write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            AM_BINARY,
            f"--config.file={cfg}",
            f"--storage.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(d / "stderr.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Alertmanager did not start: {(d / 'stderr.log').read_text()[-2000:]}")
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def am_alerts(url: str, active: bool = True) -> list[dict]:
    """Alerts Alertmanager currently holds (active or resolved-and-inactive)."""
    q = "active=true&silenced=false&inhibited=false" if active else "active=false"
    with urllib.request.urlopen(f"{url}/api/v2/alerts?{q}", timeout=5) as r:
        return [a for a in json.loads(r.read()) if a["labels"].get("source") == "driftwarden"]


# --------------------------------------------------------------------------- toy graph

FEATURES = ["f1", "f2", "f3", "f4", "f5", "f6", "f7"]
PARTS = dg.DailyPartitionsDefinition(start_date="2026-06-01", end_date="2026-07-01")


def toy_model(**alerting: Any) -> ModelConfig:
    """A model named 'toy' with seven features (a simulator source in the past)."""
    return ModelConfig.model_validate(
        {
            "name": "toy",
            "version": "v3",
            "features": [{"name": f, "type": "numerical"} for f in FEATURES],
            "alerting": {"owners": ["team-toy@example.com"], **alerting},
            "source": {
                "kind": "simulator",
                "scenario": {"start_date": "2026-06-01", "days": 30},
            },
        }
    )


class Toy:
    """Drives a toy [toy, data_drift] asset whose per-feature checks pass or fail on demand."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.failing: set[str] = set()
        self.severity = dg.AssetCheckSeverity.WARN
        toy = self

        @dg.asset(key=["toy", "inference_logs"], partitions_def=PARTS)
        def inference_logs(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            return dg.MaterializeResult(
                data_version=dg.DataVersion(f"rows-{context.partition_key}")
            )

        @dg.asset(
            key=["toy", "data_drift"],
            partitions_def=PARTS,
            deps=[inference_logs],
            check_specs=[
                dg.AssetCheckSpec(f"feature_not_drifted_{f}", asset=["toy", "data_drift"])
                for f in FEATURES
            ]
            + [dg.AssetCheckSpec("drift_share_below_threshold", asset=["toy", "data_drift"])],
        )
        def data_drift(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            pk = context.partition_key
            results = [
                dg.AssetCheckResult(
                    check_name=f"feature_not_drifted_{f}",
                    passed=f not in toy.failing,
                    severity=toy.severity,
                    metadata={"drift_score": 0.31 if f in toy.failing else 0.02, "threshold": 0.1},
                )
                for f in FEATURES
            ]
            share = len(toy.failing & set(FEATURES)) / len(FEATURES)
            results.append(
                dg.AssetCheckResult(
                    check_name="drift_share_below_threshold",
                    passed="share" not in toy.failing,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"drift_share": share, "drift_share_threshold": 0.5},
                )
            )
            return dg.MaterializeResult(
                metadata={"evidently_report": f"/reports/toy/{pk}.html"}, check_results=results
            )

        self.assets = [inference_logs, data_drift]

    def run(self, pk: str, failing: set[str] | None = None) -> None:
        """Materialize both assets for ``pk`` with ``failing`` checks failing."""
        self.failing = set(failing or ())
        res = dg.materialize(self.assets, instance=self.instance, partition_key=pk)
        assert res.success


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def toy(instance: dg.DagsterInstance) -> Toy:
    return Toy(instance)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "wh.duckdb")


class Clock:
    """A controllable UTC clock for ticks."""

    def __init__(self, start: dt.datetime):
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC))


@pytest.fixture(params=["duckdb", "postgres"])
def any_warehouse(request, tmp_path) -> Iterator:
    """A fresh warehouse on each backend: DuckDB, and Postgres in its own schema."""
    if request.param == "duckdb":
        yield Warehouse(tmp_path / "wh.duckdb")
        return
    schema = new_schema_name("dw_alerts")
    yield open_warehouse(f"{require_postgres()}?schema={schema}")
    drop_schema(schema)

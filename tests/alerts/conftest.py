"""Local stand-ins for Slack, PagerDuty and Alertmanager, an SMTP server, the real
Alertmanager binary, and a toy partitioned model graph with per-feature checks."""

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from monitoring_assets.core.config import ModelConfig
from resources.warehouse import Warehouse

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

SLACK_TOKEN = "xoxb-test-secret-token-123"
PD_KEY = "pd-routing-key-secret-456"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeService:
    """A tiny HTTP server speaking one API shape; records requests, can be 'down' or 429."""

    def __init__(self, kind: str):
        self.kind = kind
        self.requests: list[dict[str, Any]] = []
        self.down = False  # answer 503
        self.rate_limit: list[float] = []  # pending 429s, each with its Retry-After
        self.valid_tokens = {f"Bearer {SLACK_TOKEN}"}
        self.lock = threading.Lock()
        self.incidents: dict[str, str] = {}  # PagerDuty dedup_key -> status
        self.incidents_opened = 0
        self.threads: dict[str, list[str]] = {}  # Slack ts -> replies
        self._ts = 1700000000
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers=None) -> None:
        data = json.dumps(body).encode()
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
            if self.down:
                record["answer"] = 503
                return self._reply(h, 503, {"error": "unavailable"})
            if self.rate_limit:
                after = self.rate_limit.pop(0)
                record["answer"] = 429
                err = {"ok": False, "error": "ratelimited"}
                return self._reply(h, 429, err, {"Retry-After": str(int(after))})
            record["answer"] = 200
            getattr(self, f"_{self.kind}")(h, body)

    def _slack(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        if h.headers.get("Authorization") not in self.valid_tokens:
            return self._reply(h, 200, {"ok": False, "error": "invalid_auth"})
        self._ts += 1
        ts = f"{self._ts}.000100"
        if body.get("thread_ts"):
            self.threads.setdefault(body["thread_ts"], []).append(body["text"])
        return self._reply(h, 200, {"ok": True, "channel": "C1", "ts": ts})

    def _pagerduty(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        key = body.get("dedup_key")
        if body.get("routing_key") != PD_KEY:
            return self._reply(
                h, 400, {"status": "invalid event", "message": "Invalid routing key"}
            )
        if body["event_action"] == "trigger":
            if self.incidents.get(key) != "triggered":
                self.incidents_opened += 1
            self.incidents[key] = "triggered"
        elif body["event_action"] == "resolve":
            self.incidents[key] = "resolved"
        return self._reply(h, 202, {"status": "success", "dedup_key": key})

    def _alertmanager(self, h: BaseHTTPRequestHandler, body: list) -> None:
        return self._reply(h, 200, "")

    def _webhook(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        return self._reply(h, 200, {"ok": True})

    def ok_bodies(self) -> list[Any]:
        return [r["body"] for r in self.requests if r.get("answer") == 200]


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


class Mailbox:
    """aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
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
    deadline = time.monotonic() + 20
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

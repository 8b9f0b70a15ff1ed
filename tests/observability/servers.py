"""Start the real Prometheus, Alertmanager and Pushgateway on free 127.0.0.1 ports,
and a webhook receiver that records what Alertmanager sends."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


@dataclass
class Server:
    """A started binary: its URL, process and log file."""

    name: str
    url: str
    proc: subprocess.Popen
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start(name: str, argv: list[str], url: str, ready_path: str, workdir: Path) -> Server:
    """Run ``argv`` and wait until ``url + ready_path`` answers 200 (at most 120 s)."""
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=workdir)
    server = Server(name, url, proc, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{server.logs()}")
        try:
            http_get(url + ready_path, timeout=1)
            return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} not ready after 120 s:\n{server.logs()}")


@dataclass
class Webhook:
    """Records every POST body (JSON) by path: ``received['/pagerduty-critical']``."""

    server: ThreadingHTTPServer
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def alerts(self, path: str) -> list[dict[str, Any]]:
        return [a for body in self.received.get(path, []) for a in body.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_webhook() -> Webhook:
    hook: Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.setdefault(self.path, []).append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = Webhook(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return hook


def promql(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    """Instant query; raises AssertionError with Prometheus's message on an error."""
    return _api(prometheus_url, "query", {"query": expr})


def promql_range(prometheus_url: str, expr: str, seconds: int = 120) -> list[dict[str, Any]]:
    end = time.time()
    return _api(
        prometheus_url,
        "query_range",
        {"query": expr, "start": f"{end - seconds:.3f}", "end": f"{end:.3f}", "step": "1"},
    )


def _api(prometheus_url: str, endpoint: str, params: dict[str, str]) -> list[dict[str, Any]]:
    url = f"{prometheus_url}/api/v1/{endpoint}?{urllib.parse.urlencode(params)}"
    try:
        body = json.loads(http_get(url, timeout=10))
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{params['query']!r}: {exc.read().decode()}") from exc
    assert body["status"] == "success", f"{params['query']!r}: {body}"
    return body["data"]["result"]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5, diagnostics=None):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    extra = diagnostics() if diagnostics else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}\n{extra}")

"""A tiny HTTP health endpoint for the stream consumer.

``GET /health`` answers 200 with a JSON status while the consumer loop is alive and has
polled within ``stale_after`` seconds, 503 otherwise (starting, stopping, stuck).
``GET /status`` always answers 200 with the same JSON.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HealthServer:
    """Serves ``status()`` (a JSON-able dict with ``state`` and ``last_poll``) over HTTP."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
        stale_after: float = 30.0,
    ):
        self._status = status
        self.stale_after = stale_after
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path not in ("/health", "/status", "/"):
                    self.send_error(404, "try /health or /status")
                    return
                body = outer._status()
                ok = outer.healthy(body)
                body["healthy"] = ok
                code = 200 if ok or self.path == "/status" else 503
                data = json.dumps(body, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def healthy(self, status: dict[str, Any]) -> bool:
        last = status.get("last_poll")
        return (
            status.get("state") == "running"
            and last is not None
            and time.time() - float(last) <= self.stale_after
        )

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

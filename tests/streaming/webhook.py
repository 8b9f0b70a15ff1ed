"""A local HTTP receiver standing in for the webhook channel: records every POST."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Receiver:
    """``POST /hook`` bodies and ``Idempotency-Key`` headers, answered 200 after ``delay``."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.received.append(
                        {"key": self.headers.get("Idempotency-Key"), "body": json.loads(body)}
                    )
                time.sleep(outer.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> list[str]:
        with self.lock:
            return [r["key"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook_policy(path: Path, url: str) -> Path:
    """An alert policy that sends every tier to the webhook at ``url`` only."""
    path.write_text(
        f"""\
tiers:
  critical: {{channels: [webhook]}}
  warning: {{channels: [webhook]}}
  info: {{channels: [webhook]}}
freshness: {{enabled: false}}
channels:
  webhook: {{url: "{url}/hook"}}
"""
    )
    return path

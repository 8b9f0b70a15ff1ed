"""A real S3 HTTP API on 127.0.0.1 for the object-storage tests: moto's server mode.

``moto_s3`` starts a :class:`moto.server.ThreadedMotoServer` on a free port for the test
module's worker; ``s3_env`` points the standard AWS variables at it for one test and
creates a fresh bucket, so tests running side by side (xdist) never share a bucket.
``auth_moto`` is a server in a subprocess that checks credentials (moto's
``INITIAL_NO_AUTH_ACTION_COUNT`` is process-wide, so it cannot be turned on in-process).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"


@dataclass
class S3:
    endpoint: str
    bucket: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/lake"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def keys(self, prefix: str = "") -> list[str]:
        out: list[str] = []
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(out)


def s3_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on a free port of 127.0.0.1."""
    from tests.conftest import require_module

    server_mod = require_module("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_s3, monkeypatch) -> S3:
    """The AWS variables pointed at ``moto_s3`` and a fresh bucket."""
    env = s3_environment(moto_s3)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    s3 = S3(moto_s3, f"dw-{uuid.uuid4().hex[:12]}", env)
    s3.client().create_bucket(
        Bucket=s3.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return s3


MOTO_WITH_AUTH = """
import sys, time
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


@pytest.fixture
def auth_moto() -> Iterator[str]:
    """A moto S3 server (own process) that authenticates every request after the first
    one (which creates bucket ``auth-bucket``); yields its endpoint."""
    from tests.conftest import require_module

    require_module("moto.server")
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", MOTO_WITH_AUTH],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        endpoint = f"http://127.0.0.1:{port}"
        S3(endpoint, "auth-bucket", {}).client().create_bucket(
            Bucket="auth-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield endpoint
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

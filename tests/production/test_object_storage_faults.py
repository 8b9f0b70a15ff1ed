"""Bad object stores and killed writes, against a real S3 HTTP API (moto on 127.0.0.1):
an unreachable endpoint, refused credentials and a missing bucket fail with the lake's URL
(no credentials) and write nothing; a writer killed while uploading a partition leaves
the previous partition in place and nothing new visible."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from monitoring_assets.core.home import Home
from monitoring_assets.history import materialize_history
from resources.lake import open_lake
from resources.lake_fs import LakeError
from tests.production.conftest import free_port
from tests.production.s3 import ACCESS_KEY, REGION, S3, SECRET_KEY, s3_environment

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 3, 1)


def assert_clean(message: str) -> None:
    assert SECRET_KEY not in message
    assert SECRET_KEY[:8] not in message
    assert ACCESS_KEY not in message


def test_unreachable_endpoint_names_the_url(monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for key, value in s3_environment(endpoint).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(LakeError) as err:
        open_lake("s3://some-bucket/lake")
    message = str(err.value)
    assert "s3://some-bucket/lake" in message
    assert endpoint in message
    assert_clean(message)


def test_refused_credentials_name_the_url(auth_moto, monkeypatch):
    for key, value in s3_environment(auth_moto).items():
        monkeypatch.setenv(key, value)  # a key the server does not know
    with pytest.raises(LakeError) as err:
        open_lake("s3://auth-bucket/lake")
    message = str(err.value)
    assert "s3://auth-bucket/lake" in message
    assert "403" in message or "denied" in message.lower() or "InvalidAccessKeyId" in message
    assert_clean(message)
    # nothing was written: the bucket is as the server's setup left it (checked without
    # credentials' help: the listing itself is refused, so ask the server's own state)
    import boto3
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        boto3.client(
            "s3",
            endpoint_url=auth_moto,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).put_object(Bucket="auth-bucket", Key="x", Body=b"x")


def test_missing_bucket_names_it(s3_env):
    with pytest.raises(LakeError) as err:
        open_lake("s3://no-such-bucket-dw/lake")
    message = str(err.value)
    assert "s3://no-such-bucket-dw/lake" in message
    assert "'no-such-bucket-dw' does not exist" in message
    assert_clean(message)
    names = [b["Name"] for b in s3_env.client().list_buckets()["Buckets"]]
    assert "no-such-bucket-dw" not in names  # never created


def test_a_run_on_a_missing_bucket_fails_clearly_and_writes_nothing(
    tmp_path, small_project, s3_env
):
    from monitoring_assets.definitions import build_definitions

    home = Home(tmp_path / "h", lake_url="s3://no-such-bucket-dw/lake")
    defs = build_definitions(small_project, home)
    with dg.instance_for_test() as instance:
        result = materialize_history(defs, instance, "churn", ["2026-03-01", "2026-03-02"])
    assert not result.success
    errors = [
        e.step_failure_data.error
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert errors
    text = " | ".join(
        (err.message or "") + " " + (err.cause.message if err.cause else "") for err in errors
    )
    assert "s3://no-such-bucket-dw/lake" in text and "does not exist" in text
    assert_clean(text)
    assert not (tmp_path / "h" / "data").exists()
    names = [b["Name"] for b in s3_env.client().list_buckets()["Buckets"]]
    assert "no-such-bucket-dw" not in names


# The child pauses inside the upload of the staging object, once more than two upload
# parts' worth of bytes went to the stream (so S3 holds an unfinished multipart upload),
# and tells the parent; the parent then kills it with SIGKILL.
KILLED_WRITER = """
import datetime as dt, sys, time
import numpy as np, pandas as pd
import pyarrow.parquet as pq
from resources.lake import open_lake

lake = open_lake(sys.argv[1])
real_write_table = pq.write_table


class PausingSink:
    closed = False

    def __init__(self, out):
        self.out, self.n = out, 0

    def write(self, data):
        self.out.write(data)
        self.n += len(data)
        if self.n > 24 << 20:
            print("uploading", flush=True)
            time.sleep(3600)
        return len(data)

    def tell(self):
        return self.n

    def flush(self):
        pass

    def close(self):
        self.out.close()
        self.closed = True


def write_table(table, where, filesystem=None, **kwargs):
    with filesystem.open_output_stream(where) as out:
        real_write_table(table, PausingSink(out), **kwargs)


pq.write_table = write_table
frame = pd.DataFrame({"x": np.random.default_rng(0).random(8_000_000)})  # ~64 MB
lake.write_day("churn", "inference_logs", dt.date.fromisoformat(sys.argv[2]), frame)
print("finished", flush=True)
"""


def test_a_writer_killed_mid_upload_leaves_no_partial_partition(s3_env):
    lake = open_lake(s3_env.url)
    old = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    lake.write_day("churn", "inference_logs", DAY, old)

    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), s3_env.url, DAY.isoformat()],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **s3_env.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == "uploading", child.stderr.read()[-3000:]
        # The write had started: S3 holds an unfinished upload of the staging object,
        # with parts in it. Wait for the first part to land (the stream uploads in the
        # background), then kill.
        client = s3_env.client()
        deadline = time.monotonic() + 120
        parts = []
        while time.monotonic() < deadline:
            uploads = client.list_multipart_uploads(Bucket=s3_env.bucket).get("Uploads", [])
            if uploads:
                upload = uploads[0]
                parts = client.list_parts(
                    Bucket=s3_env.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                ).get("Parts", [])
                if parts:
                    break
            time.sleep(0.2)
        assert parts, "no upload part reached S3 before the kill"
        assert ".staging-" in upload["Key"] and "date=2026-03-01" in upload["Key"]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    # Nothing partial is visible: the old partition is whole, no new object appeared.
    fresh = open_lake(s3_env.url)
    assert fresh.days("churn", "inference_logs") == [DAY]
    pd.testing.assert_frame_equal(fresh.read_day("churn", "inference_logs", DAY), old)
    objects = s3_env.keys("lake/churn/inference_logs/")
    assert [k for k in objects if k.endswith(".parquet")] == [
        "lake/churn/inference_logs/date=2026-03-01/part-0.parquet"
    ]
    # ...and a rerun replaces the partition whole.
    new = pd.DataFrame({"x": [4.0, 5.0]})
    fresh.write_day("churn", "inference_logs", DAY, new)
    pd.testing.assert_frame_equal(
        open_lake(s3_env.url).read_day("churn", "inference_logs", DAY), new
    )


def test_s3_settings_come_from_the_environment(s3_env, monkeypatch):
    monkeypatch.setenv("DRIFTWARDEN_S3_ADDRESSING", "sideways")
    with pytest.raises(ValueError, match="DRIFTWARDEN_S3_ADDRESSING"):
        open_lake(s3_env.url)
    monkeypatch.setenv("DRIFTWARDEN_S3_ADDRESSING", "path")
    with pytest.raises(ValueError, match="not in the lake URI") as err:
        open_lake(f"s3://{ACCESS_KEY}:{SECRET_KEY}@{s3_env.bucket}/lake")
    assert_clean(str(err.value))
    lake = open_lake(s3_env.url)
    frame = pd.DataFrame({"a": [1, 2]})
    location = lake.write_day("m", "inference_logs", DAY, frame)
    assert location == f"{s3_env.url}/m/inference_logs/date=2026-03-01/part-0.parquet"
    keys = S3(s3_env.endpoint, s3_env.bucket, {}).keys("lake/m/")
    assert [k for k in keys if not k.endswith("/")] == [
        "lake/m/inference_logs/date=2026-03-01/part-0.parquet"
    ]

"""The shipped production instance (deploy/dagster/dagster.yaml) keeps step logs in a
bucket: loaded with its environment set, against a real S3 HTTP API (moto's server on
127.0.0.1), its compute log manager is dagster-aws's S3ComputeLogManager on the bucket
and prefix from the environment, and a step's log written through it lands there."""

from __future__ import annotations

import dagster as dg
import yaml
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

from tests.postgres import (
    PG_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_schema,
    drop_schema,
    new_schema_name,
)
from tests.production.conftest import PRODUCTION_INSTANCE, REPO, production_instance_config

K8S_INSTANCE = REPO / "deploy" / "k8s" / "dagster.yaml"


def test_both_shipped_instances_name_the_s3_log_manager_from_the_environment():
    for path in (PRODUCTION_INSTANCE, K8S_INSTANCE):
        logs = yaml.safe_load(path.read_text())["compute_logs"]
        assert logs["class"] == "S3ComputeLogManager", path
        assert logs["config"]["bucket"] == {"env": "DAGSTER_COMPUTE_LOGS_BUCKET"}, path
        assert logs["config"]["prefix"] == {"env": "DAGSTER_COMPUTE_LOGS_PREFIX"}, path


def test_production_instance_writes_step_logs_to_the_bucket(postgres, s3_env, monkeypatch):
    schema = new_schema_name("dw_logs")
    create_schema(schema)
    env = {
        "DAGSTER_PG_HOST": PG_HOST,
        "DAGSTER_PG_PORT": str(PG_PORT),
        "DAGSTER_PG_DB": PG_DB,
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_COMPUTE_LOGS_BUCKET": s3_env.bucket,
        "DAGSTER_COMPUTE_LOGS_PREFIX": "step-logs",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    @dg.op
    def say_hello():
        print("hello from the step")

    @dg.job
    def hello():
        say_hello()

    try:
        config = production_instance_config(schema, compute_logs=True)
        with dg.instance_for_test(overrides=config) as instance:
            manager = instance.compute_log_manager
            assert isinstance(manager, S3ComputeLogManager)
            assert manager._s3_bucket == s3_env.bucket  # noqa: SLF001
            result = hello.execute_in_process(instance=instance)
            assert result.success
        logs = [k for k in s3_env.keys("step-logs/") if k.endswith(".out")]
        assert logs, s3_env.keys()
        body = s3_env.client().get_object(Bucket=s3_env.bucket, Key=logs[0])["Body"].read()
        assert b"hello from the step" in body
    finally:
        drop_schema(schema)

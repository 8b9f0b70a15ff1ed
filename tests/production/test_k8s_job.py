"""The Kubernetes Job dagster-k8s builds for a driftwarden run, from the shipped configuration.

No cluster: K8sRunLauncher is built from deploy/k8s/dagster.yaml with a recording batch
API in place of the Kubernetes client, and launches a real run of ``monitor_churn``.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.launcher import LaunchRunContext
from dagster_k8s import launcher as k8s_launcher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_user_defined_k8s_config

REPO = Path(__file__).resolve().parents[2]
K8S_INSTANCE = yaml.safe_load((REPO / "deploy/k8s/dagster.yaml").read_text())
VALUES = yaml.safe_load((REPO / "deploy/k8s/values.yaml").read_text())
OP_TAGS = yaml.safe_load((REPO / "deploy/k8s/op-tags.yaml").read_text())
USER_DEPLOYMENT = VALUES["dagster-user-deployments"]["deployments"][0]
IMAGE = f"{USER_DEPLOYMENT['image']['repository']}:{USER_DEPLOYMENT['image']['tag']}"


class RecordingBatchApi:
    """Stands in for kubernetes.client.BatchV1Api: keeps the Jobs it is asked to create."""

    def __init__(self) -> None:
        self.jobs: list = []

    def create_namespaced_job(self, body, namespace, **_: object):
        self.jobs.append((namespace, body))
        return body


@pytest.fixture
def launched(home, small_project, monkeypatch):
    """(namespace, V1Job) of a launched monitor_churn run, and the launcher."""
    monkeypatch.setattr(k8s_launcher, "load_kubernetes_config", lambda **_: None)
    batch = RecordingBatchApi()
    config = dict(K8S_INSTANCE["run_launcher"]["config"])
    launcher = k8s_launcher.K8sRunLauncher(
        **config, k8s_client_batch_api=batch, k8s_client_core_api=object()
    )
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        # The user-code server reports its image (DAGSTER_CURRENT_IMAGE, set by the chart).
        repo = ReconstructableRepository.for_module(
            "monitoring_assets.definitions",
            "defs",
            working_directory=str(REPO),
            container_image=IMAGE,
        )
        recon = repo.get_reconstructable_job("monitor_churn")
        run = instance.create_run_for_job(
            job_def=recon.get_definition(),
            job_code_origin=recon.get_python_origin(),
            tags={"driftwarden/model": "churn", "dagster/partition": "2026-03-01"},
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
        assert len(batch.jobs) == 1
        yield batch.jobs[0], run, launcher


def test_run_worker_job_image_resources_env_and_secrets(launched):
    (namespace, job), run, _ = launched
    assert namespace == "driftwarden"
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == IMAGE
    assert container.image_pull_policy == "IfNotPresent"
    assert container.args[:3] == ["dagster", "api", "execute_run"]
    assert container.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi"}

    env = {e.name: e for e in container.env}
    assert env["DRIFTWARDEN_HOME"].value == "/tmp/driftwarden"
    assert env["DRIFTWARDEN_LAKE"].value == "s3://driftwarden-lake/data"
    assert env["DAGSTER_RUN_JOB_NAME"].value == "monitor_churn"
    assert env["DAGSTER_HOME"].value == "/opt/dagster/dagster_home"
    pg = env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref
    assert (pg.name, pg.key) == ("dagster-postgresql-secret", "postgresql-password")
    sources = {(s.secret_ref.name if s.secret_ref else None) for s in container.env_from}
    config_maps = {
        (s.config_map_ref.name if s.config_map_ref else None) for s in container.env_from
    }
    assert "driftwarden-secrets" in sources
    assert "driftwarden-config" in config_maps
    # Secrets never appear as plain values in the Job.
    assert not any(e.value and "password" in e.value.lower() for e in container.env)

    assert pod.service_account_name == "dagster"
    assert pod.security_context.run_as_user == 10001 and pod.security_context.run_as_non_root
    assert job.spec.ttl_seconds_after_finished == 86400
    assert job.metadata.labels["dagster/run-id"] == run.run_id
    assert job.metadata.labels["dagster/job"] == "monitor_churn"


def test_step_pod_of_a_heavy_asset_gets_its_op_tag_resources(launched):
    _, run, launcher = launched
    # As dagster_k8s.k8s_job_executor does for a step: the run's container context merged
    # with the step's dagster-k8s/config op tag.
    op_config = get_user_defined_k8s_config(
        {"dagster-k8s/config": json.dumps(OP_TAGS["inference_logs"])}
    )
    context = launcher.get_container_context_for_run(run).merge(
        K8sContainerContext(run_k8s_config=op_config)
    )
    job_config = context.get_k8s_job_config(job_image=IMAGE, run_launcher=launcher)
    job = construct_dagster_k8s_job(
        job_config,
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-churn-inference-logs",
        user_defined_k8s_config=context.run_k8s_config,
        component="step_worker",
    )
    (container,) = job.spec.template.spec.containers
    assert container.image == IMAGE
    assert container.resources.requests == {"cpu": "1", "memory": "2Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi"}
    assert "driftwarden-secrets" in {s.secret_ref.name for s in container.env_from if s.secret_ref}


def test_helm_values_and_instance_config_agree():
    launcher = K8S_INSTANCE["run_launcher"]["config"]
    chart = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    assert launcher["job_namespace"] == chart["jobNamespace"]
    assert launcher["env_secrets"] == [s["name"] for s in chart["envSecrets"]]
    assert launcher["env_config_maps"] == [c["name"] for c in chart["envConfigMaps"]]
    assert launcher["env_vars"] == chart["envVars"]
    assert (
        launcher["run_k8s_config"]["container_config"]["resources"]
        == chart["runK8sConfig"]["containerConfig"]["resources"]
    )
    queue = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    coordinator = K8S_INSTANCE["run_coordinator"]["config"]
    assert queue["maxConcurrentRuns"] == coordinator["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == coordinator["tag_concurrency_limits"]
    assert (
        VALUES["dagsterDaemon"]["runRetries"]["maxRetries"]
        == K8S_INSTANCE["run_retries"]["max_retries"]
    )
    assert VALUES["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    # The same limits as the non-Kubernetes production instance.
    production = yaml.safe_load((REPO / "deploy/dagster/dagster.yaml").read_text())
    assert (
        production["run_coordinator"]["config"]["tag_concurrency_limits"]
        == coordinator["tag_concurrency_limits"]
    )
    assert "driftwarden-secrets" in [s["name"] for s in USER_DEPLOYMENT["envSecrets"]]


def test_per_model_limit_is_one_run_per_model_value():
    (model_limit,) = [
        limit
        for limit in K8S_INSTANCE["run_coordinator"]["config"]["tag_concurrency_limits"]
        if limit["key"] == "driftwarden/model"
    ]
    assert model_limit == {
        "key": "driftwarden/model",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    }

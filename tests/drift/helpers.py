"""Shared helpers of the drift tests: run the drift graph over a range in one run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd

from monitoring_assets.core.config import ProjectConfig, load_project
from monitoring_assets.core.home import Home
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import range_tags
from monitoring_assets.instance import prepare_dagster_home
from resources.warehouse import Warehouse

FOUNDATION = ("reference_data", "inference_logs", "ground_truth")
DRIFT = (
    "feature_profiles",
    "data_drift",
    "prediction_drift",
    "data_quality",
    "target_drift",
    "drift_report",
)


@contextmanager
def env(**values: str) -> Iterator[None]:
    """Set environment variables for a block (module-scoped fixtures cannot monkeypatch)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Scenario:
    """A home, a model file and a persistent SQLite Dagster instance under one folder."""

    def __init__(self, root: Path, yaml_text: str):
        self.home = Home(root / "home").ensure()
        self.models = root / "models.yaml"
        self.models.write_text(yaml_text)
        self.project: ProjectConfig = load_project(self.models)
        self.model = self.project.models[0]

    @contextmanager
    def activated(self) -> Iterator[dg.DagsterInstance]:
        with env(DRIFTWARDEN_HOME=str(self.home.root), DRIFTWARDEN_MODELS=str(self.models)):
            prepare_dagster_home(self.home)
            with dg.DagsterInstance.from_config(str(self.home.dagster_home)) as instance:
                yield instance

    def keys(self) -> list[str]:
        s = self.model.source.scenario  # type: ignore[union-attr]
        return [(s.start_date + dt.timedelta(days=i)).isoformat() for i in range(s.days)]

    def run(
        self,
        instance: dg.DagsterInstance,
        keys: list[str],
        assets: tuple[str, ...] = FOUNDATION + DRIFT,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """One run over ``keys`` (a single-run range) of the selected assets and their checks."""
        name = self.model.name
        job = dg.define_asset_job(
            "drift_test_job",
            selection=dg.AssetSelection.assets(*[dg.AssetKey([name, a]) for a in assets]),
            partitions_def=dg.DailyPartitionsDefinition(
                start_date=self.model.first_date.isoformat(),
                end_date=self.model.last_date_exclusive.isoformat(),  # type: ignore[union-attr]
            ),
        )
        defs = dg.Definitions.merge(
            build_definitions(self.project, self.home), dg.Definitions(jobs=[job])
        )
        return defs.resolve_job_def("drift_test_job").execute_in_process(
            instance=instance,
            tags=range_tags(keys),
            raise_on_error=raise_on_error,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.home.warehouse)

    def drift(self, role: str = "feature") -> pd.DataFrame:
        df = self.warehouse.query(
            "SELECT * FROM drift_results WHERE model = ? AND role = ? ORDER BY partition_date",
            [self.model.name, role],
        )
        df["partition_date"] = pd.to_datetime(df.partition_date).dt.date.astype(str)
        return df

    def quality(self) -> pd.DataFrame:
        df = self.warehouse.query(
            "SELECT * FROM data_quality_findings WHERE model = ? ORDER BY partition_date",
            [self.model.name],
        )
        df["partition_date"] = pd.to_datetime(df.partition_date).dt.date.astype(str)
        return df


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
    """Every AssetCheckEvaluation stored for a run."""
    records = instance.event_log_storage.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records]

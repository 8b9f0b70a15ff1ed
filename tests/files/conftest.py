"""Fixtures for files-source models: real CSV/Parquet files in a temporary folder."""

from __future__ import annotations

import dagster as dg
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import range_tags


class Shop:
    """A ``shop`` model over real files, its home and a way to run it in process."""

    def __init__(self, root, home, monkeypatch):
        self.root, self.home, self.monkeypatch = root, home, monkeypatch

    def model_file(self, path):
        self.monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
        self.project = load_project(path)
        self.defs = build_definitions(self.project, self.home)
        return self.project

    def run(self, instance, keys, assets=None):
        job = self.defs.resolve_job_def("monitor_shop")
        selection = [dg.AssetKey(["shop", a]) for a in assets] if assets else None
        return job.execute_in_process(
            instance=instance,
            tags=range_tags(keys),
            asset_selection=selection,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            raise_on_error=False,
        )

    def warehouse(self):
        from resources.warehouse import Warehouse

        return Warehouse(self.home.warehouse)


def failure_text(result) -> str:
    """The description of the run's (first) step failure."""
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data
    return (data.user_failure_data.description if data.user_failure_data else None) or str(
        data.error
    )


@pytest.fixture
def shop(tmp_path, home, monkeypatch):
    monkeypatch.setenv("DRIFTWARDEN_TODAY", "2026-06-01")
    return Shop(tmp_path / "data", home, monkeypatch)

"""Fixtures of the security tests: a small churn model and its reference profile."""

from __future__ import annotations

import pytest

from monitoring_assets.core.config import ModelConfig, load_project
from tests.conftest import churn_yaml, write


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> ModelConfig:
    path = write(tmp_path_factory.mktemp("models") / "churn.yaml", churn_yaml(days=3, rows=200))
    return load_project(path).models[0]


@pytest.fixture(scope="session")
def reference(model):
    from monitoring_assets.streaming.consumer import reference_profile

    return reference_profile(model, None)

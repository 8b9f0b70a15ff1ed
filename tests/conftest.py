"""Shared fixtures: an isolated DRIFTWARDEN_HOME and small model files."""

from __future__ import annotations

import importlib
import os
import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """Path of ``name``; skip on a laptop without it, fail in CI where .ci/run installs it."""
    path = shutil.which(name)
    if path:
        return path
    if IN_CI:
        pytest.fail(f"{name} is not installed; .ci/run should have installed it")
    pytest.skip(f"{name} is not installed (CI installs it)")


def require_module(name: str):
    """Import ``name``; skip on a laptop without it, fail in CI where the test extras
    install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"{name} does not import ({exc}); .ci/run installs the test extras")
        pytest.skip(f"{name} does not import: {exc} (pip install -e '.[test]')")


CHURN_SMALL = """
models:
  - name: {name}
    version: v1
    features:
      - {{name: tenure, type: numerical}}
      - {{name: monthly_charges, type: numerical, critical: true}}
      - {{name: total_charges, type: numerical}}
      - {{name: num_services, type: numerical}}
      - {{name: contract_type, type: categorical, critical: true}}
      - {{name: payment_method, type: categorical}}
      - {{name: internet_service, type: categorical}}
    columns: {{target: churn}}
    label_delay_days: 3
    source:
      kind: simulator
      scenario:
        start_date: 2026-03-01
        days: {days}
        rows_per_day: {rows}
        reference_rows: 3000
        seed: {seed}
        events: {events}
"""


def churn_yaml(name="churn", days=10, rows=300, seed=3, events="[]") -> str:
    return CHURN_SMALL.format(name=name, days=days, rows=rows, seed=seed, events=events)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh DRIFTWARDEN_HOME with its own Dagster instance folder."""
    from monitoring_assets.core.home import Home

    h = Home(tmp_path / "dwhome").ensure()
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(h.root))
    monkeypatch.setenv("DAGSTER_HOME", str(h.dagster_home))
    return h


@pytest.fixture
def small_project(tmp_path, monkeypatch):
    """A 10-day, 300-rows-a-day churn model file in force."""
    from monitoring_assets.core.config import load_project

    path = tmp_path / "models.yaml"
    path.write_text(churn_yaml())
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# S3 (moto server) fixtures for every test folder: moto_s3, s3_env, auth_moto.
from tests.production.s3 import auth_moto, moto_s3, s3_env  # noqa: E402, F401

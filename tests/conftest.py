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

# Fixtures every folder may use: the test Postgres and fresh schemas in it.
pytest_plugins = ["tests.postgres"]


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


# Fixtures whose every user must run on the worker that set them up (session-scoped and
# expensive: a daemon + webserver stack and its history backfill).
SHARED_SESSION_FIXTURES = ("dagster_stack",)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``, as scripts/test.sh runs it), the tests
    that share an expensive fixture run on one worker, so it is set up once: a test using
    a module-scoped fixture joins its module's group, one using a fixture of
    SHARED_SESSION_FIXTURES that fixture's group. Explicit ``xdist_group`` marks win."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        shared = [name for name in SHARED_SESSION_FIXTURES if name in item.fixturenames]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs if info is not None else {}
        module = getattr(item, "module", None)
        if module is not None and any(
            defs.get(name) and defs[name][-1].scope == "module" for name in item.fixturenames
        ):
            item.add_marker(pytest.mark.xdist_group(module.__name__))


_LOST_GROUPS = pytest.StashKey[str]()


def pytest_collection_finish(session):
    """Notice when pytest-xdist's loadgroup did not apply the groups (it tags a grouped
    test's node id with ``@group``; some pytest versions silently drop that, and the
    grouped tests would then be spread over all workers): those tests then fail, saying so."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if lost:
        session.config.stash[_LOST_GROUPS] = (
            f"--dist loadgroup ignored the xdist_group of {len(lost)} tests: this pytest and "
            "pytest-xdist do not work together (see the pytest pin in pyproject.toml)"
        )


def pytest_runtest_setup(item):
    lost = item.config.stash.get(_LOST_GROUPS, None)
    if lost and item.get_closest_marker("xdist_group"):
        pytest.fail(lost, pytrace=False)


# S3 (moto server) fixtures for every test folder: moto_s3, s3_env, auth_moto.
from tests.production.s3 import auth_moto, moto_s3, s3_env  # noqa: E402, F401

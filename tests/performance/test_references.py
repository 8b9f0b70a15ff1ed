"""Version references read the lake through its port: the same on a local folder and on a
pyarrow filesystem (string locations, never ``Path`` arithmetic)."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring_assets.core.performance import classification_metrics
from monitoring_assets.core.performance.references import (
    MissingReference,
    VersionReferences,
    validation_frame,
)
from monitoring_assets.core.ports import version_key
from monitoring_assets.core.simulator import Simulator
from resources.lake import Lake
from resources.lake_fs import FsLake
from resources.model_registry import LocalModelRegistry
from tests.performance.conftest import churn_model


@pytest.fixture(scope="module")
def model():
    return churn_model([], days=10, rows_per_day=200)


@pytest.fixture(params=["local", "pyarrow"])
def lake(request, tmp_path):
    if request.param == "local":
        return Lake(tmp_path / "lake")
    return FsLake.from_uri(f"file://{tmp_path / 'fslake'}")


def test_first_champion_is_registered_from_the_validation_set(model, lake, tmp_path) -> None:
    sim = Simulator(model)
    val = sim.validation()
    lake.write(model.name, "validation", version_key(model.version), val)
    registry = LocalModelRegistry(tmp_path / "registry")

    refs = VersionReferences(model, registry, lake, served=lambda: sim.estimator)
    ref = refs.for_date(model.first_date + dt.timedelta(days=3))

    cols = model.columns
    expected = classification_metrics(
        val[cols.target].astype(int),
        val[cols.prediction].astype(int),
        val[cols.probability],
        classes=model.classes,
    )
    assert ref.version == model.version == registry.current_champion(model.name)
    assert ref.performance.accuracy == pytest.approx(expected.accuracy, abs=1e-12)
    assert ref.cbpe.fitted and ref.estimator is None  # the configured version's log is used


def test_missing_validation_names_the_asset_to_materialize(model, lake, tmp_path) -> None:
    registry = LocalModelRegistry(tmp_path / "registry")
    with pytest.raises(MissingReference, match=r"materialize churn/reference_data first") as err:
        VersionReferences(model, registry, lake, served=lambda: None)
    assert lake.dataset_location(model.name, "validation") in str(err.value)
    assert registry.versions(model.name) == []  # nothing half-registered
    with pytest.raises(MissingReference):
        validation_frame(model, lake, "v9")

"""The regression loss estimator is fitted once per model version and stored in the
registry (sha256 checked); a later run loads it and fits nothing."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring_assets.core.performance import regression
from monitoring_assets.core.performance.tasks import DLE_ARTIFACT, task_reference
from monitoring_assets.core.registry import RegistryError
from monitoring_assets.core.simulator_tasks import task_simulator
from resources.model_registry import LocalModelRegistry
from tests.tasks.conftest import day, task_model


class _ValidationLake:
    """Just the validation split of one model version."""

    def __init__(self, frame):
        self.frame = frame

    def has_partition(self, model, dataset, key):
        return dataset == "validation"

    def read_partition(self, model, dataset, key):
        return self.frame.copy()


@pytest.fixture(scope="module")
def spend():
    model = task_model("regression", [], days=2, rows_per_day=500, reference_rows=3000)
    sim = task_simulator(model)
    return model, _ValidationLake(sim.validation()), sim.inference_day(day(model, 1))


@pytest.fixture
def fits(monkeypatch):
    calls = []
    fit = regression.DirectLossEstimator.fit

    def counted(self, frame, target):
        calls.append(len(frame))
        return fit(self, frame, target)

    monkeypatch.setattr(regression.DirectLossEstimator, "fit", counted)
    return calls


def _estimate(model, lake, registry, inference):
    return task_reference(model, lake, registry, lambda: None).dle.estimate(inference)


def test_a_rerun_loads_the_stored_estimator_and_fits_nothing(spend, fits, tmp_path):
    model, lake, inference = spend
    registry = LocalModelRegistry(tmp_path / "registry")
    first = _estimate(model, lake, registry, inference)
    assert len(fits) == 1
    assert registry.get_object(model.name, model.version, DLE_ARTIFACT) is not None
    assert registry.current_champion(model.name) == model.version
    again = _estimate(model, lake, registry, inference)
    assert len(fits) == 1, "the second run fitted again"
    assert (again.mae, again.rmse) == (first.mae, first.rmse)
    assert np.isfinite(first.mae) and first.n_estimated == len(inference)


def test_an_altered_stored_estimator_is_refused(spend, tmp_path):
    model, lake, inference = spend
    registry = LocalModelRegistry(tmp_path / "registry")
    _estimate(model, lake, registry, inference)
    path = registry._artifact(model.name, model.version, DLE_ARTIFACT, "pkl")
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(RegistryError, match=f"{DLE_ARTIFACT}.pkl has sha256"):
        _estimate(model, lake, registry, inference)


def test_changed_model_inputs_fit_again(spend, fits, tmp_path):
    model, lake, inference = spend
    registry = LocalModelRegistry(tmp_path / "registry")
    _estimate(model, lake, registry, inference)
    data = model.model_dump()
    data["features"] = [f for f in data["features"] if f["name"] != model.numerical[0]]
    fewer = type(model).model_validate(data)
    est = task_reference(fewer, lake, registry, lambda: None).dle
    assert len(fits) == 2
    assert model.numerical[0] not in est.numerical
    stored = registry.get_object(model.name, model.version, DLE_ARTIFACT)
    assert stored.inputs == est.inputs


def test_a_new_version_is_registered_beside_the_first(spend, fits, tmp_path):
    model, lake, inference = spend
    registry = LocalModelRegistry(tmp_path / "registry")
    _estimate(model, lake, registry, inference)
    v2 = type(model).model_validate({**model.model_dump(), "version": "v2"})
    _estimate(v2, lake, registry, inference)
    assert [v.version for v in registry.versions(model.name)] == [model.version, "v2"]
    assert registry.get_object(model.name, "v2", DLE_ARTIFACT) is not None
    assert len(fits) == 2

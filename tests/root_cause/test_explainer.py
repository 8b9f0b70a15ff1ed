"""The explainer reads a day's stored drift and profile; bad input degrades with a reason."""

import datetime as dt

import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import profiled_columns, store_day_profiles
from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.results import FEATURE, drift_rows
from monitoring_assets.core.root_cause.explain import AlertExplainer
from monitoring_assets.core.simulator import Simulator
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE
from resources.model_registry import LocalModelRegistry
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml

DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "models.yaml"
    path.write_text(churn_yaml(days=3, rows=1200, seed=9))
    return load_project(path).models[0]


@pytest.fixture
def stored(tmp_path, model):
    """A warehouse holding DAY's drift and profile, with payment_method all null."""
    sim = Simulator(model)
    kinds = profiled_columns(model)
    ref = profile_frame(sim.reference()[list(kinds)], kinds)
    frame = sim.inference_day(DAY).copy()
    frame["payment_method"] = None
    prof = profile_frame(frame[[c for c in kinds if c in frame]], kinds)
    result = DriftMonitor(model).fit(ref, "training v1").calculate(prof)
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.migrate([DRIFT_RESULTS_TABLE])
    rows = drift_rows(model, DAY, FEATURE, result.features, "training v1", "run1")
    import pandas as pd

    wh.replace(DRIFT_RESULTS_TABLE.name, pd.DataFrame(rows), {"model": model.name})
    store_day_profiles(wh, model, {DAY: prof})
    assert not result.features["payment_method"].computable  # nothing to compare
    return wh


def test_a_model_that_cannot_be_scored_is_explained_by_drift_alone(tmp_path, model, stored):
    explainer = AlertExplainer({model.name: model}, LocalModelRegistry(tmp_path / "reg"))

    causes = explainer.explain(stored, model.name, DAY.isoformat(), "drift")

    assert [c.name for c in causes][0] == "payment_method"
    top = causes[0]
    assert "all values null" in top.text and "ranked by drift alone" in top.text
    assert top.numbers["null_share"] == 1.0 and top.numbers["importance"] is None
    assert "model 'churn' version 'v1': no estimator to score" in top.numbers["no_importance"]
    assert top.numbers["contribution_shift"] is None
    assert len(causes) == len(model.feature_names)


def test_with_the_served_model_the_causes_carry_importance_and_contribution(
    tmp_path, model, stored
):
    sim = Simulator(model)
    explainer = AlertExplainer(
        {model.name: model},
        LocalModelRegistry(tmp_path / "reg"),
        validation=lambda m, v: sim.validation(),
        served=lambda m: sim.estimator,
    )

    causes = {
        c.name: c for c in explainer.explain(stored, model.name, DAY.isoformat(), "performance")
    }

    assert causes["payment_method"].numbers["importance"] is not None
    assert causes["payment_method"].numbers["contribution_shift"] is None  # no day values
    assert causes["tenure"].numbers["contribution_shift"] is not None
    assert "no_importance" not in causes["tenure"].numbers


@pytest.mark.parametrize(
    ("model_name", "partition", "category"),
    [
        ("churn", "2026-03-02", None),  # a data-quality or freshness alert
        ("churn", "2026-03-02", "quality"),
        ("other", "2026-03-02", "drift"),
        ("churn", "", "drift"),
        ("churn", "not-a-date", "drift"),
        ("churn", "2026-03-03", "drift"),  # no drift stored for that day
    ],
)
def test_alerts_without_a_day_of_drift_get_no_causes(
    model, stored, model_name, partition, category
):
    explainer = AlertExplainer({model.name: model})
    assert explainer.explain(stored, model_name, partition, category or "") == []


def test_without_a_registry_the_reason_is_recorded(model, stored):
    causes = AlertExplainer({model.name: model}).explain(stored, "churn", "2026-03-02", "drift")
    assert causes and all(c.numbers["no_importance"] == "no model registry" for c in causes)


def test_a_tick_explains_each_day_once_and_only_drift_and_performance(model, stored):
    from types import SimpleNamespace

    calls = []

    class Counting(AlertExplainer):
        def explain(self, wh, model_name, partition, category):
            calls.append((model_name, partition))
            return super().explain(wh, model_name, partition, category)

    explain = Counting({model.name: model}).bound(stored)
    drift = SimpleNamespace(model="churn", partition_key="2026-03-02", category="drift")
    perf = SimpleNamespace(model="churn", partition_key="2026-03-02", category="performance")
    quality = SimpleNamespace(model="churn", partition_key="2026-03-02", category="")

    assert explain(drift) == explain(perf) and explain(drift)[0].name == "payment_method"
    assert explain(quality) == []
    assert calls == [("churn", "2026-03-02")]

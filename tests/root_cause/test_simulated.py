"""On the simulator, the injected feature is the first cause of every event day."""

import datetime as dt

import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.root_cause.explain import explain_profiles
from monitoring_assets.core.root_cause.importance import REPEATS, Reliance, permutation_importance
from monitoring_assets.core.simulator import Simulator
from tests.conftest import churn_yaml

ONSET = 2
DAYS = 5


def _profile(model, frame):
    kinds = profiled_columns(model)
    return profile_frame(frame[[c for c in kinds if c in frame]], kinds)


@pytest.mark.parametrize(
    ("event", "feature"),
    [
        ("{kind: covariate_shift, feature: tenure, day: 2, magnitude: 0.5}", "tenure"),
        ("{kind: broken_feature, feature: monthly_charges, day: 2, mode: unit}", "monthly_charges"),
        ("{kind: broken_feature, feature: payment_method, day: 2, mode: nulls}", "payment_method"),
    ],
)
def test_the_injected_feature_ranks_first_on_every_event_day(tmp_path, event, feature):
    path = tmp_path / "models.yaml"
    path.write_text(churn_yaml(days=DAYS, rows=1500, seed=4, events=f"[{event}]"))
    model = load_project(path).models[0]
    sim = Simulator(model)
    monitor = DriftMonitor(model).fit(_profile(model, sim.reference()), "training v1")
    val = sim.validation()
    imp, output, rows = permutation_importance(sim.estimator, val, model.feature_names)
    reliance = Reliance(model.name, model.version, imp, output, rows, REPEATS)

    firsts, before = [], []
    for day in range(DAYS):
        frame = sim.inference_day(model.first_date + dt.timedelta(days=day))
        prof = _profile(model, frame)
        causes = explain_profiles(
            model, monitor.calculate(prof).features, prof, reliance, sim.estimator, val
        )
        assert sum(c.score for c in causes) == pytest.approx(1.0)
        (firsts if day >= ONSET else before).append(causes[0])

    assert [c.name for c in firsts] == [feature] * (DAYS - ONSET)
    assert all(c.score > 0.4 for c in firsts)
    assert all(c.numbers["importance"] is not None for c in firsts)
    # before the event the first cause explains far less
    assert max(c.score for c in before) < min(c.score for c in firsts)

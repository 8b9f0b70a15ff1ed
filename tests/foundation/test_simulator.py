import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.simulator import FEATURES, Simulator, event_columns
from tests.conftest import churn_yaml, write

START = dt.date(2026, 3, 1)


def _model(tmp_path, events="[]", name="m.yaml", **kw):
    return load_project(write(tmp_path / name, churn_yaml(events=events, **kw))).models[0]


def _bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


def test_same_scenario_seed_and_date_give_identical_bytes_in_any_order(tmp_path):
    model = _model(tmp_path)
    days = [START + dt.timedelta(days=i) for i in range(5)]
    forward = [_bytes(Simulator(model).inference_day(d)) for d in days]
    backward = [_bytes(Simulator(model).inference_day(d)) for d in reversed(days)][::-1]
    assert forward == backward
    assert len(set(forward)) == 5  # days differ from each other
    other_seed = _model(tmp_path, seed=4, name="s.yaml")
    assert _bytes(Simulator(other_seed).inference_day(days[0])) != forward[0]


def test_labels_arrive_after_the_delay(tmp_path):
    sim = Simulator(_model(tmp_path))
    day = START + dt.timedelta(days=2)
    assert not sim.labels_available(day, day + dt.timedelta(days=2))
    assert sim.labels_available(day, day + dt.timedelta(days=3))
    labels = sim.labels_day(day)
    logs = sim.inference_day(day)
    assert list(labels.request_id) == list(logs.request_id)
    assert set(labels.churn.unique()) <= {0, 1}
    # the served model is good on undrifted data
    assert (labels.churn.to_numpy() == logs.prediction.to_numpy()).mean() > 0.85


EVENTS = {
    "covariate_shift": "{kind: covariate_shift, day: 2, feature: tenure, magnitude: 1.0, ramp_days: 2}",
    "sudden_shock": "{kind: sudden_shock, day: 2, magnitude: 1.4, share: 0.5}",
    "concept_drift": "{kind: concept_drift, day: 2}",
    "broken_nulls": "{kind: broken_feature, day: 2, feature: monthly_charges, mode: nulls}",
    "broken_unit": "{kind: broken_feature, day: 2, feature: num_services, mode: unit}",
    "new_category": "{kind: new_category, day: 2, feature: payment_method, value: crypto, share: 0.2}",
    "traffic_drop": "{kind: traffic_drop, day: 2, magnitude: 0.3}",
}


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_each_event_changes_what_it_claims_and_nothing_else(tmp_path, kind):
    control = Simulator(_model(tmp_path, name="control.yaml"))
    model = _model(tmp_path, events=f"[{EVENTS[kind]}]", name=f"{kind}.yaml")
    sim = Simulator(model)
    event = model.source.scenario.events[0]
    claimed = set(event_columns(event))

    before = START + dt.timedelta(days=1)
    pd.testing.assert_frame_equal(sim.inference_day(before), control.inference_day(before))
    assert sim.truth(before).events == ()

    day = START + dt.timedelta(days=3)
    got = pd.concat(
        [
            sim.inference_day(day).set_index("request_id"),
            sim.labels_day(day).set_index("request_id")[["churn"]],
        ],
        axis=1,
    )
    ref = pd.concat(
        [
            control.inference_day(day).set_index("request_id"),
            control.labels_day(day).set_index("request_id")[["churn"]],
        ],
        axis=1,
    )
    assert sim.truth(day).events and set(sim.truth(day).columns) == claimed

    if kind == "traffic_drop":
        assert 0.2 * len(ref) < len(got) < 0.4 * len(ref)
        pd.testing.assert_frame_equal(got, ref.loc[got.index])
        return
    assert list(got.index) == list(ref.index)
    changed = {c for c in got.columns if not got[c].equals(ref[c])}
    assert changed, f"{kind} changed nothing"
    assert changed <= claimed, f"{kind} changed {changed - claimed} beyond its claim {claimed}"
    if kind == "concept_drift":
        assert changed == {"churn"}
        acc_drift = (got.prediction == got.churn).mean()
        acc_ref = (ref.prediction == ref.churn).mean()
        assert acc_drift < acc_ref - 0.1
    if kind == "broken_nulls":
        assert got.monthly_charges.isna().all()
    if kind == "broken_unit":
        np.testing.assert_allclose(got.num_services, ref.num_services * 100)
    if kind == "new_category":
        share = (got.payment_method == "crypto").mean()
        assert 0.12 < share < 0.28
    if kind == "covariate_shift":
        assert got.tenure.mean() > ref.tenure.mean() + 8


def test_scenario_bounds_and_bad_events_are_explained(tmp_path):
    sim = Simulator(_model(tmp_path))
    with pytest.raises(ValueError, match="outside scenario"):
        sim.inference_day(START - dt.timedelta(days=1))
    bad = _model(
        tmp_path,
        events="[{kind: covariate_shift, day: 1, feature: contract_type}]",
        name="bad.yaml",
    )
    with pytest.raises(ValueError, match="numerical feature"):
        Simulator(bad)


def test_reference_is_the_training_snapshot(tmp_path):
    sim = Simulator(_model(tmp_path))
    ref, val = sim.reference(), sim.validation()
    assert len(ref) == 2100 and len(val) == 900
    assert set(FEATURES) <= set(ref.columns) and {"prediction", "probability", "churn"} <= set(
        ref.columns
    )
    assert not set(ref.request_id) & set(val.request_id)

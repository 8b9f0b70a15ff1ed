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


# ----------------------------------------------------------------------------- realism
# Low-volume days, weekly seasonality, day-to-day variation, a reference over periods.


def _realistic(tmp_path, settings: str, name="r.yaml", rows=300, days=10, seed=3, ref_rows=3000):
    """A churn model whose scenario carries ``settings`` (YAML lines of the scenario)."""
    text = churn_yaml(rows=rows, days=days, seed=seed).replace(
        "        reference_rows: 3000\n",
        "".join(f"        {line.strip()}\n" for line in settings.strip().splitlines())
        + f"        reference_rows: {ref_rows}\n",
    )
    return load_project(write(tmp_path / name, text)).models[0]


def _days(n: int) -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(n)]


def test_realistic_days_are_a_pure_function_of_scenario_seed_and_date(tmp_path):
    settings = "volume_jitter: 0.5\nseasonality: {weekly: 0.4}\nday_variation: 0.1"
    model = _realistic(tmp_path, settings)
    days = _days(4)
    forward = [_bytes(Simulator(model).inference_day(d)) for d in days]
    backward = [_bytes(Simulator(model).inference_day(d)) for d in reversed(days)][::-1]
    assert forward == backward
    labels = [_bytes(Simulator(model).labels_day(d)) for d in days]
    assert labels == [_bytes(Simulator(model).labels_day(d)) for d in reversed(days)][::-1]
    ref_a, ref_b = Simulator(model).reference(), Simulator(model).reference()
    pd.testing.assert_frame_equal(ref_a, ref_b)
    other = _realistic(tmp_path, settings, name="o.yaml", seed=4)
    assert _bytes(Simulator(other).inference_day(days[0])) != forward[0]


def test_day_volume_stays_within_the_configured_range_and_varies(tmp_path):
    # 125 ± 60 %: every day between 50 and 200 rows, the low-volume regime.
    model = _realistic(tmp_path, "volume_jitter: 0.6", rows=125, days=120)
    sim = Simulator(model)
    volumes = [sim.rows_on(d) for d in _days(120)]
    assert 50 <= min(volumes) and max(volumes) <= 200
    assert min(volumes) < 70 and max(volumes) > 180  # the range is used, not just allowed
    assert len(set(volumes)) > 60
    for d in _days(3):
        assert len(sim.inference_day(d)) == sim.rows_on(d) == len(sim.labels_day(d))


def test_no_realism_keeps_every_day_at_rows_per_day(tmp_path):
    sim = Simulator(_model(tmp_path))
    assert {sim.rows_on(d) for d in _days(10)} == {300}


def test_weekly_seasonality_shows_in_volume_and_a_little_in_the_contract_mix(tmp_path):
    model = _realistic(tmp_path, "seasonality: {weekly: 0.5}", rows=2000, days=28)
    sim = Simulator(model)
    # Weekdays carry (1 + 0.4·0.5) = 1.2× the mean volume, weekend days (1 − 0.5) = 0.5×.
    volumes = {d: sim.rows_on(d) for d in _days(28)}
    assert {v for d, v in volumes.items() if d.weekday() < 5} == {2400}
    assert {v for d, v in volumes.items() if d.weekday() >= 5} == {1000}
    frames = [sim.inference_day(d).assign(weekend=d.weekday() >= 5) for d in _days(28)]
    logs = pd.concat(frames)
    m2m = logs.groupby("weekend").contract_type.apply(lambda s: (s == "month_to_month").mean())
    # Configured: weekends +0.02 share, weekdays −0.008 → a gap of 0.028.
    assert 0.015 < m2m[True] - m2m[False] < 0.045
    # Other columns keep their mix.
    fiber = logs.groupby("weekend").internet_service.apply(lambda s: (s == "fiber_optic").mean())
    assert abs(fiber[True] - fiber[False]) < 0.015


def test_reference_spans_its_days_before_the_start_in_proportion_to_volume(tmp_path):
    model = _realistic(tmp_path, "seasonality: {weekly: 0.5}\nreference_days: 21", ref_rows=12000)
    sim = Simulator(model)
    expected = {START - dt.timedelta(days=k) for k in range(1, 22)}
    for frame in (sim.reference(), sim.validation()):
        ts = pd.to_datetime(frame.timestamp)
        assert set(ts.dt.date) == expected
        per_day = ts.groupby(ts.dt.date).size()
        weekend = per_day[[d.weekday() >= 5 for d in per_day.index]].mean()
        weekday = per_day[[d.weekday() < 5 for d in per_day.index]].mean()
        assert abs(weekend / weekday - 0.5 / 1.2) < 0.02
        # Times spread over each day and increase within it.
        seconds = (ts - ts.dt.normalize()).dt.total_seconds()
        assert seconds.min() < 3600 and seconds.max() > 82800
        for _, day in ts.groupby(ts.dt.date):
            assert day.is_monotonic_increasing
    assert len(sim.reference()) == 8400 and len(sim.validation()) == 3600


def test_day_variation_makes_reference_days_differ_beyond_sampling_noise(tmp_path):
    def day_means(model) -> pd.Series:
        ref = Simulator(model).reference()
        return ref.groupby(pd.to_datetime(ref.timestamp).dt.date).monthly_charges.mean()

    steady = day_means(_realistic(tmp_path, "day_variation: 0.0", ref_rows=20000))
    varied = day_means(_realistic(tmp_path, "day_variation: 0.2", name="v.yaml", ref_rows=20000))
    # 500 rows a day, sd ~17: sampling alone moves a day's mean by ~0.8; variation 0.2
    # moves it by ~0.2 × 17 = 3.4 on top.
    assert steady.std() < 1.5
    assert varied.std() > 2 * steady.std()


def test_a_date_has_one_mix_whether_it_is_a_reference_or_a_production_day(tmp_path):
    from monitoring_assets.core.simulator import day_mix

    scenario = _realistic(tmp_path, "day_variation: 0.2").source.scenario
    later = scenario.model_copy(update={"start_date": START + dt.timedelta(days=40)})
    day = START + dt.timedelta(days=5)  # production day of one, reference day of the other
    a, b = day_mix(scenario, day), day_mix(later, day)
    np.testing.assert_array_equal(a.contract_p, b.contract_p)
    assert (a.tenure_scale, a.charge_shift, a.label_shift) == (
        b.tenure_scale,
        b.charge_shift,
        b.label_shift,
    )
    other = day_mix(scenario, day + dt.timedelta(days=1))
    assert a.tenure_scale != other.tenure_scale


def test_realism_settings_are_validated_with_their_key(tmp_path):
    from monitoring_assets.core.config import ConfigError

    for bad, key in (
        ("volume_jitter: 1.0", "volume_jitter"),
        ("seasonality: {weekly: -0.1}", "weekly"),
        ("day_variation: 2", "day_variation"),
        ("seasonality: {daily: 0.3}", "daily"),
    ):
        with pytest.raises(ConfigError, match=key):
            _realistic(tmp_path, bad, name=f"{key}.yaml")

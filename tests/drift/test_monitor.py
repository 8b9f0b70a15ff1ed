"""The Dagster-free drift core: DriftMonitor's fit/calculate, the rules written once, the
reference policy, and day profiles over either lake (Path-backed or string locations)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from monitoring_assets.core.checks import worst_verdict
from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import (
    MonitorInputError,
    load_day_profiles,
    profile_days,
    profiled_columns,
    store_day_profiles,
    trailing_rows,
)
from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DATA_DRIFT_CHECKS,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    DriftMonitor,
)
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.quality import QUALITY_VERDICT, STATUS_ORDER, quality_outcomes
from monitoring_assets.core.references import DriftReferences, reference_file, rolling_days
from monitoring_assets.core.results import (
    FEATURE,
    PREDICTION,
    drift_outcomes,
    drift_rows,
    prediction_outcome,
)
from monitoring_assets.core.simulator import Simulator
from resources.lake import Lake
from resources.lake_fs import FsLake
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "models.yaml"
    path.write_text(churn_yaml(days=4, rows=1200, seed=7))
    return load_project(path).models[0]


@pytest.fixture(scope="module")
def sim(model):
    return Simulator(model)


def _profile(model, frame):
    kinds = profiled_columns(model)
    return profile_frame(frame[[c for c in kinds if c in frame]], kinds)


@pytest.fixture(scope="module")
def reference(model, sim):
    return _profile(model, sim.reference())


def _shocked(model, sim, day=0):
    frame = sim.inference_day(model.first_date + dt.timedelta(days=day)).copy()
    frame["monthly_charges"] = frame["monthly_charges"] * 1.6
    frame["tenure"] = frame["tenure"] + 20
    return frame


def test_calculate_needs_a_fit_and_fit_names_what_is_missing(model, reference):
    with pytest.raises(RuntimeError, match="before fit"):
        DriftMonitor(model).calculate(reference)
    lacking = reference.columns.copy()
    del lacking["tenure"]
    from dataclasses import replace

    with pytest.raises(ValueError, match="lacks feature.*tenure"):
        DriftMonitor(model).fit(replace(reference, columns=lacking))
    with pytest.raises(ValueError, match="needs a reason"):
        DriftMonitor(model).fit(None)


def test_no_reference_makes_every_result_not_computable_and_no_check_passes(model, sim):
    cur = _profile(model, sim.inference_day(model.first_date))
    result = DriftMonitor(model).fit(None, "rolling 7d", "no stored day").calculate(cur)
    assert not any(r.computable for r in result.features.values())
    assert {r.reason for r in result.features.values()} == {"no stored day"}
    assert result.drift_share is None and not result.prediction.computable
    assert all(not o.passed for o in result.outcomes)
    assert result.verdict() == "WARN"  # not computable is a failed WARN, never a pass
    assert result.verdict(DATA_DRIFT_CHECKS) == result.verdict()
    assert result.outcome(DRIFT_SHARE_BELOW_THRESHOLD).description.startswith("not computable")


def test_a_shock_is_an_error_through_the_critical_feature(model, sim, reference):
    clean = DriftMonitor(model).fit(reference, "training v1")
    calm = clean.calculate(_profile(model, sim.inference_day(model.first_date)))
    assert calm.verdict() == "OK" and calm.critical_drifted == ()
    shock = clean.calculate(_profile(model, _shocked(model, sim)))
    assert "monthly_charges" in shock.critical_drifted
    crit = shock.outcome(CRITICAL_FEATURES_NOT_DRIFTED)
    assert (crit.passed, crit.severity) == (False, "ERROR")
    assert crit.metadata["critical_drifted"] == len(shock.critical_drifted)
    assert shock.verdict() == "ERROR"
    assert shock.verdict([PREDICTION_DRIFT_BELOW_THRESHOLD]) == (
        "OK"
        if shock.outcome(PREDICTION_DRIFT_BELOW_THRESHOLD).passed
        else shock.outcome(PREDICTION_DRIFT_BELOW_THRESHOLD).severity
    )
    assert shock.reference == "training v1"


def _as_stored(rows):
    """Rows as the warehouse gives them back: NaN as None (see results.stored_rows)."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]


@pytest.mark.parametrize("shocked", [False, True])
def test_stored_rows_are_judged_exactly_as_the_live_calculation(model, sim, reference, shocked):
    """The check evaluators read drift_results rows back; they must reach the outcomes
    the calculation reached (one set of rules, whatever the input path)."""
    frame = _shocked(model, sim) if shocked else sim.inference_day(model.first_date)
    live = DriftMonitor(model).fit(reference, "training v1").calculate(_profile(model, frame))
    day = model.first_date
    feats = drift_rows(model, day, FEATURE, live.features, "training v1", "run")
    pred = drift_rows(model, day, PREDICTION, {live.prediction.column: live.prediction}, "x", "run")
    stored = [
        *drift_outcomes(_as_stored(feats), model),
        prediction_outcome(_as_stored(pred)[0], model),
    ]
    for a, b in zip(live.outcomes, stored, strict=True):
        assert (a.check, a.passed, a.severity, a.description) == (
            b.check,
            b.passed,
            b.severity,
            b.description,
        )
        assert a.metadata == pytest.approx(b.metadata)


def test_prediction_outcome_without_a_stored_row_fails_as_warn(model):
    o = prediction_outcome(None, model)
    assert (o.passed, o.severity, o.description) == (
        False,
        "WARN",
        "not computable: no result stored",
    )


@pytest.mark.parametrize(
    "statuses, passed, severity, prefix",
    [
        (["ok", "ok"], True, "WARN", "missing_share within limits"),
        (["ok", "not_computable"], False, "WARN", "not computable"),
        (["not_computable", "warn"], False, "WARN", "b: warn"),
        (["warn", "error"], False, "ERROR", "b: error"),
    ],
)
def test_quality_statuses_map_onto_the_check_vocabulary(model, statuses, passed, severity, prefix):
    rows = [
        {"rule": "missing_share", "column_name": c, "value": 0.1, "status": s, "reason": "r"}
        for c, s in zip("ab", statuses, strict=True)
    ]
    (o,) = [x for x in quality_outcomes(rows, model) if x.check == "missing_share_within_limit"]
    assert (o.passed, o.severity) == (passed, severity)
    assert o.description.startswith(prefix)
    worst = max(statuses, key=STATUS_ORDER.__getitem__)
    assert worst_verdict([o]) == QUALITY_VERDICT[worst]


def test_rolling_days_and_the_training_monitor_is_fitted_once(model, tmp_path):
    d = dt.date(2026, 3, 15)
    assert rolling_days(model, d)[0] == d - dt.timedelta(days=1)
    wh = Warehouse(tmp_path / "wh.duckdb")
    lake = Lake(tmp_path / "lake")
    lake.write("churn", "reference", "version=v1", Simulator(model).reference())
    refs = DriftReferences(wh, lake, model, {})
    a, b = refs.for_day(d), refs.for_day(d + dt.timedelta(days=1))
    assert refs.monitor(a) is refs.monitor(b)
    assert a.label == "training v1" and a.profile is not None
    stored = wh.query("SELECT count(*) AS n FROM reference_profiles WHERE model = 'churn'")
    assert stored.n[0] > 0


def _lakes(tmp_path):
    yield "path", Lake(tmp_path / "a")
    (tmp_path / "b").mkdir()
    yield "uri", FsLake.from_uri(f"file://{tmp_path / 'b'}")


def test_profiles_are_the_same_over_a_path_lake_and_a_string_lake(model, sim, tmp_path):
    days = [model.first_date + dt.timedelta(days=i) for i in range(3)]
    got = {}
    for kind, lake in _lakes(tmp_path):
        for d in days:
            lake.write_day("churn", "inference_logs", d, sim.inference_day(d))
        assert isinstance(lake.day_location("churn", "inference_logs", days[0]), str)
        # max_rows=1 forces one DuckDB pass per day: chunking maps files back to days.
        got[kind] = profile_days(lake, model, days, max_rows=1)
        with pytest.raises(MonitorInputError, match="materialize churn/inference_logs first") as e:
            profile_days(lake, model, [*days, days[-1] + dt.timedelta(days=1)])
        assert e.value.metadata["missing_partitions"] == str(days[-1] + dt.timedelta(days=1))
        with pytest.raises(MonitorInputError, match="reference_data is not materialized"):
            reference_file(lake, model)
    for d in days:
        a, b = got["path"][d], got["uri"][d]
        assert a.rows == b.rows > 0
        for c in a.columns:
            assert np.array_equal(a[c].counts, b[c].counts), c
            assert (a[c].mean is None and b[c].mean is None) or math.isclose(a[c].mean, b[c].mean)


def test_stored_profiles_round_trip_and_give_trailing_row_counts(model, sim, tmp_path):
    lake = Lake(tmp_path / "lake")
    days = [model.first_date + dt.timedelta(days=i) for i in range(3)]
    for d in days:
        lake.write_day("churn", "inference_logs", d, sim.inference_day(d))
    wh = Warehouse(tmp_path / "wh.duckdb")
    profiles = profile_days(lake, model, days[:2])
    store_day_profiles(wh, model, profiles)
    back = load_day_profiles(wh, model, days)
    assert sorted(back) == days[:2]
    assert back[days[0]].rows == profiles[days[0]].rows
    third = profile_days(lake, model, days[2:])
    rows = trailing_rows(wh, model, days[2:], third)
    # by lag: the day before first, None where no day was profiled
    assert rows[days[2]][:2] == [profiles[days[1]].rows, profiles[days[0]].rows]
    assert rows[days[2]][2:] == [None] * 26

"""Bad input through the assets: each gives an explained result, never a crash or a silent pass."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.monitor import DRIFT_SHARE_BELOW_THRESHOLD
from monitoring_assets.core.quality import (
    MISSING_SHARE_WITHIN_LIMIT,
    NO_UNSEEN_CATEGORIES,
    ROW_COUNT_STABLE,
    SCHEMA_MATCHES_REFERENCE,
    VALUES_WITHIN_REFERENCE_RANGE,
    quality_outcomes,
)
from monitoring_assets.core.results import drift_outcomes, prediction_outcome
from resources.lake import Lake
from tests.conftest import churn_yaml
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario, check_evaluations

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    sc = Scenario(tmp_path_factory.mktemp("bad"), churn_yaml(days=6, rows=400))
    keys = sc.keys()
    lake = Lake(sc.home.lake)
    with sc.activated() as instance:
        assert sc.run(instance, keys, FOUNDATION).success
        day = lambda i: dt.date.fromisoformat(keys[i])  # noqa: E731
        read = lambda i: lake.read_day("churn", "inference_logs", day(i))  # noqa: E731
        f = read(1)
        f["tenure"] = np.nan
        lake.write_day("churn", "inference_logs", day(1), f)
        f = read(2)
        f["num_services"] = 3.0
        lake.write_day("churn", "inference_logs", day(2), f)
        lake.write_day(
            "churn", "inference_logs", day(3), read(3).drop(columns=["internet_service"])
        )
        lake.write_day("churn", "inference_logs", day(4), read(4).iloc[:0])
        f = read(5)
        f.loc[:49, "monthly_charges"] = np.nan
        f.loc[50:59, "monthly_charges"] = np.inf
        f.loc[60:69, "monthly_charges"] = -np.inf
        f.loc[:99, "contract_type"] = "lifetime"
        f.loc[100:109, "request_id"] = f.loc[110, "request_id"]
        lake.write_day("churn", "inference_logs", day(5), f)
        result = sc.run(instance, keys, DRIFT)
        assert result.success
        evaluations = check_evaluations(instance, result.run_id)
    return sc, evaluations


def _eval(evaluations, check, day):
    (found,) = [e for e in evaluations if e.check_name == check and e.partition == day]
    return found


def _drift_row(sc, day, column):
    d = sc.drift()
    (row,) = d[(d.partition_date == day) & (d.column_name == column)].to_dict("records")
    return row


def test_all_null_column(bad_run):
    sc, ev = bad_run
    k = sc.keys()[1]
    row = _drift_row(sc, k, "tenure")
    assert not row["computable"] and "only missing" in row["reason"]
    e = _eval(ev, MISSING_SHARE_WITHIN_LIMIT, k)
    assert not e.passed and e.severity == ERROR
    assert e.metadata["value/tenure"].value == 1.0
    assert "all 400 values are missing" in e.description
    # the other features are still tested, and the share is over them only
    share = _eval(ev, DRIFT_SHARE_BELOW_THRESHOLD, k)
    assert share.metadata["tested_features"].value == "6"  # counts are text
    assert "tenure" in share.description


def test_constant_column(bad_run):
    sc, ev = bad_run
    row = _drift_row(sc, sc.keys()[2], "num_services")
    assert row["computable"] and row["drifted"]
    assert row["method"] == "jensenshannon" or row["method"] == "wasserstein"
    assert np.isfinite(row["score"])


def test_column_missing_from_a_day(bad_run):
    sc, ev = bad_run
    k = sc.keys()[3]
    row = _drift_row(sc, k, "internet_service")
    assert not row["computable"] and "missing from the current data" in row["reason"]
    e = _eval(ev, SCHEMA_MATCHES_REFERENCE, k)
    assert not e.passed and e.severity == ERROR and "internet_service" in e.description
    miss = _eval(ev, MISSING_SHARE_WITHIN_LIMIT, k)
    assert not miss.passed and "internet_service" in miss.description


def test_empty_partition(bad_run):
    sc, ev = bad_run
    k = sc.keys()[4]
    share = _eval(ev, DRIFT_SHARE_BELOW_THRESHOLD, k)
    assert not share.passed and share.severity == WARN
    assert share.description.startswith("[WARN] not computable") and "no rows" in share.description
    rows = _eval(ev, ROW_COUNT_STABLE, k)
    assert not rows.passed and rows.severity == ERROR and "no rows" in rows.description
    assert not _eval(ev, MISSING_SHARE_WITHIN_LIMIT, k).passed


def test_nan_inf_unseen_category_and_duplicate_ids(bad_run):
    sc, ev = bad_run
    k = sc.keys()[5]
    rng = _eval(ev, VALUES_WITHIN_REFERENCE_RANGE, k)
    assert not rng.passed
    # 20 infinities of 350 finite-or-infinite values, plus any real value beyond the range
    assert 20 / 350 <= rng.metadata["value/monthly_charges"].value < 25 / 350
    assert "(20 infinite)" in rng.description
    miss = _eval(ev, MISSING_SHARE_WITHIN_LIMIT, k)
    assert miss.metadata["value/monthly_charges"].value == pytest.approx(50 / 400)
    unseen = _eval(ev, NO_UNSEEN_CATEGORIES, k)
    assert not unseen.passed and unseen.severity == ERROR and "lifetime" in unseen.description
    dups = _eval(ev, "no_duplicate_request_ids", k)
    assert not dups.passed and dups.severity == ERROR
    assert dups.metadata["value"].value == pytest.approx(10 / 400)
    row = _drift_row(sc, k, "monthly_charges")
    assert row["computable"] and row["current_rows"] == 330


def test_every_day_and_check_has_an_evaluation(bad_run):
    sc, ev = bad_run
    assert len(ev) == 6 * 9
    assert {e.partition for e in ev} == set(sc.keys())


def test_rolling_reference_merges_stored_days(tmp_path):
    text = churn_yaml(days=5, rows=500) + "    reference: {kind: rolling, window_days: 2}\n"
    sc = Scenario(tmp_path, text)
    assert sc.model.reference.kind == "rolling"
    with sc.activated() as instance:
        # day 1 first, alone; then days 2..5: day 2's reference comes from the stored day 1
        assert sc.run(instance, sc.keys()[:1], FOUNDATION + DRIFT[:4]).success
        result = sc.run(instance, sc.keys()[1:], FOUNDATION + DRIFT[:4])
        assert result.success
        ev = check_evaluations(instance, result.run_id)
    d = sc.drift()
    first = d[d.partition_date == sc.keys()[0]]
    assert not first.computable.any() and "no stored profile" in first.reason.iloc[0]
    later = d[d.partition_date > sc.keys()[0]]
    assert later.computable.all()
    assert set(later.reference) == {"rolling 2d (1 days)", "rolling 2d (2 days)"}
    assert (later[later.partition_date == sc.keys()[1]].reference == "rolling 2d (1 days)").all()
    assert all(e.passed for e in ev if e.check_name == DRIFT_SHARE_BELOW_THRESHOLD)


# --------------------------------------------------------------------------- pure outcomes


def _model(**drift):
    return load_project_from(churn_yaml(), drift)


def load_project_from(text, drift):
    import tempfile
    from pathlib import Path

    extra = ""
    if drift:
        items = ", ".join(f"{k}: {v}" for k, v in drift.items())
        extra = f"    thresholds: {{drift: {{{items}}}}}\n"
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.yaml"
        p.write_text(text + extra)
        return load_project(p).models[0]


def _rows(drifted: dict[str, bool], computable=None):
    computable = computable or {}
    crit = {"monthly_charges", "contract_type"}
    return [
        {
            "column_name": c,
            "drifted": d,
            "computable": computable.get(c, True),
            "critical": c in crit,
            "score": 0.2 if d else 0.01,
            "threshold": 0.1,
            "reason": "" if computable.get(c, True) else "column missing from the current data",
        }
        for c, d in drifted.items()
    ]


FEATS = [
    "tenure",
    "monthly_charges",
    "total_charges",
    "num_services",
    "contract_type",
    "payment_method",
    "internet_service",
]


@pytest.mark.parametrize(
    "n_drifted, passed, severity",
    [
        (0, True, "WARN"),
        (2, True, "WARN"),
        (3, False, "WARN"),
        (4, False, "ERROR"),
        (7, False, "ERROR"),
    ],
)
def test_drift_share_levels(n_drifted, passed, severity):
    model = _model()
    # non-critical features first so the critical check does not interfere with the share
    order = [
        "tenure",
        "total_charges",
        "num_services",
        "payment_method",
        "internet_service",
        "monthly_charges",
        "contract_type",
    ]
    rows = _rows({c: i < n_drifted for i, c in enumerate(order)})
    share, _ = drift_outcomes(rows, model)
    assert (share.passed, share.severity) == (passed, severity)
    assert share.metadata["drift_share"] == pytest.approx(n_drifted / 7)
    assert share.metadata["drift_share_warn"] == 0.3 and share.metadata["drift_share_error"] == 0.5


def test_critical_feature_not_computable_is_a_failed_warn():
    model = _model()
    rows = _rows({c: False for c in FEATS}, computable={"contract_type": False})
    _, crit = drift_outcomes(rows, model)
    assert not crit.passed and crit.severity == "WARN"
    assert crit.description.startswith("not computable") and "contract_type" in crit.description


def test_prediction_drift_levels_follow_config():
    model = _model(prediction_drift_score_warn=0.05, prediction_drift_score_error=0.3)
    row = {
        "column_name": "probability",
        "computable": True,
        "method": "wasserstein",
        "threshold": 0.1,
        "drifted": False,
    }
    assert prediction_outcome({**row, "score": 0.04}, model).passed
    mid = prediction_outcome({**row, "score": 0.2}, model)
    assert (mid.passed, mid.severity) == (False, "WARN")
    high = prediction_outcome({**row, "score": 0.3}, model)
    assert (high.passed, high.severity) == (False, "ERROR")
    assert high.metadata["prediction_drift_score_error"] == 0.3
    nc = prediction_outcome(
        {**row, "computable": False, "score": None, "reason": "current data has no rows"}, model
    )
    assert not nc.passed and nc.severity == "WARN" and "no rows" in nc.description


def test_quality_without_findings_never_passes():
    outcomes = quality_outcomes([], _model())
    assert len(outcomes) == 6
    assert all(not o.passed and o.description.startswith("not computable") for o in outcomes)

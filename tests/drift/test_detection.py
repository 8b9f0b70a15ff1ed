"""Detection on the simulator, per-day check evaluations inside one range run, and the
per-partition check status the webserver's GraphQL shows."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
)
from monitoring_assets.core.quality import (
    NO_UNSEEN_CATEGORIES,
    QUALITY_CHECKS,
    ROW_COUNT_STABLE,
    VALUES_WITHIN_REFERENCE_RANGE,
)
from tests.conftest import churn_yaml
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario, check_evaluations

SHIFT_DAY, RAMP = 2, 6  # tenure +0.6 sd, ramped over 6 days: documented window [2, 8)
BROKEN_DAY = 10  # total_charges x100 for one day
NEWCAT_DAY = 12  # payment_method 'crypto_wallet' 8 %
SHOCK_DAY = 14  # monthly charges x1.35, contracts move
DAYS = 16
EVENTS = (
    f"[{{kind: covariate_shift, day: {SHIFT_DAY}, feature: tenure, magnitude: 0.6, ramp_days: {RAMP}}},"
    f" {{kind: broken_feature, day: {BROKEN_DAY}, feature: total_charges, mode: unit, duration_days: 1}},"
    f" {{kind: new_category, day: {NEWCAT_DAY}, feature: payment_method, value: crypto_wallet, share: 0.08}},"
    f" {{kind: sudden_shock, day: {SHOCK_DAY}, magnitude: 1.35, share: 0.5}}]"
)
ALL_CHECKS = {
    DRIFT_SHARE_BELOW_THRESHOLD,
    CRITICAL_FEATURES_NOT_DRIFTED,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    *QUALITY_CHECKS.values(),
}


@pytest.fixture(scope="module")
def events_run(tmp_path_factory):
    """Every day of an event scenario, monitored in ONE single-run range."""
    sc = Scenario(
        tmp_path_factory.mktemp("events"), churn_yaml(days=DAYS, rows=1500, events=EVENTS)
    )
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys())
        assert result.success
        evaluations = check_evaluations(instance, result.run_id)
    return sc, result, evaluations


@pytest.fixture(scope="module")
def control_run(tmp_path_factory):
    sc = Scenario(tmp_path_factory.mktemp("control"), churn_yaml(days=14, rows=1500, seed=5))
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys())
        assert result.success
        evaluations = check_evaluations(instance, result.run_id)
    return sc, result, evaluations


def _day(sc: Scenario, i: int) -> str:
    return sc.keys()[i]


def _eval(evaluations, check: str, day: str):
    found = [e for e in evaluations if e.check_name == check and e.partition == day]
    assert len(found) == 1, (check, day, len(found))
    return found[0]


def _drifted(sc: Scenario, day: str) -> set[str]:
    d = sc.drift()
    return set(d[(d.partition_date == day) & d.drifted].column_name)


def test_one_evaluation_per_day_and_check_inside_one_range_run(events_run):
    sc, result, evaluations = events_run
    counts = Counter((e.partition, e.check_name) for e in evaluations)
    assert set(counts) == {(k, c) for k in sc.keys() for c in ALL_CHECKS}
    assert set(counts.values()) == {1}
    # each evaluation points at that day's own materialization of its asset
    assert all(e.target_materialization_data is not None for e in evaluations)
    assert len({e.target_materialization_data.storage_id for e in evaluations}) == 3 * DAYS
    # and each day of each asset was materialized once, by this run
    with sc.activated() as instance:
        records = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
        ).records
    per_day = Counter(
        (r.asset_key.path[-1], r.partition_key) for r in records if r.partition_key is not None
    )
    daily = {a for a in FOUNDATION + DRIFT if a != "reference_data"}
    assert {asset for asset, _ in per_day} == daily
    assert per_day == Counter({(a, k): 1 for a in daily for k in sc.keys()})
    logged = sc.warehouse.query(
        "SELECT asset, partition_date, count(*) AS n, min(run_id) AS run_id FROM partition_log "
        "GROUP BY asset, partition_date"
    )
    assert set(logged.n) == {1} and set(logged.run_id) == {result.run_id}
    assert (logged.groupby("asset").size() == DAYS).all(), logged


def test_sudden_shock_is_flagged_on_the_injected_day(events_run):
    sc, _, evaluations = events_run
    shock, before = _day(sc, SHOCK_DAY), _day(sc, SHOCK_DAY - 1)
    assert {"monthly_charges", "contract_type"} <= _drifted(sc, shock)
    assert not {"monthly_charges", "contract_type"} & _drifted(sc, before)
    crit = _eval(evaluations, CRITICAL_FEATURES_NOT_DRIFTED, shock)
    assert not crit.passed and crit.severity == dg.AssetCheckSeverity.ERROR
    assert "monthly_charges" in crit.description and "contract_type" in crit.description
    assert crit.metadata["critical_drifted"].value == "2"  # counts are text
    assert _eval(evaluations, CRITICAL_FEATURES_NOT_DRIFTED, before).passed
    pred = _eval(evaluations, PREDICTION_DRIFT_BELOW_THRESHOLD, shock)
    assert not pred.passed and pred.metadata["score"].value > 0.1


def test_broken_feature_is_flagged_on_the_injected_day(events_run):
    sc, _, evaluations = events_run
    broken, before = _day(sc, BROKEN_DAY), _day(sc, BROKEN_DAY - 1)
    assert "total_charges" in _drifted(sc, broken)
    q = sc.quality()
    tc = q[(q.rule == "out_of_range_share") & (q.column_name == "total_charges")].set_index(
        "partition_date"
    )
    assert tc.loc[broken, "status"] == "error" and tc.loc[broken, "value"] > 0.5
    assert tc.loc[before, "value"] < 0.05
    rng = _eval(evaluations, VALUES_WITHIN_REFERENCE_RANGE, broken)
    assert not rng.passed and rng.severity == dg.AssetCheckSeverity.ERROR
    assert rng.metadata["value/total_charges"].value == tc.loc[broken, "value"]
    assert (
        float(rng.metadata["error_threshold"].value)  # thresholds are text
        == sc.model.thresholds.quality.out_of_range_share_error
    )


def test_new_category_is_flagged_from_its_day(events_run):
    sc, _, evaluations = events_run
    new, before = _day(sc, NEWCAT_DAY), _day(sc, NEWCAT_DAY - 1)
    assert not _eval(evaluations, NO_UNSEEN_CATEGORIES, new).passed
    assert "crypto_wallet" in _eval(evaluations, NO_UNSEEN_CATEGORIES, new).description
    assert _eval(evaluations, NO_UNSEEN_CATEGORIES, before).passed


def test_gradual_shift_is_flagged_within_its_ramp(events_run):
    sc, _, _ = events_run
    d = sc.drift()
    tenure = d[d.column_name == "tenure"].set_index("partition_date")
    flagged = [i for i, k in enumerate(sc.keys()) if tenure.loc[k, "drifted"]]
    assert flagged, "the tenure shift was never flagged"
    first = flagged[0]
    assert SHIFT_DAY <= first < SHIFT_DAY + RAMP, (first, tenure.score.round(3).tolist())
    # once the ramp is complete the shift stays flagged
    assert all(tenure.loc[k, "drifted"] for k in sc.keys()[SHIFT_DAY + RAMP :])
    assert tenure.score.iloc[SHIFT_DAY + RAMP] > 2 * tenure.score.iloc[SHIFT_DAY - 1]


def test_metrics_and_markdown_per_partition(events_run):
    sc, _, _ = events_run
    m = sc.warehouse.query(
        "SELECT metric, count(*) AS n, count(DISTINCT feature) AS f FROM monitor_metrics "
        "WHERE metric LIKE 'ml_%' GROUP BY metric ORDER BY metric"
    ).set_index("metric")
    assert m.loc["ml_model_drift_score", "n"] == DAYS
    assert m.loc["ml_model_drifted_features", "n"] == DAYS
    assert m.loc["ml_feature_drift_score", "f"] == 7
    assert m.loc["ml_prediction_drift_score", "n"] == DAYS
    assert m.loc["ml_data_missing_share", "f"] == 7
    with sc.activated() as instance:
        rec = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["churn", "data_drift"]),
                asset_partitions=[_day(sc, SHOCK_DAY)],
            ),
            limit=1,
        ).records[0]
    meta = rec.asset_materialization.metadata
    assert isinstance(meta["drift_share"].value, float) and meta["drift_share"].value >= 2 / 7
    table = meta["features"].value
    assert "| column | method | score | threshold | threshold source | drifted |" in table
    assert "| monthly_charges | wasserstein |" in table
    # every tested feature says which threshold judged it and where it came from
    assert meta["threshold_mode/monthly_charges"].value in ("calibrated", "fixed")
    assert meta["threshold_source/monthly_charges"].value
    assert meta["window"].value == "the day alone"


def test_no_data_drift_error_on_the_no_drift_control(control_run):
    sc, _, evaluations = control_run
    drift_checks = [
        e
        for e in evaluations
        if e.check_name in (DRIFT_SHARE_BELOW_THRESHOLD, CRITICAL_FEATURES_NOT_DRIFTED)
    ]
    assert len(drift_checks) == 2 * 14
    assert not [
        e for e in drift_checks if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    d = sc.drift()
    assert d.computable.all()
    assert d.drifted.mean() < 0.1, d[d.drifted][["partition_date", "column_name", "score"]]
    # the first day has no trailing days: row_count_stable cannot apply, so it passes
    # and says so (never an alert on day one)
    first = _eval(evaluations, ROW_COUNT_STABLE, sc.keys()[0])
    assert first.passed and first.description == "[OK] not applicable: no trailing days yet"
    assert first.metadata["applicable"].value is False
    assert all(_eval(evaluations, ROW_COUNT_STABLE, k).passed for k in sc.keys()[1:])


# --------------------------------------------------------------------------- the UI's view


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


CHECK_STATUS = """
query ($key: AssetKeyInput!, $check: String!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetCheckOrError(checkName: $check) {
        ... on AssetCheck {
          name
          partitionStatuses {
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
          }
        }
      }
    }
  }
}
"""


def _expand(ranges: list[dict], keys: list[str]) -> dict[str, str]:
    out = {}
    for r in ranges:
        lo, hi = keys.index(r["startKey"]), keys.index(r["endKey"])
        for k in keys[lo : hi + 1]:
            out[k] = r["status"]
    return out


def test_webserver_graphql_shows_per_partition_check_status(events_run, tmp_path):
    sc, _, evaluations = events_run
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(sc.home.dagster_home),
        "DRIFTWARDEN_HOME": str(sc.home.root),
        "DRIFTWARDEN_MODELS": str(sc.models),
    }
    log = open(tmp_path / "webserver.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "monitoring_assets.definitions",
        ],
        env=env,
        cwd=str(Path(__file__).resolve().parents[2]),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "webserver.log").read_text()[-3000:])
                time.sleep(0.5)
        keys = sc.keys()
        for asset, check in [
            ("data_drift", CRITICAL_FEATURES_NOT_DRIFTED),
            ("data_quality", VALUES_WITHIN_REFERENCE_RANGE),
        ]:
            data = _graphql(port, CHECK_STATUS, {"key": {"path": ["churn", asset]}, "check": check})
            node = data["data"]["assetNodeOrError"]["assetCheckOrError"]
            assert node["name"] == check, data
            shown = _expand(node["partitionStatuses"]["ranges"], keys)
            expected = {
                e.partition: "SUCCEEDED" if e.passed else "FAILED"
                for e in evaluations
                if e.check_name == check
            }
            assert shown == expected
            assert "FAILED" in shown.values() and "SUCCEEDED" in shown.values()
        assert shown[_day(sc, BROKEN_DAY)] == "FAILED"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

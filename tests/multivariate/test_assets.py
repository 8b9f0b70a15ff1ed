"""The multivariate assets in Dagster: one range run, per-day check evaluations, the
correlation break found by both methods and not by per-column drift, a quiet control,
and a rerun that refits nothing."""

from __future__ import annotations

from collections import defaultdict

import pytest

from monitoring_assets.core.monitor import DRIFT_SHARE_BELOW_THRESHOLD
from monitoring_assets.core.multivariate_days import DOMAIN_CLASSIFIER_CHECK, RECONSTRUCTION_CHECK
from tests.drift.helpers import FOUNDATION, Scenario, check_evaluations

MULTIVARIATE = ("reconstruction_drift", "domain_classifier_drift")
EVENT_DAY, DAYS = 3, 6
# At 500 rows a day both methods find every day of a full break of total_charges' link
# to tenure; at 200 rows the reconstruction error misses some (bench/bench_multivariate.py).

MODEL = """
models:
  - name: {name}
    features:
      - {{name: tenure, type: numerical}}
      - {{name: monthly_charges, type: numerical}}
      - {{name: total_charges, type: numerical}}
      - {{name: num_services, type: numerical}}
      - {{name: contract_type, type: categorical}}
      - {{name: payment_method, type: categorical}}
      - {{name: internet_service, type: categorical}}
    columns: {{target: churn}}
    label_delay_days: 3
    multivariate: {{methods: [reconstruction, domain_classifier]}}
    source:
      kind: simulator
      scenario:
        start_date: 2026-03-01
        days: {days}
        rows_per_day: {rows}
        volume_jitter: 0.15
        day_variation: 0.03
        reference_rows: 8000
        reference_days: 28
        seed: {seed}
        events: {events}
"""


def _verdicts(instance, run_id) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for e in check_evaluations(instance, run_id):
        out[e.check_name][e.partition] = "OK" if e.passed else e.severity.value
    return out


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    events = f"[{{kind: correlation_break, day: {EVENT_DAY}, feature: total_charges, share: 1.0}}]"
    sc = Scenario(
        tmp_path_factory.mktemp("mv"),
        MODEL.format(name="mv", days=DAYS, rows=500, seed=5, events=events),
    )
    with sc.activated() as instance:
        result = sc.run(
            instance, sc.keys(), FOUNDATION + ("feature_profiles", "data_drift") + MULTIVARIATE
        )
        assert result.success
        yield sc, instance, result


def test_both_methods_find_the_correlation_break_and_per_column_drift_does_not(broken):
    sc, instance, result = broken
    v = _verdicts(instance, result.run_id)
    keys = sc.keys()
    for check in (RECONSTRUCTION_CHECK, DOMAIN_CLASSIFIER_CHECK):
        assert sorted(v[check]) == keys  # one evaluation per day, in one range run
        assert [v[check][k] for k in keys[:EVENT_DAY]] == ["OK"] * EVENT_DAY, check
        assert all(v[check][k] in ("WARN", "ERROR") for k in keys[EVENT_DAY:]), check
    assert all(v[DRIFT_SHARE_BELOW_THRESHOLD][k] == "OK" for k in keys[EVENT_DAY:])
    drift = sc.drift()
    tc = drift[drift.column_name == "total_charges"]
    assert not tc[tc.partition_date.isin(keys[EVENT_DAY:])].drifted.any()


def test_results_and_metrics_are_stored(broken):
    sc, _, _ = broken
    wh = sc.warehouse
    rows = wh.query(
        "SELECT method, status, value, threshold, threshold_error, threshold_mode, threshold_source "
        "FROM multivariate_results WHERE model = 'mv' ORDER BY method, partition_date"
    )
    assert len(rows) == 2 * DAYS and set(rows.status) == {"computed"}
    recon = rows[rows.method == "reconstruction"]
    assert set(recon.threshold_mode) == {"calibrated"}
    assert recon.threshold_source.str.contains("reference chunks").all()
    assert (recon.threshold < recon.threshold_error).all()
    metrics = wh.query(
        "SELECT metric, count(*) AS n FROM monitor_metrics WHERE model = 'mv' AND metric IN "
        "('ml_reconstruction_error', 'ml_domain_classifier_auc') GROUP BY metric ORDER BY metric"
    )
    assert metrics.values.tolist() == [
        ["ml_domain_classifier_auc", DAYS],
        ["ml_reconstruction_error", DAYS],
    ]
    # the day's WARN level beside the error, for the dashboard's threshold line
    levels = wh.query(
        "SELECT value FROM monitor_metrics WHERE model = 'mv' AND "
        "metric = 'ml_reconstruction_error_threshold' ORDER BY partition_date"
    )
    assert levels["value"].tolist() == recon.threshold.tolist()


def test_a_rerun_refits_nothing_and_gives_the_same_numbers(broken):
    sc, instance, _ = broken
    wh = sc.warehouse
    q = "SELECT method, window_rows, payload, computed_at FROM multivariate_fits ORDER BY 1, 2"
    fits = wh.query(q)
    values = wh.query(
        "SELECT method, partition_date, value FROM multivariate_results ORDER BY 1, 2"
    )
    result = sc.run(instance, sc.keys(), MULTIVARIATE)
    assert result.success
    assert wh.query(q).equals(fits)
    assert wh.query(
        "SELECT method, partition_date, value FROM multivariate_results ORDER BY 1, 2"
    ).equals(values)


def test_a_short_control_stays_quiet(tmp_path):
    sc = Scenario(tmp_path, MODEL.format(name="ctl", days=8, rows=200, seed=11, events="[]"))
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys(), FOUNDATION + MULTIVARIATE)
        assert result.success
        v = _verdicts(instance, result.run_id)
    for check in (RECONSTRUCTION_CHECK, DOMAIN_CLASSIFIER_CHECK):
        assert v[check] == {k: "OK" for k in sc.keys()}, check


def test_models_without_the_section_get_no_multivariate_assets(tmp_path):
    sc = Scenario(
        tmp_path,
        MODEL.format(name="plain", days=2, rows=50, seed=1, events="[]").replace(
            "    multivariate: {methods: [reconstruction, domain_classifier]}\n", ""
        ),
    )
    from monitoring_assets.definitions import build_definitions

    defs = build_definitions(sc.project, sc.home)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "plain/data_drift" in keys
    assert not {"plain/reconstruction_drift", "plain/domain_classifier_drift"} & keys

"""The data_drift checks link the day's Evidently page: drift_report runs before them in
the same run, and a failing day's check result carries its URL; a day without a page
carries no link."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from monitoring_assets.core.monitor import DRIFT_SHARE_BELOW_THRESHOLD
from tests.conftest import churn_yaml
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario, check_evaluations

SHOCK = "[{kind: sudden_shock, day: 2, magnitude: 3.0, share: 1.0}]"


def test_a_failing_drift_check_links_the_days_evidently_page(tmp_path):
    sc = Scenario(tmp_path, churn_yaml(days=4, rows=400, seed=5, events=SHOCK))
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys(), assets=FOUNDATION + DRIFT)
        assert result.success
        evaluations = check_evaluations(instance, result.run_id)
    share = {e.partition: e for e in evaluations if e.check_name == DRIFT_SHARE_BELOW_THRESHOLD}
    failing = [pk for pk, e in share.items() if not e.passed]
    passing = [pk for pk, e in share.items() if e.passed]
    assert failing and passing, {pk: e.passed for pk, e in share.items()}
    for pk in failing:
        link = share[pk].metadata["report"].value
        page = urlparse(link)
        assert page.scheme == "file", link
        text = open(unquote(page.path), encoding="utf-8").read()
        assert pk in text and "evidently" in text.lower()
    for pk in passing:
        assert "report" not in share[pk].metadata

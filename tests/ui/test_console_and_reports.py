"""The alert console table, the report store, the monitoring report's page, and the check
metadata as the UI shows it (pure parts; the browser test is tests/production/test_ui_browser.py)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pandas as pd
import pytest

from monitoring_assets.core.alerts.console import console_entry
from monitoring_assets.core.alerts.lineage import split_metadata
from monitoring_assets.core.alerts.routing import Alert
from monitoring_assets.core.checks import CheckOutcome
from monitoring_assets.core.config import load_project
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE
from monitoring_assets.core.trend_report import Onset, Panel, drift_panels, render_html
from monitoring_assets.monitors.daily_checks import described, shown_metadata
from resources.report_store import LocalReportStore
from resources.warehouse import open_warehouse
from tests.conftest import churn_yaml, write

T0 = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


def alert(check: str, tier: str, onset: str, latest: str, days: int, asset="data_drift") -> Alert:
    return Alert(
        alert_id=f"id-{check}",
        fingerprint=f"fp-{check}",
        model="churn",
        model_version="v1",
        asset_key=f"churn/{asset}",
        check_name=check,
        partition_key=latest,
        severity="ERROR" if tier == "critical" else "WARN",
        tier=tier,
        status="firing",
        category="drift",
        channels=[],
        owners=[],
        muted=False,
        opened_at=T0,
        last_seen_at=T0,
        trigger_event_id=1,
        last_event_id=2,
        onset_partition=onset,
        failing_partitions=days,
    )


def test_console_table_lists_episodes_most_severe_first_with_partition_links():
    firing = [
        alert(
            "missing_share_within_limit", "warning", "2026-03-02", "2026-03-04", 3, "data_quality"
        ),
        alert("drift_share_below_threshold", "critical", "2026-03-06", "2026-03-10", 5),
    ]
    entry = console_entry(firing, "http://user:pw@ui.example:3000/", "http://r/churn/m.html")
    rows = [
        r
        for r in entry.table.splitlines()
        if r.startswith("| critical") or r.startswith("| warning")
    ]
    assert [r.split("|")[1].strip() for r in rows] == ["critical", "warning"]
    cells = [c.strip() for c in rows[0].split("|")[1:-1]]
    assert cells[:6] == [
        "critical",
        "data_drift",
        "drift_share_below_threshold",
        "2026-03-06",
        "2026-03-10",
        "5",
    ]
    assert entry.counts == {"critical": 1, "warning": 1, "info": 0}
    assert "pw" not in entry.table and "user" not in entry.table
    assert "[monitoring report](http://r/churn/m.html)" in entry.table
    (name, url), _ = list(entry.links.items())
    assert name == "critical data_drift.drift_share_below_threshold @ 2026-03-10"
    parts = urlsplit(url)
    assert parts.netloc == "ui.example:3000" and parts.path == "/assets/churn/data_drift"
    assert parse_qs(parts.query) == {"view": ["partitions"], "partition": ["2026-03-10"]}


def test_console_without_open_episodes_says_so():
    entry = console_entry([], "http://localhost:3000")
    assert entry.table == "No open alert episodes." and entry.links == {}


def test_report_store_writes_whole_files_and_names_their_url(tmp_path):
    store = LocalReportStore(tmp_path / "reports", base_url="http://reports.example/base/")
    location = store.write_html("churn", "monitoring_report.html", "<p>one</p>")
    store.write_html("churn", "monitoring_report.html", "<p>two</p>")
    assert open(location).read() == "<p>two</p>"
    assert [p.name for p in (tmp_path / "reports" / "churn").iterdir()] == [
        "monitoring_report.html"
    ]
    assert store.url("churn", "monitoring_report.html") == (
        "http://reports.example/base/churn/monitoring_report.html"
    )
    local = LocalReportStore(tmp_path / "reports")
    assert local.url("churn", "monitoring_report.html").startswith("file:///")
    with pytest.raises(ValueError, match="report name"):
        store.write_html("churn", "../x.html", "")
    with pytest.raises(ValueError):
        store.write_html("../etc", "x.html", "")


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections: list[dict] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a)
        if tag == "script":
            self.scripts += 1
            if a.get("src"):
                self.external.append(a["src"])


def test_monitoring_report_page_is_offline_with_one_panel_per_value(tmp_path):
    model = load_project(write(tmp_path / "m.yaml", churn_yaml())).models[0]
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    panels = [
        Panel(
            "data_drift",
            "data_drift · tenure",
            days,
            [0.01, 0.2, 0.3],
            [0.1] * 3,
            [0.2] * 3,
            onsets=[Onset("2026-03-02", "drift_share_below_threshold", "critical")],
        ),
        Panel(
            "model_performance",
            "accuracy",
            days,
            [0.8, 0.7, None],
            [0.75] * 3,
            [0.7] * 3,
            higher_is_worse=False,
        ),
    ]
    page = render_html(model, panels, T0, "3 day(s)")
    parsed = _Sections()
    parsed.feed(page)
    assert [(s["data-asset"], s["data-onsets"]) for s in parsed.sections] == [
        ("data_drift", "1"),
        ("model_performance", "0"),
    ]
    assert parsed.external == [], "the page must not load scripts from elsewhere"
    assert len(page) > 1_000_000  # plotly.js itself is embedded
    assert "threshold band (ERROR)" in page and "alert onset" in page


def test_drift_panels_read_stored_scores_and_thresholds(tmp_path):
    model = load_project(write(tmp_path / "m.yaml", churn_yaml())).models[0]
    wh = open_warehouse(tmp_path / "wh.duckdb")
    wh.migrate()
    rows = pd.DataFrame(
        {
            "model": "churn",
            "model_version": "v1",
            "partition_date": pd.to_datetime(["2026-03-01", "2026-03-02"]).date,
            "role": "feature",
            "column_name": "tenure",
            "kind": "numerical",
            "critical": False,
            "method": "wasserstein",
            "threshold": [0.1, 0.12],
            "threshold_error": [0.2, 0.24],
            "score": [0.05, 0.3],
            "drifted": [False, True],
            "computable": True,
        }
    )
    for column in DRIFT_RESULTS_TABLE.columns:
        if column not in rows:
            rows[column] = None
    wh.replace(
        DRIFT_RESULTS_TABLE.name, rows[list(DRIFT_RESULTS_TABLE.columns)], {"model": "churn"}
    )
    (panel,) = drift_panels(wh, model)
    assert panel.asset == "data_drift" and "tenure" in panel.title
    assert panel.days == ["2026-03-01", "2026-03-02"]
    assert panel.values == [0.05, 0.3] and panel.warn == [0.1, 0.12] and panel.error == [0.2, 0.24]


def test_check_metadata_keeps_signals_as_numbers_and_heads_the_description():
    outcome = CheckOutcome(
        "drift_share_below_threshold",
        passed=False,
        severity="ERROR",
        description="5 of 7 features drifted",
        metadata={
            "drift_share": 0.714,
            "drift_share_warn": 0.3,
            "drifted_features": 5,
            "method": "wasserstein",
        },
    )
    shown = shown_metadata(outcome)
    assert shown["drift_share"] == 0.714
    assert shown["drift_share_warn"] == dg.MetadataValue.text("0.3")
    assert shown["drifted_features"] == dg.MetadataValue.text("5")
    assert shown["severity"] == dg.MetadataValue.text("ERROR")
    assert described(outcome) == "[ERROR] 5 of 7 features drifted"
    ok = CheckOutcome(
        "drift_share_below_threshold", passed=True, severity="ERROR", description="ok"
    )
    assert described(ok) == "[OK] ok" and shown_metadata(ok)["severity"].value == "OK"
    # Alerts read the thresholds back as numbers.
    values, thresholds, _ = split_metadata({"drift_share": 0.714, "drift_share_warn": "0.3"})
    assert values == {"drift_share": 0.714} and thresholds == {"drift_share_warn": 0.3}
    assert re.match(r"^\[(OK|WARN|ERROR)\] ", described(outcome))

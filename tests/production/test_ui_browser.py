"""The Dagster UI in headless Chromium (Debian ``chromium``, driven by Playwright) on the
daemon/webserver demo instance: the per-model asset graph, a partition with a failed
check, an alert's lineage link resolving to its run, the backfill and a run page.

Screenshots go to tests/artifacts/ (gitignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from resources.warehouse import Warehouse
from tests.conftest import IN_CI, require_module
from tests.production.conftest import LOCATION

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Run alone, this test starts the whole stack and waits for the history backfill.
pytestmark = pytest.mark.timeout(1800)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 5) { runId status } }
  }
}
"""

FAILED_CHECKS = """
query {
  assetNodes(group: {groupName: "churn", repositoryName: "__repository__",
                     repositoryLocationName: "LOCATION_NAME"}) {
    assetKey { path }
    assetChecksOrError {
      ... on AssetChecks {
        checks { name executionForLatestMaterialization { status evaluation { partition } } }
      }
    }
  }
}
""".replace("LOCATION_NAME", LOCATION)


def chromium_path() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path:
        return path
    if IN_CI:
        pytest.fail("Debian package chromium is not installed; CI must install it")
    pytest.skip("chromium is not installed (apt-get install chromium; CI installs it)")


@pytest.fixture
def page(dagster_stack):
    executable = chromium_path()
    sync_api = require_module("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.set_default_timeout(45_000)
            yield page
        finally:
            browser.close()


def finished_backfill(stack, backfill_id: str) -> dict:
    # Generous: on a loaded 2-core machine the 10-day backfill with its Evidently reports
    # has taken over 7 minutes.
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline:
        b = stack.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if (
            b["status"] in ("COMPLETED", "COMPLETED_SUCCESS")
            and b["runs"]
            and all(r["status"] == "SUCCESS" for r in b["runs"])
        ):
            return b
        if b["status"] in ("FAILED", "COMPLETED_FAILED", "CANCELED"):
            pytest.fail(f"backfill ended {b['status']}: {b}")
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} did not finish\n{stack.tail()}")


#: Assets of the churn group the graph may show first, whatever part fits the viewport.
GRAPH_ASSETS = (
    "reference_data",
    "inference_logs",
    "ground_truth",
    "feature_profiles",
    "data_drift",
    "prediction_drift",
    "target_drift",
    "data_quality",
    "model_performance",
    "estimated_performance",
)


def _path(url: str) -> str:
    """The path and query of a UI link (alerts carry the configured UI base URL)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def dismiss_dialogs(page) -> None:
    """The webserver greets a new browser with a community dialog; close it so it hides
    nothing and takes no click."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count() and skip.first.is_visible():
        skip.first.click()
        skip.first.wait_for(state="hidden")


def shot(page, name: str) -> Path:
    dismiss_dialogs(page)
    path = ARTIFACTS / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"screenshot {path} is blank"
    return path


def test_ui_shows_graph_failed_check_partition_alert_run_and_backfill(
    page, dagster_stack, history_backfill
):
    base = dagster_stack.base
    backfill = finished_backfill(dagster_stack, history_backfill)
    run_id = backfill["runs"][0]["runId"]

    # The per-model asset graph: the churn group with its foundation assets.
    page.goto(f"{base}/locations/{LOCATION}/asset-groups/churn")
    # The graph draws only the nodes inside the viewport: wait for any asset of the group.
    page.get_by_text(re.compile(f"^({'|'.join(GRAPH_ASSETS)})$")).first.wait_for()
    page.wait_for_timeout(1500)  # let the graph lay out before the screenshot
    shot(page, "asset-graph")
    drawn = [a for a in GRAPH_ASSETS if page.get_by_text(a, exact=True).count()]
    assert len(drawn) >= 2, f"the churn group's graph drew {drawn}"

    # Follow a firing alert's lineage links: the partition with the failed check (partitions
    # view), the check's detail, and the run that evaluated it.
    nodes = dagster_stack.graphql(FAILED_CHECKS)["assetNodes"]
    has_checks = any((n["assetChecksOrError"] or {}).get("checks") for n in nodes)
    home = dagster_stack.env["DRIFTWARDEN_HOME"]
    alerts = Warehouse(f"{home}/warehouse.duckdb").query(
        "SELECT check_name, partition_key, lineage FROM alerts ORDER BY opened_at"
    )
    if has_checks:
        assert len(alerts), "the scenario injects drift, yet no alert fired"
    for row in alerts.itertuples():
        links = json.loads(row.lineage or "{}").get("links", {})
        if not {"asset_partition", "check", "run"} <= set(links):
            continue
        page.goto(base + _path(links["asset_partition"]))
        page.get_by_text(row.partition_key).first.wait_for()
        shot(page, "partition-with-failed-check")
        page.goto(base + _path(links["check"]))
        page.get_by_text(row.check_name).first.wait_for()
        page.wait_for_timeout(1000)
        assert "Failed" in page.content() or "failed" in page.content()
        shot(page, "failed-check")
        run_path = _path(links["run"])
        page.goto(base + run_path)
        page.get_by_text(run_path.rsplit("/", 1)[-1][:8]).first.wait_for()
        shot(page, "alert-run")
        break
    else:
        assert not has_checks, "no alert carries partition, check and run links"

    # The backfill and its run.
    page.goto(f"{base}/runs/b/{history_backfill}?tab=runs")
    page.get_by_text(history_backfill).first.wait_for()
    page.get_by_text(run_id[:8]).first.wait_for()
    shot(page, "backfill")

    page.goto(f"{base}/runs/{run_id}")
    page.get_by_text(run_id[:8]).first.wait_for()
    page.get_by_text("Success", exact=False).first.wait_for()
    shot(page, "run")


ALERTS_OBSERVED = """
query {
  assetOrError(assetKey: {path: ["churn", "alerts"]}) {
    ... on Asset {
      assetObservations(limit: 1) {
        metadataEntries { label ... on UrlMetadataEntry { url } }
      }
    }
  }
}
"""

DRIFT_REPORTS = """
query {
  assetOrError(assetKey: {path: ["churn", "drift_report"]}) {
    ... on Asset {
      assetMaterializations(limit: 20) {
        partition
        metadataEntries { label ... on UrlMetadataEntry { url } }
      }
    }
  }
}
"""


def wait_for(what: str, probe, stack, timeout: float = 420, every: float = 3):
    """``probe()`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"{what} did not happen in {timeout:.0f}s\n{stack.tail()}")


def _alerts_observation(stack) -> dict | None:
    asset = stack.graphql(ALERTS_OBSERVED)["assetOrError"] or {}
    obs = asset.get("assetObservations") or []
    return obs[0] if obs else None


def _report_with_onsets(stack) -> str | None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(
            f"{stack.reports_base}/churn/monitoring_report.html", timeout=30
        ) as resp:
            text = resp.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return text if re.search(r'data-onsets="[1-9]', text) else None


def test_ui_alert_console_monitoring_report_and_evidently_link(
    page, dagster_stack, history_backfill
):
    """The alerts asset shows the open episodes as a table whose links land on the failed
    check's partition; the monitoring report draws a threshold band and onset markers; the
    Evidently report of a flagged day opens from its URL and names its sample."""
    base = dagster_stack.base
    finished_backfill(dagster_stack, history_backfill)
    # The daemon's alert sensor reads the backfill's check results and records an
    # observation of the alerts asset with its episode table and links.
    obs = wait_for(
        "an observation of churn/alerts", lambda: _alerts_observation(dagster_stack), dagster_stack
    )
    labels = {e["label"] for e in obs["metadataEntries"]}
    assert {"open_episodes", "open_critical", "monitoring_report"} <= labels, labels
    links = [e for e in obs["metadataEntries"] if "@" in e["label"] and e.get("url")]
    assert links, f"no episode link among {sorted(labels)}"

    page.goto(f"{base}/assets/churn/alerts?view=events")
    # A long Markdown entry sits behind "[Show Markdown]" (a dialog); short ones are inline.
    table = page.locator("table", has=page.locator("th", has_text="failing days")).first
    show = page.get_by_text("[Show Markdown]").first
    show.or_(table).wait_for(timeout=120_000)
    page.wait_for_timeout(1500)  # the community dialog, if any, opens with the page
    dismiss_dialogs(page)
    if not table.is_visible():
        show.click()
    table.wait_for(timeout=60_000)
    episode_links = table.locator("a", has_text="partition")
    assert episode_links.count() >= 1
    shot(page, "alerts-console")

    # An episode's link lands on the checked asset's failing partition; the check's own
    # Partitions tab marks that day failed.
    label, url = links[0]["label"], links[0]["url"]
    partition = label.rsplit("@ ", 1)[-1]
    asset_name, check_name = label.split(" ", 1)[1].split(" @ ")[0].split(".", 1)
    assert urlsplit(url).path.endswith(f"/assets/churn/{asset_name}")
    page.goto(base + _path(url))
    page.get_by_text(partition).first.wait_for()
    shot(page, "alert-partition")
    page.goto(f"{base}/assets/churn/{asset_name}?view=checks&checkDetail={check_name}")
    # (The UI measures names in hidden copies first: look for the drawn ones.)
    page.get_by_text(check_name).filter(visible=True).first.wait_for()
    dismiss_dialogs(page)
    page.get_by_role("tab", name="Partitions").first.click()
    day = page.get_by_text(partition, exact=True).filter(visible=True).first
    day.wait_for()
    day.click()
    page.get_by_text("Failed").filter(visible=True).first.wait_for()
    shot(page, "alert-check-partition")

    # The monitoring report, rebuilt by the report_churn run the sensor requested once the
    # alerts changed: a threshold band (a filled area) and onset markers are drawn.
    wait_for(
        "a monitoring report with alert onsets",
        lambda: _report_with_onsets(dagster_stack),
        dagster_stack,
    )
    page.goto(f"{dagster_stack.reports_base}/churn/monitoring_report.html")
    panel = page.locator('section.panel:not([data-onsets="0"])').first
    panel.wait_for(timeout=120_000)
    panel.locator("path.js-fill").first.wait_for(state="attached")
    assert panel.locator("path.js-fill").count() >= 1, "no threshold band drawn"
    onset_points = panel.locator(".scatterlayer .trace .points path.point")
    onset_points.first.wait_for(state="visible")
    assert onset_points.count() >= 1, "no alert onset marker drawn"
    shot(page, "monitoring-report")

    # The Evidently report of a flagged day: a URL in the day's metadata, opened in the
    # browser, saying it is computed on a sample.
    mats = dagster_stack.graphql(DRIFT_REPORTS)["assetOrError"]["assetMaterializations"]
    urls = [
        e["url"]
        for m in mats
        for e in m["metadataEntries"]
        if e["label"] == "report" and e.get("url")
    ]
    assert urls, "no drift_report day carries a report URL"
    page.goto(urls[0])
    note = page.locator("#driftwarden-sample-note")
    note.wait_for()
    assert re.search(r"sample of \d+ rows", note.inner_text())
    shot(page, "evidently-report")

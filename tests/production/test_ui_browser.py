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
pytestmark = pytest.mark.timeout(900)
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
    deadline = time.monotonic() + 420
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


def shot(page, name: str) -> Path:
    # The webserver greets a new browser with a community dialog; close it so it hides nothing.
    skip = page.get_by_role("button", name="Skip")
    if skip.count() and skip.first.is_visible():
        skip.first.click()
        page.wait_for_timeout(300)
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

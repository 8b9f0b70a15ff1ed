"""``driftwarden demo --days N`` builds only the first N days, and nothing alerts about the
days it was told not to build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitoring_assets.core.alerts.outbox import AlertStore
from resources.warehouse import open_warehouse
from tests.conftest import churn_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_a_shortened_demo_raises_no_freshness_alert_for_days_it_never_built(tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text(churn_yaml(days=6, rows=100))
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTWARDEN_", "DAGSTER_"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "monitoring_assets.cli", "--home", str(home)),
            *("demo", "--models", str(models), "--days", "3"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 days" in done.stdout
    alerts = AlertStore(open_warehouse(home / "warehouse.duckdb")).list_alerts(limit=1000)
    freshness = [a for a in alerts if a.check_name == "inference_partition_on_time"]
    assert not [a for a in freshness if a.status == "firing"], [
        (a.status, a.partition_key) for a in freshness
    ]

"""Reading evaluations by cursor on each event storage, and the alerts CLI."""

import argparse
import io
from contextlib import contextmanager

import dagster as dg
import pytest

from monitoring_assets.cli.alerts import add_cli
from resources.notifiers import AlertingResource
from sensors.alerts import alert_tick
from sensors.check_events import check_evaluation_records, latest_event_id
from tests.alerts.conftest import Toy, toy_model


@contextmanager
def consolidated(tmp_path):
    overrides = {
        "event_log_storage": {
            "module": "dagster._core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(tmp_path / "events")},
        }
    }
    with dg.instance_for_test(overrides=overrides) as inst:
        yield inst


@pytest.mark.parametrize("storage", ["sqlite", "consolidated"])
def test_cursor_reads_each_evaluation_once_in_order(storage, tmp_path):
    make = consolidated(tmp_path) if storage == "consolidated" else dg.instance_for_test()
    with make as inst:
        toy = Toy(inst)
        toy.run("2026-06-02", failing={"f1"})
        first = check_evaluation_records(inst, 0)
        assert len(first) == 8
        ids = [r.storage_id for r in first]
        assert ids == sorted(ids) and latest_event_id(inst) == ids[-1]
        toy.run("2026-06-03", failing=set())
        second = check_evaluation_records(inst, ids[-1])
        assert len(second) == 8 and second[0].storage_id > ids[-1]
        assert check_evaluation_records(inst, second[-1].storage_id) == []
        assert len(check_evaluation_records(inst, 0, limit=3)) == 3


def run_cli(argv, warehouse):
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", "--warehouse", str(warehouse.path), *argv])
    out = io.StringIO()
    code = args.func(args, out)
    return code, out.getvalue()


def test_alerts_list_and_show(instance, toy, warehouse, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "freshness: {enabled: false}\npage_window: 3650d\nui_base_url: http://ui:3000\n"
    )
    toy.run("2026-06-02", failing={"f4", "share"})
    alert_tick(
        instance,
        warehouse,
        AlertingResource(policy_file=str(policy)),
        [toy_model()],
        0,
        job_names={"retrain_toy"},
    )

    code, out = run_cli(["list"], warehouse)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("ID") and len(lines) == 3
    assert any("critical" in ln and "drift_share_below_threshold" in ln for ln in lines)

    crit = next(ln.split()[0] for ln in lines[1:] if "critical" in ln)
    code, out = run_cli(["show", crit[:8]], warehouse)
    assert code == 0
    assert f"alert {crit}  [firing]  tier critical" in out
    assert "model        toy v3" in out
    assert "value        drift_share = 0.142857" in out
    assert "threshold    drift_share_threshold = 0.5" in out
    assert (
        "upstream     toy/inference_logs partition 2026-06-02 data version rows-2026-06-02" in out
    )
    assert "report       /reports/toy/2026-06-02.html" in out
    assert "link         run: http://ui:3000/runs/" in out
    assert "message      console firing delivered" in out
    assert "action       retrain requested run_key retrain:toy:" in out

    # the demo's view: with an instance, the run the alert triggered is shown
    from monitoring_assets.cli.alerts import render_alert
    from monitoring_assets.core.alerts.outbox import AlertStore

    store = AlertStore(warehouse)
    alert = store.get_alert(crit)
    run_key = alert.action.split(":", 2)[2]
    res = dg.materialize(
        [toy.assets[0]],
        instance=instance,
        partition_key="2026-06-02",
        tags={"dagster/run_key": run_key},
    )
    text = render_alert(store, alert, instance)
    assert f"triggered    run {res.run_id} SUCCESS" in text

    code, out = run_cli(["list", "--status", "resolved"], warehouse)
    assert out.strip() == "no alerts"
    assert run_cli(["show", "nope"], warehouse)[0] == 1


def test_per_day_evaluations_of_a_range_keep_their_day_and_materialization(instance, toy):
    """The shape partitioned_checks.py records: AssetCheckEvaluation(partition=day,
    target_materialization_data=that day's materialization)."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData as Target,
    )

    from sensors.check_events import to_check_event

    days = ["2026-06-05", "2026-06-06", "2026-06-07"]
    for pk in days:
        toy.run(pk, failing=set())
    after = latest_event_id(instance)
    key = dg.AssetKey(["toy", "data_drift"])
    for pk in days:
        (rec,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[pk]), limit=1
        ).records
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name="drift_share_below_threshold",
                passed=False,
                partition=pk,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"drift_share": 0.6, "drift_share_threshold": 0.5},
                target_materialization_data=Target(
                    storage_id=rec.storage_id, run_id=rec.run_id, timestamp=rec.timestamp
                ),
            )
        )
    events = [to_check_event(instance, r, {}) for r in check_evaluation_records(instance, after)]
    assert [e.partition for e in events] == days
    assert [e.upstream["data_version"] for e in events] == [f"rows-{d}" for d in days]
    assert [e.materialization["partition"] for e in events] == days
    assert len({e.materialization["storage_id"] for e in events}) == 3

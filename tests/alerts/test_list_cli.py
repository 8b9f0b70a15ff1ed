"""`driftwarden alerts list`: says what it left out; --all, --status, --since, --model;
`alerts show` says the episode."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from monitoring_assets.cli.alerts import main
from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.record import record_events
from resources.warehouse import Warehouse
from tests.alerts.conftest import toy_model

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def ev(i: int, check: str, pk: str, passed: bool) -> CheckEvent:
    return CheckEvent(i, ("toy", "data_drift"), check, passed, "WARN", NOW, pk)


@pytest.fixture
def wh_path(tmp_path):
    """57 episodes of model toy: checks c00..c56 fail on 2026-11-(1 + n % 28); the first 20
    resolve the next day."""
    path = tmp_path / "wh.duckdb"
    store = AlertStore(Warehouse(path))
    events, i = [], 0
    for n in range(57):
        pk = dt.date(2026, 11, 1 + n % 28)
        i += 1
        events.append(ev(i, f"c{n:02d}", pk.isoformat(), False))
        if n < 20:
            i += 1
            events.append(ev(i, f"c{n:02d}", (pk + dt.timedelta(days=1)).isoformat(), True))
    record_events(store, AlertPolicy(), {"toy": toy_model()}, events, NOW)
    return str(path)


def run(capsys, *argv: str) -> list[str]:
    assert main(["alerts", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def rows(lines: list[str]) -> list[str]:
    return [line for line in lines if line[:1].isalnum() and not line.startswith("ID")]


def test_list_says_how_many_it_did_not_show(wh_path, capsys):
    lines = run(capsys, "--warehouse", wh_path, "list")
    assert len(rows(lines)) == 50
    assert lines[-1] == "… and 7 more; --all to show them"

    lines = run(capsys, "--warehouse", wh_path, "list", "--all")
    assert len(rows(lines)) == 57 and "more" not in lines[-1]

    lines = run(capsys, "--warehouse", wh_path, "list", "--limit", "10")
    assert len(rows(lines)) == 10 and lines[-1] == "… and 47 more; --all to show them"


def test_list_filters_by_status_since_and_model(wh_path, capsys):
    assert len(rows(run(capsys, "--warehouse", wh_path, "list", "--status", "open", "--all"))) == 37
    resolved = rows(run(capsys, "--warehouse", wh_path, "list", "--status", "resolved"))
    assert len(resolved) == 20 and all(" resolved " in r for r in resolved)
    # latest failing partition on or after 2026-11-25: days 25..28 -> n % 28 in 24..27
    expected = sum(1 for n in range(57) if n % 28 >= 24)
    since = rows(run(capsys, "--warehouse", wh_path, "list", "--since", "2026-11-25", "--all"))
    assert len(since) == expected == 8  # n = 24..27 and 52..55
    assert run(capsys, "--warehouse", wh_path, "list", "--model", "churn") == ["no alerts"]

    lines = run(capsys, "--warehouse", wh_path, "list", "--json", "--status", "open")
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 37 and all(d["status"] == "firing" for d in docs)
    assert "… and 0 more" not in capsys.readouterr().err


def test_list_rejects_a_bad_date(wh_path, capsys):
    with pytest.raises(SystemExit):
        main(["alerts", "--warehouse", wh_path, "list", "--since", "30/11/2026"])
    assert "--since '30/11/2026': expected a date YYYY-MM-DD" in capsys.readouterr().err


def test_list_and_show_say_the_episode(wh_path, capsys):
    lines = run(capsys, "--warehouse", wh_path, "list", "--all", "--status", "resolved")
    assert lines[0].split()[:8] == [
        "ID",
        "TIER",
        "STATUS",
        "MODEL",
        "ONSET",
        "LATEST",
        "COUNT",
        "DAYS",
    ]
    c00 = next(r for r in rows(lines) if " c00 " in r)
    assert c00.split()[4:8] == ["2026-11-01", "2026-11-01", "1", "1"]
    alert_id = c00.split()[0]

    shown = "\n".join(run(capsys, "--warehouse", wh_path, "show", alert_id))
    assert (
        "episode      since 2026-11-01 (onset), latest 2026-11-01, 1 failing day, "
        "resolved 2026-11-02, duration 1 day" in shown
    )
    assert "history      opened on a partition older than the page window" in shown

"""The retraining decision: what a failure asks for, what blocks it, and its warehouse reads."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring_assets.core.alerts.policy import Actions
from monitoring_assets.core.config import load_project
from monitoring_assets.core.retraining import (
    REVIEW_TAG,
    TRIGGER_TAG,
    FailedCheck,
    RetrainRequest,
    TriggerHistory,
    requested_runs,
    retraining_decision,
    run_tags,
    trigger_history,
)
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import ALERT_ACTIONS
from resources.warehouse import Warehouse

CHURN = load_project().model("churn")
NOW = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)


def _model(**alerting):
    return CHURN.model_copy(update={"alerting": CHURN.alerting.model_copy(update=alerting)})


@pytest.mark.parametrize(
    "category, tier, alerting, policy, expected",
    [
        ("drift", "critical", {}, {}, "retrain"),
        ("drift", "warning", {}, {}, "none"),  # retrain needs critical by default
        ("drift", "critical", {"retrain_on_critical_drift": False}, {}, "none"),
        ("drift", "critical", {}, {"retrain": {"enabled": False}}, "none"),
        ("drift", "warning", {}, {"retrain": {"min_tier": "warning"}}, "retrain"),
        ("performance", "warning", {"human_review_on_performance": True}, {}, "review"),
        ("performance", "info", {"human_review_on_performance": True}, {}, "none"),
        ("performance", "critical", {}, {}, "none"),  # not under the review rule
        ("performance", "warning", {}, {"review": {"models": ["churn"]}}, "review"),
        ("quality", "critical", {"human_review_on_performance": True}, {}, "none"),
    ],
)
def test_what_a_failed_check_asks_for(category, tier, alerting, policy, expected) -> None:
    d = retraining_decision(
        FailedCheck(category, tier), policy=Actions.model_validate(policy), model=_model(**alerting)
    )
    assert d.action == expected
    assert d.blocked_by is None
    assert d.proceeds == (expected != "none")


HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    "history, blocked_by, reason",
    [
        (TriggerHistory("t1"), None, "retrain requested"),
        (
            TriggerHistory("t1", handled="requested"),
            "already_handled",
            "handled before (requested)",
        ),
        (TriggerHistory("t1", missing_job="retrain_churn"), "no_job", "job retrain_churn is not"),
        (TriggerHistory("t1", last_requested=NOW - HOUR / 2), "cooldown", "cooldown since 2026"),
        (TriggerHistory("t1", last_requested=NOW - 2 * HOUR), None, "retrain requested"),
        # a trigger handled before wins over every other blocker
        (
            TriggerHistory("t1", "cooldown", NOW, "retrain_churn"),
            "already_handled",
            "'t1' was handled",
        ),
    ],
)
def test_what_blocks_a_request(history, blocked_by, reason) -> None:
    policy = Actions.model_validate({"retrain": {"cooldown": "1h"}})
    d = retraining_decision("retrain", policy=policy, history=history, now=NOW)
    assert (d.action, d.blocked_by) == ("retrain", blocked_by)
    assert reason in d.reason


def test_review_has_its_own_cooldown() -> None:
    policy = Actions.model_validate({"retrain": {"cooldown": "1h"}, "review": {"cooldown": "3h"}})
    recent = TriggerHistory("t", last_requested=NOW - 2 * HOUR)
    assert retraining_decision("retrain", policy=policy, history=recent, now=NOW).proceeds
    held = retraining_decision("review", policy=policy, history=recent, now=NOW)
    assert held.blocked_by == "cooldown"


def test_bad_calls_name_what_is_missing() -> None:
    with pytest.raises(ValueError, match="policy= and model="):
        retraining_decision(FailedCheck("drift", "critical"))
    with pytest.raises(ValueError, match="policy= and now="):
        retraining_decision("retrain", history=TriggerHistory("t", last_requested=NOW))
    with pytest.raises(ValueError, match="retrain or review"):
        retraining_decision("promote")  # type: ignore[arg-type]


def test_run_tags_round_trip_through_a_request() -> None:
    tags = run_tags("review", "17", "alert-1")
    assert tags == {TRIGGER_TAG: "17", "driftwarden/alert": "alert-1", REVIEW_TAG: "required"}
    request = RetrainRequest.from_tags(tags, run_id="r1")
    assert (request.trigger, request.action) == ("17", "review")
    manual = RetrainRequest.from_tags({"driftwarden/as_of": "2026-03-05"}, run_id="r2")
    assert (manual.trigger, manual.action, manual.as_of) == (
        "manual-r2",
        "retrain",
        dt.date(2026, 3, 5),
    )


def _record(wh: Warehouse, run_key: str, kind: str, status: str, at: dt.datetime) -> None:
    wh.migrate([ALERT_ACTIONS])
    wh.execute(
        f"INSERT INTO {ident(ALERT_ACTIONS.name)} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run_key, kind, "churn", f"a-{run_key}", 7, at.replace(tzinfo=None), status],
    )


def test_history_and_requested_runs_read_the_warehouse(tmp_path) -> None:
    wh = Warehouse(str(tmp_path / "wh.duckdb"))
    assert trigger_history(wh, "retrain", "churn", "retrain:churn:7") == TriggerHistory(
        "retrain:churn:7"
    )
    _record(wh, "retrain:churn:5", "retrain", "requested", NOW - 2 * HOUR)
    _record(wh, "retrain:churn:6", "retrain", "cooldown", NOW - HOUR)
    _record(wh, "review:churn:6", "review", "requested", NOW - HOUR / 6)
    h = trigger_history(wh, "retrain", "churn", "retrain:churn:6", missing_job="retrain_churn")
    assert h.handled == "cooldown"
    assert h.last_requested == NOW - 2 * HOUR  # the last *requested* retrain, as aware UTC
    assert h.missing_job == "retrain_churn"
    runs = requested_runs(wh, since=NOW - HOUR)
    assert [(r.kind, r.model, r.alert_id, r.trigger_event_id) for r in runs] == [
        ("review", "churn", "a-review:churn:6", 7)
    ]
    assert len(requested_runs(wh, since=NOW - 3 * HOUR)) == 2


def test_ident_quotes_plain_names_and_refuses_anything_else() -> None:
    assert ident("model_performance") == '"model_performance"'
    for bad in ("x; DROP TABLE y", 'a"b', "", "1abc", "a" * 64):
        with pytest.raises(ValueError, match="not a plain name"):
            ident(bad)

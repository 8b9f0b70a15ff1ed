"""A hostile value in every string field of the model file and of the alert policy:
either a validation error naming the field (through ``driftwarden validate`` and through
load), or the value is accepted by its rule and handled as data, never executed."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from monitoring_assets.cli import main as driftwarden
from monitoring_assets.core.config import ConfigError, load_project
from monitoring_assets.core.names import (
    check_column_name,
    check_model_name,
    check_path_text,
    check_safe_name,
    check_text,
)
from tests.conftest import churn_yaml
from tests.security.hostile import assert_no_side_effects, hostile_values


def _accepts(rule: Callable[[str], Any], value: str) -> bool:
    try:
        rule(value)
    except ValueError:
        return False
    return True


SAFE = lambda v: check_safe_name(v, "x")  # noqa: E731
TEXT = lambda v: check_text(v, "x")  # noqa: E731
PATH = lambda v: check_path_text(v, "x")  # noqa: E731

# (key path in the file, the rule that field follows)
SIMULATOR_FIELDS: list[tuple[tuple, Callable[[str], Any]]] = [
    (("models", 0, "name"), check_model_name),
    (("models", 0, "version"), SAFE),
    (("models", 0, "features", 0, "name"), check_column_name),
    *(
        (("models", 0, "columns", role), check_column_name)
        for role in ("id", "timestamp", "prediction", "probability", "target", "latency")
    ),  # fmt: skip
    (("models", 0, "source", "scenario", "name"), TEXT),
    (("models", 0, "source", "scenario", "events", 0, "feature"), check_column_name),
    (("models", 0, "source", "scenario", "events", 0, "value"), TEXT),
    (("models", 0, "alerting", "owners", 0), TEXT),
    (("models", 0, "alerting", "tier_overrides", "{}"), SAFE),  # the key itself
]
FILES_FIELDS: list[tuple[tuple, Callable[[str], Any]]] = [
    (("models", 0, "source", "reference"), PATH),
    (("models", 0, "source", "inference"), PATH),
    (("models", 0, "source", "labels"), PATH),
    (("models", 0, "source", "label_timestamp"), check_column_name),
]


def _simulator_doc() -> dict:
    doc = yaml.safe_load(churn_yaml())
    m = doc["models"][0]
    m["source"]["scenario"]["events"] = [
        {"kind": "new_category", "day": 1, "feature": "contract_type", "value": "lifetime"}
    ]
    m["alerting"] = {"owners": ["ml-team"], "tier_overrides": {"row_count_stable": "info"}}
    return doc


def _files_doc() -> dict:
    doc = _simulator_doc()
    m = doc["models"][0]
    m["start_date"] = "2026-03-01"
    m["source"] = {
        "kind": "files",
        "reference": "/data/ref.parquet",
        "inference": "/data/logs/{date}.parquet",
        "labels": "/data/labels/{date}.parquet",
        "label_timestamp": "arrived_at",
    }
    return doc


def _set(doc: dict, path: tuple, value: str) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if path[-1] == "{}":  # replace the mapping's key
        node.clear()
        node[value] = "info"
    else:
        node[path[-1]] = value
    return doc


def _loc(path: tuple) -> str:
    return ".".join(str(p) for p in path if p != "{}")


def _error_loc(path: tuple, doc: dict) -> str:
    """The key path pydantic reports: a source's fields sit under its ``kind`` tag."""
    if path[:3] == ("models", 0, "source"):
        path = (*path[:3], doc["models"][0]["source"]["kind"], *path[3:])
    return _loc(path)


CASES = [(f, r, _simulator_doc) for f, r in SIMULATOR_FIELDS] + [
    (f, r, _files_doc) for f, r in FILES_FIELDS
]


@pytest.mark.parametrize("field, rule, base", CASES, ids=[_loc(f) for f, _, _ in CASES])
def test_every_model_file_string_field(tmp_path, field, rule, base):
    home = tmp_path / "home"
    home.mkdir()
    before = set(tmp_path.rglob("*"))
    for name, value in hostile_values(tmp_path).items():
        path = home / f"{name}.yaml"
        path.write_text(yaml.safe_dump(_set(base(), field, value), allow_unicode=False))
        try:
            load_project(path)
            error = None
        except ConfigError as exc:
            error = str(exc)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = driftwarden(["validate", str(path)])
        if _accepts(rule, value):
            # Accepted by the field's rule: the value must load (it is data from here on).
            assert error is None, (name, error)
            if base is _files_doc:
                # validate goes on to check the files the source names; none exists here.
                assert code == 2 and "no such file" in err.getvalue(), (name, err.getvalue())
            else:
                assert code == 0, (name, err.getvalue())
        else:
            assert error is not None, f"{_loc(field)} accepted {name}: {value[:80]!r}"
            where = _error_loc(field, base())
            assert str(path) in error and where in error, error
            assert code == 2 and where in err.getvalue()
            assert len(error) < 2000, "a long value must not be echoed in full"
    assert_no_side_effects(tmp_path)
    assert {p.parent for p in set(tmp_path.rglob("*")) - before} <= {home}


def test_the_rules_reject_what_reaches_paths(tmp_path):
    # The ones that become folders refuse everything hostile; columns refuse only what
    # cannot be a column name at all (control and format characters, overlong).
    values = hostile_values(tmp_path)
    assert not any(_accepts(SAFE, v) for v in values.values())
    assert not any(_accepts(check_model_name, v) for v in values.values())
    refused = {k for k, v in values.items() if not _accepts(check_column_name, v)}
    assert refused == {"nul", "newline", "long", "bidi"}
    refused = {k for k, v in values.items() if not _accepts(PATH, v)}
    assert refused == {"nul", "newline", "long", "bidi", "format"}


# --------------------------------------------------------------------------- alert policy

POLICY_BASE: dict = {
    "channels": {
        "slack": {"channel": "#ml", "base_url": "https://slack.example/api/"},
        "pagerduty": {"url": "https://pd.example/v2/enqueue", "source": "driftwarden"},
        "email": {"host": "smtp.example", "username": "u", "sender": "a@example", "to": ["b@x"]},
        "alertmanager": {"url": "http://am.example:9093"},
        "webhook": {"url": "https://hook.example/x"},
    },
    "ui_base_url": "http://localhost:3000",
    "routes": [
        {
            "match": {"model": "churn", "asset": "*", "check": "*"},
            "owners": ["@ml"],
            "tier": "critical",
        }
    ],
    "quiet_hours": {"start": "22:00", "end": "06:00", "timezone": "UTC"},
    "categories": {"drift": {"assets": ["data_drift"], "checks": ["drift_*"]}},
    "digest": {"cron": "0 9 * * 1", "timezone": "UTC"},
    "owners": ["@oncall"],
}
POLICY_FIELDS: list[tuple] = [
    ("channels", "slack", "channel"),
    ("channels", "slack", "base_url"),
    ("channels", "pagerduty", "url"),
    ("channels", "pagerduty", "source"),
    ("channels", "email", "host"),
    ("channels", "email", "username"),
    ("channels", "email", "sender"),
    ("channels", "email", "to", 0),
    ("channels", "alertmanager", "url"),
    ("channels", "webhook", "url"),
    ("ui_base_url",),
    ("routes", 0, "match", "model"),
    ("routes", 0, "match", "asset"),
    ("routes", 0, "match", "check"),
    ("routes", 0, "owners", 0),
    ("quiet_hours", "timezone"),
    ("categories", "drift", "assets", 0),
    ("categories", "drift", "checks", 0),
    ("digest", "cron"),
    ("digest", "timezone"),
    ("owners", 0),
]


def test_every_alert_policy_string_field(tmp_path, model):
    from monitoring_assets.core.alerts.policy import load_policy

    home = tmp_path / "home"
    home.mkdir()
    accepted: dict[str, list] = {}
    for name, value in hostile_values(tmp_path).items():
        for field in POLICY_FIELDS:
            path = home / "policy.yaml"
            path.write_text(yaml.safe_dump(_set(POLICY_BASE, field, value)))
            try:
                policy = load_policy(path)
            except ConfigError as exc:
                assert str(path) in str(exc) and _loc(field) in str(exc), str(exc)
                continue
            accepted.setdefault(name, []).append(field)
            # Routing is pattern matching in Python; nothing is spliced anywhere.
            policy.route(model.name, "data_drift", "drift_share_below_threshold", "ERROR")
    # Values a policy accepted reach the warehouse as data, through the alert store.
    from monitoring_assets.core.alerts.outbox import AlertStore
    from resources.warehouse import Warehouse

    store = AlertStore(Warehouse(home / "alerts.duckdb"))
    for name, fields in accepted.items():
        _store_alert_with(store, model, hostile_values(tmp_path)[name], fields)
    assert_no_side_effects(tmp_path)


def _store_alert_with(store, model, value: str, fields: list) -> None:
    from monitoring_assets.core.alerts.lineage import CheckEvent
    from monitoring_assets.core.alerts.policy import AlertPolicy
    from monitoring_assets.core.alerts.routing import AlertBook

    doc = POLICY_BASE
    for field in fields:
        doc = _set(doc, field, value)
    policy = AlertPolicy.model_validate(doc)
    now = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    event = CheckEvent(
        1,
        (model.name, "data_drift"),
        "drift_share_below_threshold",
        False,
        "ERROR",
        now,
        "2026-03-01",
    )
    changes = AlertBook(policy, {model.name: model}, [], []).apply([event], now)
    store.save(alerts=changes.alerts.values(), states=changes.states.values(), now=now)
    (alert,) = store.list_alerts(model=model.name)
    if any(f[-2:] == ("owners", 0) for f in fields):
        assert value in alert.owners

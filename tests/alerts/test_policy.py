"""The alert policy file: defaults, routing and load-time errors naming file, key and line."""

import datetime as dt
from pathlib import Path

import pytest

from monitoring_assets.core.alerts.policy import (
    AlertPolicy,
    ConfigError,
    load_policy,
    parse_duration,
)

EXAMPLE = Path(__file__).parents[2] / "deploy" / "alert_policy.example.yaml"


def test_defaults_need_no_file(monkeypatch):
    monkeypatch.delenv("DRIFTWARDEN_ALERT_POLICY", raising=False)
    p = load_policy()
    assert {t: p.tiers[t].channels for t in ("critical", "warning", "info")} == {
        "critical": ["console"],
        "warning": ["console"],
        "info": ["console"],
    }
    assert p.route("churn", "data_drift", "drift_share_below_threshold", "ERROR")[0] == "critical"
    assert p.route("churn", "data_quality", "missing_share", "WARN")[0] == "warning"
    assert p.tiers["info"].immediate is False


def test_example_policy_loads():
    p = load_policy(EXAMPLE)
    assert set(p.tiers["critical"].channels) == {"pagerduty", "slack", "alertmanager"}
    assert p.quiet_hours is not None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90), ("30s", 30), ("15m", 900), ("4h", 14400), ("1d", 86400), ("1w", 604800)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


def test_routes_first_match_then_model_overrides_then_severity():
    p = AlertPolicy.model_validate(
        {
            "routes": [
                {"match": {"asset": "data_quality", "severity": "WARN"}, "tier": "info"},
                {
                    "match": {"model": "fraud", "check": "accuracy_*"},
                    "tier": "critical",
                    "owners": ["fraud-team"],
                },
            ]
        }
    )
    assert p.route("churn", "data_quality", "x", "WARN")[0] == "info"
    assert p.route("churn", "data_quality", "x", "ERROR")[0] == "critical"
    tier, _, owners, _ = p.route("fraud", "model_performance", "accuracy_above_floor", "WARN")
    assert (tier, owners) == ("critical", ["fraud-team"])
    assert p.route("churn", "d", "my_check", "ERROR", {"my_check": "info"})[0] == "info"


def test_quiet_hours_hold_only_non_critical_tiers():
    p = AlertPolicy.model_validate(
        {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}}
    )
    qh = p.quiet_hours
    night = dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC)  # 00:30 in Berlin
    day = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    assert qh.active(night, "warning") and not qh.active(night, "critical")
    assert not qh.active(day, "warning")


def broken(tmp_path: Path, text: str) -> str:
    f = tmp_path / "alert_policy.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    return str(exc.value)


def test_bad_value_names_file_key_and_line(tmp_path):
    msg = broken(
        tmp_path,
        "ui_base_url: http://x\n"
        "tiers:\n"
        "  critical:\n"
        "    channels: [console]\n"
        "    renotify_after: soon\n",
    )
    assert f"{tmp_path / 'alert_policy.yaml'}:5: tiers.critical.renotify_after" in msg
    assert "duration" in msg


def test_unknown_key_and_unknown_channel(tmp_path):
    msg = broken(tmp_path, "grouping:\n  by: [model]\n  wiat: 5m\n")
    assert "alert_policy.yaml:3: grouping.wiat" in msg and "Extra inputs" in msg
    msg = broken(tmp_path, "tiers:\n  warning:\n    channels: [teams]\n")
    assert "alert_policy.yaml:3: tiers.warning.channels.0" in msg


def test_channel_used_but_not_configured(tmp_path):
    msg = broken(
        tmp_path, "ui_base_url: http://x\ntiers:\n  critical:\n    channels: [pagerduty]\n"
    )
    assert "alert_policy.yaml:2: tiers" in msg and "tiers.critical.channels" in msg
    assert "'channels.pagerduty' is not configured" in msg


def test_invalid_yaml_names_line(tmp_path):
    msg = broken(tmp_path, "tiers:\n  critical: {channels: [slack\n")
    assert "alert_policy.yaml" in msg and "line" in msg

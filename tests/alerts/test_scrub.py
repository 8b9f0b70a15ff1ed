"""The pure pieces of hardened delivery: scrubbing, Retry-After, waits, limits, policy."""

import datetime as dt
import logging
import math

import pytest

from monitoring_assets.core.alerts.channel_health import delivery_targets, plan_delivery_alert
from monitoring_assets.core.alerts.channels import DeliveryError
from monitoring_assets.core.alerts.delivery import retry_wait, send_limit
from monitoring_assets.core.alerts.policy import AlertPolicy, ConfigError, load_policy
from monitoring_assets.core.alerts.scrub import (
    MASK,
    register_secret,
    safe_url,
    scrub,
    strip_credentials,
    url_secrets,
)
from resources.notifiers import parse_retry_after, split_credentials

SECRET = "Zq7-unit-Kd93mWx2Lp0aa"
register_secret(SECRET)

NOW = dt.datetime(2026, 10, 21, 7, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        (f"invalid token {SECRET} in request", SECRET),
        (f"echo: {SECRET[:10]}… (truncated by the server)", SECRET[:10]),
        (f"tail {SECRET[-7:]}", SECRET[-7:]),
        ("see http://am-user:am-pass-991@alerts.example:9093/api", "am-pass-991"),
        ("GET /hook?token=tok-77aa12&x=1", "tok-77aa12"),
        ("https://h.example/cb?api_key=abcd9876&sig=zzzz1111", "abcd9876"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("posting with xoxb-1111-2222-abcdefgh failed", "xoxb-1111-2222-abcdefgh"),
    ],
)
def test_scrub_removes_secrets(text, gone):
    out = scrub(text)
    assert gone not in out and MASK in out


def test_scrub_before_truncating_keeps_no_part_of_a_secret():
    key = "R0utingKey-0123456789abcdef-ZZ"
    text = "x" * 290 + key  # the old cut-at-300 kept 10 characters of the key
    out = scrub(text, [key], limit=300)
    assert len(out) <= 300
    assert not any(key[i : i + 6] in out for i in range(len(key) - 5))


def test_scrub_keeps_ordinary_text():
    text = "HTTP 503 from http://127.0.0.1:8080: service unavailable"
    assert scrub(text) == text


def test_log_records_are_scrubbed(caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("driftwarden.alerts").warning("token %s refused", SECRET)
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logging.getLogger("urllib3.connectionpool").exception("request failed")
    assert SECRET not in caplog.text and SECRET[:8] not in caplog.text
    assert "refused" in caplog.text and "RuntimeError" in caplog.text


def test_delivery_error_scrubs_its_reason():
    exc = DeliveryError("slack", f"body said {SECRET}", True)
    assert SECRET not in str(exc) and SECRET not in exc.reason


def test_urls_lose_credentials_and_paths():
    url = "http://dw:pa55-word-x@127.0.0.1:9093/secret/path?token=abc"
    assert safe_url(url) == "http://127.0.0.1:9093"
    bare, headers = split_credentials(url)
    assert bare == "http://127.0.0.1:9093/secret/path?token=abc"
    assert headers["Authorization"].startswith("Basic ")
    assert {"dw", "pa55-word-x", "dw:pa55-word-x"} <= set(url_secrets(url))
    assert safe_url("http://[::1]:99999/x") == "<unparseable url>"
    assert strip_credentials("https://u:p@ui.example/x?view=checks&access_token=abc") == (
        "https://ui.example/x?view=checks"
    )


def test_lineage_links_carry_no_credentials():
    from monitoring_assets.core.alerts.lineage import UiLinks

    links = UiLinks("https://admin:ui-pass-77@dagster.example:3000/?token=tok-1")
    assert links.run("r1") == "https://dagster.example:3000/runs/r1"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:00:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 06:00:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2026 07:00:30", None),  # no zone
        ("1e400", None),
        ("inf", None),
        ("nan", None),
        ("-5", None),
        ("9" * 400, None),  # not finite as a float
        ("Wed, 32 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after(value, seconds):
    got = parse_retry_after(value, now=NOW)
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds)


POLICY = AlertPolicy.model_validate(
    {"delivery": {"base_backoff": "5s", "max_backoff": "2m", "timeout": "3s"}}
)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "seconds"),
    [
        (1, None, 5),
        (3, None, 20),
        (30, None, 120),  # capped
        (1, 60, 60),  # a longer valid Retry-After wins
        (3, 1, 20),  # a shorter one does not
        (1, 86400, 120),  # capped too
        (1, 1e300, 120),
        (1, math.inf, 5),
        (1, math.nan, 5),
        (1, -3, 5),
        (1, "soon", 5),
        (10_000, None, 120),
    ],
)
def test_retry_wait_is_capped(attempts, retry_after, seconds):
    assert retry_wait(POLICY, attempts, retry_after) == dt.timedelta(seconds=seconds)


def test_send_limit_covers_two_requests_and_an_inline_wait():
    assert send_limit(POLICY) == 2 * 3 + 5 + 1


@pytest.mark.parametrize(
    ("delivery", "where", "says"),
    [
        ("timeout: 0s", "delivery.timeout", "longer than 0s"),
        ("timeout: 5m", "delivery.timeout", "at most 60s"),
        ("max_attempts: 0", "delivery.max_attempts", "greater than or equal to 1"),
        ("max_age: soon", "delivery.max_age", "duration"),
        ("max_backoff: 1s", "delivery.max_backoff", "shorter than base_backoff (5s)"),
        ("tick_budget: 0", "delivery.tick_budget", "longer than 0s"),
        ("retries: 3", "delivery.retries", "Extra inputs"),
    ],
)
def test_bad_delivery_settings_name_file_key_and_line(tmp_path, delivery, where, says):
    f = tmp_path / "alert_policy.yaml"
    f.write_text(f"freshness: {{enabled: false}}\ndelivery:\n  {delivery}\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    assert f"{f}:3: {where}" in str(exc.value) and says in str(exc.value)


def test_bad_channel_url_is_named_without_repeating_it(tmp_path):
    f = tmp_path / "alert_policy.yaml"
    f.write_text("channels:\n  webhook: {url: 'ftp://user:hunter2-pw@host/x'}\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    assert "channels.webhook.url" in str(exc.value) and "http" in str(exc.value)
    assert "hunter2-pw" not in str(exc.value)


def test_delivery_defaults():
    d = AlertPolicy().delivery
    assert (d.max_attempts, d.max_age, d.tick_budget) == (
        10,
        dt.timedelta(hours=1),
        dt.timedelta(seconds=30),
    )


def test_delivery_alert_goes_to_the_rest_of_the_tier_once_per_episode():
    policy = AlertPolicy.model_validate(
        {
            "tiers": {"critical": {"channels": ["pagerduty", "slack"]}},
            "channels": {"slack": {}, "pagerduty": {}},
        }
    )
    assert delivery_targets(policy, "slack", "critical") == ["pagerduty", "console"]
    since = NOW - dt.timedelta(minutes=70)
    first = plan_delivery_alert(policy, "slack", "critical", since, "HTTP 503", NOW)
    again = plan_delivery_alert(policy, "slack", "critical", since, "other", NOW)
    assert [n.delivery_id for n in first] == [n.delivery_id for n in again]
    assert [n.channel for n in first] == ["pagerduty", "console"]
    payload = first[0].payload
    assert payload["title"].startswith("[DELIVERY FAILING] critical · delivery to slack failing")
    assert "failing since 2026-10-21 05:50:00 UTC: HTTP 503" in payload["alerts"][0]["summary"]
    later = plan_delivery_alert(policy, "slack", "critical", NOW, "x", NOW)
    assert later[0].delivery_id != first[0].delivery_id  # a new episode is a new alert
    back = plan_delivery_alert(policy, "slack", "critical", since, "x", NOW, recovered=True)
    assert back[0].kind == "resolved"
    assert back[0].payload["origin_group_id"] == payload["group_id"]

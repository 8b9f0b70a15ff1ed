"""Fake Slack and PagerDuty servers, an SMTP server and both warehouse backends, shared
with the alert tests."""

from tests.alerts.conftest import any_warehouse, pagerduty, slack, smtp  # noqa: F401

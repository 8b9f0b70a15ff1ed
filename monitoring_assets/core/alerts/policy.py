"""The alert policy: tiers, routing, grouping, noise control and actions (validated at load).

A policy file is YAML; every key is optional, so an absent file gives a working
default where every tier goes to the console/log sink. ``DRIFTWARDEN_ALERT_POLICY``
points at the file. A bad file raises :class:`ConfigError` naming file, key and line.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from monitoring_assets.core.checks import Severity
from monitoring_assets.core.yamlconf import ConfigError, load_model

# Where an alert goes, chosen from the failed check's Severity; always named, never numbered.
Tier = Literal["critical", "warning", "info"]
ChannelName = Literal["console", "slack", "pagerduty", "email", "alertmanager", "webhook"]
#: The tiers, most urgent first.
TIERS: tuple[Tier, ...] = ("critical", "warning", "info")
_URGENCY: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Any) -> dt.timedelta:
    """Parse ``90``, ``"30s"``, ``"15m"``, ``"4h"``, ``"1d"`` or ``"1w"`` into a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like '30s', '15m', '4h' or '1d'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"expected a duration like '30s', '15m', '4h' or '1d', got {value!r}")
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return dt.timedelta(seconds=seconds)


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]


def check_http_url(value: str) -> str:
    """Accept an ``http(s)://host[:port]/…`` URL; the error never repeats the URL (it may
    hold credentials)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a non-numeric port)
    except ValueError:
        raise ValueError("not a valid URL (check its port and brackets)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return value


HttpUrlText = Annotated[str, AfterValidator(check_http_url)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierPolicy(Strict):
    """How one tier is notified."""

    channels: list[ChannelName] = Field(default_factory=lambda: ["console"])
    immediate: bool = Field(True, description="false: only the weekly digest reports it")
    renotify_after: Duration | None = Field(
        None, description="a still-firing alert is sent again after this long; null: never"
    )
    cooldown: Duration = Field(
        dt.timedelta(minutes=30),
        description="a check that fires again within this long of its last message waits",
    )


def _default_tiers() -> dict[str, TierPolicy]:
    return {
        "critical": TierPolicy(renotify_after=dt.timedelta(hours=4)),
        "warning": TierPolicy(renotify_after=dt.timedelta(hours=24)),
        "info": TierPolicy(immediate=False),
    }


class Match(Strict):
    """Route selector; every given field must match (shell-style wildcards allowed)."""

    model: str = "*"
    asset: str = "*"
    check: str = "*"
    severity: Severity | Literal["*"] = "*"

    def matches(self, model: str, asset: str, check: str, severity: str) -> bool:
        return (
            fnmatch.fnmatchcase(model, self.model)
            and fnmatch.fnmatchcase(asset, self.asset)
            and fnmatch.fnmatchcase(check, self.check)
            and self.severity in ("*", severity)
        )


class Route(Strict):
    """First matching route decides the tier (and optionally channels and owners)."""

    match: Match = Field(default_factory=Match)
    tier: Tier | None = None
    channels: list[ChannelName] | None = None
    owners: list[str] = Field(default_factory=list)
    mute: bool = Field(False, description="record the alert but never notify")


class Grouping(Strict):
    """Alerts that share these fields and fire together become one message per channel."""

    by: list[Literal["model", "partition", "tier", "asset", "check"]] = Field(
        default_factory=lambda: ["model", "partition", "tier"]
    )
    wait: Duration = Field(
        dt.timedelta(0), description="hold a new alert this long so its siblings join it"
    )


class QuietHours(Strict):
    """A daily window in which non-critical tiers hold their messages until it ends."""

    start: dt.time
    end: dt.time
    timezone: str = "UTC"
    tiers: list[Tier] = Field(default_factory=lambda: ["warning", "info"])

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    def active(self, now: dt.datetime, tier: str) -> bool:
        """True if ``now`` (aware) is inside the window and ``tier`` is held."""
        if tier not in self.tiers:
            return False
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Category(Strict):
    """Which assets/checks belong to a category (drift, performance) for actions."""

    assets: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)

    def contains(self, asset: str, check: str) -> bool:
        return any(fnmatch.fnmatchcase(asset, a) for a in self.assets) or any(
            fnmatch.fnmatchcase(check, c) for c in self.checks
        )


class RetrainAction(Strict):
    """A critical drift alert requests ``retrain_<model>`` (if the model allows it)."""

    enabled: bool = True
    min_tier: Tier = "critical"
    cooldown: Duration = dt.timedelta(hours=24)


class ReviewAction(Strict):
    """A performance alert requests ``retrain_<model>`` stopping at human review."""

    enabled: bool = True
    min_tier: Tier = "warning"
    cooldown: Duration = dt.timedelta(hours=24)
    models: list[str] = Field(
        default_factory=list,
        description="models under the review rule besides those with human_review_on_performance",
    )


class Actions(Strict):
    retrain: RetrainAction = Field(default_factory=RetrainAction)
    review: ReviewAction = Field(default_factory=ReviewAction)


class Freshness(Strict):
    """A daily inference partition missing ``deadline`` after its day ends raises an alert."""

    enabled: bool = True
    deadline: Duration = dt.timedelta(hours=6)
    lookback_days: int = Field(3, ge=1, le=366)
    tier: Tier = "warning"


class Delivery(Strict):
    """Outbox delivery: retries with exponential backoff until both give-up limits pass.

    A message is marked failed (and a delivery meta-alert raised) only once it has
    had ``max_attempts`` attempts *and* is ``max_age`` old, so neither a burst of
    quick retries nor one slow retry gives up early.
    """

    base_backoff: Duration = dt.timedelta(seconds=5)
    max_backoff: Duration = Field(
        dt.timedelta(minutes=15), description="also caps a channel's Retry-After"
    )
    inline_retry_after_max: Duration = Field(
        dt.timedelta(seconds=5),
        description="a Retry-After up to this long is waited out within the tick",
    )
    timeout: Duration = Field(
        dt.timedelta(seconds=10), description="per request: connect, answer and body"
    )
    batch: int = Field(200, ge=1)
    max_attempts: int = Field(10, ge=1, description="attempts before a message may fail")
    max_age: Duration = Field(dt.timedelta(hours=1), description="age before a message may fail")
    tick_budget: Duration = Field(
        dt.timedelta(seconds=30),
        description="no new delivery starts after this long in one tick; the rest wait",
    )

    @field_validator("base_backoff", "timeout", "tick_budget")
    @classmethod
    def _positive(cls, v: dt.timedelta) -> dt.timedelta:
        if v <= dt.timedelta(0):
            raise ValueError("must be longer than 0s")
        return v

    @field_validator("timeout", "inline_retry_after_max")
    @classmethod
    def _short(cls, v: dt.timedelta) -> dt.timedelta:
        # A sensor tick has about a minute; one request must leave room for the rest.
        if v > dt.timedelta(minutes=1):
            raise ValueError(f"must be at most 60s (got {v.total_seconds():g}s)")
        return v

    @field_validator("max_backoff")
    @classmethod
    def _not_below_base(cls, v: dt.timedelta, info: ValidationInfo) -> dt.timedelta:
        base = info.data.get("base_backoff")
        if base is not None and v < base:
            raise ValueError(
                f"max_backoff ({v.total_seconds():g}s) is shorter than "
                f"base_backoff ({base.total_seconds():g}s)"
            )
        return v


class SlackSettings(Strict):
    channel: str = "#ml-alerts"
    base_url: HttpUrlText = "https://slack.com/api/"
    max_rate_limit_retries: int = Field(2, ge=0)


class PagerDutySettings(Strict):
    url: HttpUrlText = "https://events.pagerduty.com/v2/enqueue"
    source: str = "driftwarden"


class EmailSettings(Strict):
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    sender: str = "driftwarden@localhost"
    to: list[str] = Field(default_factory=list)


class AlertmanagerSettings(Strict):
    url: HttpUrlText = "http://localhost:9093"
    resolve_timeout: Duration = Field(
        dt.timedelta(hours=48),
        description="endsAt of firing alerts; longer than the re-notify interval that refreshes it",
    )


class WebhookSettings(Strict):
    url: HttpUrlText


class ConsoleSettings(Strict):
    stream: Literal["stdout", "stderr", "log"] = "log"


class Channels(Strict):
    """Non-secret channel settings; tokens and keys come from environment variables."""

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    slack: SlackSettings | None = None
    pagerduty: PagerDutySettings | None = None
    email: EmailSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    webhook: WebhookSettings | None = None


class Digest(Strict):
    """The weekly digest: a summary of every tier, with the info tier's alerts in full."""

    cron: str = "0 9 * * 1"
    timezone: str = "UTC"
    channels: list[ChannelName] | None = Field(None, description="default: the info tier's")


class AlertPolicy(Strict):
    """The whole alert policy. Every field has a default."""

    # Declared first: the validators of tiers, routes and digest check against it.
    channels: Channels = Field(default_factory=Channels)
    ui_base_url: str = Field(
        "http://localhost:3000", description="Dagster webserver base URL for deep links"
    )
    default_tiers: dict[Severity, Tier] = Field(
        default_factory=lambda: {"ERROR": "critical", "WARN": "warning"}
    )
    tiers: dict[Tier, TierPolicy] = Field(default_factory=_default_tiers)
    routes: list[Route] = Field(default_factory=list)
    grouping: Grouping = Field(default_factory=Grouping)
    quiet_hours: QuietHours | None = None
    categories: dict[Literal["drift", "performance"], Category] = Field(
        default_factory=lambda: {
            "drift": Category(
                assets=["data_drift", "prediction_drift"],
                checks=["drift_share_below_threshold", "critical_features_not_drifted"],
            ),
            "performance": Category(
                assets=["model_performance", "estimated_performance"],
                checks=["accuracy_above_floor"],
            ),
        }
    )
    actions: Actions = Field(default_factory=Actions)
    freshness: Freshness = Field(default_factory=Freshness)
    delivery: Delivery = Field(default_factory=Delivery)
    digest: Digest = Field(default_factory=Digest)
    owners: list[str] = Field(default_factory=list, description="fallback owners for every alert")
    page_window: Duration = Field(
        dt.timedelta(days=2),
        description=(
            "an episode whose latest failing partition is older than this (relative to now) "
            "is history: recorded and summarised once per backfill, never paged"
        ),
    )

    @field_validator("page_window")
    @classmethod
    def _window_positive(cls, v: dt.timedelta) -> dt.timedelta:
        if v <= dt.timedelta(0):
            raise ValueError("must be longer than 0s (e.g. '2d')")
        return v

    @field_validator("tiers", mode="before")
    @classmethod
    def _fill_tiers(cls, v: Any) -> Any:
        # A file that configures only one tier keeps the defaults of the others.
        if isinstance(v, dict):
            return {**_default_tiers(), **v}
        return v

    @field_validator("tiers", "routes", "digest")
    @classmethod
    def _channels_configured(cls, v: Any, info: ValidationInfo) -> Any:
        channels = info.data.get("channels")
        if channels is None:  # channels itself was invalid; that error is reported
            return v
        if info.field_name == "tiers":
            used = [(f"{t}.channels", c) for t, tp in v.items() for c in tp.channels]
        elif info.field_name == "routes":
            used = [(f"{i}.channels", c) for i, r in enumerate(v) for c in r.channels or []]
        else:
            used = [("channels", c) for c in v.channels or []]
        for where, name in used:
            if getattr(channels, name) is None:
                raise ValueError(
                    f"{info.field_name}.{where} uses channel {name!r} "
                    f"but 'channels.{name}' is not configured"
                )
        return v

    # ----------------------------------------------------------------------- routing

    def route(
        self,
        model: str,
        asset: str,
        check: str,
        severity: str,
        tier_overrides: dict[str, str] | None = None,
    ) -> tuple[Tier, list[str], list[str], bool]:
        """Decide ``(tier, channels, route owners, muted)`` for one check failure.

        Order: the first matching policy route, then the model file's
        ``alerting.tier_overrides[check]``, then ``default_tiers[severity]``.
        """
        for r in self.routes:
            if r.match.matches(model, asset, check, severity):
                tier = r.tier or _fallback_tier(self, check, severity, tier_overrides)
                channels = list(r.channels or self.tiers[tier].channels)
                return tier, channels, list(r.owners), r.mute
        tier = _fallback_tier(self, check, severity, tier_overrides)
        return tier, list(self.tiers[tier].channels), [], False

    def category(self, asset: str, check: str) -> str | None:
        """``'drift'``, ``'performance'`` or None for an asset/check pair."""
        for name, cat in self.categories.items():
            if cat.contains(asset, check):
                return name
        return None

    def used_channels(self) -> set[str]:
        """Every channel some tier, route or the digest can send to."""
        out = {c for tp in self.tiers.values() for c in tp.channels}
        out |= {c for r in self.routes for c in r.channels or []}
        out |= set(self.digest.channels or [])
        return out


def _fallback_tier(
    policy: AlertPolicy, check: str, severity: str, overrides: dict[str, str] | None
) -> Tier:
    if overrides and check in overrides:
        return overrides[check]  # type: ignore[return-value]
    return policy.default_tiers.get(severity, "warning")  # type: ignore[call-overload]


def tier_at_least(tier: str, minimum: str) -> bool:
    """True if ``tier`` is as urgent as ``minimum`` (critical > warning > info)."""
    return _URGENCY[tier] <= _URGENCY[minimum]


def tier_severity(tier: str) -> Severity:
    """The severity of an evaluation the alerts make up themselves at ``tier`` (freshness,
    delivery failures): ``ERROR`` for critical, else ``WARN``."""
    return "ERROR" if tier == "critical" else "WARN"


def policy_file() -> Path | None:
    """The policy file in force: ``$DRIFTWARDEN_ALERT_POLICY`` or None (defaults)."""
    value = os.environ.get("DRIFTWARDEN_ALERT_POLICY")
    return Path(value) if value else None


def load_policy(path: str | Path | None = None) -> AlertPolicy:
    """Load and validate an alert policy; no path (and no env var) gives the defaults.

    Raises :class:`ConfigError` naming the file, the key and the line.
    """
    chosen = Path(path) if path else policy_file()
    if chosen is None:
        return AlertPolicy()
    return load_model(chosen, AlertPolicy)


__all__ = [
    "AlertPolicy",
    "ConfigError",
    "Route",
    "Tier",
    "TierPolicy",
    "TIERS",
    "load_policy",
    "parse_duration",
    "tier_at_least",
    "tier_severity",
]

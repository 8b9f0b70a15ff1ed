"""Alert channels: Slack, PagerDuty Events v2, email (SMTP), Alertmanager v2, a JSON webhook
and the console/log sink, plus :class:`AlertingResource` that builds them.

Each channel takes a message payload (planned by ``monitoring_assets.core.alerts.routing``)
and either returns a reference (Slack ``ts``, e-mail Message-ID…) or raises
:class:`DeliveryError` saying whether a retry can help. Secrets are passed in
from environment variables and scrubbed from every error message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import smtplib
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import dagster as dg
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from monitoring_assets.core.alerts.policy import (
    AlertmanagerSettings,
    AlertPolicy,
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    WebhookSettings,
    load_policy,
)

log = logging.getLogger("driftwarden.alerts")

# Slack error codes that no retry can fix, with what the operator should do.
_SLACK_FATAL = {
    "invalid_auth": "the Slack token is invalid (check DRIFTWARDEN_SLACK_TOKEN)",
    "not_authed": "no Slack token was sent (set DRIFTWARDEN_SLACK_TOKEN)",
    "token_revoked": "the Slack token was revoked (issue a new bot token)",
    "token_expired": "the Slack token expired (issue a new bot token)",
    "account_inactive": "the Slack token belongs to a deactivated account",
    "channel_not_found": "the Slack channel does not exist or the bot cannot see it",
    "not_in_channel": "the Slack bot is not a member of the channel (invite it)",
    "missing_scope": "the Slack token lacks the chat:write scope",
    "invalid_blocks": "Slack rejected the message blocks",
}


class DeliveryError(Exception):
    """A channel did not accept a message; ``retryable`` says whether trying again can help."""

    def __init__(
        self, channel: str, reason: str, retryable: bool, retry_after: float | None = None
    ):
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """What the outbox needs from a channel."""

    name: str

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None: ...


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every secret occurring in ``text`` with ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


# --------------------------------------------------------------------------- rendering


def render_text(payload: dict[str, Any], limit: int = 20) -> str:
    """Plain-text rendering with lineage links (console, e-mail, webhook)."""
    lines = [payload["title"], ""]
    lines += list(payload.get("summary_lines") or [])
    for a in payload["alerts"][:limit]:
        lin = a.get("lineage") or {}
        lines.append(f"- {a['summary']}  [{a['severity']}, tier {a['tier']}, id {a['alert_id']}]")
        if lin.get("model_version"):
            lines.append(f"    model {a['model']} {lin['model_version']}")
        for name, url in (lin.get("links") or {}).items():
            lines.append(f"    {name}: {url}")
        up = lin.get("upstream_inference_logs") or {}
        if up:
            lines.append(
                f"    inference_logs partition {up.get('partition')} "
                f"data version {up.get('data_version')}"
            )
        if lin.get("report_path"):
            lines.append(f"    report: {lin['report_path']}")
        if a.get("owners"):
            lines.append(f"    owners: {', '.join(a['owners'])}")
    extra = len(payload["alerts"]) - limit
    if extra > 0:
        lines.append(f"… and {extra} more")
    return "\n".join(lines)


def render_blocks(payload: dict[str, Any], limit: int = 10) -> list[dict[str, Any]]:
    """Slack Block Kit rendering: a header, one section per alert, a context footer."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": payload["title"][:150]}}
    ]
    if payload.get("summary_lines"):
        text = "\n".join(payload["summary_lines"])[:3000]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    for a in payload["alerts"][:limit]:
        links = (a.get("lineage") or {}).get("links") or {}
        link_text = " · ".join(f"<{url}|{name}>" for name, url in links.items())
        text = f"*{a['summary']}*\n{a['severity']} · tier {a['tier']} · `{a['alert_id']}`"
        if link_text:
            text += f"\n{link_text}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    extra = len(payload["alerts"]) - limit
    footer = f"group `{payload['group_id']}`" + (f" · and {extra} more" if extra > 0 else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return blocks


# --------------------------------------------------------------------------- HTTP


def post_json(
    channel: str,
    url: str,
    body: Any,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    inline_retry_after_max: float = 5.0,
    secrets: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, str]:
    """POST JSON; wait out a short ``Retry-After`` once, classify every failure.

    Returns ``(status, body)`` for 2xx; raises :class:`DeliveryError` otherwise.
    """
    secrets = secrets or []
    data = json.dumps(body, default=str).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    for attempt in (1, 2):
        req = urllib.request.Request(url, data=data, headers=hdrs, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")[:300]
            retry_after = _retry_after(exc.headers.get("Retry-After"))
            if exc.code == 429:
                if (
                    attempt == 1
                    and retry_after is not None
                    and retry_after <= inline_retry_after_max
                ):
                    sleep(retry_after)
                    continue
                raise DeliveryError(channel, "rate limited (HTTP 429)", True, retry_after) from None
            retryable = exc.code >= 500 or exc.code == 408
            reason = f"HTTP {exc.code} from {_safe_url(url)}: {scrub(text, secrets)}"
            if exc.code in (401, 403):
                reason += " (check the channel's credentials)"
            raise DeliveryError(channel, reason, retryable, retry_after) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(
                channel, f"cannot reach {_safe_url(url)}: {scrub(str(reason), secrets)}", True
            ) from None
    raise DeliveryError(channel, "rate limited (HTTP 429) twice", True)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, (parsed - dt.datetime.now(dt.UTC)).total_seconds())


def _safe_url(url: str) -> str:
    # Webhook URLs can embed tokens in their path; show only scheme and host.
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --------------------------------------------------------------------------- channels


class ConsoleChannel:
    """The embedded default: writes each message to the log (or stdout/stderr)."""

    name = "console"

    def __init__(self, stream: str = "log"):
        self.stream = stream

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        text = render_text(payload)
        if self.stream == "log":
            log.warning("%s", text)
        else:
            print(text, file=sys.stdout if self.stream == "stdout" else sys.stderr, flush=True)
        return payload["group_id"]


class SlackChannel:
    """Slack ``chat.postMessage`` with Block Kit; resolutions reply in the alert's thread."""

    name = "slack"

    def __init__(self, token: str, settings: SlackSettings, timeout: float = 10.0):
        self.settings = settings
        self._token = token
        self.client = WebClient(token=token, base_url=settings.base_url, timeout=int(timeout))
        self.client.retry_handlers.append(
            RateLimitErrorRetryHandler(max_retry_count=settings.max_rate_limit_retries)
        )

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        kwargs: dict[str, Any] = {
            "channel": self.settings.channel,
            "text": payload["title"],
            "blocks": render_blocks(payload),
        }
        if payload["kind"] in ("resolved", "renotify") and origin_ref:
            kwargs["thread_ts"] = origin_ref
        try:
            resp = self.client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "")) if exc.response is not None else ""
            if code in _SLACK_FATAL:
                raise DeliveryError(self.name, f"{code}: {_SLACK_FATAL[code]}", False) from None
            if code == "ratelimited" or exc.response.status_code == 429:
                after = _retry_after(exc.response.headers.get("Retry-After"))
                raise DeliveryError(self.name, "rate limited by Slack", True, after) from None
            raise DeliveryError(
                self.name, f"Slack API error {code or exc.response.status_code}", True
            ) from None
        except (SlackClientError, OSError, urllib.error.URLError) as exc:
            raise DeliveryError(
                self.name, f"cannot reach Slack: {scrub(str(exc), [self._token])}", True
            ) from None
        # Thread replies are answered in the original thread; new messages start one.
        return str(resp.get("ts") or "") or None


class PagerDutyChannel:
    """PagerDuty Events API v2; ``dedup_key`` is the alert group, so repeats are no-ops."""

    name = "pagerduty"
    _SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}

    def __init__(
        self,
        routing_key: str,
        settings: PagerDutySettings,
        timeout: float = 10.0,
        inline_retry_after_max: float = 5.0,
    ):
        self.settings = settings
        self._key = routing_key
        self.timeout = timeout
        self.inline_retry_after_max = inline_retry_after_max

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        if payload["kind"] == "digest":
            return None  # a digest is not an incident
        dedup_key = f"driftwarden-{payload['origin_group_id']}"
        if payload["kind"] == "resolved":
            if not payload.get("fully_resolved", True):
                return "group-still-firing"
            body: dict[str, Any] = {
                "routing_key": self._key,
                "event_action": "resolve",
                "dedup_key": dedup_key,
            }
        else:
            first = payload["alerts"][0]
            links = [
                {"href": url, "text": f"{a['check']}: {name}"}
                for a in payload["alerts"][:5]
                for name, url in ((a.get("lineage") or {}).get("links") or {}).items()
            ]
            body = {
                "routing_key": self._key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {
                    "summary": payload["title"][:1024],
                    "source": self.settings.source,
                    "severity": self._SEVERITY.get(payload["tier"], "warning"),
                    "component": first["model"],
                    "group": first["asset_key"],
                    "class": first["check"],
                    "custom_details": {
                        "alerts": [
                            {k: a[k] for k in ("alert_id", "summary", "severity", "partition")}
                            for a in payload["alerts"]
                        ],
                        "lineage": [a.get("lineage") for a in payload["alerts"][:5]],
                    },
                },
                "links": links[:20],
            }
        post_json(
            self.name,
            self.settings.url,
            body,
            timeout=self.timeout,
            inline_retry_after_max=self.inline_retry_after_max,
            secrets=[self._key],
        )
        return dedup_key


class AlertmanagerChannel:
    """Alertmanager API v2: POST ``/api/v2/alerts``; a resolution sets ``endsAt``."""

    name = "alertmanager"

    def __init__(
        self,
        settings: AlertmanagerSettings,
        timeout: float = 10.0,
        inline_retry_after_max: float = 5.0,
    ):
        self.settings = settings
        self.timeout = timeout
        self.inline_retry_after_max = inline_retry_after_max

    def to_alerts(self, payload: dict[str, Any], now: dt.datetime | None = None) -> list[dict]:
        """The Alertmanager alert objects for a message (labels identify each alert)."""
        now = now or dt.datetime.now(dt.UTC)
        out = []
        for a in payload["alerts"]:
            lin = a.get("lineage") or {}
            links = lin.get("links") or {}
            if payload["kind"] == "resolved":
                ends = a.get("resolved_at") or now.isoformat()
                ends = min(dt.datetime.fromisoformat(ends), now).isoformat()
            else:
                ends = (now + self.settings.resolve_timeout).isoformat()
            out.append(
                {
                    "labels": {
                        "alertname": a["check"],
                        "model": a["model"],
                        "asset_key": a["asset_key"],
                        "tier": a["tier"],
                        "severity": a["severity"].lower(),
                        "alert_id": a["alert_id"],
                        "source": "driftwarden",
                    },
                    "annotations": {
                        "summary": a["summary"],
                        "partition": a.get("partition") or "",
                        "model_version": str(lin.get("model_version", "")),
                        "run_url": links.get("run", ""),
                        "asset_partition_url": links.get("asset_partition", ""),
                        "report_path": lin.get("report_path") or "",
                    },
                    "startsAt": a["opened_at"],
                    "endsAt": ends,
                    "generatorURL": links.get("check", ""),
                }
            )
        return out

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        if payload["kind"] == "digest":
            return None  # Alertmanager holds live alerts, not summaries
        url = self.settings.url.rstrip("/") + "/api/v2/alerts"
        post_json(
            self.name,
            url,
            self.to_alerts(payload),
            timeout=self.timeout,
            inline_retry_after_max=self.inline_retry_after_max,
        )
        return payload["group_id"]


class EmailChannel:
    """Plain SMTP (optionally STARTTLS and login); resolutions reply to the first mail."""

    name = "email"

    def __init__(self, settings: EmailSettings, password: str = "", timeout: float = 10.0):
        if not settings.to:
            raise ValueError("channels.email.to needs at least one address")
        self.settings = settings
        self._password = password
        self.timeout = timeout

    def message_id(self, group_id: str) -> str:
        """A deterministic Message-ID so a repeat is recognisable and replies can thread."""
        domain = self.settings.sender.rpartition("@")[2] or "driftwarden"
        return f"<{group_id}@{domain}>"

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        msg = EmailMessage()
        msg["Subject"] = payload["title"]
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.to)
        msg["Message-ID"] = self.message_id(payload["group_id"])
        msg["Date"] = email.utils.formatdate(usegmt=True)
        if origin_ref and payload["kind"] != "firing":
            msg["In-Reply-To"] = origin_ref
            msg["References"] = origin_ref
        msg.set_content(render_text(payload, limit=100))
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.timeout) as smtp:
                if self.settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.username:
                    smtp.login(self.settings.username, self._password)
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError:
            raise DeliveryError(
                self.name, "SMTP login refused (check DRIFTWARDEN_SMTP_PASSWORD)", False
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                self.name, f"recipients refused: {sorted(exc.recipients)}", False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                self.name,
                f"SMTP {self.settings.host}:{self.settings.port}: "
                f"{scrub(str(exc), [self._password])}",
                True,
            ) from None
        return msg["Message-ID"]


class WebhookChannel:
    """POST the message as JSON; ``Idempotency-Key`` lets the receiver drop repeats."""

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        token: str = "",
        timeout: float = 10.0,
        inline_retry_after_max: float = 5.0,
    ):
        self.settings = settings
        self._token = token
        self.timeout = timeout
        self.inline_retry_after_max = inline_retry_after_max

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        headers = {"Idempotency-Key": payload["group_id"]}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        post_json(
            self.name,
            self.settings.url,
            {**payload, "text": render_text(payload)},
            headers,
            timeout=self.timeout,
            inline_retry_after_max=self.inline_retry_after_max,
            secrets=[self._token, self.settings.url],
        )
        return payload["group_id"]


# --------------------------------------------------------------------------- resource

SECRET_ENV = {
    "slack_token": "DRIFTWARDEN_SLACK_TOKEN",
    "pagerduty_routing_key": "DRIFTWARDEN_PAGERDUTY_ROUTING_KEY",
    "smtp_password": "DRIFTWARDEN_SMTP_PASSWORD",
    "webhook_token": "DRIFTWARDEN_WEBHOOK_TOKEN",
}


class AlertingResource(dg.ConfigurableResource):
    """The alert policy and channels. Secrets come from environment variables (``dg.EnvVar``).

    ``policy_file`` defaults to ``$DRIFTWARDEN_ALERT_POLICY`` (absent: built-in
    defaults, console only); ``ui_base_url`` overrides the policy's for deep links.
    """

    policy_file: str = ""
    ui_base_url: str = ""
    slack_token: str = ""
    pagerduty_routing_key: str = ""
    smtp_password: str = ""
    webhook_token: str = ""

    @classmethod
    def from_env(cls, policy_file: str = "", ui_base_url: str = "") -> AlertingResource:
        """Read each secret through ``dg.EnvVar`` when its variable is set."""
        secrets = {k: dg.EnvVar(v) for k, v in SECRET_ENV.items() if os.environ.get(v)}
        return cls(
            policy_file=policy_file or os.environ.get("DRIFTWARDEN_ALERT_POLICY", ""),
            ui_base_url=ui_base_url or os.environ.get("DRIFTWARDEN_UI_URL", ""),
            **secrets,
        )

    def policy(self) -> AlertPolicy:
        """Load the policy (raises ``ConfigError`` naming file, key and line)."""
        policy = load_policy(self.policy_file or None)
        if self.ui_base_url:
            policy = policy.model_copy(update={"ui_base_url": self.ui_base_url})
        return policy

    def channels(self, policy: AlertPolicy) -> tuple[dict[str, Channel], dict[str, str]]:
        """Build the channels the policy uses; return them and why any is unavailable."""
        return build_channels(
            policy,
            slack_token=self.slack_token,
            pagerduty_routing_key=self.pagerduty_routing_key,
            smtp_password=self.smtp_password,
            webhook_token=self.webhook_token,
        )


def build_channels(
    policy: AlertPolicy,
    slack_token: str = "",
    pagerduty_routing_key: str = "",
    smtp_password: str = "",
    webhook_token: str = "",
) -> tuple[dict[str, Channel], dict[str, str]]:
    """Channels by name for every channel the policy routes to, plus reasons for the missing."""
    cfg = policy.channels
    timeout = policy.delivery.timeout.total_seconds()
    inline = policy.delivery.inline_retry_after_max.total_seconds()
    out: dict[str, Channel] = {}
    missing: dict[str, str] = {}
    for name in sorted(policy.used_channels() | {"console"}):
        if name == "console":
            out[name] = ConsoleChannel(cfg.console.stream)
        elif name == "slack" and cfg.slack is not None:
            if slack_token:
                out[name] = SlackChannel(slack_token, cfg.slack, timeout)
            else:
                missing[name] = f"no Slack token: set {SECRET_ENV['slack_token']}"
        elif name == "pagerduty" and cfg.pagerduty is not None:
            if pagerduty_routing_key:
                out[name] = PagerDutyChannel(pagerduty_routing_key, cfg.pagerduty, timeout, inline)
            else:
                missing[name] = f"no routing key: set {SECRET_ENV['pagerduty_routing_key']}"
        elif name == "email" and cfg.email is not None:
            out[name] = EmailChannel(cfg.email, smtp_password, timeout)
        elif name == "alertmanager" and cfg.alertmanager is not None:
            out[name] = AlertmanagerChannel(cfg.alertmanager, timeout, inline)
        elif name == "webhook" and cfg.webhook is not None:
            out[name] = WebhookChannel(cfg.webhook, webhook_token, timeout, inline)
    return out, missing


__all__ = [
    "AlertingResource",
    "AlertmanagerChannel",
    "Channel",
    "ConsoleChannel",
    "DeliveryError",
    "EmailChannel",
    "PagerDutyChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channels",
    "render_blocks",
    "render_text",
]

"""Alert channels: Slack, PagerDuty Events v2, email (SMTP), Alertmanager v2, a JSON webhook
and the console/log sink, plus :class:`AlertingResource` that builds them.

Each channel implements the core's channel port
(:class:`monitoring_assets.core.alerts.channels.Channel`): it takes a message payload
(planned by ``monitoring_assets.core.alerts.notifications``) and either returns a reference
(Slack ``ts``, e-mail Message-ID…) or raises
:class:`~monitoring_assets.core.alerts.channels.DeliveryError` saying whether a retry
can help.

HTTP channels share :class:`HttpClient`: one kept urllib3 pool per channel, a
deadline per request (connect, answer and body), at most 1 MiB of any answer read,
and one inline wait for a short, valid ``Retry-After`` (429/503). Status retries
are decided here rather than by urllib3's ``Retry``: it raises ``InvalidHeader`` on
a malformed ``Retry-After`` and cannot tell a wait worth sleeping through from one
to schedule; longer waits and every other failure go back to the outbox, which
retries with backoff. Slack is spoken through the same client (``chat.postMessage``
is one JSON POST) so its answers get the same deadline, size cap and lenient
``Retry-After``.

Secrets are passed in from environment variables, registered with
:func:`monitoring_assets.core.alerts.scrub.register_secret` when a channel is built, and
scrubbed from every error reason (:class:`DeliveryError` scrubs its own text).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import logging
import math
import os
import re
import smtplib
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import dagster as dg
import urllib3

from monitoring_assets.core.alerts.channels import REASON_LIMIT, Channel, DeliveryError
from monitoring_assets.core.alerts.policy import (
    AlertmanagerSettings,
    AlertPolicy,
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    WebhookSettings,
    load_policy,
)
from monitoring_assets.core.alerts.scrub import register_secret, safe_url, scrub, url_secrets
from monitoring_assets.core.root_cause.causes import cause_lines

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

_DELTA_SECONDS = re.compile(r"^\s*\d+(\.\d+)?\s*$")


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it is absent or unusable.

    Accepted: delta-seconds (``120``) and HTTP dates with a zone (``Wed, 21 Oct 2026
    07:28:00 GMT``; a past date means 0). Anything else (garbage, a date without a
    zone, ``1e400``, ``inf``, ``nan``, negative numbers) gives None, and the caller
    falls back to its own backoff.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if _DELTA_SECONDS.match(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a zone-less date is ambiguous
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------- rendering


def render_text(payload: dict[str, Any], limit: int = 20) -> str:
    """Plain-text rendering with lineage links (console, e-mail, webhook)."""
    lines = [payload["title"], ""]
    lines += list(payload.get("summary_lines") or [])
    for a in payload["alerts"][:limit]:
        lin = a.get("lineage") or {}
        lines.append(f"- {a['summary']}  [{a['severity']}, tier {a['tier']}, id {a['alert_id']}]")
        for line in cause_lines(a.get("causes") or []):
            lines.append(f"    likely cause {line}")
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
        causes = cause_lines(a.get("causes") or [])
        if causes:
            text += "\n_Likely causes:_\n" + "\n".join(causes)
        if link_text:
            text += f"\n{link_text}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    extra = len(payload["alerts"]) - limit
    footer = f"group `{payload['group_id']}`" + (f" · and {extra} more" if extra > 0 else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return blocks


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class HttpReply:
    """A channel's answer: status, the first bytes of the body, and a valid Retry-After."""

    status: int
    body: bytes
    retry_after: float | None
    url: str

    def text(self, limit: int = REASON_LIMIT) -> str:
        """The body as text, scrubbed, then cut to ``limit`` characters.

        Only a prefix well past ``limit`` is scrubbed (a 1 MiB body would be slow): a
        secret cut at its end is masked by its pieces, and what is left of it lies
        beyond ``limit``.
        """
        text = " ".join(self.body[: 4 * limit + 1024].decode(errors="replace").split())
        return scrub(text, limit=limit)

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body)


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:pass@``, and the Basic ``Authorization`` header it implied."""
    parts = urllib.parse.urlsplit(url)
    if not (parts.username or parts.password):
        return url, {}
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return bare, {"Authorization": f"Basic {token}"}


class HttpClient:
    """A kept urllib3 pool for one channel, with bounded time and size (see the module doc).

    ``timeout`` bounds connecting, waiting for the answer, and reading its body;
    a 429 or 503 whose valid ``Retry-After`` is at most ``inline_retry_after_max``
    is slept through once and the request repeated. Transport failures raise
    :class:`DeliveryError` (retryable); every HTTP answer is returned.
    """

    MAX_BODY = 1024 * 1024  # Slack echoes the posted message; 10 MB of garbage is cut here

    def __init__(
        self,
        channel: str,
        timeout: float = 10.0,
        inline_retry_after_max: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.channel = channel
        self.timeout = timeout
        self.inline_retry_after_max = inline_retry_after_max
        self._sleep = sleep
        # No urllib3 retries: a POST is repeated only by the rules above and the outbox.
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=2,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )

    def post_json(self, url: str, body: Any, headers: dict[str, str] | None = None) -> HttpReply:
        """POST ``body`` as JSON to ``url`` (credentials in the URL become Basic auth)."""
        target, auth = split_credentials(url)
        data = json.dumps(body, default=str).encode()
        hdrs = {"Content-Type": "application/json; charset=utf-8", **auth, **(headers or {})}
        reply = self._request(target, data, hdrs)
        wait = reply.retry_after
        if reply.status in (429, 503) and wait is not None and wait <= self.inline_retry_after_max:
            self._sleep(wait)
            reply = self._request(target, data, hdrs)
        return reply

    def _request(self, url: str, data: bytes, headers: dict[str, str]) -> HttpReply:
        where = safe_url(url)
        deadline = time.monotonic() + self.timeout
        try:
            resp = self._pool.request(
                "POST", url, body=data, headers=headers, preload_content=False, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise DeliveryError(
                self.channel, f"cannot reach {where}: {_transport(exc)}", True
            ) from None
        complete = False
        try:
            chunks: list[bytes] = []
            size = 0
            while size < self.MAX_BODY:
                if time.monotonic() > deadline:
                    raise DeliveryError(
                        self.channel,
                        f"the answer of {where} was still arriving after {self.timeout:g}s",
                        True,
                    )
                chunk = resp.read1(min(16384, self.MAX_BODY - size))
                if not chunk:
                    complete = True
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeliveryError(
                self.channel, f"reading the answer of {where} failed: {_transport(exc)}", True
            ) from None
        finally:
            if complete:
                resp.release_conn()
            else:
                resp.close()  # do not drain an endless or oversized body
        return HttpReply(
            resp.status, b"".join(chunks), parse_retry_after(resp.headers.get("Retry-After")), url
        )


def _transport(exc: BaseException) -> str:
    # urllib3 messages name host and port, never the path; scrubbed all the same.
    reason = getattr(exc, "reason", None) or exc
    return scrub(f"{type(exc).__name__}: {reason}", limit=200)


def raise_for_status(channel: str, reply: HttpReply, what: str = "") -> None:
    """Raise :class:`DeliveryError` unless ``reply`` is 2xx, classifying the failure."""
    if 200 <= reply.status < 300:
        return
    where = safe_url(reply.url)
    if reply.status == 429:
        raise DeliveryError(channel, f"rate limited (HTTP 429) by {where}", True, reply.retry_after)
    retryable = reply.status >= 500 or reply.status == 408
    reason = f"HTTP {reply.status} from {where}{what}: {reply.text()}"
    if reply.status in (401, 403):
        reason += " (check the channel's credentials)"
    raise DeliveryError(channel, reason, retryable, reply.retry_after if retryable else None)


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

    def __init__(
        self,
        token: str,
        settings: SlackSettings,
        timeout: float = 10.0,
        inline_retry_after_max: float = 5.0,
    ):
        register_secret(token)
        self.settings = settings
        self._token = token
        self.url = settings.base_url.rstrip("/") + "/chat.postMessage"
        self.http = HttpClient(self.name, timeout, inline_retry_after_max)

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        body: dict[str, Any] = {
            "channel": self.settings.channel,
            "text": payload["title"],
            "blocks": render_blocks(payload),
        }
        if payload["kind"] in ("resolved", "renotify") and origin_ref:
            body["thread_ts"] = origin_ref
        reply = self.http.post_json(self.url, body, {"Authorization": f"Bearer {self._token}"})
        try:
            data = reply.json()
        except ValueError:
            data = None
        code = str(data.get("error") or "") if isinstance(data, dict) else ""
        if code in _SLACK_FATAL:
            raise DeliveryError(self.name, f"{code}: {_SLACK_FATAL[code]}", False)
        if code == "ratelimited" or reply.status == 429:
            raise DeliveryError(self.name, "rate limited by Slack", True, reply.retry_after)
        raise_for_status(self.name, reply, " (Slack)")
        if not isinstance(data, dict):
            raise DeliveryError(
                self.name, f"Slack answered with a non-JSON body: {reply.text()}", True
            )
        if not data.get("ok"):
            raise DeliveryError(self.name, f"Slack API error {code or 'without a code'}", True)
        # Thread replies are answered in the original thread; new messages start one.
        return str(data.get("ts") or "") or None


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
        register_secret(routing_key)
        self.settings = settings
        self._key = routing_key
        self.http = HttpClient(self.name, timeout, inline_retry_after_max)

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
                            {
                                **{
                                    k: a[k]
                                    for k in ("alert_id", "summary", "severity", "partition")
                                },
                                "likely_causes": cause_lines(a.get("causes") or []),
                            }
                            for a in payload["alerts"]
                        ],
                        "lineage": [a.get("lineage") for a in payload["alerts"][:5]],
                    },
                },
                "links": links[:20],
            }
        reply = self.http.post_json(self.settings.url, body)
        raise_for_status(self.name, reply, " (PagerDuty Events API)")
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
        register_secret(*url_secrets(settings.url))
        self.settings = settings
        self.http = HttpClient(self.name, timeout, inline_retry_after_max)

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
        reply = self.http.post_json(url, self.to_alerts(payload))
        raise_for_status(self.name, reply, " (Alertmanager)")
        return payload["group_id"]


class EmailChannel:
    """Plain SMTP (optionally STARTTLS and login); resolutions reply to the first mail."""

    name = "email"

    def __init__(self, settings: EmailSettings, password: str = "", timeout: float = 10.0):
        if not settings.to:
            raise ValueError("channels.email.to needs at least one address")
        register_secret(password)
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
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                self.name,
                f"SMTP login refused ({exc.smtp_code}; check DRIFTWARDEN_SMTP_PASSWORD)",
                False,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                self.name, f"recipients refused: {sorted(exc.recipients)}", False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                self.name,
                f"SMTP {self.settings.host}:{self.settings.port}: {type(exc).__name__}: {exc}",
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
        # The URL itself can be the credential (Slack-style /services/T…/B…/XXXX paths):
        # every token-looking path segment is a secret, and so are URL credentials.
        segments = urllib.parse.urlsplit(settings.url).path.split("/")
        register_secret(token, *url_secrets(settings.url), *filter(_token_like, segments))
        self.settings = settings
        self._token = token
        self.http = HttpClient(self.name, timeout, inline_retry_after_max)

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None:
        headers = {"Idempotency-Key": payload["group_id"]}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        reply = self.http.post_json(
            self.settings.url, {**payload, "text": render_text(payload)}, headers
        )
        raise_for_status(self.name, reply, " (webhook)")
        return payload["group_id"]


def _token_like(segment: str) -> bool:
    # Random tokens mix character classes; words like "services" or "alerts" do not.
    classes = sum(any(test(c) for c in segment) for test in (str.islower, str.isupper, str.isdigit))
    return len(segment) >= 8 and classes >= 2


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
                out[name] = SlackChannel(slack_token, cfg.slack, timeout, inline)
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
    "ConsoleChannel",
    "EmailChannel",
    "HttpClient",
    "HttpReply",
    "PagerDutyChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channels",
    "parse_retry_after",
    "render_blocks",
    "render_text",
    "scrub",
]

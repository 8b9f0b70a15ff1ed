"""The delivery loop: send due outbox messages, retry with backoff, give up for good.

A message is marked delivered only after its channel accepted it, so a crash
between the two re-sends it once at most. PagerDuty (``dedup_key``), Alertmanager
(label sets) and the webhook (``Idempotency-Key``) turn that repeat into a no-op;
Slack, e-mail (same Message-ID) and the console can show it twice.

Nothing a channel does can stop delivery: any exception from a send, and a send
that outlives its deadline, is one failed attempt of that message; it backs off
exponentially (or by a valid ``Retry-After``, capped at ``max_backoff``) while the
other messages go on. A message fails for good only after ``max_attempts``
attempts *and* ``max_age``; then the channel's failure episode is announced
(:mod:`~monitoring_assets.core.alerts.channel_health`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitoring_assets.core.alerts.channel_health import ChannelHealthBook
from monitoring_assets.core.alerts.channels import REASON_LIMIT, Channel, DeliveryError
from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.outbox import AlertStore, OutboxRow
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.rows import cell, utcnow
from monitoring_assets.core.alerts.scrub import scrub

log = logging.getLogger("driftwarden.alerts")


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0  # due, but left for the next tick (the tick budget was spent)
    meta: int = 0  # delivery meta-alert messages queued
    seconds: float = 0.0
    errors: list[str] | None = None

    def __post_init__(self) -> None:
        self.errors = self.errors or []


def backoff(policy: AlertPolicy, attempts: int) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed attempts, capped by the policy."""
    base = policy.delivery.base_backoff.total_seconds()
    cap = policy.delivery.max_backoff.total_seconds()
    return dt.timedelta(seconds=min(cap, base * (2 ** min(max(attempts - 1, 0), 60))))


def retry_wait(policy: AlertPolicy, attempts: int, retry_after: Any = None) -> dt.timedelta:
    """The wait before the next attempt: the backoff, or a longer valid ``Retry-After``;
    never more than ``max_backoff``."""
    cap = policy.delivery.max_backoff.total_seconds()
    seconds = backoff(policy, attempts).total_seconds()
    try:
        hint = float(retry_after) if retry_after is not None else math.nan
    except (TypeError, ValueError):
        hint = math.nan
    if math.isfinite(hint) and hint > 0:
        seconds = max(seconds, min(hint, cap))
    return dt.timedelta(seconds=min(seconds, cap))


def send_limit(policy: AlertPolicy) -> float:
    """Seconds one send may take: two requests and one inline wait, plus a margin."""
    d = policy.delivery
    return 2 * d.timeout.total_seconds() + d.inline_retry_after_max.total_seconds() + 1.0


def send_within(
    channel: Channel, payload: dict[str, Any], origin_ref: str | None, limit: float
) -> str | None:
    """``channel.send`` with a hard deadline.

    Channels bound their own requests; this bounds whatever they cannot (a server
    that trickles its headers, a library that blocks). A send still running at the
    deadline is left to finish in the background and counts as a failed attempt, so
    a late success can repeat that message once.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["ref"] = channel.send(payload, origin_ref=origin_ref)
        except Exception as exc:  # reported to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"alert-send-{channel.name}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise DeliveryError(channel.name, f"no result within {limit:g}s", True)
    if "error" in outcome:
        raise outcome["error"]
    if "ref" not in outcome:
        raise DeliveryError(channel.name, "the send ended without a result", True)
    return outcome["ref"]


class _Pass:
    """State of one delivery call (see :func:`deliver_pending`)."""

    def __init__(
        self,
        store: AlertStore,
        channels: Mapping[str, Channel],
        policy: AlertPolicy,
        now: Callable[[], dt.datetime],
        missing: Mapping[str, str],
    ):
        self.store = store
        self.channels = channels
        self.policy = policy
        self.now = now
        self.missing = missing
        self.report = DeliveryReport()
        self.down: set[str] = set()
        self.health = ChannelHealthBook(store, policy)
        self.limit = send_limit(policy)

    def deliver(self, row: OutboxRow) -> None:
        if row.problem:
            self.failed(row, row.problem, retryable=False, attempted=False)
            return
        channel = self.channels.get(row.channel)
        if channel is None:
            reason = self.missing.get(row.channel, f"channel {row.channel!r} is not configured")
            self.failed(row, reason, retryable=False, attempted=False)
            return
        origin_ref = None
        if row.kind in ("resolved", "renotify"):
            origin_id = stable_id("delivery", row.payload.get("origin_group_id"), row.channel)
            origin = self.store.delivery(origin_id)
            if origin is not None:
                if origin["status"] == "pending" and row.kind == "resolved":
                    # Resolve after the message it answers, so Slack can thread it.
                    self.store.defer(row.delivery_id, "waiting for the firing message", self.now())
                    return
                origin_ref = cell(origin.get("external_ref"))
        try:
            ref = send_within(channel, row.payload, origin_ref, self.limit)
        except DeliveryError as exc:
            # A retryable channel error (unreachable, 5xx, 429) holds the channel this tick.
            self.failed(row, exc.reason, exc.retryable, exc.retry_after, hold=exc.retryable)
            return
        except Exception as exc:  # any other failure is this message's alone
            self.failed(row, f"{type(exc).__name__}: {exc}", retryable=True)
            return
        t = self.now()
        self.store.mark_delivered(row.delivery_id, ref, t)
        self.report.delivered += 1
        self.report.meta += self.health.recovered(row.channel, t)

    def failed(
        self,
        row: OutboxRow,
        reason: str,
        retryable: bool,
        retry_after: Any = None,
        hold: bool = False,
        attempted: bool = True,
    ) -> None:
        d = self.policy.delivery
        t = self.now()
        reason = scrub(reason, limit=REASON_LIMIT)
        attempts = row.attempts + (1 if attempted else 0)
        age = t - (row.created_at or t)
        self.report.errors.append(f"{row.channel}: {reason}")  # type: ignore[union-attr]
        log.warning("alert delivery %s via %s: %s", row.delivery_id, row.channel, reason)
        self.health.note_failure(row.channel, reason, row.tier, t)
        if retryable and not (attempts >= d.max_attempts and age >= d.max_age):
            self.store.mark_retry(
                row.delivery_id, reason, t + retry_wait(self.policy, attempts, retry_after)
            )
            self.report.retrying += 1
            if hold:
                self.down.add(row.channel)
            return
        if retryable:
            reason = scrub(
                f"gave up after {attempts} attempts over {_span(age)}: {reason}", limit=REASON_LIMIT
            )
        self.store.mark_failed(row.delivery_id, reason, attempted)
        self.report.failed += 1
        self.report.meta += self.health.announce(row.channel, t)


def deliver_pending(
    store: AlertStore,
    channels: Mapping[str, Channel],
    policy: AlertPolicy,
    now: Callable[[], dt.datetime] = utcnow,
    missing: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryReport:
    """Send every due outbox message; record each result as soon as it is known.

    ``channels`` are the configured channels by name; ``missing`` explains why a
    named channel is unavailable (e.g. its token variable is unset) so the message
    fails with that reason instead of waiting forever. No send starts after the
    policy's ``tick_budget``; due messages left over wait for the next call. A
    second pass delivers the meta-alerts the first one queued.
    """
    run = _Pass(store, channels, policy, now, missing or {})
    started = clock()
    budget = policy.delivery.tick_budget.total_seconds()
    seen: set[str] = set()
    for _ in range(2):
        queued = run.report.meta
        for row in store.due(now(), policy.delivery.batch):
            if row.delivery_id in seen:
                continue
            seen.add(row.delivery_id)
            if row.channel in run.down:
                continue  # the channel just failed: keep order, do not hammer it this tick
            if clock() - started >= budget:
                run.report.deferred += 1
                continue
            run.deliver(row)
        if run.report.meta == queued:
            break
    run.report.seconds = clock() - started
    return run.report


def _span(delta: dt.timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"

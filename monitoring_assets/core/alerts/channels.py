"""The channel port: what the outbox needs from a notification channel, and how a send fails.

``resources/notifiers.py`` implements :class:`Channel` for Slack, PagerDuty, e-mail,
Alertmanager, a webhook and the console; the delivery loop
(:mod:`monitoring_assets.core.alerts.delivery`) delivers through it and knows no channel
by its library. It lives with the alerts rather than in :mod:`monitoring_assets.core.ports`
because :class:`DeliveryError` scrubs its reason with the alert scrubber
(:mod:`monitoring_assets.core.alerts.scrub`), and only the alert package uses it.
"""

from __future__ import annotations

from typing import Any, Protocol

from monitoring_assets.core.alerts.scrub import scrub

#: Error reasons (in ``alert_outbox.last_error``, logs and meta-alerts) keep this many
#: characters, after scrubbing.
REASON_LIMIT = 300


class DeliveryError(Exception):
    """A channel did not accept a message; ``retryable`` says whether trying again can help.

    ``retry_after`` is the channel's own hint in seconds (a valid ``Retry-After``), which
    the outbox honours up to the policy's ``max_backoff``. The reason is scrubbed of
    secrets here, so no caller can forget to.
    """

    def __init__(
        self, channel: str, reason: str, retryable: bool, retry_after: float | None = None
    ):
        reason = scrub(reason, limit=REASON_LIMIT)
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """A named channel that sends one planned message payload.

    ``send`` returns a reference to what it created (Slack ``ts``, e-mail Message-ID…),
    which later messages of the same group receive as ``origin_ref`` so they can thread;
    it raises :class:`DeliveryError` when the channel refuses. Any other exception counts
    as a retryable failure of that message.
    """

    name: str

    def send(self, payload: dict[str, Any], origin_ref: str | None = None) -> str | None: ...

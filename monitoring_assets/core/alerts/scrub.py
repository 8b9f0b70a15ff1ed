"""Keeping secrets out of every text the alert path writes: errors, logs, tables, CLI.

One function, :func:`scrub`, is applied to every text that can carry a secret
before it leaves the process or reaches a table: error reasons of the channels,
``alert_outbox.last_error``, the sensor's tick log, and (through
:class:`ScrubFilter`) the log records of our logger and of the HTTP library.

What it removes:

- every registered secret (channel tokens, keys, passwords, URL credentials),
  and any run of 6 or more characters that also occurs in one, so a secret that
  a server echoed truncated, or that straddles a cut, is gone too;
- credentials in URLs (``scheme://user:pass@host``), token-looking query
  parameters (``?token=…``, ``&api_key=…``), ``Bearer`` credentials
  and Slack-style tokens (``xoxb-…``), registered or not.

Secrets are registered by the channels that hold them (:func:`register_secret`);
the registry is per process, like the environment the secrets come from.
Scrubbing always happens before truncation (``limit``), so a cut can never keep
part of a secret that scrubbing the whole text would have removed.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "***"
# A run this long that also occurs in a secret is treated as part of that secret.
PARTIAL_RUN = 6
# Shorter values are not scrubbed by value (they would mask ordinary words).
MIN_SECRET = 4

_lock = threading.Lock()
_registered: set[str] = set()
_grams: frozenset[str] = frozenset()

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@]+@")
_SECRET_WORDS = r"(?:token|secret|passw|pwd|key|sig|signature|auth|credential|session)"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)
_SECRET_PARAM = re.compile(
    rf"(?P<name>[?&;](?:[^=&;\s#]*?){_SECRET_WORDS}[^=&;\s#]*=)[^&;\s#\"'<>]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<kind>Bearer)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_SLACK_TOKEN = re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{6,}")


def register_secret(*values: str | None) -> None:
    """Remember secret values (tokens, keys, passwords) so every later scrub removes them."""
    global _grams
    new = {v for v in values if v and len(v) >= MIN_SECRET} - _registered
    if not new:
        return
    with _lock:
        _registered.update(new)
        _grams = _ngrams(_registered)


def registered_secrets() -> frozenset[str]:
    """The registered secret values (for tests that check nothing leaks)."""
    return frozenset(_registered)


def url_secrets(url: str) -> list[str]:
    """The credential parts of ``url``: user, password, ``user:pass`` and its Basic form."""
    parts = urllib.parse.urlsplit(url)
    out: list[str] = []
    if parts.username or parts.password:
        import base64

        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        out += [user, password, f"{user}:{password}"]
        out.append(base64.b64encode(f"{user}:{password}".encode()).decode())
    return [s for s in out if s]


def strip_credentials(url: str) -> str:
    """``url`` without ``user:pass@`` and without token-looking query parameters (for links
    that go into messages and tables)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        p for p in parts.query.split("&") if p and not _SECRET_NAME.search(p.partition("=")[0])
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def safe_url(url: str) -> str:
    """Scheme, host and port only: paths, queries and credentials can all be secrets."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def scrub(text: object, secrets: Iterable[str | None] = (), limit: int | None = None) -> str:
    """``text`` without secrets, then cut to ``limit`` characters (see the module docstring).

    ``secrets`` are scrubbed in addition to the registered ones.
    """
    out = text if isinstance(text, str) else str(text)
    extra = {s for s in secrets if s and len(s) >= MIN_SECRET}
    known = _registered | extra
    for secret in sorted(known, key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, MASK)
    grams = _grams if not (extra - _registered) else _ngrams(known)
    if grams and len(out) >= PARTIAL_RUN:
        out = _mask_partials(out, grams)
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", out)
    out = _SECRET_PARAM.sub(lambda m: f"{m.group('name')}{MASK}", out)
    out = _BEARER.sub(lambda m: f"{m.group('kind')} {MASK}", out)
    out = _SLACK_TOKEN.sub(MASK, out)
    if limit is not None and len(out) > limit:
        out = out[: max(limit - 1, 0)] + "…"
    return out


def _ngrams(secrets: Iterable[str]) -> frozenset[str]:
    return frozenset(
        s[i : i + PARTIAL_RUN]
        for s in secrets
        if len(s) >= PARTIAL_RUN
        for i in range(len(s) - PARTIAL_RUN + 1)
    )


def _mask_partials(text: str, grams: frozenset[str]) -> str:
    n = PARTIAL_RUN
    covered = bytearray(len(text))
    hit = False
    for i in range(len(text) - n + 1):
        if text[i : i + n] in grams:
            covered[i : i + n] = b"\x01" * n
            hit = True
    if not hit:
        return text
    pieces, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            if not pieces or pieces[-1] != MASK:
                pieces.append(MASK)
        else:
            j = i
            while j < len(text) and not covered[j]:
                j += 1
            pieces.append(text[i:j])
            i = j
    return "".join(pieces)


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs a record's message and traceback in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FILTER = ScrubFilter()

# Loggers that can see URLs, headers or bodies on the alert path. A filter on a
# logger applies to the records it creates, so each one is listed by its own name.
SCRUBBED_LOGGERS = (
    "driftwarden.alerts",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


def install_log_filter() -> None:
    """Attach the scrub filter to every logger of the alert path (idempotent)."""
    for name in SCRUBBED_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)


install_log_filter()


__all__ = [
    "MASK",
    "ScrubFilter",
    "install_log_filter",
    "register_secret",
    "registered_secrets",
    "safe_url",
    "scrub",
    "strip_credentials",
    "url_secrets",
]

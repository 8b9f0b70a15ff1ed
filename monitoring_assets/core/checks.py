"""What a check decides, in one vocabulary used by code, metadata, the UI, alerts and metrics.

- :data:`Severity` — how bad a *failed* check is: ``WARN`` or ``ERROR`` (Dagster's
  ``AssetCheckSeverity`` names, so the UI shows the same word).
- :data:`Verdict` — the outcome of one evaluation: ``OK``, or the severity it failed at.
- Alert *tiers* (``critical``/``warning``/``info``) are where an alert is routed, chosen by
  the alert policy from the severity; they are not a second severity scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["WARN", "ERROR"]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check on one day.

    ``severity`` is the severity of a failure (a passing outcome keeps it as the level the
    check would fail at). ``metadata`` should hold the measured value(s) and threshold(s)
    as numbers, so the UI plots them across partitions and alerts can quote them.
    """

    check: str
    passed: bool
    severity: Severity = "WARN"
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckDeclaration:
    """A check's name and what must hold, e.g. ('drift_share_below_threshold', '...')."""

    name: str
    description: str


Verdict = Literal["OK", "WARN", "ERROR"]


def verdict(outcome: CheckOutcome) -> Verdict:
    """``OK`` for a passing outcome, else the severity it failed at."""
    return "OK" if outcome.passed else outcome.severity

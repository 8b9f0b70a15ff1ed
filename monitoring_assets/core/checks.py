"""What a check decides, in one vocabulary used by code, metadata, the UI, alerts and metrics.

- :data:`Severity` — how bad a *failed* check is: ``WARN`` or ``ERROR`` (Dagster's
  ``AssetCheckSeverity`` names, so the UI shows the same word).
- :data:`Verdict` — the outcome of one evaluation: ``OK``, or the severity it failed at.
- Alert *tiers* (``critical``/``warning``/``info``) are where an alert is routed, chosen by
  the alert policy from the severity; they are not a second severity scale.

Words stored elsewhere map onto these at the edge, once: quality findings keep their
``ok``/``warn``/``error``/``not_computable`` statuses in the warehouse and map through
:data:`monitoring_assets.core.quality.QUALITY_VERDICT` (``not_computable`` is a failed
WARN); a stream window's verdict is :meth:`monitoring_assets.core.monitor.DriftResult.verdict`
and its alert carries :func:`failed_at` of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["WARN", "ERROR"]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check on one day.

    ``severity`` is the severity of a failure (a passing outcome keeps it as the level the
    check would fail at). ``metadata`` holds the measured value(s) and threshold(s) as
    numbers; ``monitors/daily_checks.py`` shows thresholds and counts as text in the UI
    (only signals are plotted) and alerts read them back as numbers.
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


#: Verdicts from best to worst.
VERDICT_ORDER: dict[str, int] = {"OK": 0, "WARN": 1, "ERROR": 2}


def worst_verdict(outcomes: Iterable[CheckOutcome]) -> Verdict:
    """The worst verdict among ``outcomes`` (``OK`` when there are none)."""
    return max((verdict(o) for o in outcomes), key=VERDICT_ORDER.__getitem__, default="OK")


def failed_at(worst: Verdict) -> Severity:
    """The severity a failure of verdict ``worst`` is reported at (``OK`` keeps ``WARN``,
    the level such a check would fail at, as :class:`CheckOutcome` does)."""
    return "ERROR" if worst == "ERROR" else "WARN"

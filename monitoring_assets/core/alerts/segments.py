"""Alerts per segment, and segment causes on drift alerts.

A segment check (:mod:`~monitoring_assets.core.segment_checks`) records one evaluation
per day carrying every segment's verdict. :func:`per_segment` splits it into one
:class:`CheckEvent` per segment with ``metadata['segment']`` set, so the fingerprint
(and the alert key) includes the segment: two segments are two episodes, and a segment
resolves when its own verdict passes. :func:`with_segment_causes` adds the stored
segment causes of a day's drift to the data-drift and prediction-drift evaluations of
that day, and those of its accuracy change to its performance evaluations
(``metadata['causes']``, carried into the alert's lineage as ``causes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.segment_checks import SEGMENT_DETAILS, SEGMENT_VERDICTS

#: Metadata key naming the segment an evaluation is about (part of the alert key).
SEGMENT = "segment"
#: Metadata key of the ranked causes an alert lists.
CAUSES = "causes"
#: Checks whose alerts get the day's segment causes, and which causes (drift or
#: performance).
CAUSE_CHECKS = {
    "drift_share_below_threshold": "drift",
    "critical_features_not_drifted": "drift",
    "prediction_drift_below_threshold": "drift",
    "accuracy_above_floor": "performance",
    "accuracy_drop_within_limit": "performance",
}


def per_segment(event: CheckEvent) -> list[CheckEvent]:
    """``event`` split into one event per segment (unchanged when it has no verdicts)."""
    verdicts = event.metadata.get(SEGMENT_VERDICTS)
    if not isinstance(verdicts, dict):
        return [event]
    details = event.metadata.get(SEGMENT_DETAILS) or {}
    base = {k: v for k, v in event.metadata.items() if k not in (SEGMENT_VERDICTS, SEGMENT_DETAILS)}
    out = []
    for seg, passed in verdicts.items():
        d = details.get(seg) or {}
        meta = {**base, **{k: v for k, v in d.items() if v is not None}, SEGMENT: seg}
        if passed:
            text = f"{seg}: passes"
        else:
            text = next(
                (p for p in (event.description or "").split("; ") if p.startswith(f"{seg} ")),
                f"{seg}: fails",
            )
        out.append(dataclasses.replace(event, passed=bool(passed), metadata=meta, description=text))
    return out


def with_segment_causes(
    events: Iterable[CheckEvent], causes_of: Callable[[str, str, str], list[dict]]
) -> list[CheckEvent]:
    """Failed drift and performance evaluations with ``causes_of(model, partition, kind)``
    in their metadata (kind: drift | performance)."""
    out = []
    for e in events:
        if not e.passed and e.check in CAUSE_CHECKS and e.partition and CAUSES not in e.metadata:
            causes = causes_of(e.model, e.partition, CAUSE_CHECKS[e.check])
            if causes:
                e = dataclasses.replace(e, metadata={**e.metadata, CAUSES: causes})
        out.append(e)
    return out

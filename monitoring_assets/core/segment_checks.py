"""The segment checks' verdicts from stored ``segment_results`` rows (one per segment).

Each check's metadata carries ``segment_verdicts`` ({segment: passed}) and
``segment_details`` ({segment: numbers}); the alert sensor splits such an evaluation
into one per segment (:mod:`~monitoring_assets.core.alerts.segments`), so each segment
is its own alert episode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from monitoring_assets.core.checks import CheckOutcome

SEGMENTS_NOT_DRIFTED = "segments_not_drifted"
SEGMENT_MIX_STABLE = "segment_mix_stable"
SEGMENT_ACCURACY_DROP = "segment_accuracy_drop_within_limit"
#: Check metadata keys the alert sensor reads.
SEGMENT_VERDICTS = "segment_verdicts"
SEGMENT_DETAILS = "segment_details"


def _num(v: object) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def _details(r: dict) -> dict:
    return {
        "rows": int(r["rows"]),
        "window_rows": int(r["window_rows"] or 0),
        "window": r["window"],
        "traffic_share": _num(r["share"]),
        "reference_traffic_share": _num(r["reference_share"]),
        "mix_z": _num(r["mix_z"]),
        "drift_share": _num(r["drift_share"]),
        "drifted_features": r["drifted_features"] or "",
        "prediction_drift_score": _num(r["prediction_score"]),
        "prediction_drift_threshold": _num(r["prediction_threshold"]),
        "missing_share": _num(r["missing_share"]),
        "judged": bool(r["judged"]),
        "reason": r["reason"] or "",
    }


def segment_outcomes(rows: Sequence[dict]) -> list[CheckOutcome]:
    """``segments_not_drifted`` and ``segment_mix_stable`` for one day's rows."""
    details = {r["segment"]: _details(r) for r in rows}
    drift = {r["segment"]: not bool(r["drifted"]) for r in rows}
    mix = {r["segment"]: not bool(r["mix_shift"]) for r in rows}
    judged = sum(bool(r["judged"]) for r in rows)
    bad = [s for s, ok in drift.items() if not ok]
    shifted = [s for s, ok in mix.items() if not ok]

    def say(seg: str) -> str:
        d = details[seg]
        what = []
        if d["drifted_features"]:
            what.append(f"features {d['drifted_features']}")
        if d["prediction_drift_score"] is not None and d["prediction_drift_threshold"] is not None:
            if d["prediction_drift_score"] >= d["prediction_drift_threshold"]:
                what.append(
                    f"prediction drift {d['prediction_drift_score']:.3g} >= "
                    f"{d['prediction_drift_threshold']:.3g}"
                )
        return f"{seg} drifted ({'; '.join(what) or 'drift share'}, {d['window']})"

    def mix_say(seg: str) -> str:
        d = details[seg]
        return (
            f"{seg} traffic share {d['reference_traffic_share']:.1%} → {d['traffic_share']:.1%} "
            f"(z = {d['mix_z']:.1f})"
        )

    common = {SEGMENT_DETAILS: details, "segments": len(rows), "judged_segments": judged}
    return [
        CheckOutcome(
            SEGMENTS_NOT_DRIFTED,
            not bad,
            "WARN",
            "; ".join(say(s) for s in bad)
            or f"no segment drifted ({judged} of {len(rows)} judged)",
            {**common, SEGMENT_VERDICTS: drift, "drifted_segments": len(bad)},
        ),
        CheckOutcome(
            SEGMENT_MIX_STABLE,
            not shifted,
            "WARN",
            "; ".join(mix_say(s) for s in shifted) or "no segment's share of traffic shifted",
            {**common, SEGMENT_VERDICTS: mix, "shifted_segments": len(shifted)},
        ),
    ]


def accuracy_outcome(rows: Sequence[dict]) -> CheckOutcome:
    """``segment_accuracy_drop_within_limit`` for one labelled day's rows."""
    details = {
        r["segment"]: {
            "rows": int(r["rows"]),
            "accuracy": _num(r["accuracy"]),
            "reference_accuracy": _num(r["reference_accuracy"]),
            "accuracy_drop_z": _num(r["z"]),
        }
        for r in rows
    }
    verdicts = {r["segment"]: not bool(r["dropped"]) for r in rows}
    bad = [s for s, ok in verdicts.items() if not ok]
    text = "; ".join(
        f"{s} accuracy {details[s]['reference_accuracy']:.3f} → {details[s]['accuracy']:.3f} "
        f"({details[s]['rows']} labelled rows, z = {details[s]['accuracy_drop_z']:.1f})"
        for s in bad
    )
    return CheckOutcome(
        SEGMENT_ACCURACY_DROP,
        not bad,
        "WARN",
        text or f"no segment's accuracy dropped ({len(rows)} segments)",
        {SEGMENT_DETAILS: details, SEGMENT_VERDICTS: verdicts, "dropped_segments": len(bad)},
    )

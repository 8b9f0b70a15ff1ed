"""Feature causes: drift severity across methods, reliance weighting, ranking (no I/O)."""

import math

import pytest

from monitoring_assets.core.root_cause.causes import (
    ALL_NULL_SEVERITY,
    Cause,
    cause_lines,
    feature_causes,
    rank_causes,
    severity,
)


def row(name, method, score, threshold, computable=True, reason=""):
    return {
        "column_name": name,
        "method": method,
        "score": score,
        "threshold": threshold,
        "drifted": False,
        "computable": computable,
        "reason": reason,
    }


@pytest.mark.parametrize(
    ("method", "score", "threshold", "expected"),
    [
        ("wasserstein", 0.3, 0.1, 3.0),
        ("psi", 0.05, 0.1, 0.5),
        ("jensenshannon", 0.1, 0.1, 1.0),
        ("ks", 0.05, 0.05, 1.0),
        ("ks", 1e-4, 0.05, 4 / 1.3010299956639813),
        ("chisquare", 0.0, 0.05, 300 / 1.3010299956639813),  # p floored at 1e-300
        ("z", 0.5, 0.05, 0.30103 / 1.30103),
    ],
)
def test_severity_is_drift_in_units_of_the_threshold(method, score, threshold, expected):
    assert severity(method, score, threshold) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("method", "score", "threshold"),
    [(None, 0.3, 0.1), ("wasserstein", math.nan, 0.1), ("psi", 0.2, 0.0), ("ks", 0.1, None)],
)
def test_severity_without_a_finite_score_or_threshold_is_none(method, score, threshold):
    assert severity(method, score, threshold) is None


def test_reliance_reorders_features_with_similar_drift():
    rows = [row("a", "wasserstein", 0.3, 0.1), row("b", "wasserstein", 0.2, 0.1)]
    alone = feature_causes(rows)
    assert [c.name for c in alone] == ["a", "b"]
    assert [c.score for c in alone] == pytest.approx([0.6, 0.4])  # 3 : 2
    assert "ranked by drift alone" in alone[0].text

    # weights: a = 0.5/2 + 0 = 0.25, b = 0.25 + 0.5 = 0.75 -> raw 0.75 : 1.5
    weighted = feature_causes(rows, importance={"a": 0.0, "b": 0.2})
    assert [c.name for c in weighted] == ["b", "a"]
    assert [c.score for c in weighted] == pytest.approx([2 / 3, 1 / 3])
    top = weighted[0]
    assert top.kind == "feature"
    assert top.numbers["severity"] == pytest.approx(2.0)
    assert top.numbers["importance"] == pytest.approx(0.2)
    assert top.numbers["weight"] == pytest.approx(0.75)
    assert "2.0× its threshold 0.1" in top.text and "model reliance 75%" in top.text


def test_a_feature_all_null_ranks_first_though_its_drift_is_not_computable():
    rows = [
        row("a", "wasserstein", 0.3, 0.1),
        row("c", None, math.nan, None, computable=False, reason="no values"),
    ]
    causes = feature_causes(rows, null_share={"a": 0.0, "c": 1.0})
    assert causes[0].name == "c"
    assert causes[0].numbers["severity"] == ALL_NULL_SEVERITY
    assert causes[0].numbers["drift_score"] is None
    assert "all values null" in causes[0].text
    assert causes[0].score == pytest.approx(10 / 13)


def test_contribution_shift_is_carried_with_its_method():
    causes = feature_causes(
        [row("a", "ks", 1e-6, 0.05)], contributions={"a": -0.25}, contribution_method="linear"
    )
    assert causes[0].numbers["contribution_shift"] == -0.25
    assert "contribution shift -0.25 (linear)" in causes[0].text


def test_no_drift_rows_no_causes_and_zero_drift_shares_nothing():
    assert feature_causes([]) == []
    causes = feature_causes([row("a", "psi", 0.0, 0.1), row("b", "psi", 0.0, 0.1)])
    assert [c.score for c in causes] == [0.0, 0.0]


def test_segment_causes_rank_next_to_feature_causes_and_round_trip():
    seg = Cause(
        "segment", "country=FR", 0.8, {"share_of_drop": 0.8}, "country=FR: 80 % of the drop"
    )
    feat = feature_causes([row("a", "wasserstein", 0.3, 0.1), row("b", "psi", 0.1, 0.1)])
    assert feat[0].score == pytest.approx(0.75)  # below the segment's 0.8
    ranked = rank_causes([*feat, seg])
    assert ranked[0] == seg and ranked[1].name == "a"
    assert Cause.from_dict(seg.to_dict()) == seg
    assert cause_lines(ranked, limit=2) == [
        "1. country=FR: 80 % of the drop",
        f"2. {ranked[1].text}",
    ]
    with pytest.raises(ValueError, match="cause kind must be 'feature' or 'segment', got 'row'"):
        Cause.from_dict({"kind": "row", "name": "x", "score": 1})

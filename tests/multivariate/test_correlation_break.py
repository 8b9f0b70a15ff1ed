"""The simulator's ``correlation_break`` event: marginals unchanged, correlation gone,
every other day and column unchanged; per-column drift cannot see it."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.config import DEFAULT_MODELS_FILE, ConfigError, load_project
from monitoring_assets.core.drift import column_drift
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.simulator import FEATURES, Simulator, event_columns
from tests.conftest import churn_yaml

EVENT_DAY = 2
BREAK = f"[{{kind: correlation_break, day: {EVENT_DAY}, feature: total_charges, share: 1.0}}]"


def _model(tmp_path, events: str, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(churn_yaml(name="churn", days=5, rows=400, events=events))
    return load_project(path).models[0]


def _digest(frame: pd.DataFrame) -> str:
    cols = ["request_id", "timestamp", *FEATURES, "latency_ms"]
    return hashlib.sha256(
        pd.util.hash_pandas_object(frame[cols], index=True).values.tobytes()
    ).hexdigest()[:16]


def test_demo_days_are_unchanged():
    """The packaged demo's days hash as they did before the event kind existed."""
    m = load_project(DEFAULT_MODELS_FILE).models[0]
    sim = Simulator(m)
    pinned = {0: "ef3be8e16439fb14", 45: "5e06a23e262fb069", 69: "9411b674ce71471c",
              85: "a2e5421937f811f1", 110: "b2851ae68c44f45e"}  # fmt: skip
    got = {d: _digest(sim.inference_day(m.first_date + dt.timedelta(days=d))) for d in pinned}
    assert got == pinned


def test_only_the_broken_feature_and_what_follows_it_change(tmp_path):
    plain = Simulator(_model(tmp_path, "[]", "plain"))
    broken = Simulator(_model(tmp_path, BREAK, "broken"))
    start = plain.scenario.start_date
    for d in range(5):
        date = start + dt.timedelta(days=d)
        a, b = plain.inference_day(date), broken.inference_day(date)
        if d < EVENT_DAY:
            pd.testing.assert_frame_equal(a, b)
            continue
        changed = {c for c in a.columns if not a[c].equals(b[c])}
        assert "total_charges" in changed
        assert changed <= set(event_columns(broken.scenario.events[0]))
        # the marginal is the same multiset of values ...
        np.testing.assert_array_equal(np.sort(a.total_charges), np.sort(b.total_charges))
        # ... but its link to tenure is gone
        assert a.tenure.corr(a.total_charges) > 0.6
        assert abs(b.tenure.corr(b.total_charges)) < 0.2
    assert broken.truth(start + dt.timedelta(days=EVENT_DAY)).events == (
        "+corr-break(total_charges)",
    )


def test_per_column_drift_scores_do_not_change(tmp_path):
    """Every per-column statistic is a function of the column's values alone: with the
    event they are exactly those of the same day without it."""
    plain = Simulator(_model(tmp_path, "[]", "plain"))
    broken = Simulator(_model(tmp_path, BREAK, "broken"))
    kinds = {f.name: f.type for f in plain.model_config.features}
    ref = profile_partitions(plain.reference(), kinds)[""]
    date = plain.scenario.start_date + dt.timedelta(days=EVENT_DAY + 1)
    a = profile_partitions(plain.inference_day(date), kinds)[""]
    b = profile_partitions(broken.inference_day(date), kinds)[""]
    for name in kinds:
        ra = column_drift(ref.columns[name], a.columns[name])
        rb = column_drift(ref.columns[name], b.columns[name])
        assert (ra.method, ra.score, ra.drifted) == (rb.method, rb.score, rb.drifted), name


def test_correlation_break_needs_a_feature(tmp_path):
    with pytest.raises(ConfigError, match="correlation_break.*needs 'feature'"):
        _model(tmp_path, "[{kind: correlation_break, day: 1}]", "bad")

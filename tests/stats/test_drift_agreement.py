"""driftwarden's drift results against Evidently 0.7.23 on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.drift import column_drift, dataset_drift, default_method, sturges_edges
from monitoring_assets.core.profile_build import profile_frame
from tests.stats.oracle import evidently_column, evidently_preset

NUM_METHODS = ["ks", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"]
CAT_METHODS = ["chisquare", "z", "jensenshannon", "psi", "kl_div", "hellinger"]


def _series(kind: str, n: int, shift: float, card: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        return pd.Series(rng.normal(10 + shift, 2, n), name="x")
    if kind == "integer":
        return pd.Series(rng.integers(0, card, n) + int(round(shift * 2)), name="x")
    return pd.Series(rng.choice([f"c{i}" for i in range(card)], n), name="x")


def _ours(ref: pd.Series, cur: pd.Series, kind: str, method=None, threshold=None):
    k = "categorical" if kind == "categorical" else "numerical"
    pr = profile_frame(ref.to_frame(), {"x": k})["x"]
    pc = profile_frame(cur.to_frame(), {"x": k})["x"]
    return column_drift(pr, pc, method, threshold)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(b), 1e-12) or (np.isnan(a) and np.isnan(b))


# Both sides of the 1000-row boundary and of the 2/5/20 cardinality boundaries.
DEFAULT_CASES = [
    (kind, nref, card, shift)
    for kind in ("continuous", "integer", "categorical")
    for nref in (999, 1000, 1001, 3000)
    for card in (2, 3, 5, 6, 20, 21)
    for shift in (0.0, 0.6)
    if not (kind == "continuous" and card != 21)
]


@pytest.mark.parametrize("kind,nref,card,shift", DEFAULT_CASES)
def test_default_selection_score_and_verdict_match_evidently(kind, nref, card, shift):
    ref = _series(kind, nref, 0.0, card, seed=nref + card)
    cur = _series(kind, 700, shift, card, seed=nref + card + 1)
    em, es, ed = evidently_column(ref, cur, "categorical" if kind == "categorical" else "numerical")
    r = _ours(ref, cur, kind)
    assert r.computable, r.reason
    assert (r.method, r.drifted) == (em, ed)
    assert _close(r.score, es), (r.score, es)
    assert r.exact and r.error_bound == 0.0


@pytest.mark.parametrize("method", NUM_METHODS)
@pytest.mark.parametrize("kind,card", [("continuous", 0), ("integer", 4), ("integer", 40)])
def test_numerical_overrides_match_evidently(method, kind, card):
    ref = _series(kind, 1500, 0.0, card, seed=3)
    cur = _series(kind, 900, 0.3, card, seed=4)
    em, es, ed = evidently_column(ref, cur, "numerical", method, 0.07)
    r = _ours(ref, cur, kind, method, 0.07)
    assert (r.method, r.threshold, r.drifted) == (em, 0.07, ed)
    assert _close(r.score, es), (r.score, es)


@pytest.mark.parametrize("method", CAT_METHODS)
@pytest.mark.parametrize("card", [2, 4, 30])
def test_categorical_overrides_match_evidently(method, card):
    ref = _series("categorical", 1200, 0.0, card, seed=5)
    cur = _series("categorical", 400, 0.0, card + 1, seed=6)  # one category unseen in ref
    em, es, ed = evidently_column(ref, cur, "categorical", method)
    r = _ours(ref, cur, "categorical", method)
    assert (r.method, r.drifted) == (em, ed)
    assert _close(r.score, es), (r.score, es)


def test_missing_and_infinite_values_are_dropped_like_evidently():
    rng = np.random.default_rng(8)
    ref = pd.Series(rng.normal(0, 1, 2000), name="x")
    cur = pd.Series(rng.normal(0.2, 1, 1500), name="x")
    cur.iloc[:100] = np.nan
    cur.iloc[100:110] = np.inf
    ref.iloc[:5] = -np.inf
    em, es, ed = evidently_column(ref, cur, "numerical")
    r = _ours(ref, cur, "continuous")
    assert (r.method, r.drifted) == (em, ed) == ("wasserstein", True)
    assert _close(r.score, es)
    assert r.current_rows == 1390 and r.reference_rows == 1995


def test_constant_reference_uses_evidently_norm_floor():
    ref = pd.Series(np.full(2000, 3.0), name="x")
    cur = pd.Series(np.r_[np.full(990, 3.0), np.arange(10.0)], name="x")
    em, es, ed = evidently_column(ref, cur, "numerical")
    r = _ours(ref, cur, "continuous")
    assert (r.method, r.drifted) == (em, ed)
    assert _close(r.score, es)


def test_rounded_wasserstein_stays_within_its_stated_bound():
    # 50k continuous values exceed EXACT_CAP, so both profiles round to 4 digits.
    rng = np.random.default_rng(9)
    ref = pd.Series(rng.normal(50, 10, 50_000), name="x")
    cur = pd.Series(rng.normal(51, 10, 40_000), name="x")
    em, es, ed = evidently_column(ref, cur, "numerical")
    r = _ours(ref, cur, "continuous")
    assert not r.exact and r.method == em == "wasserstein"
    assert 0 < r.error_bound < 1e-3
    assert abs(r.score - es) <= r.error_bound
    assert r.drifted == ed


@pytest.mark.parametrize("method", ["jensenshannon", "psi", "kl_div"])
def test_rounded_binned_methods_close_to_evidently(method):
    rng = np.random.default_rng(10)
    ref = pd.Series(rng.normal(0, 1, 30_000), name="x")
    cur = pd.Series(rng.normal(0.5, 1, 30_000), name="x")
    em, es, ed = evidently_column(ref, cur, "numerical", method)
    r = _ours(ref, cur, "continuous", method)
    assert not r.exact
    # Only values within 5e-4 relative of a bin edge can change bins.
    assert abs(r.score - es) <= 1e-3 * es
    assert r.drifted == ed


@pytest.mark.parametrize(
    "data",
    [
        np.arange(50),
        np.arange(3),
        np.array([7, 7, 7]),
        np.linspace(-3.3, 9.1, 1001),
        np.array([2.5]),
    ],
)
def test_sturges_edges_equal_numpy(data):
    expected = np.histogram_bin_edges(data, bins="sturges")
    got = sturges_edges(data.min(), data.max(), data.size, np.issubdtype(data.dtype, np.integer))
    np.testing.assert_array_equal(got, expected)


def test_default_method_uses_finite_reference_count_for_1000_boundary():
    ref = pd.Series(np.r_[np.arange(1000.0), [np.nan] * 50], name="x")  # 1000 finite values
    cur = pd.Series(np.arange(500.0), name="x")
    pr = profile_frame(ref.to_frame(), {"x": "numerical"})["x"]
    pc = profile_frame(cur.to_frame(), {"x": "numerical"})["x"]
    assert default_method(pr, pc) == "ks" == evidently_column(ref, cur, "numerical")[0]


def test_dataset_drift_matches_data_drift_preset():
    rng = np.random.default_rng(11)
    n = 3000
    ref = pd.DataFrame(
        {
            "a": rng.normal(0, 1, n),
            "b": rng.integers(0, 4, n),
            "c": rng.choice(["x", "y", "z"], n),
            "d": rng.exponential(2, n),
        }
    )
    cur = pd.DataFrame(
        {
            "a": rng.normal(0.5, 1, 2000),
            "b": rng.integers(0, 4, 2000),
            "c": rng.choice(["x", "y", "z"], 2000, p=[0.6, 0.2, 0.2]),
            "d": rng.exponential(2, 2000),
        }
    )
    kinds = {"a": "numerical", "b": "numerical", "c": "categorical", "d": "numerical"}
    ev = evidently_preset(ref, cur, ["a", "b", "d"], ["c"])
    ours = dataset_drift(profile_frame(ref, kinds), profile_frame(cur, kinds))
    assert ours.n_drifted == ev["count"] == 2
    assert ours.share_drifted == ev["share"]
    for col, (method, score) in ev["columns"].items():
        assert ours.columns[col].method == method
        assert _close(ours.columns[col].score, score)

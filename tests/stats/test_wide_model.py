"""A model of 1,000 features end to end through the assets, in one in-process run:
reference_data -> inference_logs -> feature_profiles -> data_drift -> data_quality.

DuckDB allows at most 64 sets in one GROUPING SETS and dies (floating-point exception)
on a statement of a few thousand aggregates; profiles are built in column batches, so
any width works. The data is small (few rows) so the test stays fast; the shifted and
broken columns are chosen so the expected outcome is known without the code under test.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.day_profiles import load_day_profiles
from tests.conftest import write
from tests.drift.helpers import Scenario

N_NUM, N_INT, N_CAT = 600, 150, 250  # 1,000 features
DAYS = ["2026-01-01", "2026-01-02"]
SHIFTED = [f"x{i}" for i in range(0, N_NUM, 50)]  # 12 numerical features move by 3 sd
EMPTY = "x7"  # all NULL on the second day: a quality error, drift not computable
CAT_SHIFTED = "c3"


def _features() -> list[str]:
    return (
        [f"x{i}" for i in range(N_NUM)]
        + [f"k{i}" for i in range(N_INT)]
        + [f"c{i}" for i in range(N_CAT)]
    )


def _frame(n: int, seed: int, day: str | None, shift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i in range(N_NUM):
        cols[f"x{i}"] = rng.normal(size=n)
    for i in range(N_INT):
        cols[f"k{i}"] = rng.integers(0, 6, n)
    cats = np.array(["a", "b", "c", "d"])
    for i in range(N_CAT):
        cols[f"c{i}"] = cats[rng.integers(0, 4, n)]
    df = pd.DataFrame(cols)
    if shift:
        for c in SHIFTED:
            df[c] = df[c] + 3.0
        df[EMPTY] = np.nan
        df[CAT_SHIFTED] = "z"
    df["prediction"] = rng.integers(0, 2, n)
    df["score"] = rng.random(n)
    df["target"] = rng.integers(0, 2, n)
    ts = pd.Timestamp(day or "2025-12-01")
    df.insert(0, "request_id", [f"{ts.date()}-{j}" for j in range(n)])
    df.insert(1, "timestamp", [ts + pd.Timedelta(seconds=j) for j in range(n)])
    return df if day is None else df.drop(columns="target")


MODEL = """
models:
  - name: wide
    features:
{features}
    columns: {{target: target, latency: null, probability: score}}
    start_date: 2026-01-01
    end_date: 2026-01-03
    source:
      kind: files
      reference: {root}/reference.parquet
      inference: "{root}/logs/{{date}}.parquet"
"""


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    data = root / "data"
    (data / "logs").mkdir(parents=True)
    _frame(300, 1, None, False).to_parquet(data / "reference.parquet")
    _frame(200, 2, DAYS[0], False).to_parquet(data / "logs" / f"{DAYS[0]}.parquet")
    _frame(200, 3, DAYS[1], True).to_parquet(data / "logs" / f"{DAYS[1]}.parquet")
    kinds = {f: ("categorical" if f.startswith("c") else "numerical") for f in _features()}
    lines = "\n".join(f"      - {{name: {f}, type: {k}}}" for f, k in kinds.items())
    text = MODEL.format(features=lines, root=data)
    scenario = Scenario(root, text)
    write(scenario.models, text)
    with scenario.activated() as instance:
        result = scenario.run(
            instance,
            DAYS,
            assets=(
                "reference_data",
                "inference_logs",
                "feature_profiles",
                "data_drift",
                "data_quality",
            ),
        )
    return scenario, result


def test_the_run_succeeds_with_1000_features(wide):
    scenario, result = wide
    assert len(scenario.model.features) == 1000
    assert result.success


def test_every_feature_has_a_stored_profile_and_a_drift_row_per_day(wide):
    scenario, _ = wide
    stored = scenario.warehouse.query(
        "SELECT partition_date, count(DISTINCT column_name) AS n FROM feature_profiles "
        "WHERE model = 'wide' GROUP BY ALL ORDER BY 1"
    )
    # 1,000 features + prediction + probability + the dataset row
    assert list(stored.n) == [1003, 1003]
    drift = scenario.drift()
    assert drift.groupby("partition_date").size().to_dict() == {d: 1000 for d in DAYS}


def test_profiles_match_the_files(wide):
    scenario, _ = wide
    day = dt.date.fromisoformat(DAYS[1])
    prof = load_day_profiles(scenario.warehouse, scenario.model, [day])[day]
    raw = _frame(200, 3, DAYS[1], True)
    for name in ("x0", "x599", "k149", "c249", CAT_SHIFTED):
        col = prof[name]
        s = raw[name]
        assert col.rows == 200 and col.missing == int(s.isna().sum())
        vals, cnts = np.unique(s.dropna().to_numpy(), return_counts=True)
        assert list(col.values) == list(vals) and list(col.counts) == list(cnts)
        if col.kind == "numerical":
            assert col.min == s.min() and col.max == s.max()
            assert col.mean == pytest.approx(s.mean(), rel=1e-12, abs=1e-15)
    assert prof[EMPTY].count == 0 and prof[EMPTY].missing == 200


def test_shifted_features_drift_and_the_others_mostly_do_not(wide):
    scenario, _ = wide
    drift = scenario.drift()
    day2 = drift[drift.partition_date == DAYS[1]].set_index("column_name")
    day1 = drift[drift.partition_date == DAYS[0]].set_index("column_name")
    assert day2.loc[SHIFTED, "drifted"].all()
    assert bool(day2.loc[CAT_SHIFTED, "drifted"])
    # same distribution: a 5% test flags about 5% of 1,000 features by chance
    assert day1["drifted"].fillna(False).astype(bool).sum() < 100


def test_the_empty_column_is_a_quality_error(wide):
    scenario, _ = wide
    q = scenario.quality()
    day2 = q[(q.partition_date == DAYS[1]) & (q.column_name == EMPTY)]
    assert "error" in set(day2.status), day2[["rule", "status"]]

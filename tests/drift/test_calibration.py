"""Calibrated drift thresholds on data of a family the defaults were not tuned for:
chunking (by day / by rows), the sigma and quantile rules against an independent
scipy oracle, the stated fallbacks, the false-alarm rate at small daily volumes, the
detection of a real shift, and reuse of stored thresholds from a real warehouse."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from monitoring_assets.core.calibration import (
    ReferenceCalibration,
    Uncalibrated,
    calibrate_chunks,
    reference_chunks,
    size_bucket,
)
from monitoring_assets.core.config import Calibration, ModelConfig
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.drift import DEFAULT_THRESHOLDS
from monitoring_assets.core.monitor import (
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    DriftMonitor,
)
from monitoring_assets.core.profile_build import profile_frame, profile_partitions
from monitoring_assets.core.tables import DRIFT_THRESHOLDS_TABLE
from resources.warehouse import Warehouse

START = pd.Timestamp("2026-01-01")


def _model(**extra) -> ModelConfig:
    extra.setdefault("thresholds", {"calibration": {"max_chunks": 100}})
    return ModelConfig(
        name="claims",
        features=[
            {"name": "amount", "type": "numerical"},  # gamma: skewed, positive
            {"name": "delay", "type": "numerical"},  # lognormal: heavy right tail
            {"name": "region", "type": "categorical"},  # Zipf-like over 12 levels
        ],
        columns={
            "id": "rid",
            "timestamp": "ts",
            "prediction": "pred",
            "probability": "score",
            "target": "label",
            "latency": None,
        },
        **extra,
    )


def _draw(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """Rows of the claims world; ``shift`` moves ``amount``'s mean by that many of its
    standard deviations (gamma(1.5, 2): sd = sqrt(1.5) * 2)."""
    weights = 1.0 / np.arange(1, 13) ** 1.1
    score = rng.beta(2, 5, n)
    return pd.DataFrame(
        {
            "amount": rng.gamma(1.5, 2.0, n) + shift * math.sqrt(1.5) * 2.0,
            "delay": rng.lognormal(0.0, 0.8, n),
            "region": rng.choice([f"r{i:02d}" for i in range(12)], n, p=weights / weights.sum()),
            "score": score,
            "pred": (score > 0.5).astype("int64"),
        }
    )


def _reference(rows_per_day: int, days: int, seed: int = 11, timestamps: bool = True):
    rng = np.random.default_rng(seed)
    frame = _draw(rng, rows_per_day * days)
    if timestamps:
        frame["ts"] = START + pd.to_timedelta(
            np.repeat(np.arange(days), rows_per_day) * 86400
            + rng.uniform(0, 86399, rows_per_day * days),
            unit="s",
        )
    return frame


def _kinds(model: ModelConfig) -> dict:
    return profiled_columns(model)


def _profile(model: ModelConfig, frame: pd.DataFrame):
    kinds = _kinds(model)
    return profile_frame(frame[[c for c in kinds if c in frame]], kinds)


def _days(model: ModelConfig, rng: np.random.Generator, rows: int, n: int) -> list:
    """Profiles of ``n`` stationary days of ``rows`` rows (one grouped profiling pass)."""
    frame = _draw(rng, rows * n).assign(_day=np.repeat(np.arange(n), rows))
    parts = profile_partitions(frame, _kinds(model), partition_column="_day")
    return [parts[str(i)] for i in range(n)]


def _write(tmp_path, frame: pd.DataFrame, name: str = "reference.parquet") -> str:
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return str(path)


class _Calibrated:
    """A monitor fitted on a reference file, calibrated through a real warehouse."""

    def __init__(self, tmp_path, model: ModelConfig, frame: pd.DataFrame, digest: str = "d1"):
        self.wh = Warehouse(tmp_path / "wh.duckdb")
        self.location = _write(tmp_path, frame)
        self.reference = _profile(model, frame)
        self.calibration = ReferenceCalibration(
            self.wh, model, self.reference, self.location, digest
        )
        self.monitor = DriftMonitor(model, calibration=self.calibration).fit(self.reference)
        self.fixed = DriftMonitor(model).fit(self.reference)


# --------------------------------------------------------------------------- buckets


@pytest.mark.parametrize(
    "rows, bucket",
    [
        (0, 0),
        (1, 1),
        (29, 25),
        (80, 80),
        (149, 125),
        (150, 150),
        (165, 150),
        (2000, 2000),
        (2999, 2500),
        (12_345, 10_000),
    ],
)
def test_size_bucket_rounds_down_to_a_geometric_step(rows, bucket):
    assert size_bucket(rows) == bucket


# --------------------------------------------------------------------------- chunking


def test_a_reference_spanning_30_days_is_cut_into_window_sized_chunks_within_days(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=400, days=30)
    chunks, by = reference_chunks(_write(tmp_path, frame), _kinds(model), 150, Calibration(), "ts")
    assert by == "day"
    assert len(chunks) == 30 * (400 // 150)  # two disjoint 150-row chunks per 400-row day
    assert {p.rows for p in chunks.values()} == {150}


def test_without_timestamps_chunks_are_contiguous_rows_in_file_order(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=400, days=30, timestamps=False)
    chunks, by = reference_chunks(_write(tmp_path, frame), _kinds(model), 80, Calibration(), "ts")
    assert by == "rows"
    # 12000 rows / 80 = 150 chunks, all kept (max_chunks 200)
    assert len(chunks) == 150
    first = chunks["0"].columns["amount"]
    assert first.count == 80
    assert first.mean == pytest.approx(frame["amount"].iloc[:80].mean())
    last = chunks["149"].columns["amount"]
    assert last.mean == pytest.approx(frame["amount"].iloc[149 * 80 : 150 * 80].mean())


def test_days_smaller_than_the_window_fall_back_to_row_chunks(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=100, days=30)  # 100-row days, 150-row windows
    chunks, by = reference_chunks(_write(tmp_path, frame), _kinds(model), 150, Calibration(), "ts")
    assert by == "rows" and len(chunks) == 3000 // 150


def test_at_most_max_chunks_are_used(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=400, days=30, timestamps=False)
    settings = Calibration(max_chunks=40)
    chunks, _ = reference_chunks(_write(tmp_path, frame), _kinds(model), 80, settings, None)
    assert len(chunks) == 40


# --------------------------------------------------------------------------- rules


def _oracle_scores(frame: pd.DataFrame, column: str, window: int) -> np.ndarray:
    """Normed Wasserstein of each contiguous chunk against the whole column, by scipy."""
    ref = frame[column].to_numpy()
    norm = max(ref.std(), 0.001)
    n = len(ref) // window
    return np.array(
        [sps.wasserstein_distance(ref[i * window : (i + 1) * window], ref) / norm for i in range(n)]
    )


@pytest.mark.parametrize("rule", ["sigma", "quantile"])
def test_thresholds_follow_the_rule_on_an_independent_oracle(tmp_path, rule):
    model = _model()
    frame = _reference(rows_per_day=400, days=30, timestamps=False)  # 12000 rows: wasserstein
    settings = Calibration(rule=rule, k=3, k_error=6, quantile=0.95, quantile_error=0.99)
    chunks, by = reference_chunks(_write(tmp_path, frame), _kinds(model), 150, settings, None)
    t = calibrate_chunks(_profile(model, frame), chunks, settings, 150, by)
    got = t.column("amount")
    scores = _oracle_scores(frame, "amount", 150)
    assert got.method == "wasserstein" and got.mode == "calibrated" and got.chunks == len(scores)
    if rule == "sigma":
        # distances are calibrated on their logarithm (positive, right-skewed)
        logs = np.log(scores)
        warn = np.exp(logs.mean() + 3 * logs.std(ddof=1))
        error = np.exp(logs.mean() + 6 * logs.std(ddof=1))
        assert got.source == (
            f"exp(mean+3σ of log score) of {len(scores)} reference chunks of 150 rows"
        )
    else:
        warn, error = np.quantile(scores, 0.95), np.quantile(scores, 0.99)
        assert got.source.startswith("quantile 0.95 of 80 reference chunks")
    assert got.warn == pytest.approx(warn, rel=1e-6)
    assert got.error == pytest.approx(error, rel=1e-6)
    # the statistic's own noise at 150 rows sits well above Evidently's fixed 0.1
    assert got.warn > DEFAULT_THRESHOLDS["wasserstein"]


def test_p_value_methods_are_calibrated_on_minus_log10_p(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=900, days=1, timestamps=False)  # <= 1000 rows: ks
    settings = Calibration(min_chunks=5)
    chunks, by = reference_chunks(_write(tmp_path, frame), _kinds(model), 150, settings, None)
    t = calibrate_chunks(_profile(model, frame), chunks, settings, 150, by)
    got = t.column("amount")
    assert got.method == "ks" and got.mode == "calibrated"
    ref = frame["amount"].to_numpy()
    logs = np.array(
        [-np.log10(sps.ks_2samp(ref[i * 150 : (i + 1) * 150], ref).pvalue) for i in range(6)]
    )
    assert got.warn == pytest.approx(10 ** -(logs.mean() + 3 * logs.std(ddof=1)), rel=1e-6)
    # warn and error are p-values; the error level is the more extreme one
    assert 0 < got.error < got.warn < 1


def test_too_few_chunks_is_fixed_and_says_why(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=900, days=1, timestamps=False)
    env = _Calibrated(tmp_path, model, frame)
    day = _profile(model, _draw(np.random.default_rng(3), 150))
    result = env.monitor.calculate(day)
    why = "fixed: reference too small to calibrate (reference yields 6 chunks of 150 rows, < 10)"
    for r in result.features.values():
        assert r.threshold_mode == "fixed" and r.threshold_source == why
        assert r.threshold == DEFAULT_THRESHOLDS[r.method]
    # the same numbers as with no calibration at all
    fixed = env.fixed.calculate(day)
    assert [r.drifted for r in result.features.values()] == [
        r.drifted for r in fixed.features.values()
    ]


def test_a_constant_reference_column_keeps_the_fixed_threshold(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=400, days=30)
    frame["amount"] = 42.0
    env = _Calibrated(tmp_path, model, frame)
    t = env.calibration.for_rows(150)
    assert t.column("amount").mode == "fixed"
    assert t.column("amount").source == "fixed: constant on the reference"
    day = _draw(np.random.default_rng(5), 150).assign(amount=42.0)
    r = env.monitor.calculate(_profile(model, day)).features["amount"]
    assert r.threshold_mode == "fixed" and r.threshold_source == "fixed: constant on the reference"
    assert r.threshold == DEFAULT_THRESHOLDS[r.method] and not r.drifted
    # the other columns are still calibrated
    assert t.column("delay").mode == "calibrated"


# --------------------------------------------------------------------------- behaviour


def _feature_day_rate(monitor: DriftMonitor, days) -> tuple[float, float]:
    results = [monitor.calculate(d) for d in days]
    flags = [r.drifted for res in results for r in res.features.values() if r.computable]
    pred = [not res.outcome(PREDICTION_DRIFT_BELOW_THRESHOLD).passed for res in results]
    return float(np.mean(flags)), float(np.mean(pred))


@pytest.mark.parametrize("rows", [80, 150])
def test_calibrated_thresholds_cut_false_alarms_on_stationary_days(tmp_path, rows):
    """Stationary days (drawn like the reference): every flag is a false alarm. Pooled
    over two references (a threshold estimated from chunks varies with the reference)."""
    model = _model()
    rates = []
    for seed in (11, 12):
        frame = _reference(rows_per_day=400, days=30, seed=seed, timestamps=False)
        env = _Calibrated(tmp_path / str(seed), model, frame)
        days = _days(model, np.random.default_rng(100 + seed), rows, 80)
        # the fixed rate is far from the bar: 30 days measure it well enough
        rates.append(
            (*_feature_day_rate(env.fixed, days[:30]), *_feature_day_rate(env.monitor, days))
        )
        r = env.monitor.calculate(days[0]).features["amount"]
        assert r.threshold_mode == "calibrated"
        chunks = min(12_000 // rows, 100)
        assert (
            r.threshold_source
            == f"exp(mean+3σ of log score) of {chunks} reference chunks of {rows} rows"
        )
    fixed_rate, fixed_pred, cal_rate, cal_pred = np.mean(rates, axis=0)
    print(
        f"\n{rows} rows/day, 3 features, stationary days (fixed: 2 x 30, calibrated: 2 x 80): "
        "feature-days flagged "
        f"fixed {fixed_rate:.1%} calibrated {cal_rate:.1%}; prediction check failed "
        f"fixed {fixed_pred:.1%} calibrated {cal_pred:.1%}"
    )
    assert fixed_rate > 0.3  # the fixed thresholds' noise floor at this volume
    assert cal_rate < 0.02
    assert cal_pred < 0.05 and fixed_pred > 0.3


def test_a_half_sigma_mean_shift_at_2000_rows_is_flagged(tmp_path):
    model = _model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=2000, days=30, timestamps=False))
    rng = np.random.default_rng(77)
    shifted = env.monitor.calculate(_profile(model, _draw(rng, 2000, shift=0.5)))
    amount = shifted.features["amount"]
    assert amount.threshold_mode == "calibrated"
    assert (
        amount.threshold_source == "exp(mean+3σ of log score) of 30 reference chunks of 2000 rows"
    )
    assert amount.drifted and amount.score > amount.threshold
    assert shifted.drifted == ["amount"]
    # and the same volume without a shift is quiet
    calm = env.monitor.calculate(_profile(model, _draw(rng, 2000)))
    assert calm.drifted == []


def test_thresholds_are_reused_from_the_warehouse_on_a_second_run(tmp_path):
    model = _model()
    frame = _reference(rows_per_day=400, days=30)
    first = _Calibrated(tmp_path, model, frame)
    t1 = first.calibration.for_rows(165)  # bucket 150
    assert first.calibration.computed == [150]
    stored = first.wh.query(f"SELECT * FROM {DRIFT_THRESHOLDS_TABLE.name}")
    assert len(stored) == len(_kinds(model)) and set(stored.window_rows) == {150}

    second = ReferenceCalibration(first.wh, model, first.reference, first.location, "d1")
    t2 = second.for_rows(170)
    assert second.computed == []  # read back, not recomputed
    assert t2 == t1
    # another window size is computed once and kept beside the first
    second.for_rows(2100)
    assert second.computed == [2000]
    # a changed reference file (new digest) or changed settings recompute
    third = ReferenceCalibration(first.wh, model, first.reference, first.location, "d2")
    third.for_rows(150)
    assert third.computed == [150]
    stricter = _model(thresholds={"calibration": {"k": 4, "k_error": 8, "max_chunks": 100}})
    fourth = ReferenceCalibration(first.wh, stricter, first.reference, first.location, "d1")
    assert fourth.for_rows(150).column("amount").warn > t1.column("amount").warn
    assert fourth.computed == [150]


def test_mode_fixed_keeps_evidentlys_thresholds_even_with_a_calibration(tmp_path):
    frame = _reference(rows_per_day=600, days=30)
    model = _model(thresholds="fixed")
    env = _Calibrated(tmp_path, model, frame)
    day = _profile(model, _draw(np.random.default_rng(1), 150))
    res = env.monitor.calculate(day)
    for r in [*res.features.values(), res.prediction]:
        assert r.threshold_mode == "fixed"
    assert res.features["amount"].threshold == DEFAULT_THRESHOLDS["wasserstein"]
    assert res.features["amount"].threshold_source == "Evidently default"
    # per-feature and per-check modes
    mixed = ModelConfig(
        **{
            **_model().model_dump(exclude={"features"}),
            "features": [
                {"name": "amount", "type": "numerical", "thresholds": "fixed"},
                {"name": "delay", "type": "numerical"},
                {"name": "region", "type": "categorical"},
            ],
            "thresholds": {"checks": {PREDICTION_DRIFT_BELOW_THRESHOLD: "fixed"}},
        }
    )
    mon = DriftMonitor(mixed, calibration=env.calibration).fit(env.reference)
    res = mon.calculate(day)
    assert res.features["amount"].threshold_mode == "fixed"
    assert res.features["delay"].threshold_mode == "calibrated"
    assert res.prediction.threshold_mode == "fixed"
    assert mixed.thresholds.mode_for(DRIFT_SHARE_BELOW_THRESHOLD) == "auto"


def test_calibrated_prediction_drift_is_warn_then_error(tmp_path):
    model = _model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=600, days=30))
    rng = np.random.default_rng(9)
    t = env.calibration.for_rows(600).column("score")
    assert t.mode == "calibrated" and t.error > t.warn

    def outcome(frame):
        return env.monitor.calculate(_profile(model, frame)).outcome(
            PREDICTION_DRIFT_BELOW_THRESHOLD
        )

    calm = outcome(_draw(rng, 600))
    assert calm.passed and calm.metadata["threshold_mode"] == "calibrated"
    assert (
        calm.metadata["threshold_source"]
        == "exp(mean+3σ of log score) of 30 reference chunks of 600 rows (within days)"
    )
    # find shifts whose score lands between warn and error, and beyond error
    base = _draw(rng, 600)
    seen = set()
    for s in np.linspace(0.0, 0.1, 21):
        o = outcome(base.assign(score=np.clip(base.score + s, 0, 1)))
        seen.add((o.passed, o.severity))
    assert (False, "WARN") in seen and (False, "ERROR") in seen


def test_the_stream_consumer_shape_still_works_without_calibration(tmp_path):
    """DriftMonitor(model).fit(reference).calculate(profile): fixed, Evidently's numbers."""
    model = _model()
    frame = _reference(rows_per_day=600, days=30)
    ref = _profile(model, frame)
    day = _profile(model, _draw(np.random.default_rng(4), 150))
    res = DriftMonitor(model, prediction="pred").fit(ref).calculate(day)
    for r in res.features.values():
        assert r.threshold_mode == "fixed" and r.threshold_source == "Evidently default"
        assert r.threshold == DEFAULT_THRESHOLDS[r.method]
    # a stated reason instead of a calibration
    why = DriftMonitor(model, calibration=Uncalibrated("rolling reference")).fit(ref)
    r = why.calculate(day).features["delay"]
    assert r.threshold_mode == "fixed" and r.threshold_source == "fixed: rolling reference"


def test_windows_of_one_day_and_of_many_share_the_bucket_cache(tmp_path):
    model = _model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=600, days=30))
    a = env.calibration.for_rows(160)
    b = env.calibration.for_rows(199)
    assert a is b and env.calibration.computed == [150]


def test_a_warehouse_from_before_the_threshold_columns_gains_them(tmp_path):
    """A DuckDB file whose drift_results predates threshold_mode/source/window still
    takes the new rows: the missing columns are added, old rows keep NULLs."""
    import duckdb

    from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE

    path = tmp_path / "old.duckdb"
    old = {
        c: t
        for c, t in DRIFT_RESULTS_TABLE.columns.items()
        if c not in ("threshold_error", "threshold_mode", "threshold_source", "window")
    }
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE drift_results (" + ", ".join(f'"{c}" {t}' for c, t in old.items()) + ")"
    )
    con.execute("INSERT INTO drift_results (model, column_name) VALUES ('claims', 'old')")
    con.close()
    wh = Warehouse(path)
    row = {c: None for c in DRIFT_RESULTS_TABLE.columns}
    row.update(
        model="claims",
        column_name="amount",
        threshold_mode="calibrated",
        threshold_source="exp(mean+3σ of log score) of 30 reference chunks of 150 rows",
        window="",
    )
    wh.replace(
        DRIFT_RESULTS_TABLE.name, pd.DataFrame([row]), {"model": "claims", "column_name": "amount"}
    )
    got = wh.query("SELECT column_name, threshold_mode FROM drift_results ORDER BY column_name")
    assert got.column_name.tolist() == ["amount", "old"]
    assert got.threshold_mode.tolist()[0] == "calibrated" and got.threshold_mode.isna().tolist()[1]

"""MultivariateMonitor over a real DuckDB warehouse and a local lake: fitted once per
model version, bad input (tiny reference, 1-row and empty days) with its reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring_assets.core.config import load_project
from monitoring_assets.core.multivariate import DOMAIN_CLASSIFIER, RECONSTRUCTION
from monitoring_assets.core.multivariate_days import (
    COMPUTED,
    INSUFFICIENT,
    NOT_COMPUTABLE,
    MultivariateMonitor,
    multivariate_outcome,
)
from monitoring_assets.core.ports import version_key
from monitoring_assets.core.references import REFERENCE_DATASET
from resources.lake import open_lake
from resources.warehouse import open_warehouse
from tests.conftest import churn_yaml


def _setup(tmp_path, reference: pd.DataFrame):
    path = tmp_path / "m.yaml"
    path.write_text(
        churn_yaml().rstrip()
        + "\n    multivariate: {methods: [reconstruction, domain_classifier]}\n"
    )
    model = load_project(path).models[0]
    lake = open_lake(tmp_path / "lake")
    lake.write(model.name, REFERENCE_DATASET, version_key(model.version), reference)
    wh = open_warehouse(tmp_path / "wh.duckdb")
    wh.migrate()
    return model, lake, wh


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(1.6, 15, n).round()
    monthly = rng.normal(65, 20, n).round(2)
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-02-01")
            + pd.to_timedelta(rng.integers(0, 86400 * 20, n), "s"),
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": (tenure * monthly).round(2),
            "num_services": rng.integers(1, 8, n).astype(float),
            "contract_type": rng.choice(["m", "o", "t"], n),
            "payment_method": rng.choice(["e", "c"], n),
            "internet_service": rng.choice(["d", "f", "n"], n),
        }
    )


def test_fitted_once_then_read_back(tmp_path):
    model, lake, wh = _setup(tmp_path, _rows(3000, 1))
    first = MultivariateMonitor(wh, lake, model)
    day = _rows(300, 2)
    r1 = first.judge(RECONSTRUCTION, day)
    assert r1.status == COMPUTED and r1.verdict == "OK"
    assert first.refitted == [RECONSTRUCTION, "thresholds 300"]
    fits = wh.query("SELECT method, window_rows FROM multivariate_fits ORDER BY window_rows")
    assert fits.values.tolist() == [[RECONSTRUCTION, 0], [RECONSTRUCTION, 300]]
    again = MultivariateMonitor(wh, lake, model)
    r2 = again.judge(RECONSTRUCTION, day)
    assert again.refitted == [] and r2 == r1  # read back: the same numbers, nothing refitted
    # a broken link between tenure and total charges fails the check
    broken = day.assign(total_charges=np.random.default_rng(3).permutation(day.total_charges))
    bad = again.judge(RECONSTRUCTION, broken)
    assert bad.verdict in ("WARN", "ERROR")
    out = multivariate_outcome(bad, "2026-03-01")
    assert not out.passed and out.check == "reconstruction_error_within_threshold"
    assert out.metadata["value"] > out.metadata["threshold"]
    dc = again.judge(DOMAIN_CLASSIFIER, broken)
    assert dc.status == COMPUTED and dc.verdict in ("WARN", "ERROR")


def test_reference_too_small_for_pca_is_not_computable(tmp_path):
    model, lake, wh = _setup(tmp_path, _rows(8, 4))  # 4 numerical + up to 8 one-hot columns
    mon = MultivariateMonitor(wh, lake, model)
    r = mon.judge(RECONSTRUCTION, _rows(100, 5))
    assert r.status == NOT_COMPUTABLE
    assert r.reason.startswith("reference too small for PCA: 8 rows for")
    out = multivariate_outcome(r, "2026-03-01")
    assert (
        not out.passed
        and out.severity == "WARN"
        and "not computable on 2026-03-01" in out.description
    )
    # the reason is stored: a second monitor reports it without refitting
    again = MultivariateMonitor(wh, lake, model)
    assert again.judge(DOMAIN_CLASSIFIER, _rows(100, 5)).reason == r.reason
    assert again.refitted == []


def test_one_row_empty_and_all_null_days(tmp_path):
    model, lake, wh = _setup(tmp_path, _rows(2000, 6))
    mon = MultivariateMonitor(wh, lake, model)
    one = mon.judge(RECONSTRUCTION, _rows(1, 7))
    assert one.status == INSUFFICIENT and one.value is not None
    assert "insufficient data (1 rows < 30" in one.reason
    assert multivariate_outcome(one, "d").passed
    assert mon.judge(DOMAIN_CLASSIFIER, _rows(1, 7)).status == INSUFFICIENT
    empty = mon.judge(RECONSTRUCTION, _rows(0, 8))
    assert empty.status == NOT_COMPUTABLE and empty.reason == "no rows on the day"
    nulls = _rows(300, 9).assign(monthly_charges=np.nan)
    r = mon.judge(RECONSTRUCTION, nulls)
    assert r.status == COMPUTED and r.details["missing_share_imputed"] == {"monthly_charges": 1.0}
    missing = mon.judge(RECONSTRUCTION, _rows(300, 9).drop(columns=["tenure"]))
    assert missing.status == NOT_COMPUTABLE and "['tenure']" in missing.reason


def test_all_null_reference_column_is_left_out_and_said(tmp_path):
    model, lake, wh = _setup(tmp_path, _rows(2000, 10).assign(num_services=np.nan))
    r = MultivariateMonitor(wh, lake, model).judge(RECONSTRUCTION, _rows(300, 11))
    assert r.status == COMPUTED
    assert r.details["excluded"] == {"num_services": "all values null on the reference"}

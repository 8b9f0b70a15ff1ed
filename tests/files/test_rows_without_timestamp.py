"""Rows whose timestamp is null belong to no day: a single-file or
``split_by_timestamp`` source leaves them out, counts them per file and says so."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from tests.files.conftest import failure_text
from tests.files.data import days, make_files

KEYS2 = [d.isoformat() for d in days(2)]


def _blank(path, n: int) -> None:
    frame = pd.read_csv(path)
    frame.loc[frame.index[:n], "timestamp"] = None
    frame.to_csv(path, index=False)


def _logs_metadata(instance, key: str) -> dict:
    mat = (
        instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["shop", "inference_logs"]), asset_partitions=[key]
            ),
            limit=1,
        )
        .records[0]
        .asset_materialization
    )
    return mat.metadata


def _warnings(instance, run_id: str) -> list[str]:
    return [
        e.user_message
        for e in instance.all_logs(run_id)
        if e.level >= 30 and "timestamp" in e.user_message
    ]


@pytest.mark.parametrize("layout", ["single", "split"])
def test_rows_with_a_null_timestamp_are_counted_and_named(shop, layout):
    if layout == "single":
        shop.model_file(make_files(shop.root, 2, 100, fmt="csv", layout="single"))
        bad = shop.root / "inference.csv"
    else:
        extra = "      split_by_timestamp: true\n"
        shop.model_file(make_files(shop.root, 2, 100, fmt="csv", extra=extra))
        bad = shop.root / "logs" / f"{KEYS2[1]}.csv"
    _blank(bad, 3)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS2, ["inference_logs"])
        assert result.success, failure_text(result)
        meta = {k: _logs_metadata(instance, k) for k in KEYS2}
        said = _warnings(instance, result.run_id)
    lake = shop.home.lake / "shop" / "inference_logs"
    stored = sum(len(pd.read_parquet(p)) for p in lake.glob("date=*/*.parquet"))
    assert stored == 197
    for k in KEYS2:
        assert meta[k]["rows_without_timestamp"].value == 3
    assert len(said) == 1, said
    assert str(bad) in said[0] and "3 row(s)" in said[0]


def test_a_source_with_every_timestamp_set_says_nothing(shop):
    shop.model_file(make_files(shop.root, 2, 100, fmt="csv", layout="single"))
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS2, ["inference_logs"])
        assert result.success, failure_text(result)
        meta = _logs_metadata(instance, KEYS2[0])
        said = _warnings(instance, result.run_id)
    assert meta["rows_without_timestamp"].value == 0
    assert said == []

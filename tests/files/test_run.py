"""A files-source model run in process on real files: label typing, the drift report,
day boundaries, nothing written by a failed run, errors naming the file."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd

from tests.files.conftest import failure_text
from tests.files.data import days, inference_frame, make_files

KEYS3 = [d.isoformat() for d in days(3)]


def _gt_files(shop):
    return sorted((shop.home.lake / "shop" / "ground_truth").glob("date=*/*.parquet"))


def _log(shop, asset):
    return shop.warehouse().query(
        "SELECT partition_date FROM partition_log WHERE model = 'shop' AND asset = ?", [asset]
    )


def test_labels_stored_as_floats_and_ints_are_the_same_classes(shop):
    # reference.csv holds bought as 0.0/1.0, the label files as 0/1, same distribution.
    shop.model_file(make_files(shop.root, 3, 200, fmt="csv"))
    with dg.instance_for_test() as instance:
        result = shop.run(
            instance, KEYS3, ["reference_data", "inference_logs", "ground_truth", "target_drift"]
        )
        assert result.success, failure_text(result)
    rows = shop.warehouse().query(
        "SELECT partition_date, drifted, computable FROM drift_results "
        "WHERE model = 'shop' AND role = 'target' ORDER BY partition_date"
    )
    assert len(rows) == 3
    assert rows.computable.all()
    assert not rows.drifted.any(), rows


def test_all_null_and_all_inf_columns_are_left_out_of_the_report(shop):
    shop.model_file(make_files(shop.root, 2, 200, fmt="parquet"))
    for d, change in zip(days(2), [{"price": np.nan}, {"visits": np.inf}], strict=True):
        inference_frame(d, 200).assign(**change).to_parquet(
            shop.root / "logs" / f"{d.isoformat()}.parquet", index=False
        )
    assets = ["reference_data", "inference_logs", "feature_profiles", "data_drift", "drift_report"]
    with dg.instance_for_test() as instance:
        excluded = {}
        for key in KEYS3[:2]:  # one-day runs always write the report
            result = shop.run(instance, [key], assets)
            assert result.success, failure_text(result)
            mat = (
                instance.fetch_materializations(
                    dg.AssetRecordsFilter(
                        asset_key=dg.AssetKey(["shop", "drift_report"]), asset_partitions=[key]
                    ),
                    limit=1,
                )
                .records[0]
                .asset_materialization
            )
            assert mat.metadata["report_written"].value is True
            excluded[key] = mat.metadata["excluded_columns"].value
    assert list(excluded[KEYS3[0]]) == ["price"]
    assert "all null" in excluded[KEYS3[0]]["price"]
    assert list(excluded[KEYS3[1]]) == ["visits"]
    assert "infinite" in excluded[KEYS3[1]]["visits"]
    html = (shop.home.reports / "shop" / f"data_drift_{KEYS3[0]}.html").read_text()
    assert "visits" in html


def test_a_date_file_with_rows_of_another_day_fails_naming_file_and_count(shop):
    shop.model_file(make_files(shop.root, 2, 100, fmt="csv"))
    day2 = shop.root / "logs" / f"{KEYS3[1]}.csv"
    late = inference_frame(days(1)[0], 7).assign(request_id=[f"late-{i}" for i in range(7)])
    pd.concat([pd.read_csv(day2), late]).to_csv(day2, index=False)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3[:2], ["inference_logs", "ground_truth"])
    assert not result.success
    text = failure_text(result)
    assert str(day2) in text and "7 of 107 row(s)" in text and "split_by_timestamp" in text
    assert not list((shop.home.lake / "shop").glob("*/date=*"))


def test_split_by_timestamp_assigns_rows_to_the_day_they_belong_to(shop):
    shop.model_file(
        make_files(shop.root, 2, 100, fmt="csv", extra="      split_by_timestamp: true\n")
    )
    day2 = shop.root / "logs" / f"{KEYS3[1]}.csv"
    late = inference_frame(days(1)[0], 7).assign(request_id=[f"late-{i}" for i in range(7)])
    pd.concat([pd.read_csv(day2), late]).to_csv(day2, index=False)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3[:2], ["inference_logs"])
        assert result.success, failure_text(result)
    lake = shop.home.lake / "shop" / "inference_logs"
    n = {k: len(pd.read_parquet(next((lake / f"date={k}").glob("*.parquet")))) for k in KEYS3[:2]}
    assert n == {KEYS3[0]: 107, KEYS3[1]: 100}


def test_a_bad_label_file_fails_the_run_with_no_ground_truth_written(shop):
    shop.model_file(make_files(shop.root, 3, 100, fmt="csv"))
    bad = shop.root / "labels" / f"{KEYS3[2]}.csv"
    pd.read_csv(bad).rename(columns={"bought": "label"}).to_csv(bad, index=False)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3, ["inference_logs", "ground_truth"])
    assert not result.success
    text = failure_text(result)
    assert "['bought']" in text and str(bad) in text and KEYS3[2] in text
    assert _gt_files(shop) == []
    assert len(_log(shop, "ground_truth")) == 0


def test_failed_inference_writes_no_labels_either(shop):
    shop.model_file(make_files(shop.root, 3, 100, fmt="csv"))
    bad = shop.root / "logs" / f"{KEYS3[1]}.csv"
    pd.read_csv(bad).drop(columns=["channel"]).to_csv(bad, index=False)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3, ["inference_logs", "ground_truth"])
    assert not result.success
    assert _gt_files(shop) == []
    assert len(_log(shop, "ground_truth")) == 0
    assert len(_log(shop, "inference_logs")) == 0


def test_a_wrong_typed_column_names_file_column_and_partition(shop):
    shop.model_file(make_files(shop.root, 2, 100, fmt="csv"))
    bad = shop.root / "logs" / f"{KEYS3[1]}.csv"
    frame = pd.read_csv(bad).astype({"price": object})
    frame.loc[3, "price"] = "n/a"
    frame.to_csv(bad, index=False)
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3[:2], ["inference_logs"])
    text = failure_text(result)
    assert "'price'" in text and KEYS3[1] in text and str(bad) in text, text


def test_a_missing_reference_names_the_file(shop):
    shop.model_file(make_files(shop.root, 1, 50, fmt="csv"))
    (shop.root / "reference.csv").unlink()
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3[:1], ["reference_data"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    # A failure the asset raised with its own message, not an unexpected exception.
    assert failure.step_failure_data.user_failure_data is not None
    assert str(shop.root / "reference.csv") in failure_text(result)


def test_ground_truth_of_single_file_labels_reads_the_stored_ids_not_the_source(shop):
    shop.model_file(make_files(shop.root, 3, 100, fmt="csv", layout="single"))
    with dg.instance_for_test() as instance:
        assert shop.run(instance, KEYS3, ["inference_logs"]).success
        # The inference source is gone: labels are matched by the stored day's ids.
        (shop.root / "inference.csv").unlink()
        result = shop.run(instance, KEYS3, ["ground_truth"])
        assert result.success, failure_text(result)
    stored = {f.parent.name: len(pd.read_parquet(f)) for f in _gt_files(shop)}
    assert stored == {f"date={k}": 100 for k in KEYS3}
    assert dt.date.fromisoformat(KEYS3[0]) == days(1)[0]


def test_an_unreadable_single_file_names_file_and_partition(shop):
    shop.model_file(make_files(shop.root, 2, 50, fmt="csv", layout="single"))
    (shop.root / "inference.csv").write_bytes(b"")
    with dg.instance_for_test() as instance:
        result = shop.run(instance, KEYS3[:2], ["inference_logs"])
    text = failure_text(result)
    assert f"inference_logs {KEYS3[0]}:" in text and str(shop.root / "inference.csv") in text
    assert "is empty" in text

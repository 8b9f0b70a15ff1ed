"""Evidently 0.7.23 as the reference implementation for the statistics tests."""

from __future__ import annotations

import warnings

import pandas as pd

DISPLAY_TO_METHOD = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
    "Kullback-Leibler divergence": "kl_div",
    "Hellinger distance": "hellinger",
}


def evidently_column(
    ref: pd.Series,
    cur: pd.Series,
    kind: str,
    method: str | None = None,
    threshold: float | None = None,
) -> tuple[str, float, bool]:
    """(method, score, drifted) exactly as Evidently's ValueDrift metric computes them."""
    from evidently.legacy.calculations.data_drift import get_one_column_drift
    from evidently.legacy.core import ColumnType
    from evidently.legacy.metric_results import DatasetColumns, DatasetUtilityColumns
    from evidently.legacy.options.data_drift import DataDriftOptions

    ctype = ColumnType.Numerical if kind == "numerical" else ColumnType.Categorical
    name = ref.name or "x"
    options = DataDriftOptions(all_features_stattest=method, all_features_threshold=threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = get_one_column_drift(
            current_data=cur.to_frame(name),
            reference_data=ref.to_frame(name),
            column_name=name,
            options=options,
            dataset_columns=DatasetColumns(
                utility_columns=DatasetUtilityColumns(
                    date=None, id=None, target=None, prediction=None
                ),
                target_type=None,
                task=None,
                num_feature_names=[name] if kind == "numerical" else [],
                cat_feature_names=[name] if kind == "categorical" else [],
                text_feature_names=[],
                datetime_feature_names=[],
                target_names=None,
            ),
            column_type=ctype,
            agg_data=True,
        )
    return DISPLAY_TO_METHOD[res.stattest_name], float(res.drift_score), bool(res.drift_detected)


def evidently_preset(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    numerical: list[str],
    categorical: list[str],
    drift_share: float = 0.5,
) -> dict:
    """Run DataDriftPreset; return {'count', 'share', 'columns': {name: (method, score)}}."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    dd = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset(drift_share=drift_share)]).run(
            Dataset.from_pandas(cur, data_definition=dd),
            Dataset.from_pandas(ref, data_definition=dd),
        )
    out: dict = {"columns": {}}
    for m in snap.dict()["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            out["count"], out["share"] = m["value"]["count"], m["value"]["share"]
        elif cfg["type"].endswith("ValueDrift"):
            out["columns"][cfg["column"]] = (DISPLAY_TO_METHOD[cfg["method"]], float(m["value"]))
    return out

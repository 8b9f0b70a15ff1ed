"""The real pipeline with column names that are SQL, shell and path payloads.

Column names may hold quotes, spaces, dots, backticks and parentheses (real tables do),
so they reach SQL only as quoted identifiers. Here every feature and every column role
has such a name, one feature is literally a ``COPY … TO`` statement, and a category
value is one too: three days go through ingestion, profiles, drift, data quality and
the Evidently report in one run, and nothing but data comes out.
"""

from __future__ import annotations

import datetime as dt

import yaml

from monitoring_assets.core.config import load_project
from monitoring_assets.core.simulator import FEATURES, Simulator
from tests.conftest import churn_yaml, write
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario
from tests.security.hostile import assert_no_side_effects, hostile_values

DAYS = 3
ROLES = {
    "id": "request id",
    "timestamp": "event.time",
    "prediction": 'pred "class"',
    "probability": "p'robability",
    "target": "churn label",
    "latency": "latency (ms)",
}


def _names(tmp_path) -> dict[str, str]:
    hostile = hostile_values(tmp_path)
    return {
        "tenure": "tenure (months)",
        "monthly_charges": 'monthly "charges"',
        "total_charges": "total.charges",
        "num_services": hostile["backticks"],
        "contract_type": hostile["copy"],
        "payment_method": hostile["subshell"],
        "internet_service": "internet_service",
    }


def _source_data(tmp_path) -> tuple[dt.date, dict[str, str]]:
    """Simulated churn data under the hostile names, written as a ``files`` source."""
    hostile = hostile_values(tmp_path)
    base = yaml.safe_load(churn_yaml(days=DAYS, rows=150))
    m = base["models"][0]
    m["columns"] = ROLES
    m["source"]["scenario"]["name"] = hostile["quote"]
    m["source"]["scenario"]["events"] = [
        {"kind": "new_category", "day": 1, "feature": "contract_type", "value": hostile["copy"]}
    ]
    sim_model = load_project(write(tmp_path / "sim.yaml", yaml.safe_dump(base))).models[0]
    sim = Simulator(sim_model)
    names = _names(tmp_path)
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "labels").mkdir()
    sim.reference().rename(columns=names).to_parquet(data / "ref.parquet")
    for i in range(DAYS):
        day = sim_model.first_date + dt.timedelta(days=i)
        sim.inference_day(day).rename(columns=names).to_parquet(data / "logs" / f"{day}.parquet")
        sim.labels_day(day).to_parquet(data / "labels" / f"{day}.parquet")
    return sim_model.first_date, names


def _model_yaml(tmp_path, start: dt.date, names: dict[str, str]) -> str:
    sim_features = yaml.safe_load(churn_yaml())["models"][0]["features"]
    features = [{**f, "name": names[f["name"]]} for f in sim_features]
    data = tmp_path / "data"
    doc = {
        "models": [
            {
                "name": "churn",
                "version": "v1",
                "features": features,
                "columns": ROLES,
                "label_delay_days": 3,
                "start_date": start.isoformat(),
                "end_date": (start + dt.timedelta(days=DAYS)).isoformat(),
                "source": {
                    "kind": "files",
                    "reference": str(data / "ref.parquet"),
                    "inference": str(data / "logs" / "{date}.parquet"),
                    "labels": str(data / "labels" / "{date}.parquet"),
                },
            }
        ]
    }
    return yaml.safe_dump(doc)


def test_hostile_column_names_run_end_to_end(tmp_path):
    start, names = _source_data(tmp_path)
    assert set(names) == set(FEATURES)
    sc = Scenario(tmp_path / "run", _model_yaml(tmp_path, start, names))
    keys = [(start + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    with sc.activated() as instance:
        result = sc.run(instance, keys, FOUNDATION + DRIFT)
    assert result.success

    drift = sc.drift()
    assert set(drift.column_name) == set(names.values())
    assert drift.computable.all() and len(drift) == DAYS * len(names)
    assert set(sc.drift("prediction").column_name) == {ROLES["probability"]}

    payload = names["contract_type"]
    unseen = sc.quality()
    unseen = unseen[(unseen.rule == "unseen_category_share") & (unseen.column_name == payload)]
    by_day = dict(zip(unseen.partition_date, unseen.value))
    assert by_day[keys[0]] == 0 and by_day[keys[2]] > 0.1  # the payload arrives as a category

    stored = sc.warehouse.query(
        "SELECT count(*) AS n FROM feature_profiles WHERE column_name = ? AND str_value = ?",
        [payload, hostile_values(tmp_path)["copy"]],
    )
    assert stored.n.iloc[0] == DAYS - 1  # kept as data, on the days it appeared
    reports = list((sc.home.reports / "churn").glob("data_drift_*.html"))
    assert reports, "the Evidently report ran on the hostile column names"
    assert_no_side_effects(tmp_path)

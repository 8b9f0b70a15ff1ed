"""Model files with segments on the simulator: countries, and events restricted to one."""

from __future__ import annotations

import datetime as dt

from monitoring_assets.core.config import ModelConfig, load_project
from tests.conftest import churn_yaml

COUNTRIES = {"DE": 3.0, "FR": 2.5, "ES": 2.0, "IT": 1.5, "NL": 0.5, "BE": 0.3}


def segment_model(
    days: int = 10,
    rows: int = 600,
    events: list[dict] | None = None,
    reference_rows: int = 20000,
    seed: int = 3,
    settings: dict | None = None,
    name: str = "churn",
) -> ModelConfig:
    """The small churn model (tests/conftest.py) with a ``country`` segment column."""
    base = load_project_text(churn_yaml(name=name, days=days, rows=rows, seed=seed))
    data = base.model_dump(mode="json")
    data["source"]["scenario"].update(
        segments={"country": COUNTRIES}, events=events or [], reference_rows=reference_rows
    )
    data["segments"] = ["country"]
    if settings:
        data["segment_settings"] = settings
    return ModelConfig.model_validate(data)


def load_project_text(text: str) -> ModelConfig:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.yaml"
        p.write_text(text)
        return load_project(p).models[0]


def day(model: ModelConfig, i: int) -> dt.date:
    return model.first_date + dt.timedelta(days=i)

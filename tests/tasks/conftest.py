"""Regression and multiclass models from the shipped example files, scenario replaced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from monitoring_assets.core.config import ModelConfig, load_project

MODELS = Path(__file__).parents[2] / "monitoring_assets" / "models"
EXAMPLES = {"regression": "spend", "multiclass": "plan_tier"}


def task_model(
    task: str, events: list[dict], days: int, rows_per_day: int, **scenario
) -> ModelConfig:
    """The shipped example model of ``task`` with its scenario replaced."""
    name = EXAMPLES[task]
    data = load_project(MODELS / f"{name}.yaml").model(name).model_dump()
    data["source"]["scenario"].update(
        name="test", days=days, rows_per_day=rows_per_day, events=events, **scenario
    )
    return ModelConfig.model_validate(data)


def day(model: ModelConfig, index: int) -> dt.date:
    return model.first_date + dt.timedelta(days=index)

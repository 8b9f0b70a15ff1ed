"""Shared fixtures: simulated churn histories for the performance tests."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring_assets.core.config import ModelConfig, load_project


def churn_model(events: list[dict], days: int, rows_per_day: int = 2000, **extra) -> ModelConfig:
    """The packaged churn model with its scenario replaced (events, length)."""
    base = load_project().model("churn")
    data = base.model_dump()
    scenario = data["source"]["scenario"]
    scenario.update(name="test", days=days, rows_per_day=rows_per_day, events=events)
    data.update(extra)
    return ModelConfig.model_validate(data)


def day(model: ModelConfig, index: int) -> dt.date:
    return model.first_date + dt.timedelta(days=index)


@pytest.fixture(scope="session")
def covariate_only_model() -> ModelConfig:
    """70 days whose only event is a tenure covariate shift: P(y | x) never changes."""
    return churn_model(
        [
            {
                "kind": "covariate_shift",
                "day": 20,
                "feature": "tenure",
                "magnitude": 0.6,
                "ramp_days": 20,
            }
        ],
        days=70,
    )

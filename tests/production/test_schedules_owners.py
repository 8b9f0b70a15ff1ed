"""Schedules say how they start and how to switch them; a model's owners are on its assets."""

from __future__ import annotations

import dagster as dg
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from tests.conftest import churn_yaml, write

OWNED = churn_yaml(name="churn") + (
    "    alerting:\n"
    '      owners: ["ml-oncall@example.com", "ml-team", "team:risk", " @ds ", "ml-team"]\n'
)
UNOWNED = churn_yaml(name="churn_eu", seed=11).split("models:\n", 1)[1]


def _specs(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    specs = {}
    for asset in defs.assets or []:
        for spec in asset.specs if isinstance(asset, dg.AssetsDefinition) else [asset]:
            specs[spec.key] = spec
    return specs


@pytest.fixture
def two_models(home, tmp_path):
    project = load_project(write(tmp_path / "models.yaml", OWNED + UNOWNED))
    return build_definitions(project, home)


def test_every_schedule_says_how_it_starts_and_how_to_switch_it(two_models):
    schedules = {s.name: s for s in two_models.schedules}
    assert {
        "monitor_churn_daily",
        "labels_churn_daily",
        "monitor_churn_eu_daily",
        "labels_churn_eu_daily",
        "weekly_alert_digest",
    } <= set(schedules)
    for name, schedule in schedules.items():
        text = schedule.description or ""
        if schedule.default_status == dg.DefaultScheduleStatus.STOPPED:
            assert "Starts stopped" in text, name
            assert f"dagster schedule start {name} -w workspace.yaml" in text, name
        else:
            assert "Starts running" in text, name
            assert f"dagster schedule stop {name} -w workspace.yaml" in text, name
        assert "toggle in the UI" in text, name
    assert schedules["monitor_churn_daily"].default_status == dg.DefaultScheduleStatus.STOPPED
    assert "01:00 UTC" in schedules["monitor_churn_daily"].description


def test_model_owners_are_on_every_asset_of_that_model_only(two_models):
    specs = _specs(two_models)
    churn = {k: s for k, s in specs.items() if k.path[0] == "churn"}
    churn_eu = {k: s for k, s in specs.items() if k.path[0] == "churn_eu"}
    assert len(churn) >= 10 and len(churn) == len(churn_eu)
    assert dg.AssetKey(["churn", "alerts"]) in churn
    expected = ["ml-oncall@example.com", "team:ml-team", "team:risk", "team:@ds"]
    for key, spec in churn.items():
        assert list(spec.owners) == expected, key.to_user_string()
    for key, spec in churn_eu.items():
        assert list(spec.owners) == [], key.to_user_string()


def test_team_prefix_without_a_name_is_an_error(home, tmp_path):
    text = churn_yaml(name="churn") + '    alerting:\n      owners: ["a@example.com", "team:"]\n'
    project = load_project(write(tmp_path / "models.yaml", text))
    with pytest.raises(ValueError, match=r"models\[churn\]\.alerting\.owners\[1\]"):
        build_definitions(project, home)

"""The local model registry: versions, statuses, champion history, trigger claims."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from resources.model_registry import (
    LocalModelRegistry,
    ModelRegistry,
    ModelStatus,
    RegistryError,
)
from resources.model_registry_fs import ModelRegistryResource

D = dt.date(2026, 6, 1)


@pytest.fixture()
def registry(tmp_path) -> LocalModelRegistry:
    reg = LocalModelRegistry(tmp_path / "registry")
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    reg.ensure_initial("churn", "v1", model, D, metrics={"accuracy": 0.93})
    return reg


def test_initial_champion_and_artifact_round_trip(registry) -> None:
    assert isinstance(registry, ModelRegistry)
    assert registry.current_champion("churn") == "v1"
    v1 = registry.get("churn", "v1")
    assert v1.status == ModelStatus.CHAMPION and v1.metrics == {"accuracy": 0.93}
    assert v1.effective_from == "2026-06-01"
    assert registry.load_artifact("churn", "v1").predict([[1.0]])[0] == 1
    # a second call is a no-op
    registry.ensure_initial("churn", "v1", object(), D)
    assert len(registry.versions("churn")) == 1


def test_register_numbers_versions_and_keeps_metadata(registry) -> None:
    v = registry.register(
        "churn",
        {"w": 1},
        trigger="evt-1",
        training_window=(D, D + dt.timedelta(days=6)),
        metrics={"accuracy": 0.95},
        parent="v1",
    )
    assert v.version == "v2" and v.status == ModelStatus.CHALLENGER
    again = registry.get("churn", "v2")
    assert again.training_window == ("2026-06-01", "2026-06-07")
    assert again.trigger == "evt-1" and again.parent == "v1"
    assert registry.by_trigger("churn", "evt-1").version == "v2"
    assert registry.register("churn", {}).version == "v3"


def test_promotion_retires_the_old_champion_and_keeps_history(registry) -> None:
    registry.register("churn", {"w": 2})
    registry.promote("churn", "v2", D + dt.timedelta(days=40))
    assert registry.get("churn", "v1").status == ModelStatus.RETIRED
    assert registry.get("churn", "v2").status == ModelStatus.CHAMPION
    assert registry.current_champion("churn") == "v2"
    assert registry.champion_for("churn", D + dt.timedelta(days=39)) == "v1"
    assert registry.champion_for("churn", D + dt.timedelta(days=40)) == "v2"
    assert registry.champion_for("churn", D - dt.timedelta(days=5)) == "v1"
    with pytest.raises(RegistryError, match="before the current champion's start"):
        registry.register("churn", {})
        registry.promote("churn", "v3", D)


def test_status_rules(registry) -> None:
    registry.register("churn", {})
    registry.set_status("churn", "v2", ModelStatus.REJECTED)
    with pytest.raises(RegistryError, match="rejected"):
        registry.promote("churn", "v2", D)
    with pytest.raises(RegistryError, match="use promote"):
        registry.set_status("churn", "v2", ModelStatus.CHAMPION)
    with pytest.raises(RegistryError, match="is the champion"):
        registry.set_status("churn", "v1", ModelStatus.REJECTED)
    with pytest.raises(RegistryError, match="no version 'v9'"):
        registry.get("churn", "v9")


def test_trigger_claims_are_exclusive_and_failures_release(registry) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: registry.claim_trigger("churn", "evt"), range(16)))
    assert sum(claimed for claimed, _ in results) == 1
    registry.finish_trigger("churn", "evt", version=None, outcome="failed: x", failed=True)
    claimed, _ = registry.claim_trigger("churn", "evt")
    assert claimed
    registry.finish_trigger("churn", "evt", version="v2", outcome="promoted")
    claimed, claim = registry.claim_trigger("churn", "evt")
    assert not claimed and claim.outcome == "promoted" and claim.version == "v2"


def test_json_and_frame_artifacts(registry) -> None:
    registry.put_json("churn", "v1", "cbpe", {"x": [0.0, 1.0]})
    assert registry.get_json("churn", "v1", "cbpe") == {"x": [0.0, 1.0]}
    assert registry.get_json("churn", "v1", "missing") is None
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    registry.put_frame("churn", "v1", "reference", frame)
    pd.testing.assert_frame_equal(registry.get_frame("churn", "v1", "reference"), frame)
    with pytest.raises(RegistryError, match="artifact name .* is not a safe name"):
        registry.put_json("churn", "v1", "../escape", {})


def test_index_is_plain_json_and_corruption_is_reported(registry, tmp_path) -> None:
    index = tmp_path / "registry" / "churn" / "registry.json"
    assert json.loads(index.read_text())["champions"][0]["version"] == "v1"
    index.write_text("{not json")
    with pytest.raises(RegistryError, match="not valid JSON"):
        registry.versions("churn")


def test_resource_builds_a_local_registry(tmp_path) -> None:
    reg = ModelRegistryResource(root=str(tmp_path)).get()
    assert isinstance(reg, LocalModelRegistry)
    assert reg.current_champion("nothing") is None


def test_concurrent_bootstrap_registers_one_champion(tmp_path) -> None:
    reg = LocalModelRegistry(tmp_path / "r")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: reg.ensure_initial("m", "v1", {"w": 0}, D), range(8)))
    assert [v.version for v in reg.versions("m")] == ["v1"]
    assert reg.champion_history("m") == [(D, "v1")]

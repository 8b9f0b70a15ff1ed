"""Permutation importance per model version (kept in the registry) and contribution shifts."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from monitoring_assets.core.registry import ModelStatus
from monitoring_assets.core.root_cause.importance import (
    IMPORTANCE_ARTIFACT,
    LINEAR,
    PROXY,
    DayShift,
    ImportanceError,
    contribution_shifts,
    ensure_importance,
    permutation_importance,
)
from resources.model_registry import LocalModelRegistry

FEATURES = ["x1", "x2", "c"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    n = 1500
    frame = pd.DataFrame(
        {
            "x1": rng.normal(10, 3, n),
            "x2": rng.normal(0, 1, n),
            "c": rng.choice(["p", "q"], n, p=[0.6, 0.4]).astype(object),
        }
    )
    logit = 0.8 * (frame.x1 - 10) + 1.5 * (frame.c == "q") - 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.fixture(scope="module")
def linear(data):
    frame, y = data
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["x1", "x2"]), ("cat", OneHotEncoder(), ["c"])]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(frame, y)


class FixedLinear:
    """P(1) = sigmoid(x1 - 10): x2 and c cannot matter."""

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-(X["x1"].to_numpy(dtype=float) - 10)))
        return np.column_stack([1 - p, p])


def test_a_feature_the_model_ignores_has_zero_importance(data):
    frame, _ = data
    imp, output, rows = permutation_importance(FixedLinear(), frame, FEATURES)
    assert output == "probability" and rows == 1500
    assert imp["x2"] == 0.0 and imp["c"] == 0.0
    assert imp["x1"] > 0.1


def test_importance_follows_the_generating_process(data, linear):
    frame, _ = data
    imp, _, _ = permutation_importance(linear, frame, FEATURES)
    assert imp["x1"] > imp["c"] > 5 * imp["x2"]


def test_linear_contribution_shift_is_coef_times_mean_shift(data, linear):
    frame, _ = data
    coef = linear.named_steps["clf"].coef_[0]  # x1, x2, c=p, c=q
    scale = linear.named_steps["pre"].named_transformers_["num"].scale_
    day = DayShift(
        means={"x1": frame.x1.mean() + 2.0, "x2": frame.x2.mean()}, shares={"c": {"q": 1.0}}
    )

    shifts, method = contribution_shifts(linear, frame, day, FEATURES)

    assert method == LINEAR
    assert shifts["x1"] == pytest.approx(coef[0] / scale[0] * 2.0, rel=1e-9)
    assert shifts["x2"] == pytest.approx(0.0, abs=1e-12)
    share_p = float((frame.c == "p").mean())
    assert shifts["c"] == pytest.approx((coef[3] - coef[2]) * share_p, rel=1e-9)


def test_tree_models_get_the_proxy_and_an_all_null_feature_gets_none(data):
    frame, y = data
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame[["x1", "x2"]], y)
    day = DayShift(means={"x1": frame.x1.mean() + 3.0}, shares={})  # x2 all null: no mean

    shifts, method = contribution_shifts(tree, frame, day, ["x1", "x2"])

    assert method == f"{PROXY}, probability"
    assert shifts["x1"] > 0.05 and shifts["x2"] is None


def test_importance_is_computed_once_per_version_and_reused(tmp_path, data, linear):
    frame, _ = data
    registry = LocalModelRegistry(tmp_path / "registry")
    registry.register("m", linear, status=ModelStatus.CHALLENGER, version="v1")
    calls = []

    def load_estimator():
        calls.append("estimator")
        return linear

    first = ensure_importance(registry, "m", "v1", FEATURES, load_estimator, lambda: frame)
    stored = registry.get_json("m", "v1", IMPORTANCE_ARTIFACT)
    assert stored is not None and stored["importance"] == first.importance
    assert stored["rows"] == 1500 and stored["output"] == "probability"

    def must_not_load():
        raise AssertionError("importances were computed again")

    again = ensure_importance(registry, "m", "v1", FEATURES, must_not_load, must_not_load)
    assert again == first and calls == ["estimator"]


def test_no_estimator_or_no_predict_is_a_clear_error(tmp_path, data):
    frame, _ = data
    registry = LocalModelRegistry(tmp_path / "registry")
    with pytest.raises(ImportanceError, match="model 'm' version 'v2': no estimator to score"):
        ensure_importance(registry, "m", "v2", FEATURES, lambda: None, lambda: frame)
    with pytest.raises(ImportanceError, match="model 'm' version 'v2': no validation split"):
        ensure_importance(registry, "m", "v2", FEATURES, FixedLinear, lambda: None)
    with pytest.raises(ImportanceError, match="object has no predict_proba or predict"):
        ensure_importance(registry, "m", "v2", FEATURES, object, lambda: frame)
    with pytest.raises(ImportanceError, match=r"lacks feature column\(s\) \['c'\]"):
        ensure_importance(registry, "m", "v2", FEATURES, FixedLinear, lambda: frame[["x1", "x2"]])
    # a version the registry does not know: computed, not stored
    rel = ensure_importance(registry, "m", "v2", FEATURES, FixedLinear, lambda: frame)
    assert rel.importance["x1"] > 0 and registry.get_json("m", "v2", IMPORTANCE_ARTIFACT) is None

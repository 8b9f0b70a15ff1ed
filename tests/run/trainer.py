"""A model file's trainer (``training.entry_point: tests.run.trainer:fit``)."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CALLS: list[int] = []  # rows of each call, for tests that run it in process


def fit(features: pd.DataFrame, target: pd.Series):
    CALLS.append(len(features))
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), other),
            ]
        ),
        LogisticRegression(max_iter=500),
    ).fit(features, target)
    pipe.trained_by = "tests.run.trainer:fit"
    return pipe


def not_a_classifier(features: pd.DataFrame, target: pd.Series):
    return object()

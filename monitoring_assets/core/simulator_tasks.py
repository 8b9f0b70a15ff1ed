"""The production simulator for regression and 3-class models.

The customers, the features and every scenario event are the churn simulator's
(:class:`~monitoring_assets.core.simulator.Simulator`): the same days, the same event
kinds acting on the same columns. Only the target and the served model differ:

- ``regression``: next month's spend of the customer, a noisy function of the features
  whose noise grows with the monthly charges (so the error depends on the features and a
  loss model has something to learn); served by a ridge regression.
- ``multiclass``: the plan tier the customer moves to (3 classes, in the order of the
  model's ``classes``), drawn from a softmax of the features; served by a multinomial
  logistic regression that logs one probability column per class.

``concept_drift`` changes how the target follows the features, ``sudden_shock`` makes
customers more price-sensitive; the features and predictions are untouched by the
former, as in the churn simulator. Everything stays a pure function of (scenario, seed,
date): the target's randomness is the churn simulator's per-row label uniform.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.simulator import (
    CATEGORICAL,
    FEATURES,
    NUMERICAL,
    TARGET,
    DayTruth,
    Simulator,
    _population,
    _reference_bundle,
)

#: The task -> built-in target name (documentation and the example model files).
TASK_TARGETS = {"regression": "next_month_spend", "multiclass": "plan_tier"}


def _features(f: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "monthly": np.nan_to_num(f["monthly_charges"].to_numpy(dtype=float), nan=65.0),
        "tenure": np.nan_to_num(f["tenure"].to_numpy(dtype=float), nan=24.0),
        "services": np.nan_to_num(f["num_services"].to_numpy(dtype=float), nan=4.0),
        "two_year": (f["contract_type"].to_numpy() == "two_year").astype(float),
        "one_year": (f["contract_type"].to_numpy() == "one_year").astype(float),
        "fiber": (f["internet_service"].to_numpy() == "fiber_optic").astype(float),
        "echeck": (f["payment_method"].to_numpy() == "electronic_check").astype(float),
    }


def spend(f: pd.DataFrame, u: np.ndarray, concept: float = 0.0, shock: float = 0.0) -> np.ndarray:
    """Next month's spend: features plus heteroscedastic noise from the uniforms ``u``."""
    from scipy.special import ndtri  # lazy

    x = _features(f)
    mu = (
        5.0
        + 0.9 * x["monthly"]
        + 0.15 * np.minimum(x["tenure"], 72.0)
        + 6.0 * x["two_year"]
        + 3.0 * x["one_year"]
        - 4.0 * x["echeck"]
        + 1.5 * x["services"]
    )
    if concept:
        mu = mu + concept * (0.25 * x["monthly"] - 12.0 * x["fiber"] - 5.0)
    if shock:
        mu = mu - shock * 0.3 * np.maximum(x["monthly"] - 85.0, 0.0)
    sd = 2.0 + 0.08 * x["monthly"]
    z = ndtri(np.clip(u, 1e-9, 1 - 1e-9))
    return np.round(mu + sd * z, 2)


def tier_logits(f: pd.DataFrame, concept: float = 0.0, shock: float = 0.0) -> np.ndarray:
    """Log-odds of the three tiers (rows × 3)."""
    x = _features(f)
    z1 = -0.2 + 0.05 * (x["monthly"] - 65.0) + 0.6 * x["fiber"] + 0.02 * x["tenure"]
    z2 = -1.4 + 0.09 * (x["monthly"] - 65.0) + 1.3 * x["two_year"] + 0.03 * x["tenure"]
    if concept:
        z2 = z2 - concept * (0.12 * (x["monthly"] - 65.0) + 1.5)
        z1 = z1 + concept * 0.8 * x["echeck"]
    if shock:
        z2 = z2 - shock * 0.05 * np.maximum(x["monthly"] - 85.0, 0.0)
    return 1.5 * np.column_stack([np.zeros_like(z1), z1, z2])


def draw_tier(logits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Tier index 0..2 by inverse CDF of the softmax with uniforms ``u``."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(e / e.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((u[:, None] > cdf).sum(axis=1), logits.shape[1] - 1)


class TaskSimulator(Simulator):
    """A regression or 3-class model on the churn simulator's customers."""

    def __init__(self, model: ModelConfig):
        if model.task not in TASK_TARGETS:
            raise ValueError(
                f"model {model.name!r}: the task simulator serves {sorted(TASK_TARGETS)}, "
                f"not {model.task!r}"
            )
        if model.task == "multiclass" and len(model.classes or ()) != 3:
            raise ValueError(
                f"model {model.name!r}: the simulator's multiclass target has 3 classes; "
                f"classes has {len(model.classes or ())}"
            )
        super().__init__(model)
        self._frames: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def _bundle(self):
        m = self.model_config
        return _task_bundle(self._scenario_key(), m.name, m.task, tuple(m.classes or ()))

    # ------------------------------------------------------------------ outputs
    def _outputs(self, f: pd.DataFrame, est) -> dict[str, np.ndarray]:
        """Prediction (and per-class probability columns) of ``est`` on features ``f``."""
        m = self.model_config
        if m.task == "regression":
            return {m.columns.prediction: np.round(est.predict(f), 3)}
        proba = est.predict_proba(f)
        classes = list(m.classes or ())
        out = {m.columns.prediction: np.asarray(classes)[proba.argmax(axis=1)].astype("int64")}
        for i, c in enumerate(classes):
            column = m.probability_columns.get(c)
            if column:
                out[column] = np.round(proba[:, i], 6)
        return out

    def _target(self, f: pd.DataFrame, u: np.ndarray, concept: float, shock: float) -> np.ndarray:
        if self.model_config.task == "regression":
            return spend(f, u, concept, shock)
        classes = np.asarray(self.model_config.classes)
        return classes[draw_tier(tier_logits(f, concept, shock), u)].astype("int64")

    def _split(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(reference, validation) with the served model's outputs and the target."""
        if self._frames is None:
            frame, n_train, est = self._bundle()
            m = self.model_config
            parts = []
            for part in (frame.iloc[:n_train], frame.iloc[n_train:]):
                out = part.rename(
                    columns={"request_id": m.columns.id, "timestamp": m.columns.timestamp}
                ).drop(columns=["_y"])
                for k, v in self._outputs(part[FEATURES], est).items():
                    out[k] = v
                out[m.columns.target] = part["_y"].to_numpy()
                parts.append(out.reset_index(drop=True))
            self._frames = (parts[0], parts[1])
        return self._frames

    def reference(self) -> pd.DataFrame:
        return self._split()[0].copy()

    def validation(self) -> pd.DataFrame:
        return self._split()[1].copy()

    @property
    def estimator(self):
        return self._bundle()[2]

    def inference_day(self, date: dt.date) -> pd.DataFrame:
        f, _, keep, _, pop = self._day_frame(date)
        cols = self.model_config.columns
        out = pd.DataFrame(
            {
                cols.id: [f"{self.model_config.name}-{date:%Y%m%d}-{i:06d}" for i in range(len(f))],
                cols.timestamp: pd.Timestamp(date)
                + pd.to_timedelta(np.round(pop["_seconds"], 3), unit="s"),
            }
        )
        for c in FEATURES:
            out[c] = f[c].to_numpy()
        for k, v in self._outputs(f, self.estimator).items():
            out[k] = v
        if cols.latency:
            out[cols.latency] = np.round(pop["_latency"], 3)
        out[cols.timestamp] = out[cols.timestamp].astype("datetime64[us]")
        return out[keep].reset_index(drop=True)

    def labels_day(self, date: dt.date) -> pd.DataFrame:
        f, label_u, keep, (concept, shock), _ = self._day_frame(date)
        cols = self.model_config.columns
        arrived = pd.Timestamp(date + dt.timedelta(days=self.model_config.label_delay_days))
        out = pd.DataFrame(
            {
                cols.id: [f"{self.model_config.name}-{date:%Y%m%d}-{i:06d}" for i in range(len(f))],
                cols.target: self._target(f, label_u, concept, shock),
                "label_timestamp": arrived,
            }
        )
        out["label_timestamp"] = out["label_timestamp"].astype("datetime64[us]")
        return out[keep].reset_index(drop=True)

    def truth(self, date: dt.date) -> DayTruth:
        """The churn simulator's truth, with this model's output and target columns."""
        base = super().truth(date)
        cols = self.model_config.columns
        names = {
            "prediction": [cols.prediction],
            "probability": list(self.model_config.probability_columns.values()),
            TARGET: [cols.target],
        }
        columns: list[str] = []
        for c in base.columns:
            columns.extend(n for n in names.get(c, [c]) if n not in columns)
        return DayTruth(base.date, base.events, tuple(columns))


def task_simulator(model: ModelConfig) -> Simulator:
    """The simulator of ``model``'s task: churn for binary models, else :class:`TaskSimulator`."""
    return Simulator(model) if model.is_binary else TaskSimulator(model)


@lru_cache(maxsize=8)
def _task_bundle(scenario_key: str, model_name: str, task: str, classes: tuple[int, ...]):
    """Reference and validation frames and the served model, once per (scenario, model)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from monitoring_assets.core.config import Scenario

    train, val, _ = _reference_bundle(scenario_key, model_name)
    spec = Scenario.model_validate(json.loads(scenario_key)["scenario"])
    n = spec.reference_rows
    u = _population(n, spec.seed, 10**7 + spec.start_date.toordinal())["_label_u"]
    frame = pd.concat([train, val], ignore_index=True)
    f = frame[FEATURES]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERICAL),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                CATEGORICAL,
            ),
        ]
    )
    n_train = len(train)
    if task == "regression":
        y = spend(f, u)
        est = Pipeline([("pre", pre), ("reg", Ridge(alpha=1.0))]).fit(f.iloc[:n_train], y[:n_train])
    else:
        y = np.asarray(classes)[draw_tier(tier_logits(f), u)].astype("int64")
        est = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=2000))]).fit(
            f.iloc[:n_train], y[:n_train]
        )
    out = frame[["request_id", "timestamp", *FEATURES]].copy()
    out["_y"] = y
    return out, n_train, est

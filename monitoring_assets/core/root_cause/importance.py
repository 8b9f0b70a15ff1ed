"""The model's reliance on each feature, and the shift in each feature's contribution.

**Permutation importance** (:func:`permutation_importance`): on the version's validation
split, each feature's values are shuffled (``repeats`` times, fixed seed) and the mean
absolute change of the model's output is recorded — P(positive class) for a classifier,
the prediction for a regressor. It measures how much the model's output depends on the
feature, needs no labels, and is computed once per model version
(:func:`ensure_importance`): stored in the registry as the version's
``permutation_importance`` JSON and reused by every later run.

**Contribution shift** (:func:`contribution_shifts`): how much the model's output moves
when only that feature moves as observed on the day — numerical features shifted by the
day's mean minus the validation mean, categorical features redrawn from the day's
category shares — averaged over the validation rows. The output is the decision function
(log-odds) when the model has one. For a linear model (``coef_``) on standardised inputs
this is exactly ``coef × mean shift`` (:data:`LINEAR`); for other models (trees) it is a
partial-dependence proxy (:data:`PROXY`). Pure core (no Dagster import).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.registry import ModelRegistry, RegistryError

log = logging.getLogger("driftwarden.root_cause")

#: The registry JSON artifact holding a version's importances.
IMPORTANCE_ARTIFACT = "permutation_importance"
LINEAR = "linear: coef × mean shift, log-odds"
PROXY = "partial-dependence proxy"
MAX_ROWS = 2000
REPEATS = 3
SEED = 0


class ImportanceError(ValueError):
    """Importances cannot be computed; the message says which model, version and why."""


@dataclass(frozen=True)
class Reliance:
    """A version's permutation importances and how they were measured."""

    model: str
    version: str
    importance: dict[str, float]
    output: str  # 'probability' | 'prediction'
    rows: int
    repeats: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Reliance:
        return cls(
            str(d["model"]),
            str(d["version"]),
            {str(k): float(v) for k, v in dict(d["importance"]).items()},
            str(d["output"]),
            int(d["rows"]),
            int(d["repeats"]),
        )


def model_output(
    estimator: Any, logit: bool = False
) -> tuple[Callable[[pd.DataFrame], np.ndarray], str]:
    """The function giving one number per row, and its name: the decision function
    (``logit=True`` and the model has one), P(last class) of a classifier, else the
    prediction. :class:`ImportanceError` when the model can do none of these."""
    if logit and hasattr(estimator, "decision_function"):

        def log_odds(X: pd.DataFrame) -> np.ndarray:
            out = np.asarray(estimator.decision_function(X), dtype=float)
            return out.reshape(len(X), -1)[:, -1]

        return log_odds, "log-odds"
    if hasattr(estimator, "predict_proba"):
        return lambda X: np.asarray(estimator.predict_proba(X), dtype=float)[:, -1], "probability"
    if hasattr(estimator, "predict"):
        return lambda X: np.asarray(estimator.predict(X), dtype=float), "prediction"
    raise ImportanceError(f"{type(estimator).__name__} has no predict_proba or predict")


def permutation_importance(
    estimator: Any,
    validation: pd.DataFrame,
    features: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
    repeats: int = REPEATS,
    seed: int = SEED,
) -> tuple[dict[str, float], str, int]:
    """Mean absolute change of the model's output when each feature is shuffled:
    (importance per feature, output name, rows used)."""
    missing = [f for f in features if f not in validation]
    if missing:
        raise ImportanceError(f"the validation split lacks feature column(s) {missing}")
    if len(validation) < 2:
        raise ImportanceError(f"the validation split has {len(validation)} row(s); need 2+")
    rng = np.random.default_rng(seed)
    X = _sample(validation[list(features)], max_rows, rng)
    f, output = model_output(estimator)
    base = f(X)
    out: dict[str, float] = {}
    for col in features:
        deltas = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[col] = X[col].to_numpy()[rng.permutation(len(X))]
            deltas.append(float(np.mean(np.abs(f(shuffled) - base))))
        out[col] = float(np.mean(deltas))
    return out, output, len(X)


def ensure_importance(
    registry: ModelRegistry,
    model: str,
    version: str,
    features: Sequence[str],
    estimator: Callable[[], Any],
    validation: Callable[[], pd.DataFrame | None],
) -> Reliance:
    """The version's importances from the registry, computed and stored on first use.

    ``estimator`` and ``validation`` load the version's model and validation split; they
    are called only when nothing is stored yet. :class:`ImportanceError` when either is
    missing (the message names the model and version). A version the registry does not
    know yet gets its importances computed but not stored.
    """
    stored = registry.get_json(model, version, IMPORTANCE_ARTIFACT)
    if stored is not None:
        return Reliance.from_json(stored)
    est = estimator()
    where = f"model {model!r} version {version!r}"
    if est is None:
        raise ImportanceError(f"{where}: no estimator to score (driftwarden did not train it)")
    frame = validation()
    if frame is None:
        raise ImportanceError(f"{where}: no validation split in the lake or the registry")
    try:
        imp, output, rows = permutation_importance(est, frame, features)
    except ImportanceError as exc:
        raise ImportanceError(f"{where}: {exc}") from None
    rel = Reliance(model, version, imp, output, rows, REPEATS)
    try:
        registry.put_json(model, version, IMPORTANCE_ARTIFACT, rel.to_json())
    except RegistryError as exc:
        # Not registered yet (the performance monitor registers the first version):
        # used now, computed again and stored once the version exists.
        log.info("%s: importances not stored: %s", where, exc)
    return rel


@dataclass(frozen=True)
class DayShift:
    """What moved on a day, per feature: numerical mean, or categorical value shares."""

    means: dict[str, float]
    shares: dict[str, dict[str, float]]


def contribution_shifts(
    estimator: Any,
    validation: pd.DataFrame,
    day: DayShift,
    features: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
    seed: int = SEED,
) -> tuple[dict[str, float | None], str]:
    """Per feature, the mean change of the model's output when only that feature takes the
    day's values (see the module docstring), and how it was measured. A feature without a
    day mean or shares (all null) gets None."""
    rng = np.random.default_rng(seed)
    X = _sample(validation[list(features)], max_rows, rng)
    f, output = model_output(estimator, logit=True)
    base = f(X)
    method = LINEAR if _is_linear(estimator) and output == "log-odds" else f"{PROXY}, {output}"
    out: dict[str, float | None] = {}
    for col in features:
        moved = X.copy()
        if col in day.means:
            ref_mean = pd.to_numeric(X[col], errors="coerce").mean()
            if not np.isfinite(ref_mean):
                out[col] = None
                continue
            moved[col] = pd.to_numeric(X[col], errors="coerce") + (day.means[col] - ref_mean)
        elif day.shares.get(col):
            cats = list(day.shares[col])
            p = np.asarray([day.shares[col][c] for c in cats], dtype=float)
            moved[col] = np.asarray(cats, dtype=object)[
                rng.choice(len(cats), len(X), p=p / p.sum())
            ]
        else:
            out[col] = None
            continue
        out[col] = float(np.mean(f(moved) - base))
    return out, method


def _is_linear(estimator: Any) -> bool:
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return hasattr(final, "coef_")


def _sample(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    idx = np.sort(rng.choice(len(frame), max_rows, replace=False))
    return frame.iloc[idx].reset_index(drop=True)

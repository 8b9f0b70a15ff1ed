"""Who trains a model's challengers: the model file's ``training.entry_point``, else the
simulator's built-in trainer (its estimator, cloned and refitted).

A model with neither (:func:`has_trainer`; a ``files`` model by default) asks for no
retraining and gets no ``retrain_<model>`` job; :func:`retraining_note` says so in
``driftwarden validate``. Pure core (no Dagster import).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pandas as pd

from monitoring_assets.core.challenger import Trainer, clone_champion
from monitoring_assets.core.config import ModelConfig

#: Sources whose models driftwarden can retrain without a trainer of the model file's:
#: the simulator serves an estimator, whose clone is refitted on the labeled window.
BUILTIN_TRAINER_SOURCES = ("simulator",)


class TrainerError(ValueError):
    """A model file's ``training.entry_point`` cannot be loaded; the message says why."""


def has_trainer(model: ModelConfig) -> bool:
    """Whether ``model`` can be retrained: a binary classifier that names a trainer
    (``training.entry_point``) or whose source has a built-in one. Only such a model
    gets ``retrain_<model>``; retraining of regression and multiclass models is not
    built yet, so their alerts request none."""
    if not model.is_binary:
        return False
    return model.training.entry_point is not None or model.source.kind in BUILTIN_TRAINER_SOURCES


def load_entry_point(model: ModelConfig) -> Callable[..., Any]:
    """Import the function ``training.entry_point`` names (``package.module:function``)."""
    spec = model.training.entry_point
    if spec is None:
        raise TrainerError(f"model {model.name!r}: training.entry_point is not set")
    module_name, _, func_name = spec.partition(":")
    where = f"model {model.name!r}: training.entry_point {spec!r}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time error of the user's module
        raise TrainerError(f"{where}: cannot import {module_name!r}: {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise TrainerError(f"{where}: {module_name!r} has no function {func_name!r}")
    return func


def trainer_for(model: ModelConfig) -> Trainer | None:
    """How ``model``'s challengers are trained: the ``training.entry_point`` function
    (called with the training features and target), else the built-in clone of the
    champion for a simulator model, else None (no retraining)."""
    if model.training.entry_point is not None:
        func = load_entry_point(model)

        def entry_point_trainer(features: pd.DataFrame, target: pd.Series, champion: Any) -> Any:
            return func(features, target)

        return entry_point_trainer
    if model.source.kind in BUILTIN_TRAINER_SOURCES:
        return clone_champion
    return None


def retraining_note(model: ModelConfig) -> str | None:
    """One line for ``driftwarden validate`` about ``model``'s retraining, None when
    there is nothing to say (a simulator model with its built-in trainer)."""
    if not model.is_binary:
        return (
            f"retraining: off — retraining of {model.task} models is not built yet; "
            "critical drift alerts but retrains nothing"
        )
    if model.training.entry_point is not None:
        try:
            load_entry_point(model)
        except TrainerError as exc:
            return f"retraining: BROKEN — {exc}"
        return f"retraining: trainer {model.training.entry_point}"
    if has_trainer(model):
        return None
    return (
        f"retraining: off — driftwarden has no trainer for a {model.source.kind!r} source, so "
        "critical drift alerts but retrains nothing; name one with training: {entry_point: "
        "'package.module:function'} (returns a fitted classifier) to retrain on critical drift"
    )

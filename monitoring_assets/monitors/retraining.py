"""The retraining jobs of one model: the Dagster shell around ``core.retraining``.

Only a model with a trainer (:func:`~monitoring_assets.core.trainer.has_trainer`: a
simulator model, or one whose model file names ``training.entry_point``) gets them
(:func:`retraining_jobs`).

- ``retrain_<model>``: trains a challenger on the most recent labeled window
  (idempotent per the ``driftwarden/trigger`` run tag), compares it with the champion
  and promotes it, or, with ``driftwarden/review=required``, stops at the
  ``human_review`` step (:func:`~monitoring_assets.core.retraining.retrain_model`).
- ``review_<model>``: applies a reviewer's decision on a ``pending_review`` version
  (:func:`~monitoring_assets.core.retraining.review_model`).

The ``check_failure_alerts`` sensor requests ``retrain_<model>`` runs when
:func:`~monitoring_assets.core.retraining.retraining_decision` says a failure asks for one.
Resources come from the run's context: ``lake``, ``warehouse`` and ``model_registry``
(chosen in ``monitoring_assets.definitions``).
"""

# No ``from __future__ import annotations`` here: Dagster reads the context and config
# annotations of op functions at definition time.

import datetime as dt

import dagster as dg

from monitoring_assets.core.challenger import RetrainingError, RetrainPolicy
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.references import ServedEstimator
from monitoring_assets.core.retraining import (
    REVIEW_TAG,
    TRIGGER_TAG,
    RetrainRequest,
    retrain_model,
    review_model,
)
from monitoring_assets.core.trainer import TrainerError, has_trainer
from monitoring_assets.monitors.failures import input_failures
from resources.sources import build_source

MODEL_TAG = "driftwarden/model"

# The op output each retraining decision continues on.
_OUTPUT_OF = {"promoted": "promoted", "pending_review": "needs_review"}


def served_estimator(model: ModelConfig) -> ServedEstimator:
    """The estimator the source says produced the logged predictions (the simulator's);
    the registry stores it as the first version."""

    def served():
        return getattr(getattr(build_source(model), "sim", None), "estimator", None)

    return served


class RetrainConfig(dg.Config):
    """How the challenger is trained and judged (see ``RetrainPolicy``)."""

    metric: str = "accuracy"
    min_improvement: float = 0.01
    window_days: int = 28
    holdout_days: int = 7
    require_significance: bool = False
    significance: float = 0.05

    def policy(self) -> RetrainPolicy:
        return RetrainPolicy(
            metric=self.metric,  # type: ignore[arg-type]  (validated by RetrainPolicy)
            min_improvement=self.min_improvement,
            window_days=self.window_days,
            holdout_days=self.holdout_days,
            require_significance=self.require_significance,
            significance=self.significance,
        )


class ReviewConfig(dg.Config):
    """A reviewer's decision on a pending_review version."""

    version: str
    approve: bool
    reviewer: str = ""
    effective_from: str | None = None


def retraining_jobs(model: ModelConfig) -> list[dg.JobDefinition]:
    """``retrain_<model>`` and ``review_<model>``, or none for a model without a trainer
    (its critical drift alerts then request nothing)."""
    if not has_trainer(model):
        return []
    return [build_retrain_job(model), build_review_job(model)]


def build_retrain_job(model: ModelConfig) -> dg.JobDefinition:
    """``retrain_<model>``: train, compare, promote or stop at ``human_review``."""

    @dg.op(
        name=f"{model.name}_train_and_compare",
        required_resource_keys={"lake", "warehouse", "model_registry"},
        out={
            "promoted": dg.Out(str, is_required=False),
            "needs_review": dg.Out(str, is_required=False),
            "not_promoted": dg.Out(str, is_required=False),
        },
        tags={MODEL_TAG: model.name},
    )
    def train_and_compare(context: dg.OpExecutionContext, config: RetrainConfig):
        request = RetrainRequest.from_tags(context.run.tags, context.run_id)
        res = context.resources
        try:
            with input_failures():
                outcome = retrain_model(
                    model,
                    request,
                    config.policy(),
                    registry=res.model_registry.get(),
                    lake=res.lake.get(),
                    wh=res.warehouse.get(),
                    served=served_estimator(model),
                    run_id=context.run_id,
                )
        except (TrainerError, RetrainingError) as exc:
            # A broken trainer or window: the run fails with what is wrong, not a traceback.
            raise dg.Failure(description=str(exc)) from exc
        log = context.log.warning if outcome.decision == "skipped" else context.log.info
        log(f"{model.name} retraining for trigger {request.trigger!r}: {outcome.reason}")
        yield dg.Output(
            str(outcome.challenger),
            output_name=_OUTPUT_OF.get(outcome.decision, "not_promoted"),
            metadata=outcome.summary(),
        )

    @dg.op(name=f"{model.name}_human_review", tags={MODEL_TAG: model.name})
    def human_review(context: dg.OpExecutionContext, version: str) -> None:
        """Stop here: a person decides with the review job."""
        context.log.warning(
            f"{model.name} {version} is pending_review: launch review_{model.name} with "
            f"config {{version: {version}, approve: true|false}} to decide"
        )

    @dg.job(
        name=f"retrain_{model.name}",
        description=(
            f"Train a challenger for {model.name} on the most recent labeled window, compare it "
            "with the champion on the same holdout (metric deltas, McNemar), and promote it if "
            "better by the configured margin, or stop at human review when the run tag "
            f"{REVIEW_TAG}=required. Idempotent per {TRIGGER_TAG}."
        ),
        tags={MODEL_TAG: model.name},
    )
    def retrain_job():
        _promoted, needs_review, _not = train_and_compare()
        human_review(needs_review)

    return retrain_job


def build_review_job(model: ModelConfig) -> dg.JobDefinition:
    """``review_<model>``: promote or reject a version waiting in ``pending_review``."""

    @dg.op(
        name=f"{model.name}_apply_review",
        required_resource_keys={"warehouse", "model_registry"},
        tags={MODEL_TAG: model.name},
    )
    def apply_review(context: dg.OpExecutionContext, config: ReviewConfig) -> str:
        with input_failures():
            status = review_model(
                model,
                config.version,
                approve=config.approve,
                effective_from=(
                    dt.date.fromisoformat(config.effective_from) if config.effective_from else None
                ),
                reviewer=config.reviewer,
                registry=context.resources.model_registry.get(),
                wh=context.resources.warehouse.get(),
            )
        context.log.info(f"{model.name} {config.version}: {status} after review")
        return status

    @dg.job(
        name=f"review_{model.name}",
        description=f"Apply a reviewer's decision on a {model.name} version in pending_review.",
        tags={MODEL_TAG: model.name},
    )
    def review_job():
        apply_review()

    return review_job

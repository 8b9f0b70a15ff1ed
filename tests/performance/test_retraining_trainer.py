"""Retraining only where it can work: a model file's trainer, none for a files model
without one, and a retraining with too few labels skipped rather than failed."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from monitoring_assets.core.alerts.policy import Actions
from monitoring_assets.core.challenger import RetrainingError, RetrainPolicy
from monitoring_assets.core.config import ConfigError, load_project
from monitoring_assets.core.retraining import FailedCheck, retrain, retraining_decision
from monitoring_assets.core.trainer import TrainerError, has_trainer, retraining_note, trainer_for
from monitoring_assets.definitions import build_definitions
from monitoring_assets.history import materialize_history
from resources.model_registry import LocalModelRegistry
from resources.warehouse import Warehouse
from tests.run import trainer as user_trainer
from tests.run.files_model import DAYS, frame, write_model

ENTRY_POINT = '    training: {entry_point: "tests.run.trainer:fit"}\n'
SIMULATOR = load_project().model("churn")


def _files_model(tmp_path, extra: str = ""):
    return load_project(write_model(tmp_path, extra)).model("fraud")


# --------------------------------------------------------------------------- who has a trainer


def test_a_files_model_has_no_trainer_unless_its_file_names_one(tmp_path) -> None:
    plain = _files_model(tmp_path / "a")
    named = _files_model(tmp_path / "b", ENTRY_POINT)
    assert not has_trainer(plain) and trainer_for(plain) is None
    assert has_trainer(named) and has_trainer(SIMULATOR)
    assert retraining_note(SIMULATOR) is None
    assert retraining_note(named) == "retraining: trainer tests.run.trainer:fit"
    note = retraining_note(plain)
    assert note is not None and note.startswith("retraining: off")
    assert "training: {entry_point:" in note


def test_critical_drift_of_a_model_without_trainer_asks_for_nothing(tmp_path) -> None:
    critical = FailedCheck("drift", "critical")
    policy = Actions()
    assert retraining_decision(critical, policy=policy, model=SIMULATOR).action == "retrain"
    for model in (_files_model(tmp_path / "a"),):
        assert retraining_decision(critical, policy=policy, model=model).action == "none"
    named = _files_model(tmp_path / "b", ENTRY_POINT)
    assert retraining_decision(critical, policy=policy, model=named).action == "retrain"


def test_only_a_model_with_a_trainer_gets_retraining_jobs(tmp_path) -> None:
    plain = load_project(write_model(tmp_path / "a"))
    named = load_project(write_model(tmp_path / "b", ENTRY_POINT))
    jobs = {j.name for j in build_definitions(plain).resolve_all_job_defs()}
    assert "monitor_fraud" in jobs
    assert not {"retrain_fraud", "review_fraud"} & jobs
    jobs = {j.name for j in build_definitions(named).resolve_all_job_defs()}
    assert {"retrain_fraud", "review_fraud"} <= jobs


@pytest.mark.parametrize(
    "entry_point, message",
    [
        ("tests.run.trainer", "must be 'package.module:function'"),
        ("tests.run.trainer:fit()", "must be 'package.module:function'"),
        ("tests/run/trainer.py:fit", "must be 'package.module:function'"),
    ],
)
def test_a_malformed_entry_point_is_a_config_error(tmp_path, entry_point, message) -> None:
    path = write_model(tmp_path, f'    training: {{entry_point: "{entry_point}"}}\n')
    with pytest.raises(ConfigError, match="entry_point") as err:
        load_project(path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "entry_point, message",
    [
        ("tests.run.no_such_module:fit", "cannot import 'tests.run.no_such_module'"),
        ("tests.run.trainer:no_such_function", "has no function 'no_such_function'"),
    ],
)
def test_an_entry_point_that_does_not_load_is_reported(tmp_path, entry_point, message) -> None:
    model = _files_model(tmp_path, f'    training: {{entry_point: "{entry_point}"}}\n')
    note = retraining_note(model)
    assert note is not None and note.startswith("retraining: BROKEN")
    assert message in note and "model 'fraud'" in note
    with pytest.raises(TrainerError, match=message):
        trainer_for(model)


# --------------------------------------------------------------------------- the trainer used


def _labeled(days: list[str]) -> pd.DataFrame:
    frames = []
    for i, d in enumerate(days):
        f = frame(300, d, seed=100 + i)
        rng = pd.Series(range(len(f))).sample(frac=1.0, random_state=i).to_numpy() / len(f)
        f["is_fraud"] = (rng < f.score).astype(int)
        frames.append(f.assign(partition_date=pd.Timestamp(d).date()))
    return pd.concat(frames, ignore_index=True)


def test_the_entry_point_trains_and_the_logged_predictions_are_the_champion(tmp_path) -> None:
    model = _files_model(tmp_path, ENTRY_POINT)
    reg = LocalModelRegistry(tmp_path / "registry")
    # A files model's first version has no estimator (driftwarden did not train it).
    reg.ensure_initial(model.name, model.version, None, model.first_date)
    window = _labeled([f"2026-02-{d:02d}" for d in range(1, 11)])
    user_trainer.CALLS.clear()
    out = retrain(
        model=model.name,
        registry=reg,
        window=window,
        features=model.feature_names,
        target="is_fraud",
        trigger="t1",
        effective_from=pd.Timestamp("2026-02-11").date(),
        policy=RetrainPolicy(holdout_days=3, window_days=10),
        trainer=trainer_for(model),
        logged_prediction="prediction",
        logged_probability="score",
    )
    assert out.trained and out.decision in ("promoted", "rejected")
    assert user_trainer.CALLS == [7 * 300]
    challenger = reg.load_artifact(model.name, out.challenger)
    assert challenger.trained_by == "tests.run.trainer:fit"
    holdout = window[window.partition_date >= pd.Timestamp("2026-02-08").date()]
    expected = float((holdout.prediction == holdout.is_fraud).mean())
    assert out.comparison.n_holdout == len(holdout) == 900
    assert out.comparison.champion.accuracy == pytest.approx(expected)


def test_a_trainer_that_returns_no_classifier_is_named(tmp_path) -> None:
    model = _files_model(
        tmp_path, '    training: {entry_point: "tests.run.trainer:not_a_classifier"}\n'
    )
    reg = LocalModelRegistry(tmp_path / "registry")
    reg.ensure_initial(model.name, model.version, None, model.first_date)
    with pytest.raises(RetrainingError, match="returned object, which has no predict_proba"):
        retrain(
            model=model.name,
            registry=reg,
            window=_labeled([f"2026-02-{d:02d}" for d in range(1, 6)]),
            features=model.feature_names,
            target="is_fraud",
            trigger="t1",
            effective_from=pd.Timestamp("2026-02-11").date(),
            policy=RetrainPolicy(holdout_days=2, window_days=5),
            trainer=trainer_for(model),
            logged_prediction="prediction",
        )


# --------------------------------------------------------------------------- through Dagster


def test_retrain_job_of_a_files_model_skips_then_trains_with_its_trainer(
    tmp_path, home, monkeypatch
) -> None:
    path = write_model(tmp_path, ENTRY_POINT)
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    project = load_project(path)
    defs = build_definitions(project, home)
    job = defs.resolve_job_def("retrain_fraud")
    with dg.instance_for_test() as instance:
        # What retraining reads: the reference, the logs and the labels.
        ingest = [
            dg.AssetKey(["fraud", a]) for a in ("reference_data", "inference_logs", "ground_truth")
        ]
        ran = materialize_history(
            defs, instance, "fraud", DAYS, log_level="ERROR", asset_selection=ingest
        )
        assert ran.success
        # Six labelled days, seven to hold out by default: skipped, and the run succeeds.
        skipped = job.execute_in_process(instance=instance, raise_on_error=False)
        assert skipped.success
        # With a two-day holdout the model file's trainer trains a challenger.
        config = {"holdout_days": 2, "window_days": 6}
        trained = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"fraud_train_and_compare": {"config": config}}},
            raise_on_error=False,
        )
        assert trained.success
    rows = Warehouse(home.warehouse).query(
        "SELECT run_id, decision, reason, challenger, champion_value FROM retraining_runs"
    )
    by_run = {r.run_id: r for r in rows.itertuples(index=False)}
    first = by_run[skipped.run_id]
    assert first.decision == "skipped"
    assert first.reason == (
        "skipped: only 6 labelled day(s) (< 8: 7 to hold out and at least one to train on)"
    )
    second = by_run[trained.run_id]
    assert second.decision in ("promoted", "rejected"), second.reason
    registry = LocalModelRegistry(home.registry)
    assert registry.load_artifact("fraud", second.challenger).trained_by == (
        "tests.run.trainer:fit"
    )
    # The champion (no estimator) is judged by its logged predictions of the last two days.
    data = tmp_path / "data"
    logged = pd.concat(
        pd.read_parquet(data / "logs" / f"{d}.parquet").merge(
            pd.read_parquet(data / "labels" / f"{d}.parquet"), on="request_id"
        )
        for d in DAYS[-2:]
    )
    assert second.champion_value == pytest.approx((logged.prediction == logged.is_fraud).mean())

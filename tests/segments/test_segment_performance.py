"""Accuracy per segment on the simulator: a concept drift restricted to one country."""

from __future__ import annotations

from monitoring_assets.core.segment_performance import (
    accuracy_by_segment,
    accuracy_causes,
    judge_accuracy,
)
from monitoring_assets.core.segments import plan_segments
from monitoring_assets.core.simulator import Simulator
from tests.segments.helpers import day, segment_model

DAYS = 12
EVENT = 4


def _labelled(sim, d):
    logs = sim.inference_day(d)
    return logs.merge(sim.labels_day(d), on=sim.model_config.columns.id)


def test_a_concept_drift_in_one_country_drops_its_accuracy_and_ranks_it_first():
    concept = [
        {"kind": "concept_drift", "day": EVENT, "magnitude": 1.0, "segment": {"country": "DE"}}
    ]
    model = segment_model(days=DAYS, rows=1000, events=concept)
    sim = Simulator(model)
    ref = sim.validation()  # held-out reference rows, with the country column
    plans = plan_segments(ref, model)
    reference = accuracy_by_segment(ref, model, plans)
    firsts = fired_control = 0
    for i in range(DAYS):
        current = accuracy_by_segment(_labelled(sim, day(model, i)), model, plans)
        verdicts = {r.segment: r.dropped for r in judge_accuracy(model, current, reference)}
        if i >= EVENT:
            assert verdicts["country=DE"], (i, current["country=DE"], reference["country=DE"])
            firsts += accuracy_causes(current, reference)[0].segment == "country=DE"
            fired_control += sum(v for s, v in verdicts.items() if s != "country=DE")
        else:
            fired_control += sum(verdicts.values())
    assert firsts == DAYS - EVENT
    assert fired_control == 0

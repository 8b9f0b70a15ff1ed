"""Checkpoints written before the counters were renamed still load, under today's names."""

from __future__ import annotations

from monitoring_assets.streaming.state import Counters


def test_old_counter_names_load_under_the_new_ones():
    old = {"inputs": 2051, "outputs": 2050, "duplicates": 100, "joined": 2000, "evaluations": 4}
    c = Counters.from_dict(old)
    assert (c.input_messages, c.output_messages, c.duplicate_messages) == (2051, 2050, 100)
    assert c.joined == 2000 and c.evaluations == 4
    assert c.duplicate_events == 0 and c.dead_letter_reasons == {}  # not known then
    again = Counters.from_dict(c.as_dict())
    assert again == c


def test_stream_options_reach_the_settings():
    from monitoring_assets.cli import build_parser
    from monitoring_assets.streaming.cli import _settings

    args = build_parser().parse_args(
        ["stream", "--no-deliver", "--no-health", "--log-every-seconds", "5"]
    )
    s = _settings(args)
    assert s.deliver_alerts is False and s.health_port is None and s.log_every_seconds == 5
    args = build_parser().parse_args(["stream", "--health-host", "0.0.0.0"])
    s = _settings(args)
    assert s.health_host == "0.0.0.0" and s.health_port == 8080 and s.deliver_alerts

"""Typed settings of a stream consumer (``driftwarden stream``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitoring_assets.core.names import check_safe_name
from monitoring_assets.streaming.messages import DEFAULT_MAX_MESSAGE_BYTES
from monitoring_assets.streaming.windows import WindowSpec


class StreamSettings(BaseModel):
    """Everything ``driftwarden stream`` can be told; every field has a default.

    Evaluation runs every ``evaluate_every_events`` joined events and/or every
    ``evaluate_every_seconds`` of wall time (0 disables a trigger). A checkpoint
    (landing parts, then consumer state, then the offset commit) happens every
    ``commit_every_events`` events or ``commit_every_seconds``, whichever first.
    """

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: str = "127.0.0.1:9092"
    connect_timeout_seconds: float = Field(
        10.0, gt=0, description="how long the first broker contact may take before giving up"
    )
    group_id: str = Field("driftwarden-{model}", description="'{model}' is replaced")
    inputs_topic: str = "inference_inputs"
    outputs_topic: str = "inference_outputs"
    dead_letter_topic: str = "inference_dead_letter"
    windows: list[WindowSpec] = Field(
        default_factory=lambda: [WindowSpec(kind="count", size=10_000)]
    )
    evaluate_every_events: int = Field(5_000, ge=0)
    labelled_window_size: int = Field(
        10_000, ge=1, description="labelled events the realized metrics are measured on"
    )
    evaluate_every_seconds: float = Field(30.0, ge=0)
    commit_every_events: int = Field(50_000, ge=1)
    commit_every_seconds: float = Field(2.0, gt=0)
    batch_size: int = Field(5_000, ge=1, description="messages per consume() call")
    poll_timeout_seconds: float = Field(0.2, gt=0)
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, ge=64)
    join_timeout_seconds: float = Field(
        600.0, gt=0, description="wall-clock seconds an input/output waits for its other half"
    )
    dedup_days: int = Field(2, ge=1, description="days of request ids kept for de-duplication")
    close_grace_seconds: float = Field(
        900.0, ge=0, description="event time after midnight before a day counts as closed"
    )
    health_port: int | None = Field(
        8080, ge=0, le=65535, description="GET /health and /status; 0 picks a free port, null: off"
    )
    health_host: str = Field("127.0.0.1", description="0.0.0.0 to answer a Kubernetes probe")
    log_every_seconds: float = Field(
        30.0, ge=0, description="a progress summary line this often (0: never)"
    )
    session_timeout_ms: int = Field(10_000, ge=1000)
    consumer_config: dict[str, str | int | float | bool] = Field(default_factory=dict)
    producer_config: dict[str, str | int | float | bool] = Field(default_factory=dict)
    alerts: bool = Field(True, description="send window findings through the alert outbox")
    deliver_alerts: bool = Field(
        True,
        description="deliver the outbox from the consumer (under the lock the "
        "check_failure_alerts sensor delivers under); false: leave it to the sensor",
    )
    deliver_retry_seconds: float = Field(
        30.0, gt=0, description="how often messages left retrying are tried again"
    )
    metrics: bool = Field(True, description="write live window values to monitor_metrics")

    @model_validator(mode="after")
    def _some_trigger(self) -> StreamSettings:
        if not self.windows:
            raise ValueError("at least one window is needed")
        if self.evaluate_every_events == 0 and self.evaluate_every_seconds == 0:
            raise ValueError(
                "evaluate_every_events and evaluate_every_seconds are both 0: windows would "
                "never be evaluated"
            )
        return self

    def group_for(self, model: str) -> str:
        """The consumer group of ``model``; it names the checkpoint file, so it must be a
        safe name (:mod:`monitoring_assets.core.names`)."""
        return check_safe_name(self.group_id.replace("{model}", model), "group_id")

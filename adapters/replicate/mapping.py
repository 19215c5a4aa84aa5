"""Turn Replicate's prediction JSON into our `PredictionStatus` (shared by polling and webhooks)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core.domain.generation import PredictionState, PredictionStatus

logger = logging.getLogger(__name__)

_STATES = {
    "starting": PredictionState.STARTING,
    "processing": PredictionState.PROCESSING,
    "succeeded": PredictionState.SUCCEEDED,
    "failed": PredictionState.FAILED,
    "canceled": PredictionState.CANCELED,
}

# `aborted` means Replicate dropped the prediction before it ever ran (a deadline on their side).
# The user did not cancel anything, so for them it is a failure of the host, not a cancellation.
ABORTED_ERROR = "aborted by Replicate before it started"


def status_from_prediction(data: Mapping[str, object]) -> PredictionStatus:
    """Map a prediction object (API response or webhook body) to a `PredictionStatus`."""
    prediction_id = str(data.get("id") or "")
    raw_status = data.get("status")
    if raw_status == "aborted":
        return PredictionStatus(prediction_id, PredictionState.FAILED, error=ABORTED_ERROR)
    state = _STATES.get(raw_status) if isinstance(raw_status, str) else None
    if state is None:
        # A status this code does not know yet: keep treating it as running; the poller's
        # deadline bounds how long we wait on it.
        logger.warning("prediction %s has unknown status %r", prediction_id, raw_status)
        state = PredictionState.PROCESSING
    if state is PredictionState.SUCCEEDED:
        return PredictionStatus(
            prediction_id, state, output_url=output_url(data.get("output")), compute_seconds=predict_time(data)
        )
    if state is PredictionState.FAILED:
        error = data.get("error")
        return PredictionStatus(
            prediction_id, state, error=str(error) if error else "unknown error", compute_seconds=predict_time(data)
        )
    return PredictionStatus(prediction_id, state, compute_seconds=predict_time(data))


def predict_time(data: Mapping[str, object]) -> float | None:
    """The GPU seconds Replicate bills a finished prediction for (`metrics.predict_time`)."""
    metrics = data.get("metrics")
    seconds = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return float(seconds) if 0 <= seconds < 86_400 else None


def output_url(output: object) -> str | None:
    """MusicGen returns one URL; some model versions wrap outputs in a list: take the first."""
    if isinstance(output, str) and output:
        return output
    if isinstance(output, list):
        for item in output:
            if isinstance(item, str) and item:
                return item
    return None

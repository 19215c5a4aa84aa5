"""Replicate MusicGen backend: the generator, its poller and webhook verification."""

from adapters.replicate.generator import DEFAULT_BASE_URL, DEFAULT_MODEL_VARIANT, ReplicateGenerator
from adapters.replicate.poller import wait_for_prediction
from adapters.replicate.webhook import parse_webhook_secret, verify_replicate_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL_VARIANT",
    "ReplicateGenerator",
    "parse_webhook_secret",
    "verify_replicate_webhook",
    "wait_for_prediction",
]

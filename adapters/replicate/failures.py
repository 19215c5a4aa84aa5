"""Translate what the replicate client and httpx raise into the core's typed errors."""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import time

import httpx
from replicate.exceptions import ReplicateError

from core.errors import GenerationFailed, GenerationRateLimited

# `ReplicateError` keeps the status code but not the response headers, so the Retry-After of a
# 429 is caught by an httpx response hook and left here for the call that is waiting on it.
# A per-call dict (set before the request) is shared by reference, so it survives any context copy.
retry_after_box: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "replicate_retry_after", default=None
)


async def remember_retry_after(response: httpx.Response) -> None:
    """httpx response hook: note the Retry-After of a 429 for the current call."""
    if response.status_code != 429:
        return
    box = retry_after_box.get()
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if box is not None and seconds is not None:
        box["retry_after"] = seconds


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def from_replicate_error(
    error: ReplicateError, *, retry_after: float | None, default_retry_after: float
) -> GenerationFailed:
    """HTTP status → typed error: 429 rate limited, other 4xx final, 5xx worth retrying."""
    status = error.status or 0
    detail = f"HTTP {status}: {error.title or ''} {error.detail or ''}".strip()
    if status == 429:
        return GenerationRateLimited(
            retry_after_seconds=retry_after if retry_after is not None else default_retry_after, detail=detail
        )
    if status == 404:
        return GenerationFailed("not_found", detail, retryable=False)
    if status in (401, 403):
        return GenerationFailed("unauthorized", detail, retryable=False)
    if 400 <= status < 500:
        return GenerationFailed("rejected", detail, retryable=False)
    return GenerationFailed("server_error", detail, retryable=True)


def from_transport_error(error: Exception) -> GenerationFailed:
    """Connection problems and timeouts: nothing was decided on the other side, try later."""
    if isinstance(error, (httpx.TimeoutException, TimeoutError)):
        return GenerationFailed("timeout", type(error).__name__, retryable=True)
    return GenerationFailed("network_error", f"{type(error).__name__}: {error}", retryable=True)

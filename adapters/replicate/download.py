"""Fetch a prediction's output file, bounded in size and time."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx

from core.domain.numbers import whole_number
from core.errors import OutputUnavailable

logger = logging.getLogger(__name__)


async def fetch_bounded(http: httpx.AsyncClient, url: str, *, max_bytes: int, timeout_seconds: float) -> bytes:
    """GET `url` and return its body; `OutputUnavailable` on any failure or past `max_bytes`.

    The body is streamed so an oversized file is abandoned at the limit rather than read whole.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise OutputUnavailable(detail=f"unsupported output URL scheme: {urlsplit(url).scheme!r}")
    try:
        async with asyncio.timeout(timeout_seconds):
            async with http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise OutputUnavailable(detail=f"output download answered HTTP {response.status_code}")
                declared = whole_number(response.headers.get("Content-Length"))
                if declared is not None and declared > max_bytes:
                    raise OutputUnavailable(detail=f"output is {declared} bytes, limit {max_bytes}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise OutputUnavailable(detail=f"output exceeds {max_bytes} bytes")
    except TimeoutError as error:
        raise OutputUnavailable(detail=f"output download took longer than {timeout_seconds}s") from error
    except httpx.HTTPError as error:
        raise OutputUnavailable(detail=f"output download failed: {type(error).__name__}") from error
    if not body:
        raise OutputUnavailable(detail="output is empty")
    return bytes(body)

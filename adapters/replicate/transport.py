"""The Replicate clients' HTTP transport: httpx's interface (the SDK speaks httpx) over aiohttp's
connection pool and C parser.

Why: httpcore checks every pooled connection on every request through anyio; under a burst of
clips those checks and its pure-Python HTTP parsing took a sixth of the bot's CPU.
`httpx_aiohttp` does the translation; this only corrects how it names a failure: it calls every
lost or refused connection a connect *timeout*, where httpx's own transport says connect error.
"""

from __future__ import annotations

import httpx
from httpx_aiohttp import AiohttpTransport


class ReplicateTransport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.TimeoutException as error:
            cause = error.__cause__
            if cause is not None and not isinstance(cause, TimeoutError):  # aiohttp's timeouts are TimeoutErrors
                raise httpx.ConnectError(str(error) or type(cause).__name__, request=request) from cause
            raise

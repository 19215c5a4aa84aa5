"""PTB's HTTP transport on aiohttp (PTB's own `BaseRequest` extension point).

Why: the default transport (httpx/httpcore) walks its whole connection pool on every request
and asks each socket whether it is still alive, so its cost grows with the pool; measured here
(bench/telegram.py, 200 people at once) that dominated the bot's CPU. aiohttp's connector keeps
idle connections in a list per host. Every Bot API call still goes through python-telegram-bot
(encoding, decoding, errors, rate limiter): only the bytes on the wire travel differently.
"""

from __future__ import annotations

import json
import re

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")


def _redacted(text: str) -> str:
    return _TOKEN.sub("bot<token>", text)


def _seconds(value: object, default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value  # type: ignore[return-value]


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connection_pool_size: int = 32,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 30.0,
        media_write_timeout: float | None = 60.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.contains_files if request_data is not None else False
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        # aiohttp has no separate write timeout: an upload may take `write` on top of the wait.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=None if read is None or write is None else max(read, write),
        )
        try:
            async with self._session.request(method, url, data=self._body(request_data), timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError:
            raise TimedOut from None
        except aiohttp.ClientError as error:
            # Some aiohttp errors quote the URL, which carries the bot token: never let it out.
            raise NetworkError(f"aiohttp.{type(error).__name__}: {_redacted(str(error))}") from None

    @staticmethod
    def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
        if request_data is None:
            return None
        if not request_data.contains_files:
            # A JSON body (the Bot API takes one): `json.dumps` runs in C, while the form encoding
            # PTB's own transport sends quotes every character in Python (measured for the
            # 20-button keyboard reply: ~130 µs against ~25 µs).
            encoded = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            return aiohttp.BytesPayload(encoded, content_type="application/json")
        fields = request_data.json_parameters
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (filename, content, mime) in request_data.multipart_data.items():
            form.add_field(name, content, filename=filename, content_type=mime)
        return form

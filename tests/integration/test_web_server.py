"""The web server: health, the injected webhook hooks, limits, and its wiring in `bot`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
import pytest

from adapters.chat.catalogue import Catalogue
from adapters.web import WebHooks, WebServer
from bot.bootstrap import build_app
from bot.config import Settings, web_enabled
from core.errors import InvalidWebhook


class Recorder:
    """A hook that records what it was given and can be told to fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, dict[str, str]]] = []
        self.fail_with: Exception | None = None

    async def __call__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.calls.append(
            (
                body,
                {
                    "sig": headers.get("WEBHOOK-SIGNATURE", ""),
                    "ct": headers.get("content-type", ""),
                },
            )
        )
        if self.fail_with is not None:
            raise self.fail_with


async def healthy() -> bool:
    return True


async def broken() -> bool:
    raise ConnectionRefusedError("database is down")


@pytest.fixture
async def hooks() -> WebHooks:
    return WebHooks(health=healthy, text=Catalogue().text)


@pytest.fixture
async def web(hooks: WebHooks) -> AsyncIterator[tuple[WebServer, aiohttp.ClientSession]]:
    async with WebServer(hooks, "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
        yield server, http


async def test_stopping_gives_a_request_in_flight_a_bounded_time(hooks):
    """A stuck webhook cannot hold up the bot's stop (aiohttp would wait 60 s)."""
    entered = asyncio.Event()

    async def stuck() -> bool:
        entered.set()
        await asyncio.Event().wait()
        return True

    server = WebServer(WebHooks(health=stuck, text=Catalogue().text), "127.0.0.1", 0, shutdown_seconds=0.2)
    await server.start()
    async with aiohttp.ClientSession() as http:
        request = asyncio.ensure_future(http.get(f"{server.base_url}/healthz"))
        await entered.wait()
        started = time.monotonic()
        await server.stop()
        took = time.monotonic() - started
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
    assert took < 2.0


async def test_healthz_says_whether_the_database_answers(web, hooks):
    server, http = web
    async with http.get(f"{server.base_url}/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok", "database": "ok"})
    hooks.health = broken
    async with http.get(f"{server.base_url}/healthz") as response:
        assert (response.status, await response.json()) == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )


async def test_a_replicate_hook_gets_the_exact_body_and_the_headers(web, hooks):
    server, http = web
    url = f"{server.base_url}/webhooks/replicate"
    async with http.post(url, data=b"{}") as response:
        assert response.status == 404  # not plugged in yet

    hooks.on_replicate_webhook = recorder = Recorder()  # plugged in while the server runs
    body = b'{"id": "p1", "status": "succeeded"}  '
    headers = {"webhook-signature": "v1,abc", "Content-Type": "application/json"}
    async with http.post(url, data=body, headers=headers) as response:
        assert (response.status, await response.json()) == (200, {"ok": True})
    assert recorder.calls == [(body, {"sig": "v1,abc", "ct": "application/json"})]

    recorder.fail_with = InvalidWebhook("bad_signature")
    async with http.post(url, data=body) as response:
        assert (response.status, await response.json()) == (400, {"error": "bad_signature"})
    recorder.fail_with = RuntimeError("bug")
    async with http.post(url, data=body) as response:
        assert (response.status, await response.json()) == (500, {"error": "internal"})


async def test_the_telegram_hook_needs_the_secret_token_when_one_is_set(web, hooks):
    server, http = web
    url = f"{server.base_url}/webhooks/telegram"
    hooks.on_telegram_update = recorder = Recorder()
    hooks.telegram_secret = "s3cret"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
        async with http.post(url, data=b'{"update_id": 1}', headers=headers) as response:
            assert response.status == 403
    assert recorder.calls == []

    async with http.post(
        url, data=b'{"update_id": 1}', headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    ) as response:
        assert response.status == 200
    assert [body for body, _ in recorder.calls] == [b'{"update_id": 1}']


async def test_stripe_webhooks_without_payments_configured_ask_stripe_to_retry(web):
    server, http = web
    async with http.post(
        f"{server.base_url}/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"}
    ) as response:
        assert (response.status, await response.json()) == (
            503,
            {"error": "payments_not_configured"},
        )


async def test_wrong_methods_and_oversized_bodies_are_refused(web, hooks):
    server, http = web
    hooks.on_replicate_webhook = recorder = Recorder()
    async with http.get(f"{server.base_url}/webhooks/stripe") as response:
        assert response.status == 405
    async with http.post(f"{server.base_url}/webhooks/replicate", data=b"x" * (1024 * 1024 + 1)) as response:
        assert response.status == 413
    assert recorder.calls == []


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_web_server_runs_only_when_something_may_call_it():
    assert not web_enabled(settings())
    assert web_enabled(settings(stripe_webhook_secret="whsec_x"))
    assert web_enabled(settings(replicate_webhook_secret="whsec_x"))
    telegram = {"telegram_bot_token": "1:x", "telegram_webhook_secret": "s3cret"}
    assert web_enabled(settings(telegram_webhook_url="https://bot.example/webhooks/telegram", **telegram))
    assert web_enabled(settings(public_base_url="https://bot.example"))


async def test_the_bot_starts_the_web_server_with_its_database_behind_healthz(sqlite_url: str):
    quiet = await build_app(settings(database_url=sqlite_url, web_port=0))
    try:
        assert quiet.web is None  # no payment or webhook setting: no server
    finally:
        await quiet.close()
    app = await build_app(settings(database_url=sqlite_url, public_base_url="https://bot.example", web_port=0))
    server = app.web
    assert server is not None
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.base_url}/healthz") as response:
                assert response.status == 200
            await app.database.close()  # the database goes away
            async with http.get(f"{server.base_url}/healthz") as response:
                assert response.status == 503
    finally:
        await server.stop()
        await app.close()


async def test_the_runtime_runs_the_web_server_only_when_something_may_call_it(sqlite_url: str):
    for extra, expected in (({}, False), ({"stripe_webhook_secret": "whsec_x"}, True)):
        app = await build_app(settings(database_url=sqlite_url, web_port=0, **extra))
        try:
            servers = [c for c in app.components() if isinstance(c, WebServer)]  # what `App.running` starts
            assert len(servers) == int(expected)
            assert servers == ([app.web] if expected else [])
        finally:
            await app.close()

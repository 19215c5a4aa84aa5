"""GET /metrics: the bot as `bot.bootstrap` builds it, real jobs, holds, orders and wallets in
SQLite and PostgreSQL, scraped through the real web server on loopback; one read, no writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.web import WebServer
from bot.bootstrap import App, build_app
from bot.config import load_settings
from core.domain.identity import Identity
from core.services.server_wallets import Server
from tests.audio_samples import A4, C5, hum_clip

ANN = Identity("console", "ann")
BOB = Identity("console", "bob")
HUM = hum_clip([(A4, 0.75), (C5, 0.75)])


@dataclass
class Scraper:
    app: App
    server: WebServer
    http: aiohttp.ClientSession

    async def get(self, **headers: str) -> tuple[int, str, str]:
        async with self.http.get(f"{self.server.base_url}/metrics", headers=headers) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()

    async def samples(self, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        status, _, body = await self.get(**headers)
        assert status == 200, body
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }


@pytest.fixture
async def scraper(db_url: str, tmp_path: Path) -> AsyncIterator[Scraper]:
    settings = load_settings(
        _env_file=None,
        database_url=db_url,
        data_dir=str(tmp_path),
        intake_processes=0,
        public_base_url="https://bot.example",
        replicate_api_token=None,
        telegram_bot_token=None,
        discord_bot_token=None,
    )
    app = await build_app(settings)
    try:
        async with WebServer(app.web_hooks, "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
            yield Scraper(app, server, http)
    finally:
        await app.close()


def one(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_show_jobs_credits_wallets_and_orders_as_the_database_holds_them(scraper: Scraper):
    app = scraper.app
    # Jobs stay queued (the workers are not started): their credits are held.
    await app.generation.submit(ANN, HUM, "piano", 10, platform="console", reply_to={}, request_id="j1")
    await app.generation.submit(ANN, HUM, "piano", 5, platform="console", reply_to={}, request_id="j2")
    bobs = await app.generation.submit(BOB, HUM, "guitar", 10, platform="console", reply_to={}, request_id="j3")
    await app.generation.cancel(BOB, bobs.job_id)
    # One Stars order paid, one still open.
    paid = await app.payments.stars_invoice(ANN, "starter", request_id="i1")
    await app.payments.stars_paid(paid.payload, "charge-1", paid.amount, ANN)
    await app.payments.stars_invoice(BOB, "popular", request_id="i2")
    # A server wallet, filled from Ann's own credits.
    assert app.server_wallets is not None
    await app.server_wallets.deposit(Server("discord", "g1"), ANN, 3, actor_is_admin=True, request_id="d1")
    await app.rewards.support.open_ticket(BOB, "where is my clip?")

    writes = app.database.operations
    samples = await scraper.samples()
    assert app.database.operations == writes  # a scrape writes nothing

    assert one(samples, "musicgen_database_up") == 1
    jobs = {labels[0][1]: value for (name, labels), value in samples.items() if name == "musicgen_jobs"}
    assert jobs == {
        "queued": 2,
        "canceled": 1,
        "submitted": 0,
        "running": 0,
        "delivering": 0,
        "succeeded": 0,
        "failed": 0,
        "expired": 0,
    }
    assert 0 <= one(samples, "musicgen_job_queue_oldest_seconds") < 600
    assert one(samples, "musicgen_holds_open") == 2
    # Ann: 10 welcome + 100 bought - 3 held - 3 moved to the server; Bob: 10 (his hold released).
    assert one(samples, "musicgen_credits_available", kind="person") == 104 + 10
    assert one(samples, "musicgen_credits_held", kind="person") == 3
    assert one(samples, "musicgen_wallets", kind="person") == 2
    assert one(samples, "musicgen_wallets", kind="server") == 1
    assert one(samples, "musicgen_credits_available", kind="server") == 3
    assert one(samples, "musicgen_wallets_frozen", kind="person") == 0
    assert one(samples, "musicgen_orders", channel="stars", state="paid") == 1
    assert one(samples, "musicgen_orders", channel="stars", state="open") == 1
    assert one(samples, "musicgen_orders", channel="stripe", state="open") == 0  # present, at zero
    assert one(samples, "musicgen_support_tickets_open") == 1
    assert one(samples, "process_cpu_seconds_total") > 0
    assert await app.ledger.audit() == []


async def test_webhook_answers_are_counted_by_sender_and_status(scraper: Scraper):
    url = f"{scraper.server.base_url}/webhooks"
    for _ in range(2):
        async with scraper.http.post(f"{url}/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"}) as answer:
            assert answer.status == 503  # payments are not configured here
    async with scraper.http.post(f"{url}/telegram", data=b"{}") as answer:
        assert answer.status == 404
    async with scraper.http.post(f"{url}/nowhere", data=b"{}") as answer:
        assert answer.status == 404
    samples = await scraper.samples()
    assert one(samples, "musicgen_webhook_requests_total", source="stripe", status="503") == 2
    assert one(samples, "musicgen_webhook_requests_total", source="telegram", status="404") == 1
    assert not [key for key in samples if key[0] == "musicgen_webhook_requests_total" and "nowhere" in str(key)]


async def test_with_a_metrics_token_a_scrape_needs_it_as_a_bearer_token(scraper: Scraper):
    scraper.app.web_hooks.metrics_token = "m3trics-t0ken"
    status, _, _ = await scraper.get()
    assert status == 401
    status, _, _ = await scraper.get(Authorization="Bearer wrong")
    assert status == 401
    status, content_type, body = await scraper.get(Authorization="Bearer m3trics-t0ken")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert "musicgen_jobs" in body


async def test_openmetrics_when_asked_and_a_dead_database_is_a_gauge_not_a_failed_scrape(scraper: Scraper):
    status, content_type, body = await scraper.get(Accept="application/openmetrics-text; version=1.0.0")
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")

    await scraper.app.database.close()  # the database goes away
    samples = await scraper.samples()
    assert one(samples, "musicgen_database_up") == 0
    assert not [key for key in samples if key[0] == "musicgen_jobs"]
    assert one(samples, "process_cpu_seconds_total") > 0


async def test_the_settings_give_the_web_server_its_metrics_token(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        _env_file=None,
        database_url=sqlite_url,
        data_dir=str(tmp_path),
        intake_processes=0,
        metrics_token="m3trics-t0ken",
    )
    assert settings.metrics_token is not None and "m3trics" not in repr(settings)
    app = await build_app(settings)  # the wiring under test
    try:
        assert app.web_hooks.metrics_token == "m3trics-t0ken"
        assert app.web is not None  # the token alone starts the web server
    finally:
        await app.close()

"""The periodic reconcile (`bot.periodic.PaymentReconciler`): a paid Checkout session whose
webhook never arrived is fulfilled without an operator, once, whatever else happens at the same
time. The app as `bot.bootstrap` builds it, its real stripe client against the fake Stripe and
its web server on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from adapters.storage.ledger import SqlLedgerStore
from adapters.web import WebServer
from bot.bootstrap import App, build_app
from bot.config import Settings, load_settings
from bot.periodic import PaymentReconciler
from core.clock import SystemClock
from core.domain.identity import Identity
from core.domain.orders import CheckoutLink
from core.services.payments import PaymentService
from tests.fakes.stripe_fake import FakeStripe, signed_event

FAST = 0.02  # seconds between passes in these tests (15 minutes in the bot)


@dataclass
class Stack:
    app: App
    fake: FakeStripe
    server: WebServer
    http: aiohttp.ClientSession

    @property
    def payments(self) -> PaymentService:
        return self.app.payments

    @property
    def ledger(self) -> SqlLedgerStore:
        return self.app.ledger

    async def buy(self, name: str = "ann", pack: str = "popular") -> tuple[Identity, CheckoutLink, str]:
        """A purchase started as the conversation starts it; the Checkout session id too."""
        identity = Identity("console", name)
        link = await self.payments.buy(identity, pack, request_id="r1")
        order = await self.payments.store.get_order(link.order_id)
        assert order is not None and order.stripe_session_id is not None
        return identity, link, order.stripe_session_id

    async def wallet(self, identity: Identity) -> int:
        return (await self.app.wallets.person(identity)).wallet_id

    async def purchase_grants(self, order_id: str) -> int:
        sql = text("SELECT COUNT(*) FROM transfers WHERE reason = 'purchase' AND order_ref = :o")
        return int(await self.app.database.read(lambda c: c.execute(sql, {"o": order_id}).scalar() or 0))

    async def post(self, event: Mapping[str, Any]) -> int:
        """A Stripe webhook, signed, to the app's web server."""
        body, signature = signed_event(event, self.fake.webhook_secret)
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        async with self.http.post(f"{self.server.base_url}/webhooks/stripe", data=body, headers=headers) as response:
            return response.status


def app_settings(db_url: str, tmp_path: Path, fake: FakeStripe) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=db_url,
        data_dir=str(tmp_path),
        intake_processes=0,
        replicate_api_token=None,
        telegram_bot_token=None,
        discord_bot_token=None,
        stripe_secret_key=fake.api_key,
        stripe_webhook_secret=fake.webhook_secret,
        stripe_api_base=fake.base_url,
        public_base_url="https://bot.example",
        web_host="127.0.0.1",
        web_port=0,
    )


@contextlib.asynccontextmanager
async def app_with_stripe(db_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with FakeStripe() as fake:
        app = await build_app(app_settings(db_url, tmp_path, fake))  # SystemClock: the fake checks expiry
        try:
            assert app.web is not None
            async with app.web as server, aiohttp.ClientSession() as http:
                yield Stack(app, fake, server, http)
        finally:
            await app.close()


@pytest.fixture
async def stack(db_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with app_with_stripe(db_url, tmp_path) as s:
        yield s


def reconciler(stack: Stack) -> PaymentReconciler:
    return PaymentReconciler(stack.payments, SystemClock(), interval=FAST, lookback=dt.timedelta(hours=26))


async def passes(stack: Stack, count: int) -> None:
    """Wait until the fake Stripe has been asked for the session list `count` more times."""
    before = len(stack.fake.requests_to("GET", "/v1/checkout/sessions"))
    await stack.fake.wait_for(
        lambda fake: len(fake.requests_to("GET", "/v1/checkout/sessions")) >= before + count, within=10
    )


async def test_a_missed_webhook_is_fulfilled_by_the_running_reconciler_once(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    stack.fake.complete_session(session_id)  # paid; the webhook never arrives
    running = reconciler(stack)
    await running.start()
    try:
        await passes(stack, 4)  # the first pass grants; the next three find it done
    finally:
        await running.stop()

    assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
    assert await stack.purchase_grants(link.order_id) == 1
    assert await stack.ledger.audit() == []


async def test_an_unpaid_session_is_left_alone(stack: Stack):
    identity, link, _ = await stack.buy("ann")  # opened, never paid
    running = reconciler(stack)
    await running.start()
    try:
        await passes(stack, 2)
    finally:
        await running.stop()

    assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 0
    assert await stack.purchase_grants(link.order_id) == 0


async def test_a_failing_stripe_grants_nothing_and_the_next_pass_fulfils(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    stack.fake.complete_session(session_id)
    stack.fake.fail_next(500, count=3)  # one pass: the request and the client's two retries
    running = reconciler(stack)
    await running.start()
    try:
        await stack.fake.wait_for(lambda fake: not fake._failures, within=10)
        assert await stack.purchase_grants(link.order_id) == 0  # the failed pass changed nothing
        await passes(stack, 2)
    finally:
        await running.stop()

    assert await stack.purchase_grants(link.order_id) == 1
    assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
    assert await stack.ledger.audit() == []


async def test_the_webhook_and_reconcile_passes_racing_grant_once(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    completed = stack.fake.complete_session(session_id)
    since = SystemClock().now() - dt.timedelta(hours=1)
    await asyncio.gather(
        *[stack.post(completed) for _ in range(3)],
        *[stack.payments.reconcile(since) for _ in range(3)],
    )

    assert await stack.purchase_grants(link.order_id) == 1
    assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
    assert await stack.ledger.audit() == []


async def test_the_runtime_reconciles_only_when_stripe_can_be_asked(sqlite_url: str):
    stripe = {
        "stripe_secret_key": "sk_test_x",
        "stripe_webhook_secret": "whsec_x",
        "public_base_url": "https://bot.example",
    }
    for extra, expected in (({}, 0), ({"stripe_webhook_secret": "whsec_x"}, 0), (stripe, 1)):
        app = await build_app(Settings(_env_file=None, database_url=sqlite_url, web_port=0, **extra))  # type: ignore[arg-type]
        try:
            assert sum(isinstance(c, PaymentReconciler) for c in app.sweeps) == expected
            assert sum(isinstance(c, PaymentReconciler) for c in app.components()) == expected  # started
            reconcilers = [c for c in app.sweeps if isinstance(c, PaymentReconciler)]
            assert all(r.interval == 15 * 60 and r.lookback == dt.timedelta(hours=26) for r in reconcilers)
        finally:
            await app.close()

"""The periodic reconcile (`bot.periodic.PaymentReconciler`): a paid Checkout session whose
webhook never arrived is fulfilled without an operator, once, whatever else happens at the same
time. The app as `bot.bootstrap` builds it, its real stripe client against the fake Stripe and
its web server on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import build_app
from bot.config import Settings
from bot.periodic import PaymentReconciler
from core.clock import SystemClock
from tests.integration.payments_stack import Stack, payments_stack

FAST = 0.02  # seconds between passes in these tests (15 minutes in the bot)


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with payments_stack(db_url) as s:
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

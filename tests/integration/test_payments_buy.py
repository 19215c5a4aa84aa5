"""Starting a purchase (`PaymentService.buy`) and reconciling missed webhooks, against the fake
Stripe with the real client. The database does not matter here: SQLite only."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from adapters.stripe import StripeCheckout
from core.domain.identity import Identity
from core.domain.orders import OrderState
from core.errors import OperationFailed, PaymentsNotConfigured, UnknownPack
from tests.integration.payments_stack import Stack, payments_stack

ANN = Identity("console", "ann")


@pytest.fixture
async def stack(sqlite_url: str) -> AsyncIterator[Stack]:
    async with payments_stack(sqlite_url) as s:
        yield s


async def test_buy_writes_the_order_then_opens_checkout_at_the_server_price(stack: Stack):
    link = await stack.payments.buy(ANN, " Pro ", request_id="i1")

    order = await stack.order(link.order_id)
    assert (order.pack_id, order.credits, order.amount, order.currency) == (
        "pro",
        1000,
        3500,
        "usd",
    )
    assert (order.state, order.identity, order.channel.value) == (
        OrderState.OPEN,
        "console:ann",
        "stripe",
    )
    assert order.checkout_url == link.url and order.stripe_session_id in stack.fake.sessions
    assert (link.pack.pack_id, link.pack.credits, link.pack.price) == ("pro", 1000, 3500)
    [sent] = stack.fake.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["client_reference_id"] == sent.params["metadata"]["order_id"] == link.order_id
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "3500"
    assert order.expires_at is not None and int(sent.params["expires_at"]) == int(order.expires_at.timestamp())
    assert dt.timedelta(minutes=59) < order.expires_at - order.created_at <= dt.timedelta(minutes=60)


async def test_the_same_request_gives_the_same_order_and_session(stack: Stack):
    first = await stack.payments.buy(ANN, "popular", request_id="i1")
    again = await stack.payments.buy(ANN, "popular", request_id="i1")
    other = await stack.payments.buy(ANN, "popular", request_id="i2")

    assert again == first and other.order_id != first.order_id
    assert len(stack.fake.sessions) == 2
    assert await stack.count("SELECT COUNT(*) FROM orders") == 2


async def test_when_stripe_is_down_the_order_waits_and_the_same_request_later_succeeds(
    stack: Stack,
):
    stack.payments.gateway = no_retries = StripeCheckout(
        stack.fake.api_key, stack.fake.webhook_secret, stack.fake.base_url, max_network_retries=0
    )
    try:
        stack.fake.fail_next(503)
        with pytest.raises(OperationFailed) as caught:
            await stack.payments.buy(ANN, "popular", request_id="i1")
        assert caught.value.reason == "payment_provider_unavailable"
        [order_id] = [
            row
            for row in await stack.database.read(lambda c: c.exec_driver_sql("SELECT id FROM orders").scalars().all())
        ]
        assert (await stack.order(order_id)).checkout_url is None

        link = await stack.payments.buy(ANN, "popular", request_id="i1")  # the user taps again
    finally:
        await no_retries.aclose()
    assert link.order_id == order_id
    keys = {r.idempotency_key for r in stack.fake.requests_to("POST", "/v1/checkout/sessions")}
    assert keys == {f"checkout:{order_id}"}


async def test_an_unknown_pack_is_refused_with_the_list_and_changes_nothing(stack: Stack):
    with pytest.raises(UnknownPack) as caught:
        await stack.payments.buy(ANN, "mega", request_id="i1")
    assert caught.value.known == ("starter", "popular", "pro", "creator")
    assert stack.fake.requests == []
    assert await stack.count("SELECT COUNT(*) FROM orders") == 0


async def test_without_stripe_buying_says_payments_are_not_configured_and_changes_nothing(
    sqlite_url: str,
):
    async with payments_stack(sqlite_url, stripe_secret_key=None) as stack:
        assert not stack.payments.stripe_enabled
        with pytest.raises(PaymentsNotConfigured):
            await stack.payments.buy(ANN, "popular", request_id="i1")
        assert stack.fake.requests == []
        assert await stack.count("SELECT COUNT(*) FROM orders") == 0


async def test_reconcile_fulfils_a_paid_session_whose_webhook_was_missed_and_closes_expired_ones(
    stack: Stack,
):
    _, paid, paid_session = await stack.buy("ann", request="r1")
    _, expired, expired_session = await stack.buy("bob", request="r1")
    _, waiting, _ = await stack.buy("cat", request="r1")
    late = stack.fake.complete_session(paid_session)  # paid at Stripe; the webhook got lost
    stack.fake.expire_session(expired_session)
    stack.fake.seed_session(None, paid=True)  # a payment that is not ours
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)

    report = await stack.payments.reconcile(since)

    assert (report.sessions, report.fulfilled, report.closed, report.already) == (
        4,
        (paid.order_id,),
        (expired.order_id,),
        0,
    )
    assert [reason for _, reason in report.ignored] == ["no_order_id"]
    assert (await stack.order(waiting.order_id)).state == OrderState.OPEN
    again = await stack.payments.reconcile(since)
    assert (again.fulfilled, again.closed, again.already) == ((), (), 1)
    assert (await stack.post(late))[1]["outcome"] == "already_done"  # the webhook finally arrives
    assert await stack.purchase_grants(paid.order_id) == 1
    assert await stack.ledger.audit() == []


async def test_reconcile_without_stripe_is_refused(sqlite_url: str):
    async with payments_stack(sqlite_url, stripe_secret_key=None) as stack:
        with pytest.raises(PaymentsNotConfigured):
            await stack.payments.reconcile(dt.datetime.now(dt.UTC))


async def test_the_same_request_racing_itself_makes_one_order_and_one_session(stack: Stack):
    links = await asyncio.gather(*[stack.payments.buy(ANN, "popular", request_id="i1") for _ in range(5)])

    assert len({link.order_id for link in links}) == 1
    assert len({link.url for link in links}) == 1
    assert len(stack.fake.sessions) == 1
    assert await stack.count("SELECT COUNT(*) FROM orders") == 1

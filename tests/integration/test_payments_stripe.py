"""Stripe purchases end to end: /buy → Checkout (fake Stripe, real client) → signed webhook to
the real web server → credited once. Ledger-moving paths run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from adapters.storage import payments as payments_store
from core.domain.identity import Identity
from core.domain.orders import OrderState
from core.errors import WalletFrozen
from tests.e2e.console_kit import console_chat
from tests.fakes.stripe_fake import (
    checkout_completed_event,
    encode_event,
    sign_payload,
)
from tests.integration.payments_stack import Stack, payments_stack


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with payments_stack(db_url) as s:
        yield s


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[Stack]:
    """The same stack on SQLite only, for paths where the database does not matter."""
    async with payments_stack(sqlite_url) as s:
        yield s


async def paid_order(stack: Stack, name: str = "ann") -> tuple[int, str, str]:
    """Buy `popular` and deliver its paid webhook: (wallet id, order id, session id)."""
    identity, link, session_id = await stack.buy(name)
    status, body = await stack.post(stack.fake.complete_session(session_id))
    assert (status, body["outcome"]) == (200, "granted")
    return await stack.wallet(identity), link.order_id, session_id


# --- the happy path and its duplicates (both backends) ----------------------------------------


async def test_a_purchase_goes_from_buy_to_a_credited_wallet_and_sets_the_plan(stack: Stack):
    identity = Identity("console", "ann")
    chat = console_chat(stack.app, identity)

    reply = await chat.handle("/buy popular")

    [session] = stack.fake.sessions.values()
    assert session["url"] in reply and "400 credits for $15" in reply
    [sent] = stack.fake.requests_to("POST", "/v1/checkout/sessions")
    order_id = sent.params["client_reference_id"]
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "1500"
    assert sent.params["payment_intent_data"]["metadata"]["order_id"] == order_id
    assert sent.params["success_url"] == "https://bot.example/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    assert sent.idempotency_key == f"checkout:{order_id}"
    assert "Plan: free" in await chat.handle("/balance")

    status, body = await stack.post(stack.fake.complete_session(session["id"]))

    assert (status, body) == (200, {"received": True, "outcome": "granted"})
    balance = await stack.ledger.balance(await stack.wallet(identity))
    assert (balance.free, balance.paid) == (10, 400)
    order = await stack.order(order_id)
    assert (order.state, order.stripe_session_id) == (OrderState.PAID, session["id"])
    assert order.payment_intent_id == session["payment_intent"]
    assert "Plan: popular" in await chat.handle("/balance")
    assert await stack.ledger.audit() == []


async def test_the_same_event_five_times_in_a_row_and_five_at_once_grants_once(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    event = stack.fake.complete_session(session_id)
    outcomes = [(await stack.post(event))[1]["outcome"] for _ in range(5)]
    assert outcomes == ["granted"] + ["duplicate"] * 4

    other, other_link, other_session = await stack.buy("bob")
    event = stack.fake.complete_session(other_session)
    answers = await asyncio.gather(*[stack.post(event) for _ in range(5)])
    assert sorted(body["outcome"] for _, body in answers) == ["duplicate"] * 4 + ["granted"]
    assert {status for status, _ in answers} == {200}

    for who, order_id in ((identity, link.order_id), (other, other_link.order_id)):
        assert await stack.purchase_grants(order_id) == 1
        assert (await stack.ledger.balance(await stack.wallet(who))).paid == 400
    assert await stack.ledger.audit() == []


async def test_completed_after_async_payment_succeeded_grants_once(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    pending = stack.fake.complete_session(session_id, paid=False)  # a bank debit, still processing
    succeeded = stack.fake.async_payment_succeeded(session_id)
    session = stack.fake.sessions[session_id]
    # The succeeded event first, then the (late) completed ones: the unpaid one and a paid one.
    late_paid = checkout_completed_event(
        link.order_id, session_id=session_id, payment_intent_id=session["payment_intent"]
    )
    outcomes = [(await stack.post(e))[1]["outcome"] for e in (succeeded, pending, late_paid)]

    assert outcomes == ["granted", "already_done", "already_done"]
    assert await stack.purchase_grants(link.order_id) == 1
    assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
    assert await stack.ledger.audit() == []


async def test_completed_and_async_succeeded_racing_grant_once(stack: Stack):
    identity, link, session_id = await stack.buy("ann")
    completed = stack.fake.complete_session(session_id, paid=False)
    succeeded = stack.fake.async_payment_succeeded(session_id)
    paid_again = checkout_completed_event(
        link.order_id,
        session_id=session_id,
        payment_intent_id=stack.fake.sessions[session_id]["payment_intent"],
    )
    answers = await asyncio.gather(*[stack.post(e) for e in (completed, succeeded, paid_again) * 3])

    assert {status for status, _ in answers} == {200}
    assert [body["outcome"] for _, body in answers].count("granted") == 1
    assert await stack.purchase_grants(link.order_id) == 1
    assert await stack.ledger.audit() == []


async def test_a_partial_then_a_full_refund_take_back_only_the_unspent_credits(stack: Stack):
    wallet, order_id, session_id = await paid_order(stack)  # 10 free + 400 paid
    now = dt.datetime.now(dt.UTC)
    await stack.ledger.hold("hold:job1", wallet, 50, expires_at=now + dt.timedelta(minutes=5), now=now)
    await stack.ledger.capture("hold:job1", now=now)  # 10 free + 40 of the pack spent: 360 unspent

    half = stack.fake.refund(session_id, 750)
    status, body = await stack.post(half)
    assert (status, body["outcome"]) == (200, "taken_back")
    balance = await stack.ledger.balance(wallet)
    assert (balance.free, balance.paid) == (0, 160)  # half the pack (200 credits) taken back
    assert (await stack.order(order_id)).state == OrderState.PAID

    rest = stack.fake.refund(session_id)  # cumulative amount_refunded = 1500
    assert (await stack.post(rest))[1]["outcome"] == "taken_back"
    balance = await stack.ledger.balance(wallet)
    assert (balance.paid, balance.available) == (0, 0)  # the spent 40 stay spent, never below zero
    order = await stack.order(order_id)
    assert (order.state, order.amount_refunded) == (OrderState.REFUNDED, 1500)

    # Redeliveries, even out of order, change nothing.
    assert [(await stack.post(e))[1]["outcome"] for e in (half, rest)] == ["duplicate", "duplicate"]
    assert (await stack.ledger.balance(wallet)).available == 0
    assert await stack.ledger.audit() == []


async def test_a_dispute_takes_the_credits_back_and_freezes_the_wallet(stack: Stack):
    wallet, order_id, session_id = await paid_order(stack)

    status, body = await stack.post(stack.fake.dispute(session_id))

    assert (status, body["outcome"]) == (200, "taken_back")
    balance = await stack.ledger.balance(wallet)
    assert (balance.frozen, balance.paid, balance.free) == (True, 0, 10)
    assert (await stack.order(order_id)).state == OrderState.DISPUTED
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(WalletFrozen):
        await stack.ledger.hold("hold:after", wallet, 1, expires_at=now + dt.timedelta(minutes=5), now=now)
    assert await stack.ledger.audit() == []


# --- refusals and odd deliveries (SQLite: the database does not matter here) -----------------


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "10 minutes old", "not JSON", "no header"])
async def test_untrusted_webhooks_are_rejected_and_change_nothing(lite: Stack, case: str):
    identity, link, session_id = await lite.buy("ann")
    event = lite.fake.complete_session(session_id)
    body = encode_event(event)
    secret = lite.fake.webhook_secret
    signature: str | None = sign_payload(body, secret)
    expected = "bad_signature"
    if case == "tampered body":
        body = body.replace(b'"amount_total":1500', b'"amount_total":150000')
    elif case == "wrong secret":
        signature = sign_payload(body, "whsec_someone_else")
    elif case == "10 minutes old":
        signature = sign_payload(body, secret, timestamp=int(dt.datetime.now(dt.UTC).timestamp()) - 600)
        expected = "stale_timestamp"
    elif case == "not JSON":
        body = b"this is not json"
        signature = sign_payload(body, secret)
        expected = "malformed_body"
    else:
        signature, expected = None, "missing_signature"

    status, answer = await lite.post_raw(body, signature)

    assert (status, answer) == (400, {"error": expected})
    assert await lite.purchase_grants(link.order_id) == 0
    assert await lite.recorded_events() == 0
    assert (await lite.order(link.order_id)).state == OrderState.OPEN


async def test_an_event_for_an_unknown_order_is_acknowledged_and_ignored(lite: Stack):
    status, body = await lite.post(checkout_completed_event("ord_nobody_knows"))
    assert (status, body["outcome"]) == (200, "ignored")
    assert await lite.count("SELECT COUNT(*) FROM transfers WHERE reason = 'purchase'") == 0
    assert await lite.count("SELECT COUNT(*) FROM payment_events WHERE detail = 'unknown_order'") == 1


async def test_an_amount_mismatch_is_acknowledged_and_grants_nothing(lite: Stack):
    identity, link, session_id = await lite.buy("ann")
    cheap = checkout_completed_event(link.order_id, session_id=session_id, amount_total=150)

    status, body = await lite.post(cheap)

    assert (status, body["outcome"]) == (200, "ignored")
    assert await lite.purchase_grants(link.order_id) == 0
    assert (await lite.ledger.balance(await lite.wallet(identity))).paid == 0
    assert (await lite.order(link.order_id)).state == OrderState.OPEN
    # The real payment still lands.
    assert (await lite.post(lite.fake.complete_session(session_id)))[1]["outcome"] == "granted"
    assert await lite.ledger.audit() == []


async def test_an_error_while_applying_answers_500_and_leaves_nothing_half_applied(
    lite: Stack, monkeypatch: pytest.MonkeyPatch
):
    identity, link, session_id = await lite.buy("ann")
    event = lite.fake.complete_session(session_id)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")  # after the grant ran, before the order is updated

    monkeypatch.setattr(payments_store, "_update_order", broken)
    status, body = await lite.post(event)
    assert (status, body) == (500, {"error": "internal"})
    assert await lite.purchase_grants(link.order_id) == 0
    assert await lite.recorded_events() == 0
    assert (await lite.ledger.balance(await lite.wallet(identity))).paid == 0

    monkeypatch.undo()  # Stripe retries: now it goes through, once
    assert (await lite.post(event))[1]["outcome"] == "granted"
    assert await lite.purchase_grants(link.order_id) == 1
    assert await lite.ledger.audit() == []


async def test_the_checkout_pages_grant_nothing_whatever_the_query(lite: Stack):
    identity, link, session_id = await lite.buy("ann")
    lite.fake.complete_session(session_id)  # paid at Stripe, but the webhook has not arrived
    queries = [
        f"session_id={session_id}",
        f"session_id={session_id}&paid=true&credits=999999&order_id={link.order_id}",
        "session_id=<script>alert(1)</script>",
        "",
    ]
    for path in ("/checkout/success", "/checkout/cancel"):
        for query in queries:
            async with lite.http.get(f"{lite.server.base_url}{path}?{query}") as response:
                page = await response.text()
                assert response.status == 200 and response.content_type == "text/html"
                assert session_id not in page and "<script>" not in page

    assert await lite.purchase_grants(link.order_id) == 0
    assert (await lite.ledger.balance(await lite.wallet(identity))).paid == 0
    assert (await lite.order(link.order_id)).state == OrderState.OPEN


async def test_an_expired_session_closes_its_order_and_a_failed_delayed_payment_too(lite: Stack):
    _, expiring, expiring_session = await lite.buy("ann", request="r1")
    _, failing, failing_session = await lite.buy("ann", request="r2")
    lite.fake.complete_session(failing_session, paid=False)

    assert (await lite.post(lite.fake.expire_session(expiring_session)))[1]["outcome"] == "closed"
    assert (await lite.post(lite.fake.async_payment_failed(failing_session)))[1]["outcome"] == "closed"

    for link in (expiring, failing):
        assert (await lite.order(link.order_id)).state == OrderState.CLOSED
        assert await lite.purchase_grants(link.order_id) == 0


async def test_a_refund_that_arrives_before_the_payment_is_applied_when_the_payment_lands(
    lite: Stack,
):
    identity, link, session_id = await lite.buy("ann")
    completed = lite.fake.complete_session(session_id)
    refund = lite.fake.refund(session_id)  # no order id on the charge, no payment intent recorded yet

    status, body = await lite.post(refund)
    assert (status, body["outcome"]) == (200, "noted")  # found through Stripe's payment intent
    assert lite.fake.requests_to("GET", f"/v1/payment_intents/{completed['data']['object']['payment_intent']}")

    assert (await lite.post(completed))[1]["outcome"] == "granted"
    balance = await lite.ledger.balance(await lite.wallet(identity))
    assert (balance.paid, balance.free) == (0, 10)
    assert (await lite.order(link.order_id)).state == OrderState.REFUNDED
    assert await lite.ledger.audit() == []


async def test_a_refund_for_a_charge_we_do_not_know_is_acknowledged(lite: Stack):
    session = lite.fake.seed_session(None, paid=True)  # someone else's payment on the account
    status, body = await lite.post(lite.fake.refund(session["id"]))
    assert (status, body["outcome"]) == (200, "ignored")
    assert await lite.count("SELECT COUNT(*) FROM transfers WHERE reason = 'refund'") == 0


async def test_when_stripe_cannot_say_which_order_a_refund_is_for_the_webhook_fails_for_a_retry(
    lite: Stack,
):
    identity, link, session_id = await lite.buy("ann")
    lite.fake.complete_session(session_id)
    lite.fake.fail_next(400, error_type="invalid_request_error")  # looking up the payment intent fails

    status, _ = await lite.post(lite.fake.refund(session_id))

    assert status == 500
    assert await lite.recorded_events() == 0


async def test_refunds_racing_each_other_end_where_they_would_in_order(stack: Stack):
    wallet, order_id, session_id = await paid_order(stack)
    now = dt.datetime.now(dt.UTC)
    await stack.ledger.hold("hold:job1", wallet, 50, expires_at=now + dt.timedelta(minutes=5), now=now)
    await stack.ledger.capture("hold:job1", now=now)
    half, rest = stack.fake.refund(session_id, 750), stack.fake.refund(session_id)

    answers = await asyncio.gather(*[stack.post(e) for e in (half, rest, half, rest, rest, half)])

    assert {status for status, _ in answers} == {200}
    assert [body["outcome"] for _, body in answers].count("duplicate") == 4
    balance = await stack.ledger.balance(wallet)
    assert (balance.paid, balance.available) == (0, 0)
    taken = await stack.count(
        "SELECT SUM(amount) FROM transfers WHERE reason = 'refund' AND order_ref = :o", o=order_id
    )
    assert taken == 360  # the unspent part of the pack, whichever refund came first
    assert (await stack.order(order_id)).state == OrderState.REFUNDED
    assert await stack.ledger.audit() == []


async def test_a_dispute_delivered_three_times_at_once_takes_back_once(stack: Stack):
    wallet, order_id, session_id = await paid_order(stack)
    dispute = stack.fake.dispute(session_id)

    answers = await asyncio.gather(*[stack.post(dispute) for _ in range(3)])

    assert sorted(body["outcome"] for _, body in answers) == [
        "duplicate",
        "duplicate",
        "taken_back",
    ]
    taken = await stack.count(
        "SELECT SUM(amount) FROM transfers WHERE reason = 'dispute' AND order_ref = :o", o=order_id
    )
    assert taken == 400
    assert (await stack.ledger.balance(wallet)).frozen
    assert await stack.ledger.audit() == []

"""Automatic top-up on SQLite and PostgreSQL, through the real `stripe` client against the loopback
FakeStripe (Customers, saved cards, off-session PaymentIntents) and the real webhook endpoint."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.bootstrap import build_app
from core.domain.identity import Identity
from core.domain.ledger import Reason
from core.domain.top_ups import AutoState, Verdict
from tests.integration.payments_stack import Stack, payments_stack, stack_settings

ANN = Identity("console", "ann")


async def opted_in(stack: Stack, line: str = "below 50") -> int:
    """`/autotopup pro below 50`, its first purchase paid, and both webhooks delivered; then the
    wallet is brought down to 5 credits. Returns the wallet id."""
    top_ups = stack.app.top_ups
    assert top_ups is not None and top_ups.enabled
    setup = await top_ups.enable(ANN, "pro", line, request_id="r1")
    assert setup.link is not None
    order = await stack.order(setup.link.order_id)
    session = stack.fake.sessions[order.stripe_session_id or ""]
    assert session["customer"] == setup.auto.customer_id
    assert (
        stack.fake.requests_to("POST", "/v1/checkout/sessions")[-1].params["payment_intent_data"]["setup_future_usage"]
        == "off_session"
    )
    assert (await stack.post(stack.fake.complete_session(session["id"])))[0] == 200
    assert (await stack.post(stack.fake.intent_succeeded(stack.fake.session_intent(session["id"]))))[0] == 200
    wallet = await stack.wallet(ANN)
    auto = await top_ups.store.auto_top_up(wallet)
    assert auto is not None and auto.state == AutoState.ON and auto.payment_method_id is not None
    available = (await stack.ledger.balance(wallet)).available
    await stack.ledger.take("test:spend", wallet, available - 5, Reason.OPERATOR_TAKE, now=stack.app.clock.now())
    return wallet


async def test_top_up_two_captures_at_once_make_one_off_session_payment_granted_once(db_url):
    async with payments_stack(db_url) as stack:
        wallet = await opted_in(stack)
        top_ups = stack.app.top_ups
        assert top_ups is not None
        verdicts = await asyncio.gather(
            top_ups.after_capture(wallet, "hold:a"), top_ups.after_capture(wallet, "hold:b")
        )
        assert sorted(verdicts) == [Verdict.CHARGE, Verdict.NOTHING]
        (intent,) = stack.fake.off_session_intents()
        (call,) = stack.fake.requests_to("POST", "/v1/payment_intents")
        assert call.idempotency_key in (f"topup:{wallet}:hold:a", f"topup:{wallet}:hold:b")
        assert (call.params["off_session"], call.params["confirm"]) == ("true", "true")

        assert tuple(vars(await stack.stripe.payment_intent(intent["id"])).values()) == (
            intent["id"],
            "succeeded",
            3500,
            "usd",
        )  # what the sweep asks when a webhook is late
        succeeded = stack.fake.intent_succeeded(intent["id"])
        for _ in range(2):  # delivered twice
            assert (await stack.post(succeeded))[0] == 200
        assert (await stack.post(stack.fake.intent_succeeded(intent["id"])))[0] == 200  # another event id
        assert (await stack.ledger.balance(wallet)).available == 5 + 1000
        order_id = intent["metadata"]["order_id"]
        assert await stack.purchase_grants(order_id) == 1
        assert await stack.count("SELECT COUNT(*) FROM top_ups WHERE state = 'succeeded' AND in_flight IS NULL") == 1
        assert await stack.ledger.audit() == []


@pytest.mark.parametrize("code", ["card_declined", "authentication_required"])
async def test_top_up_declined_card_pauses_and_offers_a_checkout_for_the_customer(db_url, code):
    async with payments_stack(db_url) as stack:
        wallet = await opted_in(stack)
        top_ups = stack.app.top_ups
        assert top_ups is not None
        stack.fake.card_outcome = code
        sessions_before = len(stack.fake.sessions)
        assert await top_ups.after_capture(wallet, "hold:a") == Verdict.CHARGE
        auto = await top_ups.store.auto_top_up(wallet)
        assert auto is not None and (auto.state, auto.paused_reason) == (AutoState.PAUSED, code)
        (refused,) = stack.fake.off_session_intents()  # Stripe's error carried the intent
        assert await stack.count("SELECT COUNT(*) FROM top_ups WHERE payment_intent_id = :pi", pi=refused["id"]) == 1
        assert len(stack.fake.sessions) == sessions_before + 1  # the link sent with the pause
        newest = stack.fake.requests_to("POST", "/v1/checkout/sessions")[-1].params
        assert newest["customer"] == auto.customer_id
        assert await stack.count("SELECT COUNT(*) FROM orders WHERE state = 'closed'") == 1
        assert await top_ups.after_capture(wallet, "hold:b") == Verdict.NOTHING  # paused: no charge


@pytest.mark.postgres
async def test_top_up_two_app_instances_on_one_postgres_make_one_payment(postgres_url, tmp_path):
    async with payments_stack(postgres_url) as stack:
        wallet = await opted_in(stack)
        settings = stack_settings(stack.fake, postgres_url, str(tmp_path))
        async with contextlib.AsyncExitStack() as apps:
            other = await build_app(settings)
            apps.push_async_callback(other.close)
            assert stack.app.top_ups is not None and other.top_ups is not None
            verdicts = await asyncio.gather(
                *(
                    instance.after_capture(wallet, f"hold:{n}")
                    for n, instance in enumerate([stack.app.top_ups, other.top_ups] * 3)
                )
            )
        assert verdicts.count(Verdict.CHARGE) == 1
        assert len(stack.fake.off_session_intents()) == 1
        assert await stack.count("SELECT COUNT(*) FROM top_ups") == 1

"""Pricing experiments against the Stripe fake (real client, real signatures, the real web
server): Checkout's `price_data` is the arm's, a webhook that arrives after the experiment
stopped grants the arm's credits exactly once (repeated and concurrent deliveries), and arms
survive a restart and are shared by linked platforms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.domain.identity import Identity
from tests.integration.payments_stack import Stack, payments_stack

DEFINITION = "dec a=popular:450:1400,pro:1000:3500 b=popular:520:1300 c:2=popular:480:1450"
TERMS = {"a": (450, 1400), "b": (520, 1300), "c": (480, 1450)}


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with payments_stack(db_url) as s:
        yield s


async def arm_of(stack: Stack, who: str) -> str | None:
    return (await stack.payments.terms_for(await stack.wallet(Identity.parse(who)))).arm


async def test_experiment_checkout_uses_the_arms_price_data_and_a_webhook_after_stop_grants_it_once(stack: Stack):
    await stack.app.experiments.start(None, DEFINITION.split())
    identity, link, session_id = await stack.buy("ann", "popular")
    arm = await arm_of(stack, "console:ann")
    assert arm in TERMS
    credits, cents = TERMS[arm]

    [sent] = stack.fake.requests_to("POST", "/v1/checkout/sessions")
    price_data = sent.params["line_items"][0]["price_data"]
    assert (price_data["unit_amount"], price_data["currency"]) == (str(cents), "usd")
    assert price_data["product_data"]["name"] == f"Popular pack: {credits} credits"
    assert (link.pack.credits, link.pack.price) == (credits, cents)

    assert await stack.app.experiments.stop(None) == "dec"
    assert await arm_of(stack, "console:ann") is None  # everyone is back on the default packs

    event = stack.fake.complete_session(session_id)
    first = await stack.post(event)
    again = await stack.post(event)
    racing = await asyncio.gather(*[stack.post(event) for _ in range(4)])
    assert first == (200, {"received": True, "outcome": "granted"})
    assert [body["outcome"] for _, body in [again, *racing]] == ["duplicate"] * 5

    balance = await stack.ledger.balance(await stack.wallet(identity))
    assert (balance.free, balance.paid) == (10, credits)  # the arm's credits, after the stop
    assert await stack.purchase_grants(link.order_id) == 1
    paid = "SELECT COUNT(*) FROM offer_events WHERE kind = 'paid' AND experiment = 'dec' AND arm = :arm"
    assert await stack.count(paid, arm=arm) == 1
    assert await stack.ledger.audit() == []


async def test_experiment_arms_survive_a_restart_and_linked_platforms_share_them(db_url: str):
    people = [f"console:p{n}" for n in range(8)]
    async with payments_stack(db_url) as stack:
        await stack.app.experiments.start(None, DEFINITION.split())
        await stack.wallet(Identity.parse("telegram:1"))
        code = await stack.app.rewards.linking.start(Identity.parse("telegram:1"))
        await stack.app.rewards.linking.redeem(Identity.parse("discord:1"), code.code)
        before = {who: await arm_of(stack, who) for who in [*people, "telegram:1"]}
        assert await arm_of(stack, "discord:1") == before["telegram:1"]
        assert len(set(before.values())) > 1 and None not in before.values()

    async with payments_stack(db_url) as restarted:
        after = {who: await arm_of(restarted, who) for who in [*people, "telegram:1"]}
        assert after == before
        assert await arm_of(restarted, "discord:1") == before["telegram:1"]
        _, link, _ = await restarted.buy("p0", "popular", "after-restart")
        assert (link.pack.credits, link.pack.price) == TERMS[before["console:p0"]]  # type: ignore[index]

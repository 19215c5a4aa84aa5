"""Discord store purchases (entitlements) through the conversation, on the in-memory stores:
granted once per entitlement id whatever the number and order of deliveries, taken back when
deleted (never below zero, the rest recorded), recorded as a "discord" order."""

from __future__ import annotations

import asyncio

from core.domain.ledger import Reason
from core.domain.orders import Channel, OrderState
from tests.unit.conversation_kit import Kit

WHO = "discord:7"
SKU = "1300000000000000001"


async def entitlement(bot: Kit, eid: str, *, deleted: bool = False, sku: str = SKU) -> str | None:
    reply = await bot.conversation.entitlement(bot.request(WHO), eid, sku, deleted=deleted)
    return None if reply is None else reply.text


def orders(bot: Kit) -> list:
    return list(bot.memory.world.orders.values())


async def test_entitlement_delivered_twice_or_at_once_grants_the_pack_once(make):
    bot = make(discord_skus=f"pro={SKU}")
    first = await entitlement(bot, "e1")
    assert first == "Thank you! +1,000 credits from your Discord purchase. You now have 1010."
    assert await entitlement(bot, "e1") == ""  # again: silent, nothing moves
    assert await bot.available(WHO) == 1010
    together = await asyncio.gather(*(entitlement(bot, "e2") for _ in range(3)))
    assert sorted(t or "" for t in together)[-1].startswith("Thank you! +1,000") and together.count("") == 2
    assert await bot.available(WHO) == 2010
    (one, two) = orders(bot)
    assert (one.channel, one.state, one.amount, one.currency) == (Channel.DISCORD, OrderState.PAID, 3500, "usd")


async def test_entitlement_deleted_takes_the_credits_back_to_zero_and_records_the_rest(make):
    bot = make(discord_skus=f"pro={SKU}")
    await entitlement(bot, "e1")
    wallet = bot.memory.world.wallet_of(bot.memory.world.identities[WHO])
    await bot.memory.ledger.take("spent", wallet, 1005, Reason.OPERATOR_TAKE, now=bot.clock.now())
    assert await entitlement(bot, "e1", deleted=True) == ""
    assert await entitlement(bot, "e1", deleted=True) == ""  # twice: once
    assert await bot.available(WHO) == 0
    (order,) = orders(bot)
    assert (order.state, order.credits_unrecovered) == (OrderState.REFUNDED, 995)


async def test_entitlement_deleted_before_it_was_created_ends_with_nothing_granted(make):
    bot = make(discord_skus=f"pro={SKU}")
    await entitlement(bot, "e1", deleted=True)
    await entitlement(bot, "e1")
    await entitlement(bot, "e1")
    assert await bot.available(WHO) == 10
    (order,) = orders(bot)
    assert order.state == OrderState.REFUNDED


async def test_entitlement_for_an_unknown_sku_or_without_skus_is_left_alone(make):
    with_skus = make(discord_skus=f"pro={SKU}")
    assert await entitlement(with_skus, "e1", sku="999") is None
    without = make()
    assert await entitlement(without, "e1") is None
    assert orders(with_skus) == [] and orders(without) == []

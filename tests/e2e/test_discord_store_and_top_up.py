"""Paying inside Discord, end to end: the real client against the fake Discord. A pack with a SKU
gets Discord's premium button; the entitlement (a gateway event, delivered twice, or carried by
the next interaction) grants the pack once, is consumed, and is thanked for once; a deleted one
takes the credits back. And `/autotopup` from Discord's slash command."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from core.domain.ledger import Reason
from tests.e2e.discord_kit import ALICE, BOB, World, discord_world, identity
from tests.fakes.discord_harness import option

SKU = 1_300_000_000_000_000_001


def buttons(message: dict) -> list[dict]:
    return [c for row in message.get("components", []) for c in row["components"]]


async def thanks_sent(world: World, user: dict) -> list[str]:
    channel = world.fake.dm_channels.get(int(user["id"]))
    if channel is None:
        return []
    return [m["content"] for m in world.fake.channel_messages(int(channel["id"])) if "Discord purchase" in m["content"]]


async def order_state(world: World) -> str:
    database = world.app.database
    assert database is not None
    return str(await database.read(lambda c: c.execute(text("SELECT state FROM orders")).scalar()))


async def wait_for_state(world: World, state: str) -> None:
    for _ in range(200):
        if await order_state(world) == state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the order never became {state}")


async def consumed(world: World, times: int) -> None:
    await world.request(
        lambda r: len(world.fake.requests_to("POST", r"/applications/\d+/entitlements/\d+/consume")) >= times
    )


async def test_entitlement_for_a_pack_sku_is_granted_once_consumed_and_taken_back_when_deleted(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True, discord_skus=f"pro={SKU}") as world:
        listing = world.command("buy", [], ALICE, guild=False)
        world.dispatch(listing)
        answer = (await world.callback(listing)).json["data"]
        premium = [(b["style"], str(b["sku_id"]), b.get("label")) for b in buttons(answer) if b.get("sku_id")]
        assert premium == [(6, str(SKU), None)]
        assert answer["content"].count("Pro: 1,000 credits") == 1  # one line, sold two ways

        entitlement = world.fake.create_entitlement(ALICE, SKU)
        for _ in range(2):  # the gateway delivers it twice
            world.harness.dispatch_event(world.bot, "ENTITLEMENT_CREATE", dict(entitlement))
        await consumed(world, 2)
        await world.fake.wait_until(
            lambda: len(world.fake.channel_messages(int(world.fake.dm_channels[int(ALICE["id"])]["id"]))) >= 1
        )
        assert await world.available(ALICE) == 10 + 1000
        assert world.fake.consumed() == [int(entitlement["id"])]
        assert await thanks_sent(world, ALICE) == [
            "Thank you! +1,000 credits from your Discord purchase. You now have 1010."
        ]

        # Spend most of it, then Discord refunds: the wallet goes to zero, never below, and the
        # rest is recorded on the order for the operator.
        wallet = (await world.app.wallets.person(identity(ALICE))).wallet_id
        await world.app.ledger.take("test:spend", wallet, 1000, Reason.OPERATOR_TAKE, now=world.app.clock.now())
        world.harness.dispatch_event(world.bot, "ENTITLEMENT_DELETE", world.fake.delete_entitlement(entitlement["id"]))
        await wait_for_state(world, "refunded")
        assert await world.available(ALICE) == 0
        assert world.app.database is not None
        row = await world.app.database.read(
            lambda c: c.execute(text("SELECT channel, credits_unrecovered FROM orders")).one()
        )
        assert tuple(row) == ("discord", 990)
        assert await world.audit() == []
        world.assert_no_errors()


async def test_entitlement_carried_by_an_interaction_is_granted_when_its_event_was_missed(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, discord_skus=f"pro={SKU}") as world:
        entitlement = world.fake.create_entitlement(BOB, SKU)
        balance = world.command("balance", [], BOB, guild=False)
        balance["entitlements"] = [entitlement]
        world.dispatch(balance)
        await consumed(world, 1)
        await world.callback(balance)
        assert await world.available(BOB) == 10 + 1000
        assert world.fake.consumed() == [int(entitlement["id"])]
        world.assert_no_errors()


async def test_top_up_slash_command_on_discord_answers_with_a_checkout_that_saves_the_card(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True) as world:
        command = world.command("autotopup", [option("pack", "pro"), option("below", "50")], ALICE, guild=False)
        world.dispatch(command)
        answer = (await world.webhook(command)).json
        assert "the Pro pack (1,000 credits for $35) whenever you drop below 50 credits" in answer["content"]
        (pay,) = buttons(answer)
        assert world.stripe is not None and pay["url"].startswith(world.stripe.base_url)
        (session,) = world.stripe.sessions.values()
        assert session["customer"] in world.stripe.customers
        off = world.command("autotopup", [option("pack", "off")], ALICE, guild=False)
        world.dispatch(off)
        assert "Automatic top-up is off" in await world.reply_text(off)
        world.assert_no_errors()

"""/link joins a Discord and a Telegram identity into one wallet; /balance shows the next daily
credit and the jobs running; /history lists the last clips."""

from __future__ import annotations

import re

import pytest

from core.domain.identity import Identity
from tests.e2e.discord_kit import ALICE, World, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL
from tests.fakes.discord_harness import option

TELEGRAM = Identity("telegram", "555000111")


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path) as w:
        yield w


async def ask(world: World, name: str, options: list, user: dict, *, guild: bool = False) -> dict:
    payload = world.command(name, options, user, guild=guild)
    world.dispatch(payload)
    callback = await world.callback(payload)
    if callback.json["type"] == 4:
        return callback.json["data"]
    followup = await world.webhook(payload)
    return {**followup.json, "flags": followup.response["flags"]}


async def test_a_discord_code_redeemed_on_telegram_makes_one_wallet(world: World) -> None:
    await world.app.wallets.start(TELEGRAM)  # 10 welcome credits on Telegram
    got = await ask(world, "link", [], ALICE)  # and 10 on Discord (the welcome comes first)
    assert got["flags"] == FLAG_EPHEMERAL
    code = re.search(r"Your link code: (\S+)", got["content"]).group(1)

    result = await world.app.rewards.linking.redeem(TELEGRAM, code)
    assert result.balance.available == 20
    assert await world.available(ALICE) == 20
    assert (await world.app.wallets.balance(TELEGRAM)).balance.available == 20
    assert await world.audit() == []
    world.assert_no_errors()


async def test_a_telegram_code_redeemed_on_discord_and_a_wrong_code(world: World) -> None:
    await world.app.wallets.start(TELEGRAM)
    await ask(world, "balance", [], ALICE)  # Discord's welcome
    wrong = await ask(world, "link", [option("code", "NOPE-123")], ALICE)
    assert wrong["content"].startswith("That link code is unknown, used or expired.")
    assert wrong["flags"] == FLAG_EPHEMERAL
    assert await world.available(ALICE) == 10

    made = await world.app.rewards.linking.start(TELEGRAM)
    linked = await ask(world, "link", [option("code", made.code)], ALICE, guild=True)
    assert linked["content"].startswith("Linked!")
    assert "20 credits" in linked["content"]
    assert await world.available(ALICE) == 20
    assert (await world.app.wallets.balance(TELEGRAM)).balance.available == 20
    assert identity(ALICE) != TELEGRAM
    assert await world.audit() == []
    world.assert_no_errors()


async def test_balance_shows_the_next_daily_credit_and_history_the_last_clips(world: World) -> None:
    first = await ask(world, "balance", [], ALICE)
    assert "Next free daily credit: now (use /daily)" in first["content"]
    await ask(world, "daily", [], ALICE)
    after = await ask(world, "balance", [], ALICE)
    assert re.search(r"Next free daily credit: <t:\d+:R>", after["content"])

    payload = world.generate(ALICE, guild=False)
    world.dispatch(payload)
    await world.followup_with_file(payload)
    await world.idle()
    history = await ask(world, "history", [], ALICE)
    assert "Your last clips:" in history["content"]
    assert "+1 daily credit" in history["content"]
    assert await world.audit() == []
    world.assert_no_errors()

"""A referral payout announced on Discord through the fake Discord API: when the referred
member's first clip is delivered, both members get one DM saying so."""

from __future__ import annotations

import re

import pytest

from bot.periodic import ReferralSweeper
from tests.e2e.discord_kit import ALICE, BOB, World, discord_world
from tests.fakes.discord_harness import option


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, new_account_cooldown_minutes=0) as w:
        yield w


async def ask(world: World, name: str, options: list, user: dict) -> str:
    payload = world.command(name, options, user, guild=False)
    world.dispatch(payload)
    callback = await world.callback(payload)
    if callback.json["type"] == 4:
        return str(callback.json["data"]["content"])
    return str((await world.webhook(payload)).json["content"])


def dms_to(world: World, user: dict) -> list[str]:
    channel = world.fake.dm_channels.get(int(user["id"]))
    if channel is None:
        return []
    return [
        str(r.json["content"])
        for r in world.fake.requests_to("POST", rf"/channels/{channel['id']}/messages")
        if r.json and "referral" in str(r.json.get("content", ""))
    ]


async def test_both_members_get_one_dm_when_the_referred_members_first_clip_is_delivered(world: World) -> None:
    code = re.search(r"Your referral code: (\S+)", await ask(world, "refer", [], ALICE)).group(1)  # type: ignore[union-attr]
    saved = await ask(world, "refer", [option("code", code)], BOB)
    assert saved.startswith("Welcome! You have 10 free credits.")  # Bob's first contact
    assert saved.endswith("\nReferral saved! When you make your first clip, you and your friend both get 10 credits.")
    payload = world.generate(BOB, guild=False, length=5)
    world.dispatch(payload)
    await world.followup_with_file(payload)
    await world.idle()
    friend = await world.request(
        lambda r: r.method == "POST" and "Your friend made their first clip" in str((r.json or {}).get("content"))
    )
    assert friend.json["content"] == "Your friend made their first clip: +10 referral credits!"
    await ReferralSweeper(world.app.rewards.referrals).tick()  # the minute sweep: nothing more
    assert dms_to(world, ALICE) == ["Your friend made their first clip: +10 referral credits!"]
    assert dms_to(world, BOB) == ["Your first clip unlocked your referral bonus: +10 credits!"]
    assert await world.available(ALICE) == 20 and await world.available(BOB) == 10 - 1 + 10
    assert await world.audit() == []
    world.assert_no_errors()

"""The same commands in a DM and in a server; rewards, support and operators; and the error
boundary: expected errors in words, anything else with a reference."""

from __future__ import annotations

import re

import pytest

from tests.e2e.discord_kit import ALICE, BOB, OPERATOR, World, discord_world
from tests.fakes.discord_fake import FLAG_EPHEMERAL
from tests.fakes.discord_harness import option, subcommand, user_option

SUPPORT_CHANNEL = 93_000_000_000_000_001


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, support_discord_channel_id=SUPPORT_CHANNEL) as w:
        yield w


async def ask(world: World, name: str, options: list, user: dict, *, guild: bool, **kw) -> dict:
    payload = world.command(name, options, user, guild=guild, **kw)
    world.dispatch(payload)
    callback = await world.callback(payload)
    if callback.json["type"] == 4:
        return callback.json["data"]
    followup = await world.webhook(payload)
    return {**followup.json, "flags": followup.response["flags"]}


@pytest.mark.parametrize("guild", [False, True], ids=["dm", "server"])
async def test_wallet_commands_answer_the_same_in_a_dm_and_in_a_server(world: World, guild: bool) -> None:
    balance = await ask(world, "balance", [], ALICE, guild=guild)
    assert balance["content"].startswith("Welcome! You have 10 free credits.")
    assert "Credits: 10 (10 free, 0 paid)" in balance["content"]
    assert balance["flags"] == FLAG_EPHEMERAL
    again = await ask(world, "balance", [], ALICE, guild=not guild)
    assert again["content"].startswith("Credits: 10 (10 free, 0 paid)")  # one person, both places

    daily = await ask(world, "daily", [], ALICE, guild=guild)
    assert daily["content"].startswith("+1 daily credit! You have 11 credits.")
    twice = await ask(world, "daily", [], ALICE, guild=not guild)
    assert twice["content"].startswith("You already claimed today's credit.")
    assert twice["flags"] == FLAG_EPHEMERAL

    history = await ask(world, "history", [], ALICE, guild=guild)
    assert "+1 daily credit" in history["content"] and "+10 welcome credits" in history["content"]
    assert await world.available(ALICE) == 11
    assert await world.audit() == []
    world.assert_no_errors()


async def test_referral_codes_work_across_dm_and_server(world: World) -> None:
    mine = await ask(world, "refer", [], ALICE, guild=False)
    code = re.search(r"Your referral code: (\S+)", mine["content"]).group(1)
    used = await ask(world, "refer", [option("code", code)], BOB, guild=True)
    assert used["content"].startswith("Referral saved!")
    own = await ask(world, "refer", [option("code", code)], ALICE, guild=True)
    assert own["content"] == "That referral code can't be used: it's your own code."
    world.assert_no_errors()


async def test_support_tickets_reach_the_operators_channel_and_replies_come_back_in_a_dm(
    world: World,
) -> None:
    opened = await ask(world, "support", [option("message", "my clip never came")], ALICE, guild=True)
    number = re.search(r"Ticket #(\d+)", opened["content"]).group(1)
    forwarded = await world.request(lambda r: r.is_("POST", rf"/channels/{SUPPORT_CHANNEL}/messages"))
    assert f"Ticket #{number} from discord:{ALICE['id']}" in forwarded.json["content"]
    assert "my clip never came" in forwarded.json["content"]

    reply = await ask(
        world,
        "admin",
        [
            subcommand(
                "reply",
                [option("ticket", int(number)), option("message", "sorry!"), option("grant", 3)],
            )
        ],
        OPERATOR,
        guild=False,
    )
    assert "delivered" in reply["content"]
    dm = world.fake.dm_channels[int(ALICE["id"])]
    answer = await world.request(lambda r: r.is_("POST", rf"/channels/{dm['id']}/messages"))
    assert "sorry!" in answer.json["content"] and "+3 credits" in answer.json["content"]
    assert await world.available(ALICE) == 13
    assert await world.audit() == []
    world.assert_no_errors()


async def test_operators_grant_take_and_look_up_and_nobody_else_can(world: World) -> None:
    await ask(world, "balance", [], BOB, guild=True)
    refused = await ask(
        world,
        "admin",
        [subcommand("grant", [option("amount", 50), option("reason", "x"), user_option("member", BOB)])],
        BOB,
        guild=True,
        users=[BOB],
    )
    assert refused["content"] == "You are not allowed to do that."
    granted = await ask(
        world,
        "admin",
        [
            subcommand(
                "grant",
                [option("amount", 50), option("reason", "refund"), user_option("member", BOB)],
            )
        ],
        OPERATOR,
        guild=False,
        users=[BOB],
    )
    assert granted["content"] == f"Granted 50 credits to discord:{BOB['id']}. Their balance: 60."
    taken = await ask(
        world,
        "admin",
        [
            subcommand(
                "take",
                [
                    option("amount", 5),
                    option("reason", "oops"),
                    option("identity", f"discord:{BOB['id']}"),
                ],
            )
        ],
        OPERATOR,
        guild=True,
    )
    assert taken["content"] == f"Took 5 credits from discord:{BOB['id']}. Their balance: 55."
    looked = await ask(
        world,
        "admin",
        [subcommand("user", [user_option("member", BOB)])],
        OPERATOR,
        guild=False,
        users=[BOB],
    )
    assert looked["content"].startswith(f"discord:{BOB['id']}: 55 credits")
    stats = await ask(world, "admin", [subcommand("stats")], OPERATOR, guild=False)
    assert stats["content"].startswith("Stats at")
    assert await world.available(BOB) == 55
    assert await world.audit() == []
    world.assert_no_errors()


async def test_an_unexpected_error_is_logged_and_answered_with_a_reference(world: World, monkeypatch) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.app.wallets, "history", broken)
    answer = await ask(world, "history", [], ALICE, guild=True)
    ref = re.fullmatch(
        r"Something went wrong on our side \(ref ([0-9a-f]{8})\)\. Your credits are safe\.",
        answer["content"],
    )
    assert ref is not None and answer["flags"] == FLAG_EPHEMERAL
    logged = [r for r in world.errors.records if ref.group(1) in r.getMessage()]
    assert len(logged) == 1 and isinstance(logged[0].exc_info[1], RuntimeError)
    world.harness.assert_no_errors()  # handled by our boundary, not left to discord.py


async def test_verify_email_says_so_when_mail_is_not_set_up(world: World) -> None:
    answer = await ask(world, "verify-email", [option("address_or_code", "me@example.com")], ALICE, guild=False)
    assert answer["content"] == "Email verification isn't set up on this bot."
    assert answer["flags"] == FLAG_EPHEMERAL
    world.assert_no_errors()

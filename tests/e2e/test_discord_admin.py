"""Operators on Discord: `/admin unfreeze` lifts a dispute's freeze and `/admin tickets` lists the
open support tickets; anyone else is refused and nothing changes."""

from __future__ import annotations

import re

import pytest

from tests.e2e.discord_kit import ALICE, BOB, OPERATOR, World, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL
from tests.fakes.discord_harness import option, subcommand, user_option


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path) as w:
        yield w


async def ask(world: World, name: str, options: list, user: dict, *, guild: bool = True, **kw) -> dict:
    payload = world.command(name, options, user, guild=guild, **kw)
    world.dispatch(payload)
    callback = await world.callback(payload)
    if callback.json["type"] == 4:
        return callback.json["data"]
    followup = await world.webhook(payload)
    return {**followup.json, "flags": followup.response["flags"]}


async def freeze(world: World, user: dict) -> None:
    """What a Stripe dispute does to the person's wallet."""
    person = await world.app.wallets.person(identity(user))
    await world.app.ledger.set_frozen(person.wallet_id, True)


async def frozen(world: World, user: dict) -> bool:
    return (await world.app.wallets.balance(identity(user))).balance.frozen


async def test_an_operator_unfreezes_a_frozen_wallet_and_the_person_can_spend_again(world: World) -> None:
    await freeze(world, ALICE)
    refused = world.generate(ALICE, length=5)
    world.dispatch(refused)
    assert (await world.webhook(refused)).json["content"].startswith("Your wallet is frozen")

    unfreeze = [subcommand("unfreeze", [user_option("member", ALICE)])]
    unfrozen = await ask(world, "admin", unfreeze, OPERATOR, users=[ALICE])
    assert unfrozen["content"] == f"Unfrozen discord:{ALICE['id']}. Their balance: 10."
    assert unfrozen["flags"] == FLAG_EPHEMERAL
    assert not await frozen(world, ALICE)

    spent = world.generate(ALICE, length=5)
    world.dispatch(spent)
    await world.followup_with_file(spent)
    await world.status_text(spent, "−1 credit · 9 left")
    assert await world.audit() == []
    world.assert_no_errors()


async def test_unfreeze_by_identity_text_and_for_someone_unknown(world: World) -> None:
    await freeze(world, BOB)
    by_text = [subcommand("unfreeze", [option("identity", f"discord:{BOB['id']}")])]
    assert (await ask(world, "admin", by_text, OPERATOR, guild=False))["content"].startswith("Unfrozen discord:")
    assert not await frozen(world, BOB)
    nobody = [subcommand("unfreeze", [option("identity", "telegram:424242")])]
    answer = await ask(world, "admin", nobody, OPERATOR, guild=False)
    assert "telegram:424242" in answer["content"] and answer["flags"] == FLAG_EPHEMERAL
    world.assert_no_errors()


async def test_someone_who_is_not_an_operator_cannot_unfreeze_or_read_tickets(world: World) -> None:
    await freeze(world, ALICE)
    attempt = [subcommand("unfreeze", [user_option("member", ALICE)])]
    # Alice has Manage Server and even Administrator in this server: still not an operator.
    refused = await ask(world, "admin", attempt, ALICE, users=[ALICE], admin=True)
    assert refused["content"] == "You are not allowed to do that."
    assert refused["flags"] == FLAG_EPHEMERAL
    assert await frozen(world, ALICE)

    await ask(world, "support", [option("message", "please unfreeze me")], ALICE)
    peek = await ask(world, "admin", [subcommand("tickets")], BOB, guild=False)
    assert peek["content"] == "You are not allowed to do that."
    assert "please unfreeze me" not in peek["content"]
    world.assert_no_errors()


async def test_tickets_lists_the_open_tickets_and_an_answered_one_leaves_the_list(world: World) -> None:
    none = await ask(world, "admin", [subcommand("tickets")], OPERATOR, guild=False)
    assert none["content"] == "No open tickets."

    first = await ask(world, "support", [option("message", "my clip never came")], ALICE)
    await ask(world, "support", [option("message", "how do I buy credits?")], BOB, guild=False)
    listing = await ask(world, "admin", [subcommand("tickets")], OPERATOR, guild=False)
    lines = listing["content"].splitlines()
    assert lines[0] == "Tickets:"
    assert re.fullmatch(rf"#\d+ discord:{ALICE['id']} \(10 credits\): my clip never came", lines[1])
    assert re.fullmatch(rf"#\d+ discord:{BOB['id']} \(10 credits\): how do I buy credits\?", lines[2])
    assert listing["flags"] == FLAG_EPHEMERAL

    number = int(re.search(r"Ticket #(\d+)", first["content"]).group(1))
    reply = [subcommand("reply", [option("ticket", number), option("message", "resent it")])]
    await ask(world, "admin", reply, OPERATOR, guild=False)
    after = await ask(world, "admin", [subcommand("tickets")], OPERATOR, guild=False)
    assert "my clip never came" not in after["content"] and "how do I buy credits?" in after["content"]
    world.assert_no_errors()


async def test_the_new_admin_subcommands_are_synced_hidden_from_members(world: World) -> None:
    await world.bot.tree.sync()
    admin = world.fake.command("admin")
    assert admin["default_member_permissions"] == "8"
    assert {"unfreeze", "tickets"} <= {o["name"] for o in admin["options"]}

"""Credits on Discord: out of credits → the offer with pack buttons → a Checkout link; server
admins gift from the server wallet, and nobody else can, whatever the interaction claims."""

from __future__ import annotations

import pytest

from tests.e2e.discord_kit import ALICE, BOB, CAROL, World, action, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL
from tests.fakes.discord_harness import member_payload, option, subcommand, user_option


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True) as w:
        yield w


def buttons(message: dict) -> list[dict]:
    return [c for row in message.get("components", []) for c in row["components"]]


async def test_out_of_credits_refuses_before_holding_and_offers_packs_then_a_checkout_link(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True, welcome_credits=0) as world:
        payload = world.generate(ALICE, length=10)
        world.dispatch(payload)
        refusal = await world.webhook(payload)
        text = refusal.json["content"]
        assert text.startswith("That costs 2 credits and you have 0.")
        assert "You're out of credits!" in text and "Starter: 100 credits for $5" in text
        assert "/support" in text
        ids = [b.get("custom_id") for b in buttons(refusal.json)]
        packs = [action("b", ALICE, "p", pack) for pack in ("starter", "popular", "pro", "creator")]
        assert ids == [*packs, action("d", ALICE), action("h", ALICE)]  # the daily credit is due
        assert int(refusal.response["flags"]) & FLAG_EPHEMERAL
        assert await world.app.generation.jobs(identity(ALICE)) == []

        press = world.press(action("b", ALICE, "p", "popular"), refusal.response, ALICE)
        world.dispatch(press)
        link = await world.webhook(press)
        assert "Popular pack: 400 credits for $15" in link.json["content"]
        pay = buttons(link.json)[0]
        assert pay["label"] == "💳 Pay $15" and pay["url"].startswith(world.stripe.base_url)
        assert len(world.stripe.sessions) == 1

        support = world.press(action("h", ALICE), refusal.response, ALICE)
        world.dispatch(support)
        assert "/support" in (await world.callback(support)).json["data"]["content"]
        assert await world.available(ALICE) == 0
        assert await world.audit() == []
        world.assert_no_errors()


async def test_buy_lists_packs_as_buttons_and_a_pack_gives_a_link_button(world: World) -> None:
    listing = world.command("buy", [], BOB, guild=False)
    world.dispatch(listing)
    answer = (await world.callback(listing)).json["data"]
    assert answer["content"].startswith("Welcome! You have 10 free credits.")  # Bob's first contact
    assert "\nCredit packs:\nStarter: 100 credits for $5\n" in answer["content"]
    assert [b["custom_id"] for b in buttons(answer)] == [
        action("b", BOB, "p", "starter"),
        action("b", BOB, "p", "popular"),
        action("b", BOB, "p", "pro"),
        action("b", BOB, "p", "creator"),
    ]

    pro = world.command("buy", [option("pack", "pro")], BOB)
    world.dispatch(pro)
    link = await world.webhook(pro)
    assert buttons(link.json)[0]["url"].startswith(world.stripe.base_url)
    world.assert_no_errors()


def gift(
    world: World,
    member: dict,
    amount: int,
    *,
    by: dict,
    admin: bool,
    guild: bool = True,
    note: str | None = None,
):
    target = member_payload(member)
    options = [user_option("member", target), option("amount", amount)]
    if note is not None:
        options.append(option("note", note))
    return world.command("gift", options, by, admin=admin, guild=guild, users=[target])


async def test_a_gift_to_a_brand_new_account_waits_for_the_cooldown(world: World) -> None:
    deposit = world.command("server-wallet", [subcommand("deposit", [option("amount", 5)])], ALICE, admin=True)
    world.dispatch(deposit)
    await world.reply_text(deposit)
    payload = gift(world, CAROL, 5, by=ALICE, admin=True)  # Carol never used the bot
    world.dispatch(payload)
    answer = (await world.callback(payload)).json["data"]
    assert answer["content"].startswith("This account is too new to receive that.")
    assert answer["flags"] == FLAG_EPHEMERAL
    assert await world.available(CAROL) == 10
    assert await world.audit() == []


async def test_server_admins_fill_the_wallet_and_gift_and_members_cannot_even_when_forging(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, new_account_cooldown_minutes=0) as world:
        await gifts_journey(world)


async def gifts_journey(world: World) -> None:
    deposit = world.command("server-wallet", [subcommand("deposit", [option("amount", 8)])], ALICE, admin=True)
    world.dispatch(deposit)
    assert "Moved 8 credits into the server wallet: it has 8. You have 2." in await world.reply_text(deposit)

    # Bob has no Manage Server: the menu would hide /gift, but he sends the interaction anyway.
    plain = gift(world, CAROL, 5, by=BOB, admin=False)
    forged = gift(world, BOB, 1_000_000, by=BOB, admin=False, note="admin: true")
    in_dm = gift(world, BOB, 5, by=BOB, admin=True, guild=False)
    peek = world.command("server-wallet", [subcommand("balance")], BOB)
    move = world.command("server-wallet", [subcommand("deposit", [option("amount", 1)])], BOB)
    for payload in (plain, forged, in_dm, peek, move):
        world.dispatch(payload)
    for payload in (plain, forged, peek, move):
        answer = (await world.callback(payload)).json["data"]
        assert answer["content"] == "Only the server's admins can do that."
        assert answer["flags"] == FLAG_EPHEMERAL
    assert (await world.callback(in_dm)).json["data"]["content"] == "This command works in servers only."

    given = gift(world, CAROL, 5, by=ALICE, admin=True, note="welcome!")
    world.dispatch(given)
    public = (await world.callback(given)).json["data"]
    assert public["content"] == (
        f"🎁 <@{ALICE['id']}> gifted 5 credits to <@{CAROL['id']}>: “welcome!”. The server wallet has 3 left."
    )
    assert not public.get("flags", 0) & FLAG_EPHEMERAL  # the member sees it (and is pinged)
    assert public["allowed_mentions"]["parse"] == ["users"]  # a note can't ping @everyone

    too_much = gift(world, CAROL, 4, by=ALICE, admin=True)
    world.dispatch(too_much)
    answer = (await world.callback(too_much)).json["data"]
    assert answer["content"] == "The server wallet has only 3 credits, not enough to gift 4."

    balance = world.command("server-wallet", [subcommand("balance")], ALICE, admin=True)
    world.dispatch(balance)
    assert (await world.callback(balance)).json["data"]["content"].startswith("This server's wallet has 3 credits.")

    assert [await world.available(u) for u in (ALICE, BOB, CAROL)] == [2, 10, 15]
    assert await world.audit() == []
    world.assert_no_errors()


async def test_buying_a_pack_for_the_server_needs_manage_server(world: World) -> None:
    member = world.command("server-wallet", [subcommand("buy", [option("pack", "starter")])], BOB)
    admin = world.command("server-wallet", [subcommand("buy", [option("pack", "starter")])], ALICE, admin=True)
    world.dispatch(member)
    world.dispatch(admin)
    assert (await world.webhook(member)).json["content"] == "Only the server's admins can do that."
    link = await world.webhook(admin)
    assert buttons(link.json)[0]["url"].startswith(world.stripe.base_url)
    assert len(world.stripe.sessions) == 1
    world.assert_no_errors()


async def test_commands_sync_with_descriptions_costs_and_admin_permissions(world: World) -> None:
    await world.bot.tree.sync()
    fake = world.fake
    generate = fake.command("generate")
    assert generate["description"] == "Turn a hummed, sung or played melody into music."
    opts = {o["name"]: o for o in generate["options"]}
    assert opts["audio"]["type"] == 11 and opts["style"]["autocomplete"] is True
    assert [c["name"] for c in opts["length"]["choices"]] == [
        "5 s · 1 credit",
        "10 s · 2 credits",
        "15 s · 3 credits",
        "30 s · 5 credits",
    ]
    for name in ("gift", "server-wallet"):
        assert fake.command(name)["default_member_permissions"] == "32"  # Manage Server
        assert fake.command(name)["contexts"] == [0]  # servers only
    assert fake.command("admin")["default_member_permissions"] == "8"

    def texts(item: dict) -> list[str]:  # Discord refuses descriptions over 100 characters
        found = [item["description"]] + [c["name"] for c in item.get("choices") or []]
        return found + [t for o in item.get("options") or [] for t in texts(o)]

    slash = [c for c in fake.global_commands if c["type"] == 1]  # context menus have no description
    assert all(0 < len(t) <= 100 for c in slash for t in texts(c))
    names = {c["name"] for c in fake.global_commands}
    assert {
        "generate",
        "balance",
        "history",
        "buy",
        "daily",
        "refer",
        "support",
        "verify-email",
        "gift",
        "server-wallet",
        "admin",
    } <= names

    complete = world.harness.autocomplete("generate", [option("style", "pia", focused=True)], user=ALICE)
    world.dispatch(complete)
    choices = (await world.callback(complete)).json["data"]["choices"]
    assert [c["value"] for c in choices] == ["pia", "warm solo piano", "jazz piano trio"]

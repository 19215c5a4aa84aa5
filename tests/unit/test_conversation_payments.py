"""Buying credits and a group's wallet through the conversation, with no database: /buy as each
platform sells (Stars invoices on the Telegram-like surface, card checkout links where card
payments are set up, nothing where they are not), a Stars payment granted once, a forged or
someone else's pack button refused, and /gift and /server-wallet asking the platform's admin flag."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.chat.messages import LinkButton, Member
from core.domain.identity import Identity
from tests.unit.conversation_kit import START, Kit, button, buttons, discord_time, group, labels

ADMIN, MEMBER = group("s1", admin=True), group("s1", admin=False)
BOB = Member(Identity.parse("discord:5"), "@bob")


# --- /buy ------------------------------------------------------------------------------------------


async def test_buy_on_telegram_lists_the_stars_packs_and_a_press_opens_one_invoice_per_press(bot):
    await bot.say("telegram:1", "/start")
    listed = await bot.say("telegram:1", "/buy")
    assert listed.text.splitlines()[0] == "Credit packs:"
    assert listed.text.splitlines()[-1] == "Tap a pack, or type /buy <pack>, e.g. /buy starter."
    assert labels(listed)[0] == "⭐ Starter: 100 credits for 250 ⭐"
    starter = button(listed, "Starter")

    first = await bot.press("telegram:1", starter, request_id="buy1")
    invoice = first.invoice
    assert invoice is not None
    assert (invoice.title, invoice.currency, invoice.amount) == ("Starter pack", "XTR", 250)
    assert invoice.description == "100 credits for making music. They never expire."
    again = await bot.press("telegram:1", starter, request_id="buy1")
    assert again.invoice is not None and again.invoice.payload == invoice.payload
    assert len(bot.memory.world.orders) == 1
    assert await bot.available("telegram:1") == 10  # an invoice is not a payment


async def test_a_stars_payment_is_granted_once_and_the_plan_follows(bot):
    await bot.say("telegram:1", "/start")
    invoice = (await bot.say("telegram:1", "/buy starter")).invoice
    assert invoice is not None
    paying = bot.request("telegram:1")
    assert await bot.conversation.pre_checkout(paying, invoice.payload, 250, "XTR") == ""
    assert await bot.conversation.pre_checkout(paying, invoice.payload, 1, "XTR") == (
        "The price of this invoice changed. Ask for a new one with /buy."
    )
    stranger = await bot.conversation.pre_checkout(bot.request("telegram:2"), invoice.payload, 250, "XTR")
    assert stranger == "This invoice belongs to someone else. Ask for your own with /buy."

    paid = await bot.conversation.stars_paid(paying, invoice.payload, "charge-1", 250, "XTR")
    assert paid.text == "Thank you! +100 credits. You now have 110."
    repeat = await bot.conversation.stars_paid(bot.request("telegram:1"), invoice.payload, "charge-1", 250, "XTR")
    assert repeat.text == "That payment was already counted. You have 110 credits."
    balance = (await bot.say("telegram:1", "/balance")).text
    assert balance.startswith("Credits: 110 (10 free, 100 paid)\nPlan: starter")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("/buy nope", "There is no pack called 'nope'. Packs: starter, popular, pro, creator."),
        ("/buy starter now", "Usage: "),
    ],
)
async def test_buying_a_pack_that_does_not_exist_is_refused_and_opens_no_order(bot, line, words):
    assert (await bot.say("telegram:1", line)).text.startswith(words)
    assert bot.memory.world.orders == {}


async def test_buy_where_no_payment_is_set_up_shows_the_packs_and_says_so_without_buttons(bot):
    reply = await bot.say("discord:1", "/buy")
    assert reply.text.splitlines()[-6:] == [
        "Credit packs:",
        "Starter: 100 credits for $5",
        "Popular: 400 credits for $15",
        "Pro: 1,000 credits for $35",
        "Creator: 2,500 credits for $75",
        "Payments aren't set up on this bot yet. Use /support to reach the operators.",
    ]
    assert reply.rows == ()
    direct = await bot.say("discord:1", "/buy starter")
    assert direct.text == "Payments aren't set up on this bot yet. Use /support to reach the operators."


async def test_a_card_pack_press_gives_one_checkout_link_per_press(make):
    bot = make(card=True)
    listed = await bot.say("discord:1", "/buy")
    assert labels(listed) == [
        "💳 Starter: 100 credits for $5",
        "💳 Popular: 400 credits for $15",
        "💳 Pro: 1,000 credits for $35",
        "💳 Creator: 2,500 credits for $75",
    ]
    starter = button(listed, "Starter")
    first = await bot.press("discord:1", starter, request_id="card1")
    (link,) = first.controls
    assert isinstance(link, LinkButton) and link.label == "💳 Pay $5"
    expires = discord_time(START + dt.timedelta(hours=1))
    assert first.text == (
        f"Starter pack: 100 credits for $5. Pay here (the link expires {expires}):\n"
        f"{link.url}\nYour credits arrive as soon as the payment is confirmed."
    )
    again = await bot.press("discord:1", starter, request_id="card1")
    assert again.text == first.text
    assert len(bot.memory.world.orders) == 1
    both = await bot.say("telegram:1", "/buy starter")  # sold both ways there: which way?
    assert both.text.endswith("How would you like to pay?")
    assert labels(both) == ["⭐ Starter: 100 credits for 250 ⭐", "💳 Starter: 100 credits for $5"]


async def test_a_forged_stars_button_where_stars_are_not_sold_is_refused(make):
    bot = make(card=True)
    await bot.say("discord:1", "/start")
    reply = await bot.press("discord:1", "b:1:s:starter")
    assert (reply.text, reply.alert) == (
        "Payments aren't set up on this bot yet. Use /support to reach the operators.",
        True,
    )
    assert bot.memory.world.orders == {}


async def test_someone_else_s_pack_button_is_refused_and_opens_no_order(bot):
    listed = await bot.say("telegram:1", "/buy")
    reply = await bot.press("telegram:2", button(listed, "Starter"))
    assert reply.text == "This button belongs to someone else."
    assert bot.memory.world.orders == {}


# --- a group's wallet: the platform's admin flag decides ------------------------------------------


async def fund_the_server(bot: Kit, amount: int = 5) -> None:
    await bot.say("discord:5", "/start")
    deposited = await bot.say("discord:1", f"/server-wallet deposit {amount}", place=ADMIN)
    assert deposited.text == f"Moved {amount} credits into the server wallet: it has {amount}. You have {10 - amount}."


async def test_an_admin_gifts_from_the_server_wallet_for_everyone_to_see_once(bot):
    await fund_the_server(bot)
    gifted = await bot.say("discord:1", "/gift 2 enjoy it", place=ADMIN, member=BOB, mention="@ann", request_id="g1")
    assert gifted.text == "🎁 @ann gifted 2 credits to @bob: “enjoy it”. The server wallet has 3 left."
    assert gifted.public
    again = await bot.say("discord:1", "/gift 2 enjoy it", place=ADMIN, member=BOB, request_id="g1")
    assert again.text == "Already done: that gift was sent before."
    assert await bot.available("discord:5") == 12
    assert (await bot.say("discord:1", "/server-wallet", place=ADMIN)).text.startswith(
        "This server's wallet has 3 credits."
    )


@pytest.mark.parametrize(
    ("line", "place", "words"),
    [
        ("/gift 2", MEMBER, "Only the server's admins can do that."),
        ("/server-wallet deposit 2", MEMBER, "Only the server's admins can do that."),
        ("/gift 2", None, "This command works in servers only."),
        ("/server-wallet deposit 2", None, "This command works in servers only."),
        ("/gift 20", ADMIN, "The server wallet has only 5 credits, not enough to gift 20."),
        ("/gift lots", ADMIN, "Usage: /gift <member> <credits> [note]"),
        ("/gift 0", ADMIN, "The amount must be a whole number from 1 to 100000."),
        ("/server-wallet deposit -3", ADMIN, "Usage: /server-wallet · /server-wallet deposit <credits>"),
        ("/server-wallet refill 3", ADMIN, "Usage: /server-wallet · /server-wallet deposit <credits>"),
    ],
)
async def test_a_gift_or_deposit_that_is_not_allowed_or_makes_no_sense_moves_nothing(bot, line, place, words):
    await fund_the_server(bot)
    before = bot.movements()
    reply = await bot.say("discord:1", line, member=BOB, **({"place": place} if place else {}))
    assert reply.text.startswith(words)
    assert not reply.public
    assert bot.movements() == before
    assert await bot.available("discord:5") == 10


async def test_gifts_to_oneself_or_a_bot_are_refused(bot):
    await fund_the_server(bot)
    before = bot.movements()
    me = Member(Identity.parse("discord:1"), "@ann")
    robot = Member(Identity.parse("discord:99"), "@robot", is_bot=True)
    assert (await bot.say("discord:1", "/gift 1", place=ADMIN, member=me)).text == (
        "That didn't work: you can't gift credits to yourself."
    )
    assert (await bot.say("discord:1", "/gift 1", place=ADMIN, member=robot)).text == (
        "That didn't work: bots can't receive credits."
    )
    assert bot.movements() == before


async def test_a_new_account_receives_no_gift_until_the_cooldown_passed(make):
    bot = make(new_account_cooldown_minutes=10)
    await fund_the_server(bot)
    refused = await bot.say("discord:1", "/gift 2", place=ADMIN, member=BOB)
    until = discord_time(dt.datetime(2026, 3, 10, 9, 10, tzinfo=dt.UTC))  # as Discord shows a time
    assert refused.text == f"This account is too new to receive that. Try again after {until}."
    bot.clock.advance(minutes=10)
    assert (await bot.say("discord:1", "/gift 2", place=ADMIN, member=BOB)).public
    assert await bot.available("discord:5") == 12


async def test_on_telegram_a_gift_names_its_member_by_a_reply_and_groups_are_groups(bot):
    place = group("t1", admin=True)
    assert (await bot.say("telegram:1", "/gift 2", place=place)).text == (
        "Usage: reply to a member's message in a group with /gift <credits> [note]"
    )
    assert (await bot.say("telegram:1", "/gift 2")).text == "This command works in groups only."
    wallet = await bot.say("telegram:1", "/groupwallet", place=place)
    assert wallet.text == (
        "This group's wallet has 0 credits. Admins: /groupwallet deposit <n> moves your own credits in, "
        "/groupwallet buy buys a pack for it, /gift <n> in reply to a member's message gives credits to a member."
    )


async def test_a_group_pack_is_bought_by_an_admin_and_paid_into_the_group_wallet(bot):
    admin, member = group("t1", admin=True), group("t1", admin=False)
    listed = await bot.say("telegram:1", "/groupwallet buy", place=admin)
    assert listed.text.startswith("The group wallet has 0 credits. Tap a pack to buy it for the group")
    starter = button(listed, "Starter")
    assert starter.action.encode() == "w:1:s:starter"
    assert (await bot.say("telegram:2", "/groupwallet buy", place=member)).text == (
        "Only the group's admins can do that."
    )
    demoted = await bot.press("telegram:1", starter, place=member)  # asked again at the press
    assert demoted.text == "Only the group's admins can do that."
    assert bot.memory.world.orders == {}

    invoice = (await bot.press("telegram:1", starter, place=admin)).invoice
    assert invoice is not None
    assert (
        invoice.description
        == "100 credits for this group's wallet, for the admins to gift to members. They never expire."
    )
    paid = await bot.conversation.stars_paid(bot.request("telegram:1", place=admin), invoice.payload, "c9", 250, "XTR")
    assert paid.text == "Thank you! +100 credits for the group wallet. It now has 100."
    assert await bot.available("telegram:1") == 10  # the group got them, not the payer
    assert [b.action.owner for b in buttons(listed)] == ["1"] * 4


async def test_a_gift_note_over_its_declared_limit_is_refused_on_a_text_platform(bot):
    await bot.say("telegram:5", "/start")
    place = group("t1", admin=True)
    await bot.say("telegram:1", "/groupwallet deposit 5", place=place)
    before = bot.movements()
    pal = Member(Identity.parse("telegram:5"), "@pal")
    reply = await bot.say("telegram:1", "/gift 1 " + "y" * 300, place=place, member=pal)
    assert not reply.public
    assert reply.text == "A gift's note can be at most 200 characters."
    assert bot.movements() == before
    over = await bot.say("telegram:1", "/gift 100001", place=place, member=pal)
    assert over.text == "The amount must be a whole number from 1 to 100000."
    assert bot.movements() == before

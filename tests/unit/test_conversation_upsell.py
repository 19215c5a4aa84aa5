"""The upsell in the conversation: a pack chosen a second time, or by someone who spent more
lately than it holds, also shows the next pack up with its saving per credit and a button for it;
that button's press is not upsold again (once per purchase flow); refusals that have nothing to
do with money never show it."""

from __future__ import annotations

import datetime as dt

from adapters.chat.messages import LinkButton
from core.domain.ledger import Reason
from tests.fakes.memory.world import TransferRow
from tests.unit.conversation_kit import START, Kit, button, labels

UPSELL_POPULAR = "Popular: 25 % less per credit (400 credits for 750 ⭐)."


async def paid_stars(bot: Kit, who: str, line: str, charge: str) -> None:
    invoice = (await bot.say(who, line)).invoice
    assert invoice is not None
    request = bot.request(who)
    assert await bot.conversation.pre_checkout(request, invoice.payload, invoice.amount, "XTR") == ""
    await bot.conversation.stars_paid(request, invoice.payload, charge, invoice.amount, "XTR")


def spent(bot: Kit, who: str, credits: int, days_ago: int = 1) -> None:
    """Credits captured for clips `days_ago` (as the ledger records a capture)."""
    world = bot.memory.world
    wallet = world.wallet_of(world.identities[who])
    key = f"spend:{who}:{days_ago}"
    at = START - dt.timedelta(days=days_ago)
    world.transfers[key] = TransferRow(world.next_id(), key, wallet, 0, credits, Reason.SPEND, at)


async def test_upsell_shows_the_next_pack_when_the_same_small_pack_is_bought_a_second_time(bot):
    await bot.say("telegram:1", "/start")
    first = await bot.say("telegram:1", "/buy starter")
    assert first.invoice is not None and first.text == "" and first.rows == ()  # a first purchase

    await paid_stars(bot, "telegram:1", "/buy starter", "charge-1")
    again = await bot.say("telegram:1", "/buy starter")

    assert again.invoice is not None and again.invoice.amount == 250  # the pack asked for, still
    assert again.text == UPSELL_POPULAR
    assert labels(again) == ["⭐ Popular: 400 credits for 750 ⭐"]
    bigger = await bot.press("telegram:1", button(again, "Popular"))
    assert bigger.invoice is not None and bigger.invoice.amount == 750


async def test_upsell_follows_spending_and_shows_once_per_purchase_flow(bot):
    await bot.say("telegram:1", "/start")
    spent(bot, "telegram:1", 450)  # more than starter (100) and popular (400) hold
    spent(bot, "telegram:1", 5_000, days_ago=31)  # outside the 30 days: not counted

    listed = await bot.say("telegram:1", "/buy")
    chosen = await bot.press("telegram:1", button(listed, "Starter"))
    assert chosen.text == UPSELL_POPULAR

    upsold = await bot.press("telegram:1", button(chosen, "Popular"))
    assert upsold.invoice is not None and upsold.invoice.amount == 750
    assert (upsold.text, upsold.rows) == ("", ())  # popular would qualify too: not twice in one flow

    typed = await bot.say("telegram:1", "/buy popular")  # a new purchase flow
    assert typed.text == "Pro: 6 % less per credit (1,000 credits for 1750 ⭐)."


async def test_upsell_by_card_adds_the_line_and_a_button_under_the_checkout_link(make):
    bot = make(card=True)
    await bot.say("discord:1", "/start")
    spent(bot, "discord:1", 150)
    reply = await bot.say("discord:1", "/buy starter")
    assert reply.text.endswith("\nPopular: 25 % less per credit (400 credits for $15).")
    pay, bigger = reply.controls
    assert isinstance(pay, LinkButton) and pay.label == "💳 Pay $5"
    assert bigger.label == "💳 Popular: 400 credits for $15"


async def test_upsell_never_shows_on_a_refusal_unrelated_to_money(bot):
    await bot.say("telegram:1", "/start")
    spent(bot, "telegram:1", 450)
    for line in ("/buy nope", "/cancel nope", "/share nope", "/refer nope"):
        reply = await bot.say("telegram:1", line)
        assert "less per credit" not in reply.text and reply.invoice is None, line
        assert not any("Popular" in label for label in labels(reply)), line
    assert bot.memory.world.orders == {}

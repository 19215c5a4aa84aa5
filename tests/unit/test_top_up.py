"""Automatic top-up through the conversation, on the in-memory stores and a fake Stripe that keeps
saved cards: opting in, bad input, one charge when two captures cross the line, the caps, a
declined card, Stars, and every Stripe event delivered twice."""

from __future__ import annotations

import asyncio

import pytest

from core.domain.ledger import Reason
from core.domain.payments import CardSaved, IntentSucceeded
from core.domain.top_ups import AutoState, TopUpState, Verdict
from tests.unit.conversation_kit import Kit, recording

WHO = "discord:1"


def wallet_of(bot: Kit, who: str = WHO) -> int:
    world = bot.memory.world
    return world.wallet_of(world.identities[who])


async def turned_on(bot: Kit, who: str = WHO, line: str = "pro below 50", event: str = "evt_saved") -> int:
    """Opt in and play the first purchase's `payment_intent.succeeded` (the card is saved)."""
    await bot.say(who, f"/autotopup {line}")
    assert bot.checkout is not None
    setup = bot.checkout.requests[-1]
    assert setup.save_card_for is not None
    await bot.app.top_ups.handle_stripe_event(CardSaved(event, setup.order_id, setup.save_card_for, "pm_card_visa"))
    return wallet_of(bot, who)


def paid(bot: Kit, event: str = "evt_paid") -> IntentSucceeded:
    """Stripe's `payment_intent.succeeded` for the one charge the fake made."""
    assert bot.checkout is not None
    (charge,) = bot.checkout.charges.values()
    return IntentSucceeded(event, f"pi_{charge.order_id}", charge.order_id, charge.amount_cents, charge.currency)


def sent_to(bot: Kit, who: str = WHO) -> list[str]:
    platform = bot.platform(who)
    return [reply.text for to, reply in platform.sent if to.key == who]


async def test_top_up_opt_in_opens_a_checkout_that_saves_the_card_and_balance_shows_it(make):
    bot = make(card=True)
    reply = await bot.say(WHO, "/autotopup pro below 50")
    assert "the Pro pack (1,000 credits for $35) whenever you drop below 50 credits" in reply.text
    assert "https://checkout.test/" in reply.text and reply.private
    assert bot.checkout is not None and bot.checkout.requests[-1].save_card_for == f"cus_wallet_{wallet_of(bot)}"
    assert "waiting for your first payment" in (await bot.say(WHO, "/balance")).text

    setup = bot.checkout.requests[-1]
    saved = CardSaved("evt_saved", setup.order_id, setup.save_card_for or "", "pm_card_visa")
    await bot.app.top_ups.handle_stripe_event(saved)
    await bot.app.top_ups.handle_stripe_event(saved)  # delivered twice: the same card, once
    auto = bot.memory.world.auto_top_ups[wallet_of(bot)]
    assert (auto.state, auto.payment_method_id) == (AutoState.ON, "pm_card_visa")
    assert "Automatic top-up: on, the Pro pack when you drop below 50 credits" in (await bot.say(WHO, "/balance")).text

    changed = await bot.say(WHO, "/autotopup starter below 20")
    assert "changed: the Starter pack" in changed.text and len(bot.checkout.requests) == 1  # card kept
    assert "Automatic top-up is off" in (await bot.say(WHO, "/autotopup off")).text
    assert wallet_of(bot) not in bot.memory.world.auto_top_ups
    assert "Automatic top-up" not in (await bot.say(WHO, "/balance")).text


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("gold below 50", "There is no pack called 'gold'"),
        ("pro below fifty", "'below fifty' isn't a number of credits"),
        ("pro below 0", "use a whole number from 1 to 10000"),
        ("pro below 2.5", "isn't a number of credits"),
        ("pro below 10001", "use a whole number from 1 to 10000"),
        ("pro", "/autotopup <pack> below <credits>"),
    ],
)
async def test_top_up_bad_input_is_refused_and_nothing_is_stored(make, line, words):
    bot = make(card=True)
    reply = await bot.say(WHO, f"/autotopup {line}")
    assert words in reply.text
    assert bot.memory.world.auto_top_ups == {} and bot.checkout is not None and bot.checkout.requests == []


async def test_top_up_a_second_opt_in_while_the_first_waits_is_refused(make):
    bot = make(card=True)
    await bot.say(WHO, "/autotopup pro below 50")
    before = dict(bot.memory.world.auto_top_ups)
    reply = await bot.say(WHO, "/autotopup starter below 10")
    assert "already have an automatic top-up waiting for its payment" in reply.text
    assert bot.memory.world.auto_top_ups == before and bot.checkout is not None and len(bot.checkout.requests) == 1


async def test_top_up_two_captures_crossing_the_line_at_once_make_one_payment(make):
    bot = make(card=True)
    wallet = await turned_on(bot)  # 10 welcome credits: below 50
    top_ups = bot.app.top_ups
    verdicts = await asyncio.gather(top_ups.after_capture(wallet, "hold:a"), top_ups.after_capture(wallet, "hold:b"))
    assert sorted(verdicts) == [Verdict.CHARGE, Verdict.NOTHING]
    assert bot.checkout is not None and len(bot.checkout.charges) == 1
    (key,) = bot.checkout.charges
    assert key in (f"topup:{wallet}:hold:a", f"topup:{wallet}:hold:b")
    # Still below the line while the credits are on their way: no second charge.
    assert await top_ups.after_capture(wallet, "hold:c") == Verdict.NOTHING

    before = await bot.available(WHO)
    first = await top_ups.handle_stripe_event(paid(bot))
    again = await top_ups.handle_stripe_event(paid(bot))  # the same event again
    other = await top_ups.handle_stripe_event(paid(bot, "evt_paid_2"))  # another event, same intent
    assert (first.credits, again.credits, other.credits) == (1000, 0, 0)
    assert await bot.available(WHO) == before + 1000
    receipts = [text for text in sent_to(bot) if "your card was charged $35 for the Pro pack" in text]
    assert receipts == [
        "Automatic top-up: your card was charged $35 for the Pro pack. +1,000 credits; you now have 1010."
    ]
    rows = [row.top_up.state for row in bot.memory.world.top_ups.values()]
    assert rows == [TopUpState.SUCCEEDED]


async def test_top_up_payment_webhook_before_the_charge_is_recorded_grants_once_and_frees_the_wallet(make):
    bot = make(card=True)
    wallet = await turned_on(bot)
    assert bot.checkout is not None
    charge_card = bot.checkout.charge_saved_card

    async def webhook_first(charge):  # Stripe's webhook lands before our own record of the charge
        result = await charge_card(charge)
        early = IntentSucceeded("evt_early", result.payment_intent_id, charge.order_id, charge.amount_cents, "usd")
        await bot.app.top_ups.handle_stripe_event(early)
        await bot.app.top_ups.handle_stripe_event(early)  # and again
        return result

    bot.checkout.charge_saved_card = webhook_first
    assert await bot.app.top_ups.after_capture(wallet, "hold:a") == Verdict.CHARGE
    assert await bot.available(WHO) == 1010
    assert [row.top_up.state for row in bot.memory.world.top_ups.values()] == [TopUpState.SUCCEEDED]
    assert len([text for text in sent_to(bot) if "your card was charged" in text]) == 1
    # Nothing stays in flight: once low again, the next capture charges again.
    await bot.memory.ledger.take("spent", wallet, 1000, Reason.OPERATOR_TAKE, now=bot.clock.now())
    assert await bot.app.top_ups.after_capture(wallet, "hold:b") == Verdict.CHARGE


async def test_top_up_daily_cap_reached_charges_nothing_and_says_so_once(make):
    bot = make(card=True, auto_topup_max_per_day=1)
    wallet = await turned_on(bot)
    top_ups = bot.app.top_ups
    assert await top_ups.after_capture(wallet, "hold:a") == Verdict.CHARGE
    await top_ups.handle_stripe_event(paid(bot))
    # Spend it all again, then another capture below the line.
    await bot.memory.ledger.take("spent", wallet, await bot.available(WHO), Reason.OPERATOR_TAKE, now=bot.clock.now())
    assert await top_ups.after_capture(wallet, "hold:b") == Verdict.CAPPED
    assert await top_ups.after_capture(wallet, "hold:c") == Verdict.NOTHING
    assert bot.checkout is not None and len(bot.checkout.charges) == 1
    capped = [text for text in sent_to(bot) if "today's limit" in text]
    assert capped == [
        "Automatic top-up didn't buy anything: today's limit of automatic purchases (1) is reached. "
        "It buys again tomorrow (UTC); use /buy if you need credits now."
    ]


async def test_top_up_monthly_amount_cap_stops_the_charge(make):
    bot = make(card=True, auto_topup_max_per_month_cents=3000)  # less than the Pro pack
    wallet = await turned_on(bot)
    assert await bot.app.top_ups.after_capture(wallet, "hold:a") == Verdict.CAPPED
    assert bot.checkout is not None and bot.checkout.charges == {}
    assert any("this month's limit of $30 is reached" in text for text in sent_to(bot))


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("card_declined", "your card was declined for the $35 payment"),
        ("authentication_required", "your bank wants you to confirm the $35 payment"),
    ],
)
async def test_top_up_declined_card_pauses_it_and_sends_a_checkout_link(make, code, words):
    bot = make(card=True)
    wallet = await turned_on(bot)
    assert bot.checkout is not None
    bot.checkout.refuse = code
    assert await bot.app.top_ups.after_capture(wallet, "hold:a") == Verdict.CHARGE
    auto = bot.memory.world.auto_top_ups[wallet]
    assert (auto.state, auto.paused_reason) == (AutoState.PAUSED, code)
    (message,) = [text for text in sent_to(bot) if "Automatic top-up is paused" in text]
    resume = bot.checkout.requests[-1]
    assert words in message and f"https://checkout.test/{resume.order_id}" in message
    assert resume.save_card_for == auto.customer_id  # paying it saves the card again
    assert "Automatic top-up: paused" in (await bot.say(WHO, "/balance")).text
    # Paused: the next capture charges nothing; the resume purchase turns it back on.
    bot.checkout.refuse = None
    assert await bot.app.top_ups.after_capture(wallet, "hold:b") == Verdict.NOTHING
    await bot.app.top_ups.handle_stripe_event(
        CardSaved("evt_resumed", resume.order_id, auto.customer_id or "", "pm_new")
    )
    assert bot.memory.world.auto_top_ups[wallet].state == AutoState.ON
    assert await bot.app.top_ups.after_capture(wallet, "hold:c") == Verdict.CHARGE


async def test_top_up_on_telegram_with_stars_only_says_stars_cannot_charge_without_you(make):
    stars_only = make()
    reply = await stars_only.say("telegram:1", "/autotopup pro below 50")
    assert reply.text.endswith(
        "Telegram Stars can't be charged without you, so automatic top-up works only with a card."
    )
    assert stars_only.memory.world.auto_top_ups == {}
    with_card = make(card=True)
    reply = await with_card.say("telegram:1", "/autotopup pro below 50")
    assert "Telegram Stars can't be charged without you, so automatic top-up uses a card" in reply.text
    assert "https://checkout.test/" in reply.text


async def test_top_up_a_delivered_clip_whose_capture_leaves_the_wallet_low_charges_the_card(make):
    bot = make(card=True)
    wallet = await turned_on(bot)  # below 50 with 10 credits
    args = {"style": "warm solo piano", "length": "10"}
    await bot.options(WHO, "generate", attachment=recording(), args=args, request_id="p1")
    await bot.run_jobs()
    assert bot.checkout is not None
    (key,) = bot.checkout.charges
    (job,) = bot.memory.world.jobs.values()
    assert key == f"topup:{wallet}:{job.job.hold_key}"  # the capture's own entry names it

"""Pricing experiments through the conversation: an operator starts one with `/admin experiment`,
each wallet is offered its arm's packs (the same on every platform it linked), orders keep the
arm's terms, every offer shown, pack chosen and payment is recorded, stopping returns everyone to
the default packs, and a bad definition is refused with nothing stored."""

from __future__ import annotations

import pytest

from core.domain.experiments import OfferEventKind
from core.domain.identity import Identity
from tests.unit.conversation_kit import OPERATOR, Kit, button, labels

DEFINITION = "dec a=starter:120:500:240,popular:480:1500:700 b:3=starter:90:400:200,popular:450:1500:720"
STARS = {
    "a": ["⭐ Starter: 120 credits for 240 ⭐", "⭐ Popular: 480 credits for 700 ⭐"],
    "b": ["⭐ Starter: 90 credits for 200 ⭐", "⭐ Popular: 450 credits for 720 ⭐"],
}
CARD = {
    "a": ["💳 Starter: 120 credits for $5", "💳 Popular: 480 credits for $15"],
    "b": ["💳 Starter: 90 credits for $4", "💳 Popular: 450 credits for $15"],
}
DEFAULT_STARS = [
    "⭐ Starter: 100 credits for 250 ⭐",
    "⭐ Popular: 400 credits for 750 ⭐",
    "⭐ Pro: 1,000 credits for 1750 ⭐",
    "⭐ Creator: 2,500 credits for 3750 ⭐",
]


async def arm_of(bot: Kit, who: str) -> str:
    wallet = (await bot.app.wallets.person(Identity.parse(who))).wallet_id
    running = await bot.app.experiments.running()
    assert running is not None
    return running.arm_of(wallet).name


async def test_experiment_arms_are_shown_and_shared_by_linked_platforms(make):
    bot = make(card=True)
    started = await bot.say(OPERATOR, f"/admin experiment start {DEFINITION}")
    assert started.text == (
        "Experiment dec started with 2 arms: a (1), b (3). Each wallet gets its arm at its next offer."
    )
    await bot.say("telegram:1", "/start")
    code = await bot.app.rewards.linking.start(Identity.parse("telegram:1"))
    await bot.app.rewards.linking.redeem(Identity.parse("discord:1"), code.code)
    arm = await arm_of(bot, "telegram:1")

    on_telegram = labels(await bot.say("telegram:1", "/buy"))
    on_discord = labels(await bot.say("discord:1", "/buy"))

    assert on_telegram == STARS[arm] + CARD[arm]
    assert on_discord == CARD[arm]  # the same wallet, so the same arm
    arms = {await arm_of(bot, f"telegram:{n}") for n in range(2, 40)}
    assert arms == {"a", "b"}  # others land in both arms


async def test_experiment_orders_keep_the_arms_terms_and_every_step_is_recorded(bot):
    await bot.say(OPERATOR, f"/admin experiment start {DEFINITION}")
    listed = await bot.say("telegram:1", "/buy")
    arm = await arm_of(bot, "telegram:1")
    starter = STARS[arm][0]
    invoice = (await bot.press("telegram:1", button(listed, starter))).invoice
    assert invoice is not None
    [order] = bot.memory.world.orders.values()
    assert (order.experiment_id, order.arm, order.credits, order.amount) == (
        "dec",
        arm,
        120 if arm == "a" else 90,
        invoice.amount,
    )

    stopped = await bot.say(OPERATOR, "/admin experiment stop")
    assert stopped.text.startswith("Experiment dec stopped: everyone is offered the default packs again")
    assert labels(await bot.say("telegram:1", "/buy")) == DEFAULT_STARS

    request = bot.request("telegram:1")
    assert await bot.conversation.pre_checkout(request, invoice.payload, invoice.amount, "XTR") == ""
    paid = await bot.conversation.stars_paid(request, invoice.payload, "charge-1", invoice.amount, "XTR")
    assert paid.text.startswith(f"Thank you! +{order.credits} credits.")  # the arm's, after the stop

    events = [(e.kind, e.pack_id, e.experiment_id, e.arm) for e in bot.memory.world.offer_events]
    assert events == [
        (OfferEventKind.SHOWN, None, "dec", arm),
        (OfferEventKind.CLICKED, "starter", "dec", arm),
        (OfferEventKind.SHOWN, None, None, None),  # after the stop: recorded for everyone
        (OfferEventKind.PAID, "starter", "dec", arm),
    ]
    report = (await bot.say(OPERATOR, "/admin experiment report")).text.splitlines()
    assert report[0].startswith("Experiment dec, ran ")
    mine = next(line for line in report[1:] if line.startswith(f"— {arm}"))
    assert "1 people · 1 offer views · 1 packs chosen · 1 payers · conversion 100.0%" in mine
    assert f"revenue per person XTR {invoice.amount} ⭐" in mine
    other = next(line for line in report[1:] if not line.startswith(f"— {arm}"))
    assert "0 people · 0 offer views · 0 packs chosen · 0 payers · conversion 0.0%" in other


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ("dec", "'dec' has no arms"),
        ("dec a=starter:100:500 a=starter:90:500", "two arms are called 'a'"),
        ("dec a=starter:100:0", "prices must be above 0: 'starter:100:0'"),
        ("dec a=starter:100:500:0", "prices must be above 0: 'starter:100:500:0'"),
        ("dec a:0=starter:100:500", "weights must be above 0: 'a:0=starter:100:500'"),
    ],
)
async def test_experiment_definitions_that_cannot_run_are_refused_and_store_nothing(bot, definition, problem):
    reply = await bot.say(OPERATOR, f"/admin experiment start {definition}")
    assert reply.text == f"That experiment can't start: {problem}. Nothing was stored."
    assert bot.memory.world.experiments == {}


async def test_experiment_commands_are_for_operators_and_one_runs_at_a_time(bot):
    refused = await bot.say("telegram:1", f"/admin experiment start {DEFINITION}")
    assert refused.text == "You are not allowed to do that."
    assert bot.memory.world.experiments == {}
    assert (await bot.say(OPERATOR, "/admin experiment report")).text == (
        "No experiment is running (or there is none by that id)."
    )
    assert (await bot.say(OPERATOR, "/admin experiment stop")).text == (
        "No experiment is running (or there is none by that id)."
    )
    await bot.say(OPERATOR, f"/admin experiment start {DEFINITION}")
    second = await bot.say(OPERATOR, "/admin experiment start nov a=starter:100:500")
    assert second.text == "Experiment dec is running; stop it first with /admin experiment stop."
    await bot.say(OPERATOR, "/admin experiment stop")
    reused = await bot.say(OPERATOR, f"/admin experiment start {DEFINITION}")
    assert reused.text == "That experiment can't start: the id 'dec' was used before; pick another. Nothing was stored."
    assert list(bot.memory.world.experiments) == ["dec"]

"""A pricing experiment on Discord (the real discord.py against the loopback fake, the Stripe
fake behind it): an operator starts it with `/admin experiment`, a person's `/buy` lists their
arm's packs, the pack's Checkout link charges the arm's price, and the report counts it."""

from __future__ import annotations

from tests.e2e.discord_kit import ALICE, OPERATOR, action, discord_world
from tests.e2e.test_discord_admin import ask
from tests.fakes.discord_harness import option, subcommand


def buttons(message: dict) -> list[dict]:
    return [c for row in message.get("components", []) for c in row["components"]]


async def test_experiment_on_discord_from_admin_to_the_arms_checkout(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True) as world:
        start = [subcommand("experiment", [option("action", "start"), option("definition", "dec only=pro:1200:3000")])]
        started = await ask(world, "admin", start, OPERATOR, guild=False)
        assert started["content"].startswith("Experiment dec started with 1 arm: only (1).")

        listing = await ask(world, "buy", [], ALICE, guild=False)
        assert "\nCredit packs:\nPro: 1,200 credits for $30\n" in listing["content"]
        assert [b["custom_id"] for b in buttons(listing)] == [action("b", ALICE, "p", "pro")]

        pro = world.command("buy", [option("pack", "pro")], ALICE, guild=False)
        world.dispatch(pro)
        link = await world.webhook(pro)
        assert "Pro pack: 1,200 credits for $30" in link.json["content"]
        [session] = world.stripe.sessions.values()
        assert session["amount_total"] == 3000

        report = await ask(world, "admin", [subcommand("experiment", [option("action", "report")])], OPERATOR)
        assert "— only, control (weight 1): 1 people · 1 offer views · 1 packs chosen · 0 payers" in report["content"]
        world.assert_no_errors()

"""The offer on Discord, through the real client against the fake Discord API: /daily and a
finished job that leave the balance low offer the packs (the job's with the next daily credit);
/balance says the next daily credit once; /history tells what each job cost."""

from __future__ import annotations

from tests.e2e.discord_kit import ALICE, World, action, discord_world


def buttons(message: dict) -> list[dict]:
    return [c for row in message.get("components", []) for c in row["components"]]


async def ask(world: World, name: str, user: dict) -> dict:
    payload = world.command(name, [], user, guild=False)
    world.dispatch(payload)
    callback = await world.callback(payload)
    if callback.json["type"] == 4:
        return callback.json["data"]
    return (await world.webhook(payload)).json


async def test_daily_that_leaves_the_balance_low_offers_the_packs(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, stripe=True, welcome_credits=0) as world:
        daily = await ask(world, "daily", ALICE)
        text = daily["content"]
        assert text.startswith("+1 daily credit! You have 1 credits.")
        assert "You have 1 credit left. Buy more to keep creating!" in text
        assert "Starter: 100 credits for $5" in text
        assert "Your next free daily credit" not in text  # the claim already says when
        ids = [b.get("custom_id") for b in buttons(daily)]
        packs = [action("b", ALICE, "p", pack) for pack in ("starter", "popular", "pro", "creator")]
        assert ids == [*packs, action("h", ALICE), action("f", ALICE)]
        assert await world.available(ALICE) == 1
        assert await world.audit() == []
        world.assert_no_errors()


async def test_a_job_that_leaves_the_balance_low_offers_the_next_daily_credit(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, welcome_credits=3) as world:
        payload = world.generate(ALICE, length=10)
        world.dispatch(payload)
        await world.followup_with_file(payload)
        await world.status_text(payload, "−2 credits · 1 left")
        offer = await world.request(
            lambda r: r.route.startswith("/webhooks/") and "credit left" in (r.json or {}).get("content", "")
        )
        assert "You have 1 credit left." in offer.json["content"]
        assert "Your next free daily credit:" in offer.json["content"]
        await world.idle()
        assert await world.available(ALICE) == 1
        assert await world.audit() == []
        world.assert_no_errors()


async def test_balance_says_the_next_daily_credit_once_and_history_what_jobs_cost(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path, welcome_credits=3) as world:
        payload = world.generate(ALICE, guild=False, length=10)
        world.dispatch(payload)
        await world.followup_with_file(payload)
        await world.idle()

        balance = (await ask(world, "balance", ALICE))["content"]
        assert "You have 1 credit left." in balance
        assert balance.count("daily credit") == 1 and "Next free daily credit: now (use /daily)" in balance

        history = (await ask(world, "history", ALICE))["content"]
        assert "Your last clips:" in history
        assert "· 10 s warm solo piano · done · −2 credits" in history
        assert await world.audit() == []
        world.assert_no_errors()

"""`/pricing`, written once in the conversation layer: every priced operation with its cost, then
the packs on sale where it is asked, the same on the console, Telegram and Discord."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import build_app
from bot.config import load_settings
from tests.e2e.console_kit import console_chat
from tests.e2e.discord_kit import ALICE, discord_world
from tests.e2e.telegram_stack import telegram_stack

MUSIC = "🎵 Music from your recording: 5 s → 1 credit, 10 s → 2 credits, 15 s → 3 credits, 30 s → 5 credits"
OTHERS = (
    "✍️ Music from a description ({describe}): 5 s → 1 credit, 10 s → 2 credits, 15 s → 3 credits, 30 s → 5 credits\n"
    "🗣 Speech ({say}): 1 credit per started 200 characters, up to 1000\n"
    "🏷 Voice tag on a clip: 1 credit"
).format(describe="/describe", say="/say")


async def test_pricing_in_the_console_lists_the_costs_then_the_packs(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, database_url=sqlite_url, data_dir=str(tmp_path), replicate_api_token=None)
    app = await build_app(settings)
    try:
        answer = await console_chat(app, "console:ann").handle("/pricing")
    finally:
        await app.close()
    lines = answer.splitlines()
    assert lines[-10:] == [
        "What things cost:",
        MUSIC,
        *OTHERS.splitlines(),
        "Credit packs:",
        "Starter: 100 credits for $5",
        "Popular: 400 credits for $15",
        "Pro: 1,000 credits for $35",
        "Creator: 2,500 credits for $75",
    ]


async def test_pricing_on_telegram_shows_the_stars_packs_and_is_in_the_menu(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "start")
        answer = (await stack.command(ada, "pricing"))["text"]
        assert answer.startswith(
            f"What things cost:\n{MUSIC}\n{OTHERS}\nCredit packs:\nStarter: 100 credits for 250 ⭐"
        )
        menus = {key: [c["command"] for c in commands] for key, commands in stack.fake.commands.items()}
        assert any("pricing" in commands for commands in menus.values())
        assert stack.unexpected_errors() == []


async def test_pricing_on_discord_is_a_slash_command(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_world(sqlite_url, tmp_path, stripe=True) as world:
        await world.bot.tree.sync()
        assert world.fake.command("pricing")["description"] == "What each thing costs, and the credit packs"
        payload = world.command("pricing", [], ALICE, guild=True)
        world.dispatch(payload)
        answer = (await world.callback(payload)).json["data"]["content"]
        assert answer.endswith(
            f"What things cost:\n{MUSIC}\n{OTHERS}\nCredit packs:\nStarter: 100 credits for $5\n"
            "Popular: 400 credits for $15\nPro: 1,000 credits for $35\nCreator: 2,500 credits for $75"
        )
        world.assert_no_errors()

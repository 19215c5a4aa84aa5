"""`/progress`, written once in the conversation layer, on the console, Telegram and Discord:
after a /daily claim the streak bar shows one day, and every achievement is listed."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import build_app
from bot.config import load_settings
from tests.e2e.console_kit import console_chat
from tests.e2e.discord_kit import ALICE, discord_world
from tests.e2e.telegram_stack import telegram_stack

ONE_DAY = "Daily streak: ▰▱▱▱▱▱▱ 1/7 days"
OPEN = "Achievements (0/8):\n▫️ First clip\n▫️ 10 clips\n▫️ 50 clips\n▫️ Every style tried\n▫️ First share"


async def test_progress_in_the_console(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, database_url=sqlite_url, data_dir=str(tmp_path), replicate_api_token=None)
    app = await build_app(settings)
    try:
        chat = console_chat(app, "console:ann")
        await chat.handle("/daily")
        answer = await chat.handle("/progress")
        balance = await chat.handle("/balance")
    finally:
        await app.close()
    assert ONE_DAY in answer and OPEN in answer and "Clips made: 0" in answer
    assert f"🔥 {ONE_DAY}" in balance


async def test_progress_on_telegram_is_in_the_menu(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "daily")
        answer = (await stack.command(ada, "progress"))["text"]
        assert ONE_DAY in answer and OPEN in answer
        menus = {key: [c["command"] for c in commands] for key, commands in stack.fake.commands.items()}
        assert any("progress" in commands for commands in menus.values())
        assert stack.unexpected_errors() == []


async def test_progress_on_discord_is_a_slash_command(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        await world.bot.tree.sync()
        assert world.fake.command("progress")["description"] == "Your daily streak and achievements"
        payload = world.command("progress", [], ALICE, guild=False)
        world.dispatch(payload)
        answer = (await world.callback(payload)).json["data"]["content"]
        assert "Daily streak: ▱▱▱▱▱▱▱ 0/7 days" in answer and OPEN in answer
        world.assert_no_errors()

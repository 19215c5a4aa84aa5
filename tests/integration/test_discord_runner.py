"""`python -m bot sync-commands` and the Discord platform the composition root registers, against
the fake Discord."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.platform import DiscordPlatform
from bot.bootstrap import build_app
from bot.config import load_settings
from bot.periodic import FileSweeper
from tests.fakes.discord_fake import FakeDiscordAPI

ROOT = Path(__file__).resolve().parents[2]


async def test_sync_commands_publishes_the_slash_commands_globally(sqlite_url, tmp_path) -> None:
    async with FakeDiscordAPI() as fake:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=sqlite_url,
            DATA_DIR=str(tmp_path),
            DISCORD_BOT_TOKEN=fake.token,
            DISCORD_API_BASE_URL=fake.api_base,
            LOG_LEVEL="WARNING",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "sync-commands",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        names = {c["name"] for c in fake.global_commands}
        assert f"synced {len(names)} commands globally" in out.decode()
        assert {
            "generate",
            "balance",
            "history",
            "buy",
            "gift",
            "server-wallet",
            "admin",
            "daily",
        } <= names
        assert fake.guild_commands == {}
        assert_localized(fake.global_commands)


def assert_localized(commands: list[dict]) -> None:
    """Every command and option named and described in Spanish and Russian (subcommands keep
    their English names: the usage lines spell them so)."""
    by_name = {c["name"]: c for c in commands}
    balance = by_name["balance"]
    assert balance["name_localizations"] == {"es-ES": "saldo", "es-419": "saldo", "ru": "баланс"}
    assert balance["description_localizations"]["ru"] == "Ваши кредиты и тариф"
    generate = by_name["generate"]
    length = next(o for o in generate["options"] if o["name"] == "length")
    assert length["name_localizations"]["es-ES"] == "duración"
    assert length["description_localizations"]["es-419"] == "Cuánto debe durar la música (se muestra el precio)"
    grant = next(o for o in by_name["admin"]["options"] if o["name"] == "grant")
    assert not grant.get("name_localizations") and grant["description_localizations"]["ru"]
    menu = next(c for c in commands if c["type"] == 3)
    assert menu["name_localizations"]["es-ES"] == "Hacer música con esto"
    for command in commands:
        for where in (command, *command.get("options", [])):
            assert set(where.get("name_localizations") or {}) <= {"es-ES", "es-419", "ru"}
            if command["type"] == 1:
                assert {"es-ES", "es-419", "ru"} <= set(where["description_localizations"]), where["name"]


async def test_the_app_registers_the_discord_platform_which_logs_in_and_stops(sqlite_url, tmp_path) -> None:
    original, original_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscordAPI() as fake:
        settings = load_settings(
            database_url=sqlite_url,
            data_dir=str(tmp_path),
            discord_bot_token=fake.token,
            discord_api_base_url=fake.api_base,
            discord_dev_guild_id=42,
            telegram_bot_token=None,
            public_base_url="https://bot.example",
        )
        app = await build_app(settings)
        try:
            platform = app.platforms.get("discord")
            assert isinstance(platform, DiscordPlatform)
            assert [p for p in app.chats if isinstance(p, DiscordPlatform)] == [platform]  # the one started
            assert platform.clips is not None and app.web_hooks.clip is not None
            sweepers = [s for s in app.sweeps if isinstance(s, FileSweeper)]  # old recordings and clip links
            assert [s.shelves for s in sweepers] == [[platform.recording_shelf, platform.clips]]
            await platform.start()
            assert platform.client.user is not None and platform.client.user.id == fake.application_id
            assert {c["name"] for c in fake.guild_commands[42]} >= {
                "generate",
                "gift",
            }  # dev server
            assert fake.global_commands == []  # global sync is the CLI's job
            # The gateway is the one the API names, never discord.gg's built-in address.
            async with asyncio.timeout(10):
                while not fake.identifies:  # noqa: ASYNC110 - the websocket side notifies nobody
                    await asyncio.sleep(0.02)
            assert fake.identifies[0]["token"] == fake.token
            await platform.stop()
            assert platform.client.is_closed()
        finally:
            await app.close()
            Route.BASE = original
            DiscordWebSocket.DEFAULT_GATEWAY = original_gateway

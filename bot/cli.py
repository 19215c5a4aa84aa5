"""`python -m bot [run|migrate|...]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.config import ConfigError, load_settings
from bot.logging import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The MusicGen credit bot.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured adapter (the default)")
    sub.add_parser("migrate", help="upgrade the database schema to the latest migration")
    reconcile = sub.add_parser(
        "reconcile-payments", help="fulfil paid Stripe Checkout sessions whose webhook was missed"
    )
    reconcile.add_argument(
        "--hours", type=float, default=72.0, help="look at sessions created in the last N hours (default 72)"
    )
    sub.add_parser("stats", help="print usage figures: today, 7 and 30 days")
    sync = sub.add_parser("sync-commands", help="publish the Discord slash commands globally")
    sync.add_argument("--guild", type=int, default=None, help="only to this server id (shows at once; for testing)")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    configure(settings.log_level)

    if args.command == "migrate":
        from adapters.storage.migrations import upgrade

        asyncio.run(upgrade(settings.database_url))
        print("database is at the latest migration")
        return 0

    if args.command == "reconcile-payments":
        from adapters.storage.migrations import upgrade as _upgrade
        from bot.payments import run_reconcile

        asyncio.run(_upgrade(settings.database_url))
        return run_reconcile(settings, args.hours)

    if args.command == "stats":
        from adapters.storage.migrations import upgrade as _upgrade_for_stats
        from bot.rewards import print_stats

        asyncio.run(_upgrade_for_stats(settings.database_url))
        return asyncio.run(print_stats(settings))

    if args.command == "sync-commands":
        if not settings.discord_bot_token:
            print("config error: DISCORD_BOT_TOKEN is not set", file=sys.stderr)
            return 2
        return asyncio.run(_sync_discord_commands(settings, args.guild))

    from bot.runtime import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    return 0


async def _sync_discord_commands(settings: Any, guild: int | None) -> int:
    from adapters.discord import DiscordOptions, DiscordServices, sync_commands
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app

    await upgrade(settings.database_url)
    app = await build_app(settings)  # the commands shown depend on what is configured
    try:
        count = await sync_commands(DiscordServices.from_app(app), DiscordOptions.from_settings(settings), guild)
    finally:
        await app.close()
    where = f"to server {guild}" if guild else "globally (they may take a while to appear)"
    print(f"synced {count} commands {where}")
    return 0

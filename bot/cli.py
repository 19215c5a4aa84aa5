"""`python -m bot [run|migrate|...]`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, load_settings
from bot.logging import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The MusicGen credit bot.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured adapter (the default)")
    sub.add_parser("migrate", help="upgrade the database schema to the latest migration")
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

    from bot.runtime import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    return 0

"""The bot process runs on uvloop (the e2e tests run every feature in that process)."""

from __future__ import annotations

import asyncio

import uvloop

from bot.cli import serve


def test_the_bot_serves_on_uvloop() -> None:
    loops: list[type] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()))

    serve(main())
    assert loops == [uvloop.Loop]

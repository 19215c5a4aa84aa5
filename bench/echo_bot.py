"""`python -m bench.echo_bot API_URL PORT`: the least a Telegram webhook bot can do, for
`bench.scale`'s floor. Each update POSTed to `/webhooks/telegram` is answered with one
`sendMessage` to its chat, then with 200: no framework, no database, no work. What the
benchmark measures through it is what the harness itself costs on this machine (the fake Bot
API, the load balancer, the machine's cores), the first reply no bot can beat there."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
from aiohttp import web


async def serve(api_url: str, port: int) -> None:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=48))

    async def on_update(request: web.Request) -> web.Response:
        update = json.loads(await request.read())
        message = update.get("message") or {}
        chat = (message.get("chat") or {}).get("id")
        if chat is not None:
            async with http.post(f"{api_url}/sendMessage", data={"chat_id": str(chat), "text": "hello"}) as answer:
                await answer.read()
        return web.Response()

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/telegram", on_update)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await http.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))

"""GET /healthz and the pages Stripe sends buyers back to.

The checkout pages only say what happens next: credits are granted by the verified webhook,
never by a visit here, so they read nothing from the query (and echo nothing back).
"""

from __future__ import annotations

import asyncio
import html
import logging

from aiohttp import web

from adapters.web.webhooks import HOOKS

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 3.0

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}}
</style>
</head><body><h1>{title}</h1><p>{body}</p></body></html>
"""


async def healthz(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS]
    try:
        ok = await asyncio.wait_for(hooks.health(), HEALTH_TIMEOUT_SECONDS)
    except Exception as error:  # a timeout or a dead database both mean "not healthy"
        logger.warning("health check failed: %r", error)
        ok = False
    if ok:
        return web.json_response({"status": "ok", "database": "ok"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


def _page(request: web.Request, name: str) -> web.Response:
    """In the browser's first language (English when the bot does not speak it)."""
    text = request.app[HOOKS].text
    locale = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip() or None
    title, body = text(f"web.{name}_title", locale), text(f"web.{name}_body", locale)
    body = _PAGE.format(title=html.escape(title), body=html.escape(body))
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})


async def checkout_success(request: web.Request) -> web.Response:
    return _page(request, "checkout_success")


async def checkout_cancel(request: web.Request) -> web.Response:
    return _page(request, "checkout_cancel")


async def clip(request: web.Request) -> web.Response:
    """A clip too big to upload to a chat, while its (unguessable, time-limited) link is valid."""
    serve = request.app[HOOKS].clip
    found = await serve(request.match_info["name"]) if serve is not None else None
    if found is None:
        return web.Response(status=404, text="This link has expired.")
    data, content_type = found
    return web.Response(body=data, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"})

"""Links for clips too big to upload: served by our web server while valid, then gone."""

from __future__ import annotations

import datetime as dt
import os

import aiohttp

from adapters.discord.clip_links import ClipShelf
from adapters.web import WebHooks, WebServer


async def ok() -> bool:
    return True


async def test_a_published_clip_is_served_until_its_link_expires(tmp_path) -> None:
    now = [1_000_000.0]
    shelf = ClipShelf(tmp_path, "http://placeholder", ttl=dt.timedelta(hours=1), clock=lambda: now[0])
    hooks = WebHooks(health=ok, text=lambda key, locale: key, clip=shelf.fetch)
    async with WebServer(hooks, "127.0.0.1", 0) as server:
        shelf.base_url = server.base_url
        url, until = await shelf.publish(b"ID3 an mp3", "mp3")
        assert url.startswith(f"{server.base_url}/clips/") and url.endswith(".mp3")
        assert until == dt.datetime.fromtimestamp(now[0] + 3600, dt.UTC)
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as served:
                assert served.status == 200 and served.content_type == "audio/mpeg"
                assert await served.read() == b"ID3 an mp3"
            for guess in ("../secret.mp3", "a" * 32 + ".mp3", "x.exe"):
                async with session.get(f"{server.base_url}/clips/{guess}") as missing:
                    assert missing.status == 404
            path = tmp_path / url.rsplit("/", 1)[1]
            now[0] = path.stat().st_mtime + 3601  # an hour later
            async with session.get(url) as expired:
                assert expired.status == 404
    assert not path.exists()
    assert shelf.sweep() == 0


async def test_the_sweep_deletes_only_expired_clips(tmp_path) -> None:
    now = [0.0]
    shelf = ClipShelf(tmp_path, "http://x", ttl=dt.timedelta(minutes=10), clock=lambda: now[0])
    old_url, _ = await shelf.publish(b"old")
    new_url, _ = await shelf.publish(b"new")
    old = tmp_path / old_url.rsplit("/", 1)[1]
    now[0] = old.stat().st_mtime + 601
    os.utime(tmp_path / new_url.rsplit("/", 1)[1], (now[0], now[0]))
    assert shelf.sweep() == 1
    assert not old.exists() and await shelf.fetch(new_url.rsplit("/", 1)[1]) == (b"new", "audio/mpeg")

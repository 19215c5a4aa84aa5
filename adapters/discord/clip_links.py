"""Clips too big to upload to an interaction: kept on disk for a while and served by our web
server at `<PUBLIC_BASE_URL>/clips/<random name>` (see `WebHooks.clip`).

The name is 32 random url-safe characters, so a link can be handed to one person only; it stops
working after `ttl` (checked on every request, and old files are deleted by `sweep`). Files on
disk (not memory) so every process on the host serves them and a restart keeps them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.(mp3|ogg|wav)$")
CONTENT_TYPES = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav"}


class ClipShelf:
    def __init__(
        self,
        directory: Path | str,
        base_url: str,
        *,
        ttl: dt.timedelta = dt.timedelta(hours=24),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self.clock = clock

    async def publish(self, data: bytes, fmt: str = "mp3") -> tuple[str, dt.datetime]:
        """Store `data`; return its URL and when the link stops working."""
        ext = fmt if fmt in CONTENT_TYPES else "mp3"
        name = f"{secrets.token_urlsafe(24)}.{ext}"
        await asyncio.to_thread(self._write, name, data)
        expires = dt.datetime.fromtimestamp(self.clock() + self.ttl.total_seconds(), dt.UTC)
        return f"{self.base_url}/clips/{name}", expires

    async def fetch(self, name: str) -> tuple[bytes, str] | None:
        """The clip's bytes and content type while its link is valid, else None."""
        if not _NAME.match(name):
            return None
        return await asyncio.to_thread(self._read, name)

    def sweep(self) -> int:
        """Delete expired clips; returns how many."""
        removed = 0
        if not self.directory.exists():
            return 0
        for path in self.directory.iterdir():
            if _NAME.match(path.name) and self._expired(path):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{name}.part"
        partial.write_bytes(data)
        partial.replace(self.directory / name)  # never serve half a file

    def _read(self, name: str) -> tuple[bytes, str] | None:
        path = self.directory / name
        try:
            if self._expired(path):
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes(), CONTENT_TYPES[name.rsplit(".", 1)[1]]
        except FileNotFoundError:
            return None

    def _expired(self, path: Path) -> bool:
        return path.stat().st_mtime + self.ttl.total_seconds() < self.clock()

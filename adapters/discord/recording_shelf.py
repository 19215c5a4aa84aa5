"""Recordings people sent the bot, kept between their arrival and a style × length press.

Discord's attachment links are signed and expire, so a recording is downloaded the moment it
arrives and kept here, on disk (a press after a restart still finds it), for `ttl`; `sweep`
deletes older ones. Keyed by the id of the message that carried it. Without a directory (tests,
`sync-commands`) a small in-memory store stands in.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

MEMORY_ITEMS = 256


class RecordingShelf:
    def __init__(
        self,
        directory: Path | str | None,
        *,
        ttl: dt.timedelta = dt.timedelta(hours=24),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.ttl = ttl
        self.clock = clock
        self._memory: collections.OrderedDict[int, tuple[float, bytes]] = collections.OrderedDict()

    async def put(self, message_id: int, data: bytes) -> None:
        if self.directory is None:
            self._memory[message_id] = (self.clock(), data)
            while len(self._memory) > MEMORY_ITEMS:
                self._memory.popitem(last=False)
            return
        await asyncio.to_thread(self._write, int(message_id), data)

    async def get(self, message_id: int) -> bytes | None:
        """The recording's bytes while it is kept, else None."""
        if self.directory is None:
            kept = self._memory.get(message_id)
            return kept[1] if kept is not None and not self._too_old(kept[0]) else None
        return await asyncio.to_thread(self._read, int(message_id))

    def sweep(self) -> int:
        """Delete recordings older than `ttl`; returns how many."""
        if self.directory is None:
            old = [k for k, (at, _) in self._memory.items() if self._too_old(at)]
            for key in old:
                del self._memory[key]
            return len(old)
        if not self.directory.exists():
            return 0
        removed = 0
        for path in self.directory.glob("*.rec"):
            try:
                if self._too_old(path.stat().st_mtime):
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _path(self, message_id: int) -> Path:
        assert self.directory is not None
        return self.directory / f"{message_id}.rec"

    def _write(self, message_id: int, data: bytes) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{message_id}.part"
        partial.write_bytes(data)
        partial.replace(self._path(message_id))  # never read half a file

    def _read(self, message_id: int) -> bytes | None:
        path = self._path(message_id)
        try:
            if self._too_old(path.stat().st_mtime):
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def _too_old(self, at: float) -> bool:
        return at + self.ttl.total_seconds() < self.clock()

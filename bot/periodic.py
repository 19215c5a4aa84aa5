"""`Periodic`: the runtime component behind every sweep (referrals, expiry, Stripe reconcile)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class Periodic:
    """A runtime component that runs `tick` every `interval` seconds, the first time at once
    (or after one interval when `wait_first`); a failed tick is logged and the next one comes
    all the same."""

    name = "periodic"
    wait_first = False

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        if self.wait_first:
            await asyncio.sleep(self.interval)
        while True:
            try:
                await self.tick()
            except Exception:
                logger.exception("%s failed; next try in %.0f s", self.name, self.interval)
            await asyncio.sleep(self.interval)

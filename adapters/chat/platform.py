"""`ChatPlatform`: what the runtime starts and stops and what notices are sent through, and
`Platforms`, the ones this process runs. A new platform is one package implementing it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from adapters.chat.messages import Control, Reply, Surface
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job, Stage


@dataclass(frozen=True)
class JobStatus:
    """The one status message of a job, as it is now. `stage` is None once the job ended;
    `charge` ("−2 credits · 5 left") once it was charged, for a platform that showed an estimate
    with the clip and may correct it."""

    job: Job
    reply: Reply
    stage: Stage | None = None
    charge: str | None = None

    @property
    def final(self) -> bool:
        return self.stage is None


@dataclass(frozen=True)
class ClipMessage:
    """A delivered clip's words: `caption` names it, `charge` says what it costs ("−2 credits ·
    8 left", before the capture), `title`/`performer`/`filename` for players that show them,
    `note` for a platform that shows `charge` instead of `caption`."""

    caption: str
    charge: str
    title: str
    performer: str
    filename: str
    rows: tuple[tuple[Control, ...], ...]
    note: str = ""  # "sent again after a restart" (already part of `caption`)


class ChatPlatform(Protocol):
    @property
    def surface(self) -> Surface: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, to: Identity, reply: Reply) -> None:
        """A message in the person's private chat (raises when the platform refuses)."""
        ...

    async def send_to_operators(self, reply: Reply) -> bool:
        """A message to the operators' channel or chat; False when there is none here."""
        ...

    async def show_status(self, status: JobStatus) -> None:
        """Create or edit the job's status message."""
        ...

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        """Deliver the clip where the job was asked for; True or `Delivered` only once the
        platform accepted it (the credits are captured only then)."""
        ...

    async def send_after(self, job: Job, reply: Reply) -> None:
        """One more message where the job was asked for (the offer after a job)."""
        ...


@runtime_checkable
class StopsReceiving(Protocol):
    """A platform that can stop taking updates while it still sends (the bot is stopping, and
    jobs in flight may still deliver)."""

    async def stop_receiving(self) -> None: ...


class Platforms:
    """The chat platforms this process runs, by name. Jobs resumed at start-up may ask for their
    platform before it is registered: `wait_for` gives it a while."""

    def __init__(self, wait_seconds: float = 60.0) -> None:
        self.wait_seconds = wait_seconds
        self._platforms: dict[str, ChatPlatform] = {}
        self._registered: dict[str, asyncio.Event] = {}

    def register(self, platform: ChatPlatform) -> None:
        name = platform.surface.name
        self._platforms[name] = platform
        self._registered.setdefault(name, asyncio.Event()).set()

    def get(self, name: str) -> ChatPlatform | None:
        return self._platforms.get(name)

    def all(self) -> list[ChatPlatform]:
        return list(self._platforms.values())

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._platforms)

    async def wait_for(self, name: str) -> ChatPlatform | None:
        platform = self._platforms.get(name)
        if platform is None:
            registered = self._registered.setdefault(name, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(registered.wait(), self.wait_seconds)
            platform = self._platforms.get(name)
        return platform

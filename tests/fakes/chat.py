"""In-memory stand-ins around the conversation layer: a chat platform that records what it is
handed (the job notices' statuses, clips and follow-ups), a fixed clock, and the little of the
payment service that `Shop` asks (which packs are on sale)."""

from __future__ import annotations

import datetime as dt

from adapters.chat.messages import Reply, Surface
from adapters.chat.platform import ClipMessage, JobStatus
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job
from core.domain.pricing import Pack, PackTable


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at


class PacksOnSale:
    """What `Shop` asks of `PaymentService`: the card packs (Stripe) and the Stars packs."""

    def __init__(self, card: tuple[Pack, ...] = (), stars: tuple[Pack, ...] = ()) -> None:
        self.card = card
        self.stars_packs = PackTable(stars)

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.card)

    @property
    def stars_enabled(self) -> bool:
        return bool(self.stars_packs.packs)

    def packs(self) -> tuple[Pack, ...]:
        return self.card


class RecordingPlatform:
    """A `ChatPlatform` that keeps everything it is asked to show or send."""

    def __init__(self, surface: Surface) -> None:
        self._surface = surface
        self.statuses: list[JobStatus] = []
        self.clips: list[ClipMessage] = []
        self.after: list[Reply] = []
        self.sent: list[tuple[Identity, Reply]] = []
        self.to_operators: list[Reply] = []

    @property
    def surface(self) -> Surface:
        return self._surface

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, to: Identity, reply: Reply) -> None:
        self.sent.append((to, reply))

    async def send_to_operators(self, reply: Reply) -> bool:
        self.to_operators.append(reply)
        return True

    async def show_status(self, status: JobStatus) -> None:
        self.statuses.append(status)

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        self.clips.append(message)
        return True

    async def send_after(self, job: Job, reply: Reply) -> None:
        self.after.append(reply)

    @property
    def status_text(self) -> str:
        """The job status message as it shows now."""
        return self.statuses[-1].reply.text

"""In-memory stand-ins around the conversation layer: a chat platform that records what it is
handed (the job notices' statuses, clips and follow-ups), a fixed clock, and the little of the
payment service that `Shop` asks (which packs are on sale)."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.chat.messages import Reply, Surface
from adapters.chat.notices import ChatNotices
from adapters.chat.platform import ClipMessage, JobStatus, Platforms
from adapters.chat.support import SupportWords
from adapters.chat.words import Words
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job
from core.domain.pricing import Pack, PackTable


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
    """A `ChatPlatform` that keeps everything it is asked to show or send. `broken` makes sending
    raise, as a platform does when the person blocked the bot or the channel is gone."""

    def __init__(self, surface: Surface, *, broken: bool = False) -> None:
        self._surface = surface
        self.broken = broken
        self.calls = 0  # sends and forwards asked for, whether they got through or not
        self.statuses: list[JobStatus] = []
        self.clips: list[ClipMessage] = []
        self.audio: list[GeneratedClip] = []  # what each clip message carried
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
        self._call()
        self.sent.append((to, reply))

    async def send_to_operators(self, reply: Reply) -> bool:
        self._call()
        self.to_operators.append(reply)
        return True

    def _call(self) -> None:
        self.calls += 1
        if self.broken:
            raise ConnectionError("Forbidden: bot was blocked by the user")

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(identity, text) of every private message sent."""
        return [(to.key, reply.text) for to, reply in self.sent]

    async def show_status(self, status: JobStatus) -> None:
        self.statuses.append(status)

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        self.clips.append(message)
        self.audio.append(clip)
        return True

    async def send_after(self, job: Job, reply: Reply) -> None:
        self.after.append(reply)

    @property
    def status_text(self) -> str:
        """The job status message as it shows now."""
        return self.statuses[-1].reply.text


def chat_notices(*platforms: RecordingPlatform) -> ChatNotices:
    """The notices of a process running these platforms, as `bot.bootstrap` wires them."""
    registry = Platforms()
    for platform in platforms:
        registry.register(platform)
    words = Words(Catalogue())
    return ChatNotices(registry, words, SupportWords(words))

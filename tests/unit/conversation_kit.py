"""The whole App over the in-memory stores (`bot.bootstrap.compose`, no database), and requests
sent straight to its conversation the way a platform sends them: for fast unit tests of the
conversation layer.

Two platforms are registered as `RecordingPlatform`s, so the job notices (statuses, clips, the
offer after a job), private messages and the operators' channel are observable:

- a Telegram-like surface: Stars and card, members named by replying, an invite link, commands
  spelled the way Telegram accepts them (`/verify` for `/verify-email`);
- a Discord-like surface: card only, commands carry attachments, groups are "servers", times are
  Discord timestamps.

An identity's platform picks its surface: `kit.say("telegram:1", "/balance")` is Telegram's.
Jobs run only when a test asks (`await kit.run_jobs()`), on the local synthesizer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import shlex
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.chat.actions import Action
from adapters.chat.conversation import Conversation
from adapters.chat.messages import Attachment, Button, Member, Menu, PayBy, Place, Reply, Request, ShareButton, Surface
from bot.bootstrap import App, Stores, compose
from bot.config import load_settings
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.ledger import Balance
from tests.audio_samples import hum_clip
from tests.fakes.chat import RecordingPlatform
from tests.fakes.edges import FakeCheckout
from tests.fakes.memory import MemoryStores
from tests.unit.memory_services import CountingCodes

WELCOME = "Welcome! You have 10 free credits. Send me a voice message to make music."
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # a Tuesday morning, UTC
OPERATOR = "telegram:900"
TELEGRAM_NAME = re.compile(r"^[a-z0-9_]{1,32}$")  # what Telegram accepts as a command name
HUM = hum_clip()  # one real recording for every test (encoding it is the slow part)


def discord_time(at: dt.datetime) -> str:
    return f"<t:{int(at.timestamp())}:R>"


def telegram_surface(conversation: Conversation) -> Surface:
    def spell(command: str) -> str:
        found = conversation.command(command)
        names = found.names if found is not None else (command,)
        return "/" + next((n for n in names if TELEGRAM_NAME.match(n)), names[0].replace("-", "_"))

    return Surface(
        "telegram",
        payment_methods=(PayBy.STARS, PayBy.CARD),
        member_by_reply=True,
        max_file_bytes=20_000_000,
        invite_link=lambda payload: f"https://t.me/hum_bot?start={payload}",
        spell=spell,
    )


DISCORD = Surface(
    "discord",
    payment_methods=(PayBy.CARD,),
    command_attachments=True,
    group_kind="server",
    max_file_bytes=25_000_000,
    when=discord_time,
)


def stores_of(memory: MemoryStores) -> Stores:
    return Stores(
        ledger=memory.ledger,
        jobs=memory.jobs,
        payments=memory.payments,
        bonuses=memory.bonuses,
        referrals=memory.referrals,
        notices=memory.notices,
        email=memory.email,
        links=memory.links,
        support=memory.support,
        stats=memory.stats,
        languages=memory.languages,
        offers=memory.offers,
        top_ups=memory.top_ups,
        progress=memory.progress,
    )


def recording(audio: bytes = HUM, name: str = "hum.ogg", size: int | None = None) -> Attachment:
    async def read() -> bytes:
        return audio

    return Attachment(name, read, len(audio) if size is None else size)


def group(group_id: str = "g1", *, admin: bool) -> Place:
    """A group (server) chat; `admin` is the platform's verdict on the sender, counted when asked."""

    async def check_admin() -> bool:
        return admin

    return Place(private=False, group_id=group_id, check_admin=check_admin)


def buttons(reply: Reply) -> list[Button]:
    """Every pressable control of a reply, menus opened, in order."""
    found: list[Button] = []
    for control in reply.controls:
        if isinstance(control, Menu):
            found.extend(control.options)
        elif isinstance(control, Button):
            found.append(control)
        elif isinstance(control, ShareButton):
            found.append(Button(control.label, control.action))
    return found


def labels(reply: Reply) -> list[str]:
    return [button.label for button in buttons(reply)]


def button(reply: Reply, label_part: str) -> Button:
    """The one button whose label contains `label_part`."""
    (found,) = [b for b in buttons(reply) if label_part in b.label]
    return found


@dataclass
class Kit:
    app: App
    clock: ManualClock
    memory: MemoryStores
    codes: CountingCodes
    telegram: RecordingPlatform
    discord: RecordingPlatform
    checkout: FakeCheckout | None = None  # with `card=True`: Checkout and the saved cards
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def conversation(self) -> Conversation:
        return self.app.conversation

    def platform(self, who: str) -> RecordingPlatform:
        return self.telegram if Identity.parse(who).platform == "telegram" else self.discord

    def surface(self, who: str) -> Surface:
        return self.platform(who).surface

    def request(
        self,
        who: str,
        *,
        place: Place | None = None,
        request_id: str | None = None,
        attachment: Attachment | None = None,
        quoted: str | None = None,
        member: Member | None = None,
        mention: str = "",
        args: Mapping[str, str] | None = None,
        locale: str | None = None,
    ) -> Request:
        request_id = request_id or f"r{next(self._ids)}"
        return Request(
            Identity.parse(who),
            self.surface(who),
            request_id,
            place=place or Place(),
            locale=locale,
            args=dict(args or {}),
            attachment=attachment,
            quoted=quoted,
            member=member,
            mention=mention or f"@{Identity.parse(who).user_id}",
            reply_to={"request": request_id},
        )

    async def say(self, who: str, line: str, **request: Any) -> Reply:
        """A typed command, as a text platform passes it: its name and the words after it."""
        words = shlex.split(line)
        return await self.conversation.run(self.request(who, **request), words[0].removeprefix("/"), words[1:])

    async def options(self, who: str, name: str, sub: str | None = None, **request: Any) -> Reply:
        """A command whose arguments came as named options (Discord's slash commands)."""
        return await self.conversation.run(self.request(who, **request), name, sub=sub)

    async def send_recording(self, who: str, audio: bytes = HUM, ref: str = "rec1", **request: Any) -> Reply:
        """A voice message: the style × length picker."""
        return await self.conversation.recording(self.request(who, attachment=recording(audio), **request), ref)

    async def typed(self, who: str, text: str, **request: Any) -> Reply:
        """Words typed in a private chat (where the platform quotes them back on a press)."""
        return await self.conversation.typed(self.request(who, **request), text)

    async def press(
        self,
        who: str,
        pressed: Button | Action | str | None,
        *,
        owner: str | None = None,
        audio: bytes | None = None,
        **request: Any,
    ) -> Reply:
        """A button press; `audio` is the recording a picker's button answers (the platform
        finds it), `owner` who an unowned button belongs to (the recording's author)."""
        if isinstance(pressed, Button):
            pressed = pressed.action
        data = pressed.encode() if isinstance(pressed, Action) else pressed
        attachment = recording(audio) if audio is not None else None
        return await self.conversation.press(self.request(who, attachment=attachment, **request), data, owner=owner)

    async def run_jobs(self) -> None:
        """Start every queued job and wait until each is delivered or failed."""
        runner = self.app.generation.runner
        while await runner.dispatch():
            await runner.wait_idle()

    # --- reading the ledger, without creating anyone -----------------------------------------

    def known(self, who: str) -> bool:
        return Identity.parse(who).key in self.memory.world.identities

    async def balance(self, who: str) -> Balance:
        world = self.memory.world
        person_id = world.survivor(world.identities[Identity.parse(who).key])
        return await self.memory.ledger.balance(world.wallet_of(person_id))

    async def available(self, who: str) -> int:
        return (await self.balance(who)).available

    def movements(self) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """Every transfer and hold the ledger ever recorded: equal before and after means no
        credit moved anywhere and nothing was held."""
        world = self.memory.world
        return tuple(world.transfers), tuple((key, hold.state.value) for key, hold in world.holds.items())


def kit(
    tmp_path: Path,
    *,
    card: bool = False,
    generator: Any = None,
    providers: Any = None,
    email_sender: Any = None,
    **settings: Any,
) -> Kit:
    """The App on fresh in-memory stores, with the local synthesizer unless `generator` is given.
    `card=True` sells card packs through a fake Checkout."""
    values: dict[str, Any] = {
        "data_dir": str(tmp_path),
        "intake_processes": 0,
        "telegram_bot_token": None,
        "discord_bot_token": None,
        "replicate_api_token": None,
        "stripe_secret_key": None,
        "stripe_webhook_secret": None,
        "smtp_host": None,
        "operator_ids": OPERATOR,
        "new_account_cooldown_minutes": 0,
        "poll_interval_seconds": 0.01,
        **settings,
    }
    memory, clock, codes = MemoryStores(), ManualClock(START), CountingCodes()
    checkout = FakeCheckout() if card else None
    app = compose(
        load_settings(_env_file=None, **values),
        stores_of(memory),
        clock=clock,
        codes=codes,
        generator=generator,
        providers=providers,
        email_sender=email_sender,
        checkout=checkout,
        cards=checkout,
    )
    telegram = RecordingPlatform(telegram_surface(app.conversation))
    discord = RecordingPlatform(DISCORD)
    app.platforms.register(telegram)
    app.platforms.register(discord)
    return Kit(app, clock, memory, codes, telegram, discord, checkout)


@contextlib.asynccontextmanager
async def kits(tmp_path: Path) -> AsyncIterator[Callable[..., Kit]]:
    """A maker of kits (`make(**settings)`) whose apps are closed afterwards."""
    made: list[Kit] = []

    def make(**settings: Any) -> Kit:
        made.append(kit(tmp_path / str(len(made)), **settings))
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            await one.app.close()

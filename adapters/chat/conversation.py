"""The conversation: every command and button press of every platform comes here as a neutral
`Request` and leaves as a `Reply`. Platforms only translate.

- `run(request, name, words=...)` runs a typed command (its words parsed by the command's
  declaration); `run(request, name, sub=...)` one whose arguments came as named options.
- `press(request, data)` runs the action a button carries, refusing someone else's press.
- Every error becomes words here, once: the catalogue's for what the rules refuse (with the offer
  when credits are short), a reference for anything unexpected (and it is logged).
- A person's first contact is greeted ("Welcome! You have 10 free credits…") before the answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from adapters.chat.actions import Action, Verb, decode
from adapters.chat.admin import AdminChat
from adapters.chat.commands import Command, Menu, checked_args, flatten, parse_words
from adapters.chat.generation import GenerationChat, NoRecording, Shareable
from adapters.chat.language import LanguageChat
from adapters.chat.messages import SILENT, Reply, Request, Surface, joined
from adapters.chat.offers import Offers
from adapters.chat.payments import PaymentsChat
from adapters.chat.progress import ProgressChat
from adapters.chat.rewards import RewardsChat
from adapters.chat.servers import ServersChat
from adapters.chat.speech import SpeechChat
from adapters.chat.support import SupportChat
from adapters.chat.top_ups import TopUpChat
from adapters.chat.wallet import WalletChat
from adapters.chat.words import Words
from core.domain.pricing import Pricing
from core.errors import AudioRejected, BotError, InsufficientCredits, UnknownCommand, UsageError
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)


class GroupsOnly(BotError):
    """A command for groups (servers), used in a private chat."""

    code = "groups_only"


Press = Callable[[Request, Action], Awaitable[Reply]]

# The order command menus and /help list commands in (each menu shows those it applies to).
MENU_ORDER = (
    "start",
    "gift",
    "server-wallet",
    "balance",
    "daily",
    "progress",
    "buy",
    "autotopup",
    "pricing",
    "say",
    "describe",
    "history",
    "refer",
    "support",
    "paysupport",
    "verify-email",
    "language",
    "help",
)
ALERT_LIMIT = 200  # longer refusals of a press come as a message, not a pop-up


class Conversation:
    def __init__(
        self,
        words: Words,
        wallets: WalletService,
        pricing: Pricing,
        offers: Offers,
        *,
        wallet: WalletChat,
        generation: GenerationChat,
        payments: PaymentsChat,
        rewards: RewardsChat,
        support: SupportChat,
        admin: AdminChat,
        servers: ServersChat,
        speech: SpeechChat,
        language: LanguageChat,
        top_ups: TopUpChat | None = None,
        progress: ProgressChat | None = None,
    ) -> None:
        self.words = words
        self.wallets = wallets
        self.pricing = pricing
        self.offers = offers
        self.generation = generation
        self.payments = payments
        self.rewards = rewards
        self.support = support
        self.speech = speech
        self.language = language
        found = [
            Command("help", self.help, menu=Menu.BOTH),
            *wallet.commands(),
            *generation.commands(),
            *speech.commands(),
            *payments.commands(),
            *(top_ups.commands() if top_ups is not None else ()),
            *rewards.commands(),
            *support.commands(),
            *servers.commands(),
            *admin.commands(),
            *language.commands(),
            *(progress.commands() if progress is not None else []),
        ]
        rank = {name: index for index, name in enumerate(MENU_ORDER)}
        self.commands: tuple[Command, ...] = tuple(sorted(found, key=lambda c: rank.get(c.name, len(rank))))
        self._table = flatten(self.commands)
        self._presses: dict[Verb, Press] = {
            Verb.GENERATE: generation.press_generate,
            Verb.CANCEL: generation.press_cancel,
            Verb.AGAIN: generation.press_again,
            Verb.STYLE: generation.press_again,
            Verb.LONGER: generation.press_again,
            Verb.STYLES: generation.press_styles,
            Verb.SHARE: rewards.press_share,
            Verb.BUY: payments.press_buy,
            Verb.GROUP_BUY: payments.press_group_buy,
            Verb.FREE: rewards.press_free,
            Verb.DAILY: rewards.press_daily,
            Verb.SUPPORT: rewards.press_support,
            Verb.TAG: speech.press_tag,
            Verb.VOICE: generation.press_again,
            Verb.DESCRIBE: speech.press_describe,
            Verb.SAY: speech.press_say,
            Verb.LANGUAGE: language.press_language,
        }

    # --- what platforms register ---------------------------------------------------------------

    def command(self, name: str) -> Command | None:
        return self._table.get(name.lower())

    def available(self, surface: Surface) -> list[Command]:
        """The commands this platform offers."""
        return [c for c in self.commands if c.available(surface)]

    def menu(self, surface: Surface, where: Menu) -> list[Command]:
        return [c for c in self.available(surface) if c.menu & where]

    # --- commands ------------------------------------------------------------------------------

    async def run(
        self, request: Request, name: str, words: Sequence[str] | None = None, *, sub: str | None = None
    ) -> Reply:
        """A command with its words (text platforms) or its options already named in
        `request.args` and, for a subcommand, `sub` (Discord)."""
        try:
            request = await self.language.localized(request)
            command = self.command(name)
            if command is None or not command.available(request.surface):
                raise UnknownCommand(request.surface.command(name))
            if words is not None:
                parsed = parse_words(command, words)
                target, request = parsed.command, replace(request, args=parsed.args)
            else:
                found = command.subcommand(sub) if sub else command
                if found is None:
                    raise UsageError(command.name)
                usage = f"{command.name}.{found.name}" if found is not command else command.name
                target, request = found, replace(request, args=checked_args(found, request.args, usage))
            if command.groups_only and request.place.private:
                raise GroupsOnly()
            if target.run is None:
                raise UsageError(command.name)
            if command.greets:
                request = replace(request, greeting=await self.wallets.start(request.identity))
            reply = await target.run(request)
        except Exception as error:  # noqa: BLE001 - the edge turns every error into words
            return await self.failure(request, error)
        return self._greeted(request, reply)

    async def help(self, request: Request) -> Reply:
        """What the bot does, what it costs, and the commands."""
        spell = self.words.spelling(request.surface, request.locale)
        names = " ".join(spell(c.name) for c in self.menu(request.surface, Menu.PRIVATE))
        return Reply(self.words.t(request, "help", costs=self.words.costs(request, self.pricing), commands=names))

    def _greeted(self, request: Request, reply: Reply) -> Reply:
        """The welcome before a first contact's answer, where only they see it."""
        welcome = self.words.welcome(request)
        if not welcome or reply is SILENT or not (reply.private or request.place.private):
            return reply
        return replace(reply, text=joined(welcome, reply.text))

    # --- recordings ----------------------------------------------------------------------------

    async def recording(self, request: Request, recording: str = "", *, found: bool = True) -> Reply:
        """A recording sent to the bot: the style × length picker (`found=False`: the message
        carried no audio, so how it works)."""
        try:
            request = await self.language.localized(request)
            if not found:
                raise NoRecording()
            return await self.generation.picker(request, recording)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)

    async def typed(self, request: Request, text: str) -> Reply:
        """Words typed in a private chat, where the platform can quote them back on a press: what
        to make of them (music from the words, or the words spoken), each with its cost."""
        try:
            return await self.speech.picker(request, text)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)

    def hint(self, request: Request) -> Reply:
        """Anything else said in a private chat: how to make music."""
        return Reply(self.words.t(request, "send_audio"))

    # --- what the platforms' own events ask ---------------------------------------------------

    async def pre_checkout(self, request: Request, payload: str, amount: int, currency: str) -> str:
        """Telegram asks before charging Stars: "" (go on) or why not, in words."""
        try:
            request = await self.language.localized(request)
            return await self.payments.pre_checkout(request, payload, amount, currency)
        except Exception as error:  # noqa: BLE001
            return (await self.failure(request, error)).text

    async def stars_paid(self, request: Request, payload: str, charge_id: str, amount: int, currency: str) -> Reply:
        try:
            request = await self.language.localized(request)
            return await self.payments.stars_paid(request, payload, charge_id, amount, currency)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)

    async def entitlement(
        self, request: Request, entitlement_id: str, sku_id: str, *, deleted: bool = False
    ) -> Reply | None:
        """The platform's store reported a purchase (or its refund): errors propagate, so the
        platform does not consume an entitlement that was not granted."""
        return await self.payments.entitlement(request, entitlement_id, sku_id, deleted=deleted)

    async def shareable(self, request: Request, job_id: str) -> Shareable | None:
        """The delivered clip `job_id` if the person may share it (the platform's share picker)."""
        try:
            return await self.generation.shareable(request, job_id)
        except Exception:
            logger.exception("looking up a clip to share failed")
            return None

    async def shared(self, request: Request, job_id: str) -> Reply:
        """A clip was shared through the platform's share picker: the share bonus."""
        try:
            request = await self.language.localized(request)
            return await self.rewards.shared(request, job_id)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)

    async def operator_reply(self, request: Request, ticket: str, text: str) -> Reply:
        """An operator answered a forwarded ticket where the platform forwards tickets."""
        try:
            request = await self.language.localized(request)
            return await self.support.answer(request, ticket, text)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)

    # --- button presses ------------------------------------------------------------------------

    async def press(self, request: Request, data: str | None, *, owner: str | None = None) -> Reply:
        """A button. `owner` is who an unowned button (a picker's) belongs to, when the platform
        can tell (the author of the recording it answers)."""
        action = decode(data)
        try:
            request = await self.language.localized(request)
        except Exception as error:  # noqa: BLE001
            return await self.failure(request, error)
        if action is None:
            return Reply(self.words.t(request, "button_stale"), note=True, alert=True)
        belongs_to = action.owner or owner
        if belongs_to is not None and belongs_to != request.identity.user_id:
            return Reply(self.words.t(request, "button_not_yours"), note=True, alert=True)
        try:
            return await self._presses[action.verb](request, action)
        except Exception as error:  # noqa: BLE001 - the edge turns every error into words
            reply = await self.failure(request, error)
            if isinstance(error, AudioRejected) and action.verb == Verb.GENERATE:
                return replace(reply, edit=True)  # the recording is unusable: its picker becomes the reason
            if not reply.rows and len(reply.text) <= ALERT_LIMIT:
                return replace(reply, note=True, alert=True)
            return reply

    # --- errors --------------------------------------------------------------------------------

    async def failure(self, request: Request, error: BaseException) -> Reply:
        """Expected errors in the catalogue's words (out of credits: with the offer); anything
        else logged with a reference the person is shown."""
        if not isinstance(error, BotError):
            ref = uuid.uuid4().hex[:8]
            logger.error(
                "unexpected error (ref %s)", ref, exc_info=error, extra={"ref": ref, "identity": request.identity.key}
            )
            return Reply(self.words.t(request, "error.unexpected", ref=ref))
        text = self.words.error(request, error)
        if not isinstance(error, InsufficientCredits):
            return Reply(text)
        try:
            return await self.offers.after_refusal(request, text, await self.wallets.offer(request.identity))
        except Exception:  # the refusal matters more than the offer
            logger.exception("the offer after a refusal failed")
            return Reply(text)

"""`TelegramPlatform`: Telegram's updates into the conversation, its replies into messages.

Long polling by default; with TELEGRAM_WEBHOOK_URL, Telegram POSTs updates to our web server
(`/webhooks/telegram`, secret checked there) and `on_webhook` feeds them to the same
`Application`. Never `run_polling()`: other platforms, the web server and the job workers share
the loop. Every handler translates: an update → a `Request`, the conversation's `Reply` → a
message (`adapters.telegram.replies`); the job notices are shown by `TelegramJobs`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineQueryResultCachedAudio,
    InlineQueryResultsButton,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from adapters.chat.actions import Verb, decode
from adapters.chat.commands import Menu
from adapters.chat.conversation import Conversation
from adapters.chat.messages import Attachment, Member, PayBy, Place, Reply, Request, Surface
from adapters.chat.platform import ClipMessage, JobStatus
from adapters.chat.words import Words
from adapters.telegram.bot import LeanBot
from adapters.telegram.jobs import TelegramJobs
from adapters.telegram.recordings import MAX_DOWNLOAD_BYTES, Recording, download, recording_of
from adapters.telegram.replies import Replies
from adapters.telegram.request import AiohttpRequest
from adapters.web.bodies import json_object
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job
from core.errors import InvalidWebhook

logger = logging.getLogger(__name__)

NAME = "telegram"
ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.PRE_CHECKOUT_QUERY,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
]
RECORDINGS = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.ALL
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")  # what Telegram accepts as a command
_TICKET = re.compile(r"#(\d+)")

Context = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None  # set: webhook mode (our web server receives the updates)
    webhook_secret: str | None = None
    payments: str | None = None  # stripe | stars | both; None: both (Stars alone without Stripe)
    support_chat_id: int | None = None  # the operators' chat that receives support tickets
    concurrency: int = 32  # updates handled at once
    connection_pool_size: int = 48
    max_messages_per_second: float = 0.0  # 0: only obey 429s
    max_retries: int = 3
    chat_action_interval: float = 4.0  # a chat action shows for 5 s
    max_download_bytes: int = MAX_DOWNLOAD_BYTES


class TelegramPlatform:
    def __init__(self, config: TelegramConfig, conversation: Conversation, words: Words) -> None:
        self.config = config
        self.conversation = conversation
        self.words = words
        self.bot = LeanBot(
            config.token,
            base_url=f"{config.api_base_url}/bot",
            base_file_url=f"{config.api_base_url}/file/bot",
            request=AiohttpRequest(config.connection_pool_size),
            get_updates_request=AiohttpRequest(1),
            rate_limiter=AIORateLimiter(
                overall_max_rate=config.max_messages_per_second,
                group_max_rate=20,  # Telegram: about 20 messages a minute in a group
                max_retries=config.max_retries,  # wait retry_after, then try again
            ),
        )
        both = (PayBy.STARS, PayBy.CARD)
        methods = {"stars": (PayBy.STARS,), "stripe": (PayBy.CARD,)}.get(config.payments or "both", both)
        self._surface = Surface(
            NAME,
            payment_methods=methods,
            member_by_reply=True,
            max_file_bytes=config.max_download_bytes,
            invite_link=lambda payload: f"https://t.me/{self.bot.username}?start={payload}",
            spell=self.spell,
        )
        self.replies = Replies(self.bot, words)
        self.jobs = TelegramJobs(self.bot, self.replies, config.chat_action_interval)
        builder = Application.builder().bot(self.bot).concurrent_updates(config.concurrency)
        if config.webhook_url:
            builder = builder.updater(None)
        self.application = builder.build()
        self._register()

    # --- the platform ---------------------------------------------------------------------------

    @property
    def surface(self) -> Surface:
        return self._surface

    @property
    def webhook_mode(self) -> bool:
        return bool(self.config.webhook_url)

    def spell(self, command: str) -> str:
        """A command as typed on Telegram: its first name Telegram accepts (`/verify`)."""
        found = self.conversation.command(command)
        names = found.names if found is not None else (command,)
        return "/" + next((n for n in names if _COMMAND_NAME.match(n)), names[0].replace("-", "_"))

    async def start(self) -> None:
        if self.webhook_mode and not self.config.webhook_secret:
            raise RuntimeError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
        app = self.application
        await app.initialize()
        await self._set_commands()
        await app.start()
        if self.webhook_mode:
            assert self.config.webhook_url is not None
            await self.bot.set_webhook(
                self.config.webhook_url, secret_token=self.config.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            logger.info("telegram: receiving updates by webhook")
        else:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=_polling_error)
            logger.info("telegram: long polling")
        self.jobs.start()

    async def stop_receiving(self) -> None:
        """Stop long polling (updates not fetched wait at Telegram for the next start)."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()

    async def stop(self) -> None:
        await self.jobs.stop()
        await self.stop_receiving()
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()  # in webhook mode the webhook stays set: updates wait at Telegram

    async def on_webhook(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """One update POSTed by Telegram (the web server checked the secret token)."""
        try:
            payload = json_object(raw)
            if isinstance(payload.get("update_id"), bool) or not isinstance(payload.get("update_id"), int):
                raise InvalidWebhook("bad_update")
            update = Update.de_json(payload, self.bot)
        except InvalidWebhook as error:
            raise InvalidWebhook("bad_update") from error
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            # A field of the wrong type deep inside (PTB builds the objects as it reads them).
            raise InvalidWebhook("bad_update") from error
        await self.application.update_queue.put(update)

    async def send(self, to: Identity, reply: Reply) -> None:
        await self.replies.send(int(to.user_id), reply)  # a private chat's id is the user's

    async def send_to_operators(self, reply: Reply) -> bool:
        if self.config.support_chat_id is None:
            return False
        await self.replies.send(self.config.support_chat_id, reply)
        return True

    async def show_status(self, status: JobStatus) -> None:
        await self.jobs.show_status(status)

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        return await self.jobs.send_clip(job, clip, message)

    async def send_after(self, job: Job, reply: Reply) -> None:
        await self.jobs.send_after(job, reply)

    async def refund_stars(self, user_id: str, charge_id: str) -> None:
        """Give the Stars back; a charge Telegram says it refunded already counts as done."""
        try:
            await self.bot.refund_star_payment(int(user_id), charge_id)
        except BadRequest as error:
            if "ALREADY_REFUNDED" not in error.message.upper():
                raise

    # --- updates → requests -----------------------------------------------------------------------

    def _register(self) -> None:
        app = self.application
        names = {n for c in self.conversation.available(self.surface) for n in c.names if _COMMAND_NAME.match(n)}
        app.add_handler(CommandHandler(sorted(names), self.on_command))
        app.add_handler(MessageHandler(RECORDINGS, self.on_recording))
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(PreCheckoutQueryHandler(self.on_pre_checkout))
        app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, self.on_payment))
        app.add_handler(InlineQueryHandler(self.on_share_query))
        app.add_handler(ChosenInlineResultHandler(self.on_shared))
        if self.config.support_chat_id is not None:
            operators = filters.Chat(self.config.support_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND
            app.add_handler(MessageHandler(operators, self.on_operator_reply))
        private = filters.ChatType.PRIVATE
        app.add_handler(MessageHandler(filters.COMMAND & private, self.on_command))  # unknown commands
        app.add_handler(MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, self.on_chatter))
        app.add_error_handler(self.on_error)

    def _request(
        self,
        user: User,
        message: Message | None,
        request_id: str,
        *,
        attachment: Attachment | None = None,
        member: Member | None = None,
        reply_to: Mapping[str, object] | None = None,
        quoted: str | None = None,
    ) -> Request:
        place = Place()
        if message is not None and message.chat.type != ChatType.PRIVATE:
            chat_id = message.chat_id

            async def check_admin() -> bool:
                """Asked of Telegram now (an admin demoted since is not one any more)."""
                if message.sender_chat is not None:
                    return False
                member = await self.bot.get_chat_member(chat_id, user.id)
                return member.status in ADMIN_STATUSES

            place = Place(private=False, group_id=str(chat_id), check_admin=check_admin)
        return Request(
            Identity(NAME, str(user.id)),
            self.surface,
            request_id,
            place=place,
            locale=user.language_code,
            mention=_mention(user),
            attachment=attachment,
            member=member,
            reply_to=reply_to or {},
            quoted=quoted,
        )

    async def on_command(self, update: Update, context: Context) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or not message.text:
            return
        first, *words = message.text.split()
        name = first.removeprefix("/").split("@")[0].lower()
        member = None
        answered = message.reply_to_message
        if answered is not None and answered.from_user is not None and answered.from_user.id != user.id:
            author = answered.from_user
            member = Member(Identity(NAME, str(author.id)), _mention(author), author.is_bot)
        # Where a job the command starts (/say, /describe, /tag) answers: under the command.
        reply_to = {
            "chat_id": message.chat_id,
            "user_id": user.id,
            "locale": user.language_code,
            "reply_to_message_id": message.message_id,
        }
        request = self._request(
            user, message, f"{message.chat_id}:{message.message_id}", member=member, reply_to=reply_to
        )
        reply = await self.conversation.run(request, name, words)
        await self.replies.answer(message, reply, place=request.place, locale=user.language_code)

    async def on_recording(self, update: Update, context: Context) -> None:
        """A voice note or audio file: the style × length picker (nothing held or written)."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        recording = recording_of(message)
        if recording is None and message.chat.type != ChatType.PRIVATE:
            return  # some other document in a group
        request = self._request(
            user,
            message,
            f"{message.chat_id}:{message.message_id}",
            attachment=self._attachment(recording) if recording else None,
        )
        reply = await self.conversation.recording(request, found=recording is not None)
        await self.replies.quote(message, reply)

    async def on_press(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        message = query.message if isinstance(query.message, Message) else None
        answered = message.reply_to_message if message is not None else None
        recording = recording_of(answered)
        owner = None  # a picker's buttons belong to the author of the recording it answers
        if answered is not None and answered.from_user is not None:
            owner = str(answered.from_user.id)
        verb = _verb(query.data)
        picker = recording is not None and answered is not None and verb == Verb.GENERATE
        quoted = None  # the words under the "what shall I make of it" picker
        if answered is not None and answered.text and verb in (Verb.DESCRIBE, Verb.SAY):
            picker, quoted = True, answered.text
        reply_to: dict[str, object] = {}
        if message is not None:
            reply_to = {
                "chat_id": message.chat_id,
                "user_id": query.from_user.id,
                "locale": query.from_user.language_code,
                "reply_to_message_id": answered.message_id if picker and answered else message.message_id,
            }
            if picker:  # the picker becomes the job's status message
                reply_to["status_message_id"] = message.message_id
        where = f"{message.chat_id}:{message.message_id}" if message is not None else query.id
        request = self._request(
            query.from_user,
            message,
            f"press:{where}:{query.data}",
            attachment=self._attachment(recording) if recording else None,
            reply_to=reply_to,
            quoted=quoted,
        )
        reply = await self.conversation.press(request, query.data, owner=owner)
        await self.replies.pressed(query, message, reply)

    async def on_pre_checkout(self, update: Update, context: Context) -> None:
        """Telegram asks before charging Stars: is this invoice still good for this person?"""
        query = update.pre_checkout_query
        if query is None:
            return
        request = self._request(query.from_user, None, f"pre_checkout:{query.id}")
        refusal = await self.conversation.pre_checkout(
            request, query.invoice_payload, query.total_amount, query.currency
        )
        await query.answer(ok=not refusal, error_message=refusal[:200] or None)

    async def on_payment(self, update: Update, context: Context) -> None:
        """Stars were paid: the pack, granted once per charge id."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.successful_payment is None:
            return
        paid = message.successful_payment
        request = self._request(user, message, f"paid:{paid.telegram_payment_charge_id}")
        reply = await self.conversation.stars_paid(
            request, paid.invoice_payload, paid.telegram_payment_charge_id, paid.total_amount, paid.currency
        )
        await self.replies.answer(message, reply, place=request.place, locale=user.language_code)

    async def on_share_query(self, update: Update, context: Context) -> None:
        """Inline query `clip <job id>` from the Share button: the person's delivered clip."""
        query = update.inline_query
        if query is None:
            return
        locale = query.from_user.language_code
        request = self._request(query.from_user, None, f"inline:{query.id}")
        clip = await self.conversation.shareable(request, query.query.removeprefix("clip").strip())
        if clip is None:
            button = InlineQueryResultsButton(self.words.t(locale, "share_missing"), start_parameter="share")
            await query.answer([], cache_time=0, is_personal=True, button=button)
            return
        caption = self.words.t(locale, "share_caption", bot=f"@{self.bot.username}")
        result = InlineQueryResultCachedAudio(id=clip.job_id, audio_file_id=clip.delivery_ref, caption=caption)
        await query.answer([result], cache_time=0, is_personal=True)

    async def on_shared(self, update: Update, context: Context) -> None:
        """The clip was shared (inline feedback on): the share bonus, said in the private chat."""
        chosen = update.chosen_inline_result
        if chosen is None:
            return
        request = self._request(chosen.from_user, None, f"shared:{chosen.result_id}")
        reply = await self.conversation.shared(request, chosen.result_id)
        await self.replies.send(chosen.from_user.id, reply)

    async def on_operator_reply(self, update: Update, context: Context) -> None:
        """An operator replies to a forwarded ticket in the operators' chat: the person gets it."""
        message, user = update.effective_message, update.effective_user
        original = message.reply_to_message if message is not None else None
        if message is None or user is None or original is None or not message.text:
            return
        found = _TICKET.search(original.text or "")
        if found is None or original.from_user is None or original.from_user.id != self.bot.id:
            return  # an ordinary conversation among operators
        request = self._request(user, message, f"{message.chat_id}:{message.message_id}")
        reply = await self.conversation.operator_reply(request, found.group(1), message.text)
        await self.replies.answer(message, reply, place=request.place, locale=user.language_code)

    async def on_chatter(self, update: Update, context: Context) -> None:
        """Anything else in a private chat: words get what can be made of them (the picker quotes
        them, so a press finds them again); anything else, how to make music."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        request = self._request(user, message, f"{message.chat_id}:{message.message_id}")
        if message.text:
            await self.replies.quote(message, await self.conversation.typed(request, message.text))
            return
        await self.replies.answer(message, self.conversation.hint(request), place=request.place)

    async def on_error(self, update: object, context: Context) -> None:
        """What escaped a handler: Telegram refusing to send (the conversation answered the rest)."""
        error = context.error
        if isinstance(error, Forbidden):
            logger.info("telegram refused to reach a chat: %s", error)
        elif isinstance(error, TelegramError):
            logger.warning("telegram API trouble: %s", error)
        else:
            logger.error("telegram handler failed", exc_info=error)

    def _attachment(self, recording: Recording) -> Attachment:
        async def read() -> bytes:
            return await download(self.bot, recording, self.config.max_download_bytes)

        return Attachment(recording.name, read, recording.size)

    async def _set_commands(self) -> None:
        """The command menu: the private commands in private chats, the group ones in groups."""

        def menu(where: Menu) -> list[BotCommand]:
            commands = self.conversation.menu(self.surface, where)
            return [BotCommand(self.spell(c.name)[1:], self.words.t(None, f"command.{c.name}")) for c in commands]

        private, groups = menu(Menu.PRIVATE), menu(Menu.GROUPS)
        await self.bot.set_my_commands(private)
        await self.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
        await self.bot.set_my_commands(groups, scope=BotCommandScopeAllGroupChats())


def _verb(data: str | None) -> Verb | None:
    action = decode(data)
    return action.verb if action is not None else None


def _mention(user: User) -> str:
    return f"@{user.username}" if user.username else user.first_name


def _polling_error(error: TelegramError) -> None:
    logger.warning("telegram polling: %s", error)

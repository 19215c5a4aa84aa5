"""The one error handler: expected errors (`BotError`) become the catalogue's words where the
person is looking; anything else is logged with a reference the person is shown."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from adapters.chat.errors import error_reply
from adapters.telegram.common import answer_quietly, reply, split_text
from adapters.telegram.deps import BotContext
from adapters.telegram.keyboards import parse
from adapters.telegram.offers import offer_message
from core.domain.identity import Identity
from core.errors import AudioRejected, BotError, InsufficientCredits

logger = logging.getLogger(__name__)

ALERT_LIMIT = 200  # answerCallbackQuery's text limit


class RecordingGone(BotError):
    """A keyboard whose recording is gone (deleted, or a malformed old button)."""

    code = "tg_recording_gone"


async def on_error(update: object, context: BotContext) -> None:
    """Tell the person what went wrong; log what we did not expect."""
    error = context.error
    if not isinstance(update, Update):
        logger.error("telegram error outside an update", exc_info=error)
        return
    if isinstance(error, Forbidden):
        logger.info(
            "telegram refused to reach %s: %s",
            update.effective_chat and update.effective_chat.id,
            error,
        )
        return
    if isinstance(error, TelegramError) and not isinstance(error, BadRequest):
        logger.warning("telegram API trouble while handling update %s: %s", update.update_id, error)
    assert error is not None
    user = update.effective_user
    locale = user.language_code if user is not None else None
    # Expected errors become words; anything else is logged here with the reference shown.
    text = error_reply(context.deps.services.catalogue, error, locale)
    markup = None
    if isinstance(error, InsufficientCredits) and user is not None:
        text, markup = await with_offer(context, text, user.id, locale)
    try:
        await tell(update, context, error, text, markup)
    except (TelegramError, NetworkError) as failure:
        logger.warning("could not tell the person about %r: %s", error, failure)


async def tell(
    update: Update,
    context: BotContext,
    error: BaseException,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    query = update.callback_query
    if update.pre_checkout_query is not None:
        await update.pre_checkout_query.answer(ok=False, error_message=text[:ALERT_LIMIT])
        return
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        return
    if query is not None:
        press = parse(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if message is not None and press is not None and press.verb == "g" and isinstance(error, AudioRejected):
            # The recording is unusable: the keyboard under it becomes the reason.
            await answer_quietly(query)
            await message.edit_text(text)
            return
        if markup is None and len(text) <= ALERT_LIMIT:
            await answer_quietly(query, text, alert=True)
            return
        await answer_quietly(query)
        if message is not None:
            await reply(message, text, markup)
        return
    if update.effective_message is not None:  # quoted: the error is about what they sent
        await reply(update.effective_message, text, markup, do_quote=True)
    elif update.effective_chat is not None:
        for chunk in split_text(text):
            await context.bot.send_message(update.effective_chat.id, chunk)


async def with_offer(
    context: BotContext, text: str, user_id: int, locale: str | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """ "That costs 2 credits and you have 1." + the offer (packs, daily, support)."""
    deps = context.deps
    view = await deps.services.wallets.balance(Identity("telegram", str(user_id)))
    if view.offer is not None:
        offer_text, markup = offer_message(deps, deps.keyboards, user_id, view.offer, locale)
        return f"{text}\n{offer_text}", markup
    return text, deps.keyboards.packs(user_id, deps.packs_on_sale(), locale)

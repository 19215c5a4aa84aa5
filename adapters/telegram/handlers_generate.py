"""Making music: a recording → the style × length keyboard → a job; Cancel, Again, Other style,
Longer; and sharing a clip through an inline query."""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    InlineQueryResultCachedAudio,
    InlineQueryResultsButton,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from adapters.chat.catalogue import plural
from adapters.telegram.common import (
    answer_quietly,
    download,
    identity_of,
    me,
    own_press,
    recording_of,
    refuse_if_too_big,
    reply,
    reply_lean,
)
from adapters.telegram.deps import BotContext
from adapters.telegram.errors import RecordingGone
from adapters.telegram.keyboards import pattern
from core.services.generation import Accepted, GenerationService

logger = logging.getLogger(__name__)

RECORDINGS = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.ALL


async def on_recording(update: Update, context: BotContext) -> None:
    """A voice note or audio file: show every style × length with its cost (nothing held or
    written yet: someone new is created, with the welcome grant, by their first press)."""
    identity, locale = me(update)
    deps = context.deps
    message = update.effective_message
    assert message is not None
    recording = recording_of(message)
    if recording is None:  # some other document
        if message.chat.type == ChatType.PRIVATE:
            await reply(message, deps.t("tg.send_audio", locale))
        return
    refuse_if_too_big(recording, deps.config.max_download_bytes)
    glance = await deps.services.wallets.glance(identity)
    lines = [deps.t("welcome", locale, credits=glance.welcome_credits)] if glance.welcome_credits else []
    lines.append(deps.t("tg.pick", locale, available=glance.available, plural=plural(glance.available)))
    keyboard = deps.keyboards.generate(deps.services.rules.pricing, locale)
    await reply_lean(context, message, "\n".join(lines), keyboard)


async def on_generate(update: Update, context: BotContext) -> None:
    """A style × length button: download the recording it answers and start the job."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    style, seconds = (press.args + ("", ""))[:2]
    keyboard, answered = query.message, query.message.reply_to_message
    recording = recording_of(answered)
    if answered is None or recording is None or style not in context.deps.config.styles:
        raise RecordingGone()
    audio = await download(context, recording)
    accepted = await generation(context).submit(
        identity_of(query.from_user),
        audio,
        context.deps.config.styles[style],
        seconds,
        platform="telegram",
        reply_to=reply_to(query, answered.message_id, status_message_id=keyboard.message_id),
        request_id=f"kb:{keyboard.chat_id}:{keyboard.message_id}:{style}:{seconds}",
        max_input_bytes=context.deps.config.max_download_bytes,
    )
    await started(update, context, accepted)


async def on_again(update: Update, context: BotContext) -> None:
    """Again / Try again, Other style (a picked style), Longer: a new job on the same recording."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    job_id = press.args[0]
    style = context.deps.config.styles.get(press.args[1]) if press.verb == "s" else None
    seconds = press.args[1] if press.verb == "l" else None
    accepted = await generation(context).again(
        identity_of(query.from_user),
        job_id,
        style=style,
        seconds=seconds,
        platform="telegram",
        reply_to=reply_to(query, query.message.message_id),
        request_id=f"{press.verb}:{query.message.chat_id}:{query.message.message_id}:" + ":".join(press.args),
    )
    await started(update, context, accepted)


async def started(update: Update, context: BotContext, accepted: Accepted) -> None:
    """Answer the press; a repeated press of the same button made no second job."""
    query = update.callback_query
    assert query is not None
    locale = query.from_user.language_code
    if accepted.duplicate:
        await answer_quietly(query, context.deps.t("tg.already", locale))
        return
    await answer_quietly(query)
    await context.deps.notifier.accepted(accepted)


async def on_other_style(update: Update, context: BotContext) -> None:
    """ "Other style": the styles for this clip's length, each showing its cost."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    locale = query.from_user.language_code
    view = await generation(context).job(press.args[0])
    if view is None:
        raise RecordingGone()
    job = view.job
    keyboard = context.deps.keyboards.other_styles(press.owner, job.job_id, job.style, job.seconds, job.cost, locale)
    await answer_quietly(query)
    text = context.deps.t("tg.other_style", locale, seconds=job.seconds, cost=job.cost, plural=plural(job.cost))
    await query.message.reply_text(text, reply_markup=keyboard)


async def on_cancel(update: Update, context: BotContext) -> None:
    """Cancel: the job ends and its credits are released (the status message says so)."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None
    await generation(context).cancel(identity_of(query.from_user), press.args[0])
    await answer_quietly(query, context.deps.t("tg.cancel_done", query.from_user.language_code))


async def on_share_query(update: Update, context: BotContext) -> None:
    """Inline query `clip <job id>` from the Share button: offer the delivered clip."""
    query = update.inline_query
    assert query is not None
    locale = query.from_user.language_code
    job_id = query.query.removeprefix("clip").strip()
    view = await generation(context).job(job_id) if job_id.isalnum() else None
    job = view.job if view is not None else None
    if job is None or job.delivery_ref is None or job.reply_to.get("user_id") != query.from_user.id:
        button = InlineQueryResultsButton(context.deps.t("tg.share_missing", locale), start_parameter="share")
        await query.answer([], cache_time=0, is_personal=True, button=button)
        return
    caption = context.deps.t("tg.share_caption", locale, bot=context.bot.username)
    result = InlineQueryResultCachedAudio(id=job_id, audio_file_id=job.delivery_ref, caption=caption)
    await query.answer([result], cache_time=0, is_personal=True)


async def on_shared(update: Update, context: BotContext) -> None:
    """The clip was shared (inline feedback on): the share bonus, once a day, said in the DM."""
    chosen = update.chosen_inline_result
    rewards = context.deps.services.rewards
    if chosen is None or rewards is None:
        return
    shared = await rewards.bonuses.record_share(identity_of(chosen.from_user), chosen.result_id)
    text = context.deps.rewards_text.share(shared, chosen.from_user.language_code)
    await context.bot.send_message(chosen.from_user.id, text)  # a private chat's id is the user's


# --- helpers --------------------------------------------------------------------------------


def generation(context: BotContext) -> GenerationService:
    service = context.deps.services.generation
    if service is None:
        raise RuntimeError("the generation service is not wired")
    return service


def reply_to(
    query: CallbackQuery, reply_to_message_id: int, *, status_message_id: int | None = None
) -> dict[str, object]:
    """Where the job's messages go (stored with the job, opaque to the core): the chat, the
    message to answer, the status message to edit (if there is one yet), who and in which
    language."""
    assert query.message is not None
    target: dict[str, object] = {
        "chat_id": query.message.chat.id,
        "user_id": query.from_user.id,
        "locale": query.from_user.language_code,
        "reply_to_message_id": reply_to_message_id,
    }
    if status_message_id is not None:
        target["status_message_id"] = status_message_id
    return target


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(MessageHandler(RECORDINGS, on_recording))
    app.add_handler(CallbackQueryHandler(on_generate, pattern=pattern("g")))
    app.add_handler(CallbackQueryHandler(on_again, pattern=pattern("a", "s", "l")))
    app.add_handler(CallbackQueryHandler(on_other_style, pattern=pattern("o")))
    app.add_handler(CallbackQueryHandler(on_cancel, pattern=pattern("c")))
    app.add_handler(InlineQueryHandler(on_share_query))
    app.add_handler(ChosenInlineResultHandler(on_shared))

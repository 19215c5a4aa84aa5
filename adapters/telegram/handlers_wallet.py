"""/balance, /history, /daily, /refer, /verify, /link and the offer's buttons (daily credit,
continue with free, contact support)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from adapters.telegram.common import (
    answer_quietly,
    identity_of,
    me,
    own_press,
    reply,
    reply_privately,
)
from adapters.telegram.deps import BotContext
from adapters.telegram.keyboards import pattern
from adapters.telegram.offers import offer_message
from adapters.telegram.texts import balance_text
from core.domain.jobs import Job, JobView
from core.errors import UsageError


async def balance(update: Update, context: BotContext) -> None:
    """Credits (free and paid), plan, next daily credit, jobs running, lifetime figures; asked
    in a group, the answer goes to the person's private chat."""
    identity, locale = me(update)
    deps = context.deps
    view, jobs, next_daily = await asyncio.gather(
        deps.services.wallets.balance(identity),
        deps.services.generation.jobs(identity) if deps.services.generation else _nothing([]),
        deps.services.rewards.bonuses.next_daily_at(identity) if deps.services.rewards else _nothing(),
    )
    text = balance_text(deps, view, jobs, next_daily, locale)
    markup = None
    if view.offer is not None:
        offer_text, markup = offer_message(
            deps, deps.keyboards, int(identity.user_id), view.offer, locale, daily_line=False
        )
        text += "\n" + offer_text
    assert update.effective_message is not None
    await reply_privately(update, context, text, markup)


async def history(update: Update, context: BotContext) -> None:
    """The last 10 ledger entries, and the last 10 jobs with what each cost."""
    identity, locale = me(update)
    deps = context.deps
    entries, jobs = await asyncio.gather(
        deps.services.wallets.history(identity, 10),
        deps.services.generation.recent(identity, 10) if deps.services.generation else _nothing([]),
    )
    text = deps.render.history(entries, locale)
    if jobs:
        text += "\n\n" + deps.generation_text.jobs([_view(j) for j in jobs], locale, header="tg.recent_jobs")
    assert update.effective_message is not None
    await reply(update.effective_message, text)


async def daily(update: Update, context: BotContext) -> None:
    """Claim today's free credit (and the packs, when the balance is still low)."""
    identity, locale = me(update)
    deps = context.deps
    claimed = await rewards(context).bonuses.claim_daily(identity)
    text, markup = deps.rewards_text.daily(claimed, locale), None
    if claimed.offer is not None:
        offer_text, markup = offer_message(deps, deps.keyboards, int(identity.user_id), claimed.offer, locale)
        text += "\n" + offer_text
    assert update.effective_message is not None
    await reply(update.effective_message, text, markup)


async def refer(update: Update, context: BotContext) -> None:
    """Your referral link; `/refer <code>` joins with someone's code."""
    identity, locale = me(update)
    parts = rewards(context)
    credits = parts.referrals.rules.referral_credits
    assert update.effective_message is not None
    if context.args:
        record = await parts.referrals.record_referral(identity, context.args[0].removeprefix("ref_"))
        text = context.deps.rewards_text.referral_recorded(record.duplicate, credits, locale)
    else:
        summary = await parts.referrals.my_code(identity)
        text = context.deps.rewards_text.referral_code(summary, credits, locale, telegram_bot=context.bot.username)
    await reply(update.effective_message, text)


async def verify(update: Update, context: BotContext) -> None:
    """`/verify <address>` sends a code; `/verify <code>` confirms it (+credits once)."""
    identity, locale = me(update)
    if len(context.args or []) != 1:
        raise UsageError("tg_verify")
    email = rewards(context).email
    result = await email.verify(identity, context.args[0])  # type: ignore[index]
    minutes = int(email.rules.email_code_ttl.total_seconds() // 60)
    assert update.effective_message is not None
    await reply(update.effective_message, context.deps.rewards_text.email(result, minutes, locale))


async def link(update: Update, context: BotContext) -> None:
    """A code to link your Discord account, or `/link <code>` from it."""
    identity, locale = me(update)
    linking = rewards(context).linking
    text_for = context.deps.rewards_text
    if context.args:
        text = text_for.linked(await linking.redeem(identity, context.args[0]), locale)
    else:
        code = await linking.start(identity)
        text = text_for.link_code(code.code, code.expires_at, locale)
    assert update.effective_message is not None
    await reply(update.effective_message, text)


# --- the offer's buttons ------------------------------------------------------------------------


async def on_daily_button(update: Update, context: BotContext) -> None:
    """ "Claim daily credit" under an offer."""
    if await own_press(update, context) is None:
        return
    query = update.callback_query
    assert query is not None
    claimed = await rewards(context).bonuses.claim_daily(identity_of(query.from_user))
    await answer_quietly(query, context.deps.rewards_text.daily(claimed, query.from_user.language_code), alert=True)


async def on_free_button(update: Update, context: BotContext) -> None:
    """ "Continue with free": the offer's buttons go away."""
    if await own_press(update, context) is None:
        return
    query = update.callback_query
    assert query is not None
    await answer_quietly(query, context.deps.t("tg.continue_free", query.from_user.language_code))
    await query.edit_message_reply_markup(None)


async def on_support_button(update: Update, context: BotContext) -> None:
    """ "Contact support": how to write to us."""
    if await own_press(update, context) is None:
        return
    query = update.callback_query
    assert query is not None
    await answer_quietly(query, context.deps.t("tg.support_how", query.from_user.language_code), alert=True)


# --- helpers ------------------------------------------------------------------------------------


def rewards(context: BotContext) -> Any:
    parts = context.deps.services.rewards
    if parts is None:
        raise RuntimeError("the rewards services are not wired")
    return parts


async def _nothing(value: object = None) -> object:
    return value


def _view(job: Job) -> JobView:
    return JobView(job)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("balance", balance))
    app.add_handler(CommandHandler("history", history))
    app.add_handler(CommandHandler("daily", daily))
    app.add_handler(CommandHandler("refer", refer))
    app.add_handler(CommandHandler("verify", verify))
    app.add_handler(CommandHandler("link", link))
    app.add_handler(CallbackQueryHandler(on_daily_button, pattern=pattern("d")))
    app.add_handler(CallbackQueryHandler(on_free_button, pattern=pattern("f")))
    app.add_handler(CallbackQueryHandler(on_support_button, pattern=pattern("h")))

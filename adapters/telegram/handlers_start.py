"""/start (with the referral deep link), /help, and what to say to anything else."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from adapters.telegram.common import answer_quietly, me, reply
from adapters.telegram.deps import BotContext
from core.errors import BotError, UnknownCommand

logger = logging.getLogger(__name__)

# (command, catalogue key of its description) for setMyCommands, in menu order.
PRIVATE_COMMANDS = (
    "start",
    "balance",
    "daily",
    "buy",
    "history",
    "refer",
    "support",
    "paysupport",
    "verify",
    "help",
)
GROUP_COMMANDS = ("gift", "groupwallet", "balance", "help")


async def start(update: Update, context: BotContext) -> None:
    """Welcome a person (10 free credits on first contact); `ref_<code>` records the referrer."""
    identity, locale = me(update)
    deps = context.deps
    welcome = await deps.services.wallets.start(identity)
    lines = [deps.render.welcome(welcome, locale)]
    code = context.args[0] if context.args else ""
    rewards = deps.services.rewards
    if code.startswith("ref_") and rewards is not None:
        try:
            record = await rewards.referrals.record_referral(identity, code.removeprefix("ref_"))
            lines.append(deps.rewards_text.referral_recorded(record.duplicate, rewards.rules.referral_credits, locale))
        except BotError as error:  # a bad code never spoils the welcome
            lines.append(deps.services.catalogue.error(error, locale))
    assert update.effective_message is not None
    await reply(update.effective_message, "\n".join(lines))


async def help_command(update: Update, context: BotContext) -> None:
    """What the bot does, what it costs, and the commands."""
    _, locale = me(update)
    deps = context.deps
    commands = " ".join(f"/{c}" for c in PRIVATE_COMMANDS)
    assert update.effective_message is not None
    await reply(update.effective_message, deps.render.help(deps.services.rules.pricing, commands, locale))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command we don't have."""
    assert update.effective_message is not None and update.effective_message.text is not None
    command = update.effective_message.text.split()[0].split("@")[0]
    raise UnknownCommand(command)


async def hint(update: Update, context: BotContext) -> None:
    """Anything else in a private chat: how to make music."""
    _, locale = me(update)
    assert update.effective_message is not None
    await reply(update.effective_message, context.deps.t("tg.send_audio", locale))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button this version of the bot does not know (an old message): say so, change nothing."""
    query = update.callback_query
    assert query is not None
    await answer_quietly(query, context.deps.t("tg.stale", query.from_user.language_code), alert=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))


def register_fallbacks(app: Application) -> None:  # type: ignore[type-arg]
    """Registered last (the first matching handler of a group wins): unknown commands and
    stray messages in private chats."""
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.COMMAND & private, unknown_command))
    app.add_handler(MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, hint))
    app.add_handler(CallbackQueryHandler(stale_button))

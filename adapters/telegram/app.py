"""Build the python-telegram-bot `Application`: bounded concurrency, the rate limiter, every
handler, the one error handler, and the command menu."""

from __future__ import annotations

from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import AIORateLimiter, Application, ContextTypes, ExtBot

from adapters.telegram import (
    handlers_admin,
    handlers_generate,
    handlers_payments,
    handlers_start,
    handlers_wallet,
    support,
)
from adapters.telegram.bot import LeanBot
from adapters.telegram.deps import BotContext, Deps, TelegramConfig, TelegramServices
from adapters.telegram.errors import on_error
from adapters.telegram.notifier import TelegramNotifier
from adapters.telegram.request import AiohttpRequest

PTBApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]

# The updates the bot asks for (getUpdates / setWebhook).
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.PRE_CHECKOUT_QUERY,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
]


def build_application(config: TelegramConfig, services: TelegramServices, notifier: TelegramNotifier) -> PTBApplication:
    limiter = AIORateLimiter(
        overall_max_rate=config.max_messages_per_second,  # 0: off; 429s are obeyed regardless
        group_max_rate=20,  # Telegram: about 20 messages a minute in a group
        max_retries=config.max_retries,  # wait retry_after, then try again
    )
    bot = LeanBot(
        config.token,
        base_url=f"{config.api_base_url}/bot",
        base_file_url=f"{config.api_base_url}/file/bot",
        request=AiohttpRequest(config.connection_pool_size),
        get_updates_request=AiohttpRequest(1),
        rate_limiter=limiter,
    )
    builder = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(config.concurrency)  # bounded: a burst queues instead of thrashing
    )
    if config.webhook_url:  # updates come from our web server; no long polling
        builder = builder.updater(None)
    application: PTBApplication = builder.build()
    deps = Deps(config, services, notifier)
    application.bot_data["deps"] = deps
    notifier.deps = deps
    notifier.keyboards = deps.keyboards
    notifier.bot = application.bot

    handlers_start.register(application)
    handlers_wallet.register(application)
    handlers_payments.register(application)
    handlers_admin.register(application)
    support.register(application, config.support_chat_id)
    handlers_generate.register(application)
    handlers_start.register_fallbacks(application)
    application.add_error_handler(on_error)
    return application


async def set_commands(application: PTBApplication, deps: Deps) -> None:
    """The command menu: everything in private chats, the group commands in groups."""
    private = [BotCommand(c, deps.t(f"tg.cmd.{c}")) for c in handlers_start.PRIVATE_COMMANDS]
    groups = [BotCommand(c, deps.t(f"tg.cmd.{c}")) for c in handlers_start.GROUP_COMMANDS]
    await application.bot.set_my_commands(private)
    await application.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    await application.bot.set_my_commands(groups, scope=BotCommandScopeAllGroupChats())

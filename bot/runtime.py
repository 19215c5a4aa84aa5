"""One event loop runs every enabled adapter: console, Discord, Telegram, the web server and
the job workers."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from adapters.chat.generation_text import GenerationText
from adapters.chat.render import Renderer
from adapters.chat.render_payments import PaymentsRenderer
from adapters.chat.render_rewards import RewardRenderer
from adapters.console.chat import ConsoleChat, Handler
from adapters.console.commands_generation import (
    PLATFORM,
    ConsoleNotifier,
    generation_commands,
)
from adapters.console.commands_payments import payment_commands
from adapters.console.commands_rewards import (
    ConsoleSupportDesk,
    reward_commands,
)
from adapters.console.commands_wallet import refusal_offer, wallet_commands
from adapters.console.notices import ConsoleReferralNotices  # referral payout notices
from adapters.storage.migrations import upgrade
from bot.bootstrap import App, build_app
from bot.config import Settings
from bot.payments import reconciler_component, web_component
from bot.rewards import ExpirySweeper, ReferralSweeper, add_referral_notifier
from core.domain.identity import Identity

logger = logging.getLogger(__name__)


class Component(Protocol):
    """Something that runs in the shared loop: a chat adapter, the web server, the job workers."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def console_identity() -> Identity:
    name = "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"
    return Identity("console", name[:64])


def _print_line(text: str) -> None:  # progress lines in the console
    sys.stdout.write(text.rstrip() + "\n")
    sys.stdout.flush()


def console_commands(app: App, identity: Identity) -> dict[str, Handler]:
    """Every console command, gathered from the per-area modules."""
    render = Renderer(app.catalogue)
    commands: dict[str, Handler] = {}
    commands.update(
        wallet_commands(
            app.wallets,
            app.rules.pricing,
            identity,
            render,
            lambda: " ".join(sorted(commands)),
            generation=app.generation,  # jobs in /balance and /history
            bonuses=app.rewards.bonuses,  # the next daily credit in /balance
            clock=app.clock,
        )
    )
    # clips are "delivered" to <DATA_DIR>/clips, progress printed
    notifier = ConsoleNotifier(GenerationText(render), Path(app.settings.data_dir) / "clips", _print_line)
    app.generation.register_notifier(PLATFORM, notifier)
    commands.update(generation_commands(app.generation, identity, notifier))
    # /daily /share /refer /verify-email /link /support, /admin reply|tickets|stats
    reward_render = RewardRenderer(app.catalogue)
    desk = ConsoleSupportDesk(_print_line, reward_render)
    app.rewards.support.add_platform(identity.platform, desk, desk)
    add_referral_notifier(app.rewards, identity.platform, ConsoleReferralNotices(_print_line, reward_render))
    commands.update(reward_commands(app.rewards, identity, reward_render, commands.get("/admin")))
    commands.update(payment_commands(app.payments, identity, PaymentsRenderer(app.catalogue), app.clock))  # /buy
    return commands


def console_chat(app: App, identity: Identity) -> ConsoleChat:
    """The console chat: every command, and the offer after a refusal for lack of credits."""
    refusal = refusal_offer(app.wallets, identity, Renderer(app.catalogue))
    return ConsoleChat(console_commands(app, identity), app.catalogue, refusal=refusal)


def background_components(app: App) -> list[Component]:
    """Always-on parts (job workers, sweepers; the web server when a payment or webhook setting is
    set; the Stripe reconcile when Stripe is)."""
    components: list[Component] = []
    components.append(app.generation)  # resume, dispatch, sweep
    components.append(ReferralSweeper(app.rewards.referrals))  # waiting referral rewards
    if app.rewards.expiry is not None and app.rewards.expiry.enabled:  # FREE_CREDIT_TTL_DAYS set
        components.append(ExpirySweeper(app.rewards.expiry))
    if (web := web_component(app)) is not None:  # webhooks, health, checkout pages
        components.append(web)
    if (reconciler := reconciler_component(app)) is not None:  # missed Stripe webhooks, every 15 min
        components.append(reconciler)
    return components


def chat_components(app: App) -> list[Component]:
    """The chat adapters whose token is configured (Telegram, Discord)."""
    components: list[Component] = []
    if app.settings.telegram_bot_token:  # polling, or webhook via the web server
        from adapters.telegram import TelegramRunner
        from adapters.telegram.notices import TelegramReferralNotices

        telegram = TelegramRunner.from_app(app)
        notices = TelegramReferralNotices(telegram.application.bot, telegram.deps.rewards_text)
        add_referral_notifier(app.rewards, "telegram", notices)  # referral payouts, in private chats
        components.append(telegram)
    if app.settings.discord_bot_token:  # built now, so its job notifier is
        from adapters.discord import DiscordRunner  # registered before the job workers start
        from adapters.discord.notices import DiscordReferralNotices
        from bot.payments import public_base_url, web_public

        # Not when only an operator token runs the web server: that one is not for the public.
        clip_base = public_base_url(app.settings) if web_public(app.settings) else None
        discord = DiscordRunner.from_app(app, clip_base_url=clip_base)
        add_referral_notifier(app.rewards, "discord", DiscordReferralNotices(discord.bot))  # in DMs
        components.append(discord)
    return components


@contextlib.asynccontextmanager
async def running(components: list[Component]) -> AsyncIterator[None]:
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        yield
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                logger.exception("stopping %s failed", type(component).__name__)


async def until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run(settings: Settings) -> None:
    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        chats = chat_components(app)
        # Built before anything starts, so every job notifier is registered before resumed jobs run.
        console = None if chats else console_chat(app, console_identity())
        # Chat adapters start first and stop last: resumed jobs can deliver, and jobs finishing
        # during shutdown still have a way to reach their person.
        async with running(chats + background_components(app)):
            if console is None:
                logger.info("running %s; stop with Ctrl-C", ", ".join(type(c).__name__ for c in chats))
                await until_signalled()
            else:
                await console.run()
    finally:
        await app.close()

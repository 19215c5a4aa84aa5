"""The chat platforms' settings, read from `Settings` (imported only when a token is set: each
loads its library)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from adapters.chat.conversation import Conversation
from adapters.chat.words import Words
from bot.config import Settings, public_base_url, web_public

if TYPE_CHECKING:
    from adapters.discord.platform import DiscordPlatform
    from adapters.telegram.platform import TelegramPlatform


def telegram_platform(settings: Settings, conversation: Conversation, words: Words) -> TelegramPlatform:
    from adapters.telegram.platform import TelegramConfig, TelegramPlatform

    token = settings.telegram_bot_token
    secret = settings.telegram_webhook_secret
    assert token is not None
    config = TelegramConfig(
        token=token.get_secret_value(),
        api_base_url=str(settings.telegram_api_base_url).rstrip("/"),
        webhook_url=settings.telegram_webhook_url or None,
        webhook_secret=secret.get_secret_value() if secret is not None else None,
        payments=settings.telegram_payments,
        support_chat_id=settings.support_telegram_chat_id,
        concurrency=settings.telegram_concurrency,
        connection_pool_size=settings.telegram_concurrency + 16,  # room for the job notices' sends
        max_messages_per_second=settings.telegram_max_messages_per_second,
        chat_action_interval=settings.telegram_chat_action_interval,
    )
    return TelegramPlatform(config, conversation, words)


def discord_platform(settings: Settings, conversation: Conversation, words: Words) -> DiscordPlatform:
    from adapters.discord.clip_links import ClipShelf
    from adapters.discord.platform import DiscordOptions, DiscordPlatform

    token = settings.discord_bot_token
    assert token is not None
    # Links to clips too big to upload, when the web server is public (not for an operator token only).
    clips = None
    if web_public(settings):
        clips = ClipShelf(Path(settings.data_dir) / "discord-clips", public_base_url(settings))
    options = DiscordOptions(
        token=token.get_secret_value(),
        api_base_url=settings.discord_api_base_url or None,
        dev_guild_id=settings.discord_dev_guild_id,
        support_channel_id=settings.support_discord_channel_id,
        recordings_dir=Path(settings.data_dir) / "discord-recordings",
        shard_count=settings.discord_shard_count,
        shard_ids=settings.discord_shard_ids,
    )
    return DiscordPlatform(options, conversation, words, clips)

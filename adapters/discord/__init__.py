"""The Discord adapter (discord.py): slash commands, persistent buttons, the job notifier."""

from adapters.discord.client import MusicBot, ShardedMusicBot, make_bot
from adapters.discord.runner import DiscordRunner, sync_commands
from adapters.discord.services import DiscordOptions, DiscordServices

__all__ = [
    "DiscordOptions",
    "DiscordRunner",
    "DiscordServices",
    "MusicBot",
    "ShardedMusicBot",
    "make_bot",
    "sync_commands",
]

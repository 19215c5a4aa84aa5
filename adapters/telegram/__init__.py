"""The Telegram adapter (python-telegram-bot v22): DMs, groups, Stars, inline sharing."""

from adapters.telegram.deps import TelegramConfig, TelegramServices
from adapters.telegram.runner import TelegramRunner

__all__ = ["TelegramConfig", "TelegramRunner", "TelegramServices"]

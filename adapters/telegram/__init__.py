"""The Telegram platform (python-telegram-bot v22): DMs, groups, Stars, inline sharing. The
platform itself is `adapters.telegram.platform.TelegramPlatform` (importing it loads PTB)."""

TELEGRAM_USER_ID = r"\d{1,20}"

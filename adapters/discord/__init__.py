"""The Discord platform (discord.py): slash commands, persistent buttons, interaction follow-ups.
The platform itself is `adapters.discord.platform.DiscordPlatform` (importing it loads discord.py)."""

DISCORD_USER_ID = r"\d{1,20}"

"""What the Discord handlers reach through `bot.services` and `bot.options`.

`DiscordOptions.from_settings` and `DiscordServices.from_app` read the composition root's objects
by attribute (adapters never import `bot`): a service that is not wired yet is `None`, and the
commands that need it are simply not registered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.chat.catalogue import Catalogue
from core.domain.rules import CreditRules
from core.ports import Clock
from core.services.wallets import WalletService

if TYPE_CHECKING:
    from adapters.discord.clip_links import ClipShelf
    from core.services.email import EmailVerificationService
    from core.services.generation import GenerationService
    from core.services.linking import LinkService
    from core.services.payments import PaymentService
    from core.services.referrals import ReferralService
    from core.services.rewards import RewardService
    from core.services.server_wallets import ServerWalletService
    from core.services.stats import StatsService
    from core.services.support import SupportService

# What we download from Discord at most (the generation service refuses bigger inputs too).
# Checked on the attachment's declared size before anything is downloaded or held.
MAX_DOWNLOAD_BYTES = 20_000_000

# Style prompts offered by /generate's autocomplete and the "Other style" menu (sent to the
# model as they are, so they stay English; anything else can be typed freely).
STYLE_PRESETS: tuple[str, ...] = (
    "warm solo piano",
    "acoustic guitar",
    "lush string orchestra",
    "retro synth lead",
    "deep bass groove",
    "lo-fi hip hop beat",
    "cinematic orchestral",
    "jazz piano trio",
    "8-bit chiptune",
    "ambient pads",
)

# The style × length buttons under a recording sent to the bot: one row per style (key → the
# prompt sent to the model), one button per length showing its cost. Keys go in `custom_id`s.
KEYBOARD_STYLES: tuple[tuple[str, str], ...] = (
    ("piano", "warm solo piano"),
    ("guitar", "acoustic guitar"),
    ("strings", "lush string orchestra"),
    ("synth", "retro synth lead"),
    ("bass", "deep bass groove"),
)


@dataclass(frozen=True)
class DiscordOptions:
    token: str = ""
    api_base_url: str | None = None  # a REST proxy, or a test fake (…/api/v10)
    dev_guild_id: int | None = None  # sync the commands to this server at start (development)
    support_channel_id: int | None = None  # the operators' channel that receives /support tickets
    max_download_bytes: int = MAX_DOWNLOAD_BYTES
    # Interaction tokens work for 15 minutes; past this age we post to a DM or the channel.
    followup_window: dt.timedelta = dt.timedelta(minutes=14)
    ready_timeout_seconds: float = 60.0  # a job finishing before login waits this long for it
    # /generate requests downloading and checking their clip at once; the rest wait (already
    # acknowledged), so a burst does not slow down the acknowledgements of the others.
    intake_concurrency: int = 16
    styles: tuple[str, ...] = STYLE_PRESETS
    keyboard_styles: tuple[tuple[str, str], ...] = KEYBOARD_STYLES
    # Recordings sent to the bot wait here for a style × length press (None: in memory).
    recordings_dir: Path | None = None
    # Sharding: the total number of shards, and the ones this process runs (None: all of them).
    # Unset: one connection, as Discord recommends for a bot in fewer than 2,500 servers.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> DiscordOptions:
        token = settings.discord_bot_token
        shard_ids = getattr(settings, "discord_shard_ids", None)
        return cls(
            token=token.get_secret_value() if token is not None else "",
            api_base_url=settings.discord_api_base_url or None,
            dev_guild_id=settings.discord_dev_guild_id,
            support_channel_id=getattr(settings, "support_discord_channel_id", None),
            recordings_dir=Path(settings.data_dir) / "discord-recordings",
            shard_count=getattr(settings, "discord_shard_count", None),
            shard_ids=tuple(shard_ids) if shard_ids is not None else None,
        )


@dataclass
class DiscordServices:
    """The core services the handlers call (one per handler) and the shared words."""

    wallets: WalletService
    catalogue: Catalogue
    rules: CreditRules
    clock: Clock
    generation: GenerationService | None = None
    payments: PaymentService | None = None
    server_wallets: ServerWalletService | None = None
    rewards: RewardService | None = None
    referrals: ReferralService | None = None
    email: EmailVerificationService | None = None
    support: SupportService | None = None
    stats: StatsService | None = None
    linking: LinkService | None = None
    clips: ClipShelf | None = None  # links for clips too big to upload (needs the web server)

    @classmethod
    def from_app(cls, app: Any, *, clips: ClipShelf | None = None) -> DiscordServices:
        rewards = getattr(app, "rewards", None)  # the rewards area's parts (bot/rewards.py)
        return cls(
            wallets=app.wallets,
            catalogue=app.catalogue,
            rules=app.rules,
            clock=app.clock,
            generation=getattr(app, "generation", None),
            payments=getattr(app, "payments", None),
            server_wallets=getattr(app, "server_wallets", None),
            rewards=getattr(rewards, "bonuses", None),
            referrals=getattr(rewards, "referrals", None),
            email=getattr(rewards, "email", None),
            support=getattr(rewards, "support", None),
            stats=getattr(rewards, "stats", None),
            linking=getattr(rewards, "linking", None),
            clips=clips,
        )

"""Discord's words: the shared renderers plus the few Discord-only phrasings (timestamps,
buttons, server wallets). Every string comes from the catalogue."""

from __future__ import annotations

import datetime as dt
import re

from adapters.chat.catalogue import Catalogue, plural
from adapters.chat.errors import error_reply
from adapters.chat.generation_text import GenerationText
from adapters.chat.render import Renderer, price_text
from adapters.chat.render_payments import PaymentsRenderer
from adapters.chat.render_rewards import RewardRenderer
from core.domain.jobs import Job, JobProgress, Stage
from core.domain.pricing import Pack, Pricing
from core.errors import BotError, NotServerAdmin
from core.services.server_wallets import Deposited, Gifted, ServerWalletView

MAX_CONTENT = 2000
_SLUG = re.compile(r"[^a-z0-9]+")


def timestamp(at: dt.datetime, style: str = "R") -> str:
    """A Discord timestamp: every client shows it in its own time zone ("in 2 minutes")."""
    return f"<t:{int(at.timestamp())}:{style}>"


def fit(text: str) -> str:
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


def clip_filename(job: Job, fmt: str) -> str:
    slug = _SLUG.sub("-", job.style.lower()).strip("-")[:40] or "clip"
    return f"{slug}-{job.seconds}s-{job.job_id}.{fmt}"


class DiscordText:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.render = Renderer(catalogue)
        self.payments = PaymentsRenderer(catalogue)
        self.rewards = RewardRenderer(catalogue)
        self.generation = GenerationText(self.render)

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def error(self, error: BaseException, locale: str | None = None) -> str:
        """Expected errors in words; anything else logged with a reference the user is shown."""
        if isinstance(error, NotServerAdmin):
            return self.t("discord.need_manage_server", locale)
        return error_reply(self.catalogue, error, locale)

    # --- generation ----------------------------------------------------------------------------

    def length_choice(self, seconds: int, cost: int) -> str:
        return self.t("discord.length_choice", None, seconds=seconds, cost=cost, plural=plural(cost))

    def length_choices(self, pricing: Pricing) -> list[tuple[str, int]]:
        return [(self.length_choice(s, c), s) for s, c in sorted(pricing.costs.items())]

    def progress(self, job: Job, progress: JobProgress, now: dt.datetime, locale: str | None) -> str:
        if progress.stage == Stage.QUEUED:
            eta = ""
            if progress.eta_seconds is not None:
                ready = now + dt.timedelta(seconds=progress.eta_seconds)
                eta = self.t("discord.eta_part", locale, when=timestamp(ready))
            return self.t("gen_progress.queued", locale, position=progress.position or 1, eta_part=eta)
        return self.generation.progress(job, progress, locale)

    def clip_caption(self, job: Job, locale: str | None, mention: str | None = None) -> str:
        text = self.t("discord.clip_caption", locale, seconds=job.seconds, style=job.style)
        return f"{mention} {text}" if mention else text

    def clip_link(self, job: Job, url: str, until: dt.datetime, locale: str | None, mention: str | None = None) -> str:
        text = self.t(
            "discord.clip_link",
            locale,
            seconds=job.seconds,
            style=job.style,
            url=url,
            until=timestamp(until, "f"),
        )
        return f"{mention} {text}" if mention else text

    # --- offers and packs ----------------------------------------------------------------------

    def pack_button(self, pack: Pack, locale: str | None) -> str:
        return self.t(
            "discord.pack_button",
            locale,
            title=pack.title,
            credits=f"{pack.credits:,}",
            price=price_text(pack),
        )

    def pay_button(self, pack: Pack, locale: str | None) -> str:
        return self.t("discord.pay_button", locale, price=price_text(pack))

    # --- server wallets ------------------------------------------------------------------------

    def gifted(self, gifted: Gifted, actor_mention: str, member_mention: str, note: str, locale: str | None) -> str:
        if gifted.duplicate:
            return self.t("discord.gift_duplicate", locale)
        note_part = self.t("discord.gift_note_part", locale, note=note.strip()) if note.strip() else ""
        return self.t(
            "discord.gifted",
            locale,
            actor=actor_mention,
            member=member_mention,
            amount=gifted.amount,
            plural=plural(gifted.amount),
            note_part=note_part,
            server_available=max(gifted.server_balance.available, 0),
        )

    def server_wallet(self, view: ServerWalletView, locale: str | None) -> str:
        available = max(view.balance.available, 0)
        return self.t("discord.server_wallet", locale, available=available, plural=plural(available))

    def deposited(self, moved: Deposited, locale: str | None) -> str:
        if moved.duplicate:
            return self.t("admin_duplicate", locale)
        return self.t(
            "discord.deposited",
            locale,
            amount=moved.amount,
            plural=plural(moved.amount),
            server_available=max(moved.server_balance.available, 0),
            available=max(moved.personal_balance.available, 0),
        )


def is_expected(error: BaseException) -> bool:
    return isinstance(error, BotError)

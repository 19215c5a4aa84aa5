"""Persistent buttons: `DynamicItem`s whose `custom_id` carries every id a press needs, so a
button sent before a restart still works after it (they are registered in `setup_hook`).

| custom_id | on |
|---|---|
| `gen:cancel:<job>` | the status message: cancel the job, release its credits |
| `gen:again:<job>` | the clip: the same clip, style and length again |
| `gen:styles:<job>` | the clip: show the style menu |
| `gen:style:<job>` (select) | the style menu: a new version in the chosen style |
| `gen:longer:<job>:<seconds>` | the clip: a longer version |
| `gen:share:<job>` | the clip (in a server): post it to the channel, share bonus |
| `buy:<pack>` | offers and /buy: a Checkout link for that pack |
| `offer:free` / `offer:support` | offers: carry on for free / how to reach support |

discord.py only logs what a dynamic item raises, so every callback goes through `guarded`,
which answers with the catalogue's words (or a reference for the unexpected).
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import ui

from adapters.discord.common import (
    answer,
    bot_of,
    frozen,
    identity_of,
    locale_of,
    private,
    reply_target,
)
from adapters.discord.text import DiscordText, clip_filename
from core.domain.jobs import Job
from core.domain.offers import Offer
from core.domain.orders import CheckoutLink
from core.domain.pricing import Pack, Pricing
from core.errors import JobNotFound

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot

logger = logging.getLogger(__name__)

JOB = r"(?P<job>[A-Za-z0-9_-]{1,40})"
Callback = Callable[[Any, discord.Interaction[Any]], Awaitable[None]]
C = TypeVar("C", bound=Callback)


def guarded(callback: C) -> C:
    """Expected errors → an ephemeral friendly text; anything else logged with a reference."""

    @functools.wraps(callback)
    async def run(self: Any, interaction: discord.Interaction[Any]) -> None:
        try:
            await callback(self, interaction)
        except Exception as error:  # noqa: BLE001 - this is the error boundary of a press
            await bot_of(interaction).report_error(interaction, error)

    return run  # type: ignore[return-value]


def _button(label: str, custom_id: str, style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> ui.Button[Any]:
    return ui.Button(label=label[:80], custom_id=custom_id, style=style)


async def start_from(
    interaction: discord.Interaction[Any],
    job_id: str,
    *,
    style: str | None = None,
    seconds: int | None = None,
) -> None:
    """Again / Other style / Longer: a new job on the clip of one of the person's jobs."""
    bot = bot_of(interaction)
    generation = bot.need(bot.services.generation)
    is_private = private(interaction)
    callback = await interaction.response.defer(ephemeral=is_private, thinking=True)
    reply_to = reply_target(interaction, getattr(callback, "message_id", None), is_private=is_private)
    accepted = await generation.again(
        identity_of(interaction.user),
        job_id,
        style=style,
        seconds=seconds,
        platform="discord",
        reply_to=reply_to,
        request_id=str(interaction.id),
    )
    await bot.notifier.accepted(accepted)


# --- the status message --------------------------------------------------------------------


class CancelButton(ui.DynamicItem[ui.Button[Any]], template=rf"gen:cancel:{JOB}"):
    def __init__(self, job_id: str, label: str = "Cancel") -> None:
        super().__init__(_button(label, f"gen:cancel:{job_id}", discord.ButtonStyle.danger))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> CancelButton:
        return cls(match["job"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        await interaction.response.defer()  # the notifier edits the status message
        await bot.need(bot.services.generation).cancel(identity_of(interaction.user), self.job_id)


# --- under a delivered clip ----------------------------------------------------------------


class AgainButton(ui.DynamicItem[ui.Button[Any]], template=rf"gen:again:{JOB}"):
    def __init__(self, job_id: str, label: str = "Again") -> None:
        super().__init__(_button(label, f"gen:again:{job_id}", discord.ButtonStyle.primary))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> AgainButton:
        return cls(match["job"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await start_from(interaction, self.job_id)


class OtherStyleButton(ui.DynamicItem[ui.Button[Any]], template=rf"gen:styles:{JOB}"):
    def __init__(self, job_id: str, label: str = "Other style") -> None:
        super().__init__(_button(label, f"gen:styles:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> OtherStyleButton:
        return cls(match["job"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        locale = locale_of(interaction)
        menu = StyleSelect(self.job_id, bot.options.styles, bot.text.t("discord.style_placeholder", locale))
        await answer(interaction, bot.text.t("discord.pick_style", locale), view=frozen(menu))


class StyleSelect(ui.DynamicItem[ui.Select[Any]], template=rf"gen:style:{JOB}"):
    def __init__(self, job_id: str, styles: tuple[str, ...] = (), placeholder: str | None = None) -> None:
        options = [discord.SelectOption(label=s[:100], value=s[:100]) for s in styles[:25]]
        super().__init__(
            ui.Select(
                custom_id=f"gen:style:{job_id}",
                options=options or [discord.SelectOption(label="-")],
                placeholder=placeholder,
                min_values=1,
                max_values=1,
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> StyleSelect:
        made = cls(match["job"])
        made.item.options = list(item.options)  # keep what the message showed
        return made

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        await start_from(interaction, self.job_id, style=values[0] if values else None)


class LongerButton(ui.DynamicItem[ui.Button[Any]], template=rf"gen:longer:{JOB}:(?P<seconds>\d{{1,3}})"):
    def __init__(self, job_id: str, seconds: int, label: str = "Longer") -> None:
        super().__init__(_button(label, f"gen:longer:{job_id}:{seconds}"))
        self.job_id = job_id
        self.seconds = seconds

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> LongerButton:
        return cls(match["job"], int(match["seconds"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await start_from(interaction, self.job_id, seconds=self.seconds)


class ShareButton(ui.DynamicItem[ui.Button[Any]], template=rf"gen:share:{JOB}"):
    def __init__(self, job_id: str, label: str = "Share") -> None:
        super().__init__(_button(label, f"gen:share:{job_id}", discord.ButtonStyle.success))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> ShareButton:
        return cls(match["job"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Post the clip to the channel for everyone, then pay the share bonus (by the rules)."""
        bot = bot_of(interaction)
        locale = locale_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        identity = identity_of(interaction.user)
        if bot.services.rewards is not None:  # checks the clip is theirs and pays the bonus
            thanks = bot.text.rewards.share(await bot.services.rewards.record_share(identity, self.job_id), locale)
        else:
            job = await bot.need(bot.services.generation).job(self.job_id)
            if job is None or job.job.identity != identity.key:
                raise JobNotFound(self.job_id)
            thanks = bot.text.t("discord.shared", locale)
        await interaction.edit_original_response(content=thanks)
        await interaction.followup.send(**await shared_clip(bot, interaction, self.job_id), ephemeral=False)


async def shared_clip(bot: MusicBot, interaction: discord.Interaction[Any], job_id: str) -> dict[str, Any]:
    """The public post of a clip: the attachment of the message the button sits on, re-uploaded
    (or its link when it was too big to upload)."""
    locale = locale_of(interaction)
    mention = interaction.user.mention
    message = interaction.message
    if message is not None and message.attachments:
        attachment = message.attachments[0]
        data = await attachment.read()
        text = bot.text.t("discord.clip_shared", locale, mention=mention)
        return {
            "content": text,
            "file": discord.File(io.BytesIO(data), filename=attachment.filename),
        }
    link = message.content if message is not None else ""
    return {"content": bot.text.t("discord.clip_shared_link", locale, mention=mention, link=link)}


# --- offers and packs ----------------------------------------------------------------------


class BuyButton(ui.DynamicItem[ui.Button[Any]], template=r"buy:(?P<pack>[a-z0-9_]{1,40})"):
    def __init__(self, pack_id: str, label: str = "Buy") -> None:
        super().__init__(_button(label, f"buy:{pack_id}", discord.ButtonStyle.primary))
        self.pack_id = pack_id

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> BuyButton:
        return cls(match["pack"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        link = await bot.need(bot.services.payments).buy(
            identity_of(interaction.user), self.pack_id, request_id=str(interaction.id)
        )
        await send_checkout(interaction, bot, link)


class ContinueFreeButton(ui.DynamicItem[ui.Button[Any]], template=r"offer:free"):
    def __init__(self, label: str = "Continue with free") -> None:
        super().__init__(_button(label, "offer:free"))

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> ContinueFreeButton:
        return cls()

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        await answer(interaction, bot.text.t("discord.continue_free", locale_of(interaction)))


class SupportButton(ui.DynamicItem[ui.Button[Any]], template=r"offer:support"):
    def __init__(self, label: str = "Contact support") -> None:
        super().__init__(_button(label, "offer:support"))

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> SupportButton:
        return cls()

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        await answer(interaction, bot.text.t("discord.support_hint", locale_of(interaction)))


DYNAMIC_ITEMS: tuple[type[ui.DynamicItem[Any]], ...] = (
    CancelButton,
    AgainButton,
    OtherStyleButton,
    StyleSelect,
    LongerButton,
    ShareButton,
    BuyButton,
    ContinueFreeButton,
    SupportButton,
)


# --- the views -----------------------------------------------------------------------------


class Views:
    """Builds the button rows, labelled in the person's language."""

    def __init__(self, text: DiscordText, pricing: Pricing, *, can_share: bool = True) -> None:
        self.text = text
        self.pricing = pricing
        self.can_share = can_share

    def status(self, job_id: str, locale: str | None) -> discord.ui.View | None:
        return frozen(CancelButton(job_id, self.text.t("discord.cancel", locale)))

    def clip(self, job: Job, locale: str | None, *, in_server: bool) -> discord.ui.View | None:
        t = self.text.t
        items: list[ui.Item[Any]] = [
            AgainButton(job.job_id, t("discord.again", locale)),
            OtherStyleButton(job.job_id, t("discord.other_style", locale)),
        ]
        longer = [s for s in self.pricing.lengths if s > job.seconds]
        if longer:
            items.append(LongerButton(job.job_id, longer[0], t("discord.longer", locale, seconds=longer[0])))
        if in_server and self.can_share:
            items.append(ShareButton(job.job_id, t("discord.share", locale)))
        return frozen(*items)

    def offer(self, offer: Offer, locale: str | None) -> discord.ui.View | None:
        items: list[ui.Item[Any]] = [BuyButton(p.pack_id, self.text.pack_button(p, locale)) for p in offer.packs[:5]]
        if not offer.out_of_credits:
            items.append(ContinueFreeButton(self.text.t("continue_free", locale)))
        if offer.contact_support:
            items.append(SupportButton(self.text.t("discord.support_button", locale)))
        return frozen(*items)

    def packs(self, packs: tuple[Pack, ...], locale: str | None) -> discord.ui.View | None:
        return frozen(*(BuyButton(p.pack_id, self.text.pack_button(p, locale)) for p in packs[:20]))

    def checkout(self, link: CheckoutLink, locale: str | None) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        view.add_item(ui.Button(label=self.text.pay_button(link.pack, locale), url=link.url))
        view.stop()
        return view


async def send_checkout(interaction: discord.Interaction[Any], bot: MusicBot, link: CheckoutLink) -> None:
    locale = locale_of(interaction)
    text = bot.text.payments.checkout_link(link, bot.services.clock.now(), locale)
    await answer(interaction, text, view=bot.views.checkout(link, locale))


def clip_file(job: Job, audio: bytes, fmt: str) -> discord.File:
    return discord.File(io.BytesIO(audio), filename=clip_filename(job, fmt))

"""Small helpers every Discord handler uses: who is asking, where to answer, how to answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import discord

from core.domain.identity import Identity
from core.errors import AudioTooLarge

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot

logger = logging.getLogger(__name__)


def bot_of(interaction: discord.Interaction[Any]) -> MusicBot:
    return cast("MusicBot", interaction.client)


def identity_of(user: discord.abc.User | discord.Object) -> Identity:
    return Identity("discord", str(user.id))


def locale_of(interaction: discord.Interaction[Any]) -> str:
    return str(interaction.locale)


def private(interaction: discord.Interaction[Any]) -> bool:
    """In a server, replies that show a person's credits are ephemeral; a DM is private already
    (and ephemeral messages there would vanish, clip and all)."""
    return interaction.guild_id is not None


def is_server_admin(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server, from the permissions Discord computed for this member in this channel and
    sent with the interaction (not from anything the client chose). False outside servers."""
    return interaction.guild_id is not None and interaction.permissions.manage_guild is True


def frozen(*items: discord.ui.Item[Any]) -> discord.ui.View | None:
    """A view for persistent dynamic items. It is stopped before it is sent, so discord.py does
    not keep it in memory: the registered `DynamicItem` classes answer the presses, now and
    after a restart."""
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


async def answer(
    interaction: discord.Interaction[Any],
    content: str,
    *,
    ephemeral: bool = True,
    view: discord.ui.View | None = None,
) -> None:
    """Reply, whether or not the interaction was acknowledged already."""
    kwargs: dict[str, Any] = {"content": content, "ephemeral": ephemeral}
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


async def download(attachment: discord.Attachment, limit: int) -> bytes:
    """The attachment's bytes, at once (Discord's CDN links expire); a file larger than `limit`
    is refused on its declared size, before anything is downloaded or held."""
    if attachment.size > limit:
        raise AudioTooLarge(size_bytes=attachment.size, limit_bytes=limit)
    data = await attachment.read()
    if len(data) > limit:
        raise AudioTooLarge(size_bytes=len(data), limit_bytes=limit)
    return data


def reply_target(
    interaction: discord.Interaction[Any], status_message_id: int | None, *, is_private: bool
) -> dict[str, Any]:
    """Where a job's notifier answers: stored with the job (JSON), so it survives a restart.
    The interaction token works for 15 minutes; after that the notifier posts to a DM or the
    channel instead."""
    return {
        "app": str(interaction.application_id),
        "token": interaction.token,
        "at": interaction.created_at.timestamp(),
        "channel": str(interaction.channel_id) if interaction.channel_id else None,
        "guild": str(interaction.guild_id) if interaction.guild_id else None,
        "user": str(interaction.user.id),
        "locale": locale_of(interaction),
        "status": str(status_message_id) if status_message_id else None,
        "limit": int(interaction.filesize_limit),
        "private": is_private,
    }

"""Discord interactions into the conversation, and its replies back: a slash command or a button
press becomes a `Request`; a `Reply` becomes the interaction's response (ephemeral in a server
unless it is for everyone), or a follow-up once the interaction was acknowledged.

What takes a while (a download, Stripe) is acknowledged first ("thinking…"), as Discord wants an
answer within 3 s; the deferred message is then the job's status message."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import replace

import discord
from discord import app_commands

from adapters.chat.actions import SLOW, STARTS_JOB, Verb, decode
from adapters.chat.commands import Command
from adapters.chat.conversation import Conversation, GroupsOnly
from adapters.chat.messages import SILENT, Attachment, Member, Place, Reply, Request, Surface
from adapters.discord.recordings import Recordings
from adapters.discord.views import Interaction, view_of
from core.domain.identity import Identity
from core.domain.numbers import whole_number
from core.errors import NotServerAdmin, UsageError

logger = logging.getLogger(__name__)

MAX_CONTENT = 2000
NAME = "discord"


def fit(text: str) -> str:
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


def identity_of(user: discord.abc.User | discord.Object) -> Identity:
    return Identity(NAME, str(user.id))


class Interactions:
    def __init__(self, conversation: Conversation, surface: Surface, recordings: Recordings) -> None:
        self.conversation = conversation
        self.surface = surface
        self.recordings = recordings

    # --- in -------------------------------------------------------------------------------------

    def request(
        self,
        interaction: Interaction,
        status: int | None = None,
        *,
        args: Mapping[str, str] | None = None,
        attachment: Attachment | None = None,
        member: Member | None = None,
    ) -> Request:
        """Who asked, where (a server: its Manage Server verdict, as Discord computed it for this
        member and sent with the interaction), and where a job's messages go."""
        manage = interaction.guild_id is not None and interaction.permissions.manage_guild is True

        async def check_admin() -> bool:
            return manage

        place = Place(
            private=interaction.guild_id is None,
            group_id=str(interaction.guild_id) if interaction.guild_id else None,
            check_admin=check_admin,
        )
        return Request(
            identity_of(interaction.user),
            self.surface,
            str(interaction.id),
            place=place,
            locale=str(interaction.locale),
            mention=interaction.user.mention,
            args=args or {},
            attachment=attachment,
            member=member,
            reply_to=self.reply_to(interaction, status),
        )

    @staticmethod
    def reply_to(interaction: Interaction, status: int | None) -> dict[str, object]:
        """Where a job's messages go, stored with the job. The interaction token works for
        15 minutes; after that its messages go to a DM or the channel instead."""
        return {
            "app": str(interaction.application_id),
            "token": interaction.token,
            "at": interaction.created_at.timestamp(),
            "channel": str(interaction.channel_id) if interaction.channel_id else None,
            "guild": str(interaction.guild_id) if interaction.guild_id else None,
            "user": str(interaction.user.id),
            "locale": str(interaction.locale),
            "status": str(status) if status else None,
            "limit": int(interaction.filesize_limit),
            "private": interaction.guild_id is not None,
        }

    async def command(
        self, interaction: Interaction, command: Command, sub: Command | None, options: Mapping[str, object]
    ) -> None:
        """A slash command: its options by name; a file option is the recording, a user option
        the member it names."""
        given = {name: value for name, value in options.items() if value is not None}
        target = sub or command
        status = await self.acknowledge(interaction, job=target.takes_audio) if target.is_slow(given) else None
        args: dict[str, str] = {}
        attachment, member = None, None
        for name, value in options.items():
            if isinstance(value, discord.Attachment):
                attachment = self.recordings.attachment_of(value)
            elif isinstance(value, discord.User | discord.Member):
                member = Member(identity_of(value), value.mention, value.bot)
            elif value is not None:
                args[name] = str(value)
        request = self.request(interaction, status, args=args, attachment=attachment, member=member)
        reply = await self.conversation.run(request, command.name, sub=sub.name if sub else None)
        await self.answer(interaction, reply)

    async def press(self, interaction: Interaction, data: str) -> None:
        """A button or a menu choice (the action it carries)."""
        try:
            action = decode(data)
            slow = action is not None and action.verb in SLOW
            job = action is not None and action.verb in STARTS_JOB
            status = await self.acknowledge(interaction, job=job) if slow else None
            attachment = None
            kept = whole_number(action.arg(2)) if action is not None and action.verb == Verb.GENERATE else None
            if kept is not None:
                attachment = self.recordings.kept(interaction, kept)
            # A button makes one job per message: a second press of it is "already on it".
            where = interaction.message.id if interaction.message is not None else interaction.id
            request = replace(
                self.request(interaction, status, attachment=attachment), request_id=f"press:{where}:{data}"
            )
            await self.answer(interaction, await self.conversation.press(request, data))
        except discord.HTTPException as error:
            logger.warning("could not answer a press of %s: %s", interaction.user.id, error)

    async def acknowledge(self, interaction: Interaction, *, job: bool = False) -> int | None:
        """'Thinking…', for the asker's eyes only; the id of that message, which answers later.
        A job's status in a DM is not ephemeral: it would vanish, clip and all."""
        ephemeral = interaction.guild_id is not None or not job
        callback = await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        return callback.message_id if callback is not None else None

    # --- out ------------------------------------------------------------------------------------

    async def answer(self, interaction: Interaction, reply: Reply) -> None:
        if reply is SILENT:
            if not interaction.response.is_done():
                await interaction.response.defer()
            return
        view = view_of(reply.rows, share=interaction.guild_id is not None)
        if reply.edit and interaction.message is not None and not interaction.response.is_done():
            await interaction.response.edit_message(content=fit(reply.text), view=view)
            return
        await self.send(interaction, fit(reply.text), view, ephemeral=not reply.public)
        if reply.publish is not None:
            await self.publish(interaction, reply.publish)

    async def send(
        self, interaction: Interaction, content: str, view: discord.ui.View | None, *, ephemeral: bool
    ) -> None:
        shown = view or discord.utils.MISSING
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=ephemeral, view=shown)
        else:
            await interaction.response.send_message(content, ephemeral=ephemeral, view=shown)

    async def publish(self, interaction: Interaction, text: str) -> None:
        """The pressed message's clip, posted for everyone in the channel (its file re-uploaded,
        or its link when it was too big to upload)."""
        message = interaction.message
        if message is not None and message.attachments:
            attachment = message.attachments[0]
            file = discord.File(io.BytesIO(await attachment.read()), filename=attachment.filename)
            await interaction.followup.send(content=text, file=file, ephemeral=False)
            return
        link = message.content if message is not None else ""
        await interaction.followup.send(content=f"{text}\n{link}".strip(), ephemeral=False)

    async def refused(self, interaction: Interaction, error: BaseException) -> None:
        """What discord.py refused before the conversation saw it (a DM where a server is
        needed, a permission, an option it could not read): in words, privately."""
        if isinstance(error, app_commands.CommandInvokeError):
            error = error.original
        request = self.request(interaction)
        name = interaction.command.qualified_name.split()[0] if interaction.command is not None else "help"
        if isinstance(error, app_commands.NoPrivateMessage):
            error = GroupsOnly()
        elif isinstance(error, app_commands.MissingPermissions):
            error = NotServerAdmin(name)
        elif isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            logger.warning("options of /%s could not be read: %s", name, error)
            error = UsageError(name)
        reply = await self.conversation.failure(request, error)
        try:
            await self.send(interaction, fit(reply.text), view_of(reply.rows), ephemeral=True)
        except discord.HTTPException as failed:
            logger.warning("could not tell %s about an error: %s", interaction.user.id, failed)

"""Speaking, written once: `/say <text>` (a voice message, other voices offered under it with
their cost) and the voice tag on a delivered clip (the 🏷 button explains, `/tag` does it).

The text is checked (empty, too long, control characters, what the voice can say) before any
credit is held; the job's status message and the voice message are the job notices'."""

from __future__ import annotations

from adapters.chat.actions import Action
from adapters.chat.catalogue import plural
from adapters.chat.commands import Command, Menu, Param, ParamKind
from adapters.chat.generation import GenerationChat
from adapters.chat.messages import Reply, Request
from adapters.chat.words import Words
from core.services.generation import GenerationService


class SpeechChat:
    def __init__(self, words: Words, generation: GenerationService, making: GenerationChat) -> None:
        self.words = words
        self.generation = generation
        self.making = making  # how a started job is shown (the same for every operation)

    def commands(self) -> list[Command]:
        return [
            Command("say", self.say, (Param("text", ParamKind.TEXT),), slow=True, menu=Menu.BOTH),
            Command("tag", self.tag, (Param("job"), Param("text", ParamKind.TEXT)), slow=True, menu=Menu.NONE),
        ]

    async def say(self, request: Request) -> Reply:
        """`/say <text>`: speech in the default voice (the others are offered under it)."""
        accepted = await self.generation.say(
            request.identity,
            request.arg("text"),
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.making.started(request, accepted)

    async def tag(self, request: Request) -> Reply:
        """`/tag <job> <words>`: the clip again with the words spoken over its start."""
        accepted = await self.generation.tag(
            request.identity,
            request.arg("job"),
            request.arg("text"),
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.making.started(request, accepted)

    async def press_tag(self, request: Request, action: Action) -> Reply:
        """🏷 under a clip: what a voice tag is, what it costs and how to ask for one."""
        credits = self.generation.prices.voice_tag
        text = self.words.t(
            request,
            "voice_tag_how",
            credits=credits,
            plural=plural(credits),
            job_id=action.arg(0),
            max_chars=self.generation.speech.max_tag_chars,
        )
        return Reply(text, private=True)

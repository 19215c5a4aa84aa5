"""Speaking, written once: `/say <text>` (a voice message, other voices offered under it with
their cost), the voice tag on a delivered clip (the 🏷 button explains, `/tag` does it), and words
typed in a private chat where the platform can quote them back (Telegram): a picker of music from
the words (each length with its cost) and the words spoken (each voice with its cost).

The text is checked (empty, too long, control characters, what the voice can say) before any
credit is held; the job's status message and the voice message are the job notices'."""

from __future__ import annotations

from adapters.chat.actions import Action, Verb
from adapters.chat.catalogue import plural
from adapters.chat.commands import Command, Menu, Param, ParamKind
from adapters.chat.generation import MAX_PER_ROW, GenerationChat
from adapters.chat.messages import Button, Control, Reply, Request
from adapters.chat.words import Words
from core.errors import BotError
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

    # --- words typed in a private chat ------------------------------------------------------

    async def picker(self, request: Request, text: str) -> Reply:
        """'What shall I make of “…”?' with music from the words (a button per length, with its
        cost) and the words spoken (a button per voice, with its cost). Nothing is held: a press
        does that, reading the words from the message the picker answers."""
        generation = self.generation
        rows: list[tuple[Control, ...]] = []
        refusal: BotError | None = None
        try:
            generation.prompts.clean(text)
            costs = sorted(generation.prices.prompt.costs.items())[:MAX_PER_ROW]
            rows.append(
                tuple(
                    Button(
                        self.words.t(request, "button.describe", seconds=seconds, credits=cost),
                        Action(Verb.DESCRIBE, None, (str(seconds),)),
                    )
                    for seconds, cost in costs
                )
            )
        except BotError as error:
            refusal = error
        try:
            cost = generation.prices.speech.cost(generation.speech.clean(text))
            rows.append(
                tuple(
                    Button(
                        self.words.t(request, "button.say", voice=self.words.t(request, f"voice.{key}"), credits=cost),
                        Action(Verb.SAY, None, (key,)),
                    )
                    for key in generation.speech.keys
                )
            )
        except BotError as error:
            refusal = refusal or error
        if not rows:
            assert refusal is not None
            raise refusal
        excerpt = text if len(text) <= 60 else text[:59] + "…"
        glance = await self.making.wallets.glance(request.identity)
        head = self.words.t(request, "words_pick", words=excerpt, available=glance.available)
        return Reply(head, tuple(rows))

    async def press_describe(self, request: Request, action: Action) -> Reply:
        """✍️ under typed words: music from them, of this length."""
        if request.quoted is None:
            raise WordsGone()
        return await self.making.describe(request, request.quoted, action.arg(0))

    async def press_say(self, request: Request, action: Action) -> Reply:
        """🗣 under typed words: the words spoken in this voice."""
        if request.quoted is None:
            raise WordsGone()
        accepted = await self.generation.say(
            request.identity,
            request.quoted,
            voice=action.arg(0),
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.making.started(request, accepted)


class WordsGone(BotError):
    """A press under typed words the platform could no longer find (deleted, or too old)."""

    code = "words_gone"

"""Making music, written once: a recording gets the style × length picker (each button shows
its cost), a press or `/generate` starts a job, and the clip's buttons (Again, Other style,
Longer) start another one on the same recording; `/jobs` and `/cancel`.

Nothing is held before the recording, the style and the length have been checked: the core
refuses first. The job's status message, the clip and the outcome are the job notices'
(`adapters.chat.jobs`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from adapters.chat.actions import Action, Verb, owned
from adapters.chat.catalogue import plural
from adapters.chat.commands import Command, Param, ParamKind
from adapters.chat.commands import Menu as CommandMenu
from adapters.chat.jobs import JobNotices
from adapters.chat.messages import SILENT, Attachment, Button, Control, Menu, Reply, Request, joined
from adapters.chat.styles import BUTTON_STYLES, Style, style_of, suggest_styles
from adapters.chat.words import Words
from core.domain.pricing import Pricing
from core.errors import AudioTooLarge, BotError, UsageError
from core.services.generation import Accepted, GenerationService
from core.services.wallets import WalletService

MAX_ROWS, MAX_PER_ROW = 5, 5  # the most buttons every platform can show (Discord: 5 × 5)


class RecordingGone(BotError):
    """A press whose recording is no longer kept (deleted, or an old button)."""

    code = "recording_gone"


class NoRecording(BotError):
    """The message has no voice message or audio file."""

    code = "no_recording"


@dataclass(frozen=True)
class _Picker:
    """A picker's words and buttons in one language, the recording left out (it differs by
    recording where the platform names it, and only there)."""

    styles: str  # "🎹 Piano · 🎸 Guitar · …"
    rows: tuple[tuple[Button, ...], ...]  # a row per style, a button per length


@dataclass(frozen=True)
class Shareable:
    """A delivered clip its owner may share, and the platform's reference to the file sent."""

    job_id: str
    delivery_ref: str


class GenerationChat:
    def __init__(
        self, words: Words, generation: GenerationService, wallets: WalletService, jobs: JobNotices, pricing: Pricing
    ) -> None:
        self.words = words
        self.generation = generation
        self.wallets = wallets
        self.jobs = jobs
        self.pricing = pricing
        self._pickers: dict[str, _Picker] = {}  # by language

    def commands(self) -> list[Command]:
        lengths = [(self.length_label(s, c), str(s)) for s, c in sorted(self.pricing.costs.items())]
        prompt_costs = self.generation.prices.prompt.costs
        prompt_lengths = [(self.length_label(s, c), str(s)) for s, c in sorted(prompt_costs.items())]
        return [
            Command(
                "generate",
                self.generate,
                (
                    Param("audio", ParamKind.AUDIO, required=False),
                    Param("style", ParamKind.TEXT, suggest=suggest_styles),
                    Param("length", ParamKind.NUMBER, choices=lambda: lengths),
                ),
                slow=True,
                where=lambda surface: surface.command_attachments,
            ),
            Command(
                "describe",
                self.describe,
                (
                    Param("description", ParamKind.TEXT, suggest=suggest_styles),
                    Param("length", ParamKind.NUMBER, choices=lambda: prompt_lengths),
                ),
                slow=True,
                menu=CommandMenu.BOTH,
            ),
            Command("jobs", self.list_jobs),
            Command("cancel", self.cancel, (Param("job"),), menu=CommandMenu.NONE),
        ]

    # --- a recording → the picker ----------------------------------------------------------

    async def picker(self, request: Request, recording: str = "") -> Reply:
        """'Pick a style and a length…' with the person's credits and one button per style and
        length. Nothing is written: someone new gets the welcome grant with their first press.
        `recording` is the platform's reference to the recording, carried by each button."""
        self._refuse_too_large(request, request.attachment)
        glance = await self.wallets.glance(request.identity)
        picker = self._picker(request)
        available = glance.available
        pick = self.words.t(request, "pick", styles=picker.styles, available=available, plural=plural(available))
        welcome = self.words.welcome(request, glance.welcome_credits)
        return Reply(joined(welcome, pick), self._rows(picker, recording))

    def _picker(self, request: Request) -> _Picker:
        """The same for everyone in a language, built once each (the reply to a recording is the
        hot path of a burst)."""
        language = self.words.catalogue.language(request.locale)
        picker = self._pickers.get(language)
        if picker is None:
            shown = BUTTON_STYLES[:MAX_ROWS]
            costs = sorted(self.pricing.costs.items())[:MAX_PER_ROW]
            picker = _Picker(
                styles=" · ".join(f"{style.emoji} {self.words.t(request, f'style.{style.key}')}" for style in shown),
                rows=tuple(
                    tuple(
                        Button(
                            self.words.t(request, "button.generate", emoji=style.emoji, seconds=seconds, credits=cost),
                            Action(Verb.GENERATE, None, (style.key, str(seconds))),
                        )
                        for seconds, cost in costs
                    )
                    for style in shown
                ),
            )
            self._pickers[language] = picker
        return picker

    @staticmethod
    def _rows(picker: _Picker, recording: str) -> tuple[tuple[Control, ...], ...]:
        """The picker's buttons, each carrying `recording` where the platform names one (else the
        very same rows every time, which a platform may keep built)."""
        if not recording:
            return picker.rows
        return tuple(
            tuple(Button(b.label, replace(b.action, args=(*b.action.args, recording))) for b in row)
            for row in picker.rows
        )

    def _refuse_too_large(self, request: Request, attachment: Attachment | None) -> None:
        """A recording over the platform's or the intake's limit, refused before it is read into
        memory (the console would read a 200 MB file, a platform download it)."""
        if attachment is None or attachment.size is None:
            return  # the intake checks what it is given
        limits = [self.generation.settings.max_input_bytes, request.surface.max_file_bytes]
        limit = min(x for x in limits if x is not None)
        if attachment.size > limit:
            raise AudioTooLarge(size_bytes=attachment.size, limit_bytes=limit)

    # --- starting a job ------------------------------------------------------------------------

    async def generate(self, request: Request) -> Reply:
        """`/generate <recording> <style> <length>`; with no recording, the style is a
        description and the music is made from the words alone (`/describe`)."""
        attachment = request.attachment
        named = request.arg("audio")
        if attachment is None and named and request.surface.attach is not None:
            attachment = request.surface.attach(named)
        if attachment is None:
            if named:
                raise UsageError("generate")
            return await self.describe(request, request.arg("style"))
        self._refuse_too_large(request, attachment)
        audio = await attachment.read()
        accepted = await self.generation.submit(
            request.identity,
            audio,
            request.arg("style"),
            request.arg("length"),
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.started(request, accepted)

    async def describe(self, request: Request, description: str | None = None, length: str | None = None) -> Reply:
        """`/describe <description> <length>`: music from words alone, priced on its own table."""
        accepted = await self.generation.describe(
            request.identity,
            request.arg("description") if description is None else description,
            request.arg("length") if length is None else length,
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.started(request, accepted)

    async def press_generate(self, request: Request, action: Action) -> Reply:
        """A style × length button under a recording (a second press of the same button makes
        no second job)."""
        style = style_of(action.arg(0))
        if style is None or request.attachment is None:
            raise RecordingGone()
        self._refuse_too_large(request, request.attachment)
        audio = await request.attachment.read()
        accepted = await self.generation.submit(
            request.identity,
            audio,
            style.prompt,
            action.arg(1),
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.started(request, accepted)

    async def press_again(self, request: Request, action: Action) -> Reply:
        """Again / Try again, Other style (a picked style), Longer: a new job on the same recording."""
        style: Style | None = None
        if action.verb == Verb.VOICE:  # a spoken text again, in another voice
            accepted = await self.generation.again(
                request.identity,
                action.arg(0),
                style=action.arg(1),
                platform=request.platform,
                reply_to=request.reply_to,
                request_id=request.request_id,
            )
            return await self.started(request, accepted)
        if action.verb == Verb.STYLE:
            style = style_of(action.arg(1))
            if style is None:
                raise RecordingGone()
        accepted = await self.generation.again(
            request.identity,
            action.arg(0),
            style=style.prompt if style is not None else None,
            seconds=action.arg(1) if action.verb == Verb.LONGER else None,
            platform=request.platform,
            reply_to=request.reply_to,
            request_id=request.request_id,
        )
        return await self.started(request, accepted)

    async def started(self, request: Request, accepted: Accepted) -> Reply:
        """The job's status message is its answer (shown in order with the workers' updates);
        a repeated request made no second job and says so."""
        if accepted.duplicate:
            key = "already_made" if accepted.job.state.finished else "already"
            return Reply(self.words.t(request, key), note=True)
        await self.jobs.accepted(accepted, request, prefix=self.words.welcome(request))
        return SILENT

    # --- the clip's other buttons ----------------------------------------------------------

    async def press_styles(self, request: Request, action: Action) -> Reply:
        """ "Other style": the styles for this clip's length, each with its cost."""
        view = await self.generation.job(action.arg(0))
        if view is None:
            raise RecordingGone()
        job = view.job
        options = tuple(
            Button(
                self.words.t(
                    request,
                    "button.style",
                    emoji=style.emoji,
                    style=self.words.t(request, f"style.{style.key}"),
                    credits=job.cost,
                    plural=plural(job.cost),
                ),
                owned(Verb.STYLE, request.identity.user_id, job.job_id, style.key),
            )
            for style in BUTTON_STYLES
            if style.prompt != job.style
        )
        text = self.words.t(request, "other_style", seconds=job.seconds, cost=job.cost, plural=plural(job.cost))
        return Reply(text, ((Menu(self.words.t(request, "style_placeholder"), options),),))

    async def press_cancel(self, request: Request, action: Action) -> Reply:
        """Cancel: the job ends and its credits are released (the status message says so)."""
        await self.generation.cancel(request.identity, action.arg(0))
        return Reply(self.words.t(request, "cancel_done"), note=True)

    async def shareable(self, request: Request, job_id: str) -> Shareable | None:
        """A clip the person may share: theirs, and delivered."""
        view = await self.generation.job(job_id) if job_id.isalnum() else None
        if view is None or view.job.identity != request.identity.key or view.job.delivery_ref is None:
            return None
        return Shareable(view.job.job_id, view.job.delivery_ref)

    # --- /jobs, /cancel ----------------------------------------------------------------------

    async def list_jobs(self, request: Request) -> Reply:
        return Reply(self.words.jobs(request, await self.generation.jobs(request.identity)))

    async def cancel(self, request: Request) -> Reply:
        canceled = await self.generation.cancel(request.identity, request.arg("job"))
        job = canceled.job
        head = self.words.t(request, "gen_canceled", job_id=job.job_id)
        return Reply(f"{head} {self.words.not_charged(request.locale, job.cost)}")

    def length_label(self, seconds: int, cost: int) -> str:
        return self.words.t(None, "length_choice", seconds=seconds, cost=cost, plural=plural(cost))

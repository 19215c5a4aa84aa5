"""The priced operations other than music from a recording, on the in-memory stores: speech
(/say), music from words (/describe, /generate without a recording) and the voice tag. Each
shows its cost before, charges once on delivery, refuses bad input and short credits holding
nothing, and charges nothing when its provider fails."""

from __future__ import annotations

import io

import av
import pytest

from core.domain.generation import GenerationRequest, PredictionState, PredictionStatus
from core.domain.jobs import JobState
from core.errors import GenerationFailed
from tests.unit.conversation_kit import HUM, OPERATOR, labels, recording


class FailingProvider:
    """A provider whose model fails every prediction (the host said "failed")."""

    compute_micros_per_second = 0

    async def submit(self, request: GenerationRequest, *, webhook_url: str | None, before_create=None) -> str:
        return f"fail-{request.job_id}"

    async def find(self, ref: str, *, since=None) -> list[PredictionStatus]:
        return []

    async def status(self, prediction_id: str) -> PredictionStatus:
        return PredictionStatus(prediction_id, PredictionState.FAILED, error="CUDA out of memory")

    async def cancel(self, prediction_id: str) -> None:
        return None

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        raise GenerationFailed("model_failed")

    async def aclose(self) -> None:
        return None


def opus_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        (stream,) = container.streams.audio
        assert stream.codec_context.name == "opus"
        return float(container.duration or 0) / av.time_base


# --- speech -----------------------------------------------------------------------------------


async def test_say_shows_the_cost_held_then_delivers_a_voice_note_and_charges_once(bot):
    await bot.say("telegram:1", "/start")
    assert await bot.say("telegram:1", "/say Happy birthday, Alex! Have a wonderful day.") is not None
    head = bot.telegram.status_text.splitlines()[0]
    assert head == "🗣 female voice · 43 characters · 1 credit held · 9 left to use"
    assert (await bot.balance("telegram:1")).held == 1
    await bot.run_jobs()
    (clip,) = bot.telegram.clips
    (audio,) = bot.telegram.audio
    assert audio.format == "ogg" and 1.0 < opus_seconds(audio.audio) < 8.0
    assert (clip.caption, clip.charge) == ("🗣 Your text in the female voice", "−1 credit · 9 left")
    assert labels_of(clip) == ["🗣 In the male voice · 1"]
    assert await bot.available("telegram:1") == 9 and (await bot.balance("telegram:1")).held == 0

    again = await bot.press("telegram:1", clip.rows[0][0])
    await bot.run_jobs()
    assert again is not None and len(bot.telegram.clips) == 2
    assert bot.telegram.clips[1].caption == "🗣 Your text in the male voice"
    assert await bot.available("telegram:1") == 8


def labels_of(clip) -> list[str]:
    return [control.label for row in clip.rows for control in row]


async def test_speech_costs_a_block_per_started_200_characters_from_the_settings(make):
    bot = make(speech_chars_per_block=50, speech_block_cost=2)
    await bot.say("discord:1", "/start")
    await bot.options("discord:1", "say", args={"text": "word " * 30})  # 149 characters: 3 blocks
    assert "· 6 credits held" in bot.discord.status_text
    await bot.run_jobs()
    assert await bot.available("discord:1") == 4


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("   \n ", "There is nothing to say: write some words after the command."),
        ("a" * 1001, "That is 1001 characters; the most I can say at once is 1000."),
        ("hello\x07there", "The text has control or invisible characters; please send plain text."),
        ("hi\u200bthere", "The text has control or invisible characters; please send plain text."),
        ("你好世界", "The female voice cannot say “你好世界”: use letters it can read (English text)."),
        ("!!! ??? ...", "The female voice cannot say “!!! ?”: use letters it can read (English text)."),
    ],
)
async def test_text_the_voice_cannot_take_is_refused_in_words_holding_nothing(bot, text, words):
    await bot.say("discord:1", "/start")
    before = bot.movements()
    reply = await bot.options("discord:1", "say", args={"text": text})
    assert reply.text == words
    assert bot.movements() == before and bot.discord.statuses == []


async def test_say_with_too_few_credits_is_refused_with_the_offer(make):
    bot = make(welcome_credits=1, speech_block_cost=2)
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    refused = await bot.say("telegram:1", "/say hello there")
    assert refused.text.splitlines()[:2] == [
        "That costs 2 credits and you have 1.",
        "You have 1 credit left. Buy more to keep creating!",
    ]
    assert "⭐ Starter: 100 credits for 250 ⭐" in labels(refused)
    assert bot.movements() == before and bot.telegram.statuses == []


async def test_a_failed_speech_provider_charges_nothing_and_says_so(make):
    bot = make(providers={"speech": FailingProvider()})
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:1", "/say hello there")
    await bot.run_jobs()
    assert bot.telegram.clips == []
    assert "not charged" in bot.telegram.status_text.lower()
    balance = await bot.balance("telegram:1")
    assert (balance.available, balance.held) == (10, 0)


# --- music from words -------------------------------------------------------------------------


async def test_describe_makes_music_from_words_priced_on_its_own_table(make):
    bot = make(prompt_costs="5:1,10:3")
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:1", "/describe lofi beat with rain 10")
    assert bot.telegram.status_text.startswith("🎵 lofi beat with rain · 10 s · 3 credits held")
    await bot.run_jobs()
    (audio,) = bot.telegram.audio
    assert audio.format == "mp3" and len(audio.audio) > 10_000
    assert bot.telegram.clips[0].charge == "−3 credits · 7 left"


async def test_generate_without_a_recording_takes_the_words_as_a_description(bot):
    await bot.say("discord:1", "/start")
    await bot.say("discord:1", '/generate "calm piano at night" 5')
    await bot.run_jobs()
    assert bot.discord.clips[0].caption == "🎵 Your 5 s calm piano at night clip"
    assert await bot.available("discord:1") == 9


async def test_describe_refuses_a_named_artist_and_an_unknown_length_holding_nothing(bot):
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    assert (await bot.say("telegram:1", "/describe like taylor swift 5")).text.startswith("Styles can't name")
    assert (await bot.say("telegram:1", "/describe lofi 7")).text.startswith("Pick a length")
    assert bot.movements() == before


async def test_a_failed_music_provider_charges_nothing_for_a_description(make):
    bot = make(providers={"prompt": FailingProvider()})
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:1", "/describe lofi beat 5")
    await bot.run_jobs()
    assert bot.telegram.clips == [] and await bot.available("telegram:1") == 10


# --- the voice tag ----------------------------------------------------------------------------


async def made_clip(bot, who: str = "discord:1") -> str:
    await bot.say(who, "/start")
    await bot.options(who, "generate", attachment=recording(HUM), args={"style": "piano", "length": "5"})
    await bot.run_jobs()
    return bot.platform(who).statuses[-1].job.job_id


async def test_the_tag_button_tells_the_cost_and_tag_mixes_the_words_into_the_clip(bot):
    job_id = await made_clip(bot)
    tag_button = button_of(bot.discord.clips[0], "🏷")
    assert tag_button.label == "🏷 Add a voice tag · 1"
    how = await bot.press("discord:1", tag_button)
    assert f"/tag {job_id} <your words>" in how.text and "for 1 credit." in how.text
    assert await bot.available("discord:1") == 9  # the explanation charges nothing

    await bot.options("discord:1", "tag", args={"job": job_id, "text": "made by Sam"})
    assert bot.discord.status_text.startswith("🏷 Voice tag “made by Sam” · 1 credit held")
    await bot.run_jobs()
    tagged = bot.discord.clips[-1]
    assert (tagged.caption, tagged.charge) == ("🏷 Your clip with “made by Sam”", "−1 credit · 8 left")
    assert labels_of(tagged) == ["📤 Share"]
    original, mixed = bot.discord.audio
    assert mixed.format == "mp3" and mixed.audio != original.audio


def button_of(clip, emoji: str):
    return next(control for row in clip.rows for control in row if control.label.startswith(emoji))


async def test_a_tag_goes_only_on_a_delivered_music_clip_of_one_s_own(bot):
    job_id = await made_clip(bot)
    await bot.options("discord:1", "say", args={"text": "hello"})
    await bot.run_jobs()
    speech_id = bot.discord.statuses[-1].job.job_id
    before = bot.movements()
    refused = await bot.options("discord:1", "tag", args={"job": speech_id, "text": "hi"})
    assert refused.text.startswith("A voice tag goes on one of your delivered music clips")
    await bot.say("discord:2", "/start")
    before = bot.movements()
    other = await bot.options("discord:2", "tag", args={"job": job_id, "text": "hi"})
    assert "job" in other.text.lower() and bot.movements() == before


async def test_a_tag_with_too_few_credits_is_refused_with_the_offer(make):
    bot = make(welcome_credits=1)
    job_id = await made_clip(bot)
    before = bot.movements()
    refused = await bot.options("discord:1", "tag", args={"job": job_id, "text": "made by Sam"})
    assert refused.text.startswith("That costs 1 credit and you have 0.")
    assert bot.movements() == before


async def test_a_failed_mix_charges_nothing(make):
    bot = make(providers={"voicetag": FailingProvider()})
    job_id = await made_clip(bot)
    await bot.options("discord:1", "tag", args={"job": job_id, "text": "made by Sam"})
    await bot.run_jobs()
    assert len(bot.discord.clips) == 1 and await bot.available("discord:1") == 9  # the clip only


async def test_jobs_and_history_name_speech_by_its_voice(bot):
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:1", "/say hello there")
    job_id = bot.telegram.statuses[-1].job.job_id
    assert (
        f"{job_id} · 🗣 speech, female voice · queued (#1 in line) · 1 credit held"
        in (await bot.say("telegram:1", "/jobs")).text
    )
    await bot.run_jobs()
    assert f"{job_id} · 🗣 speech, female voice · done · −1 credit" in (await bot.say("telegram:1", "/history")).text


async def test_admin_stats_count_jobs_credits_and_failures_per_operation(make):
    bot = make(providers={"prompt": FailingProvider()})
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:1", "/say hello there")
    await bot.say("telegram:1", "/describe lofi beat 5")
    await bot.run_jobs()
    report = (await bot.say(OPERATOR, "/admin stats")).text
    assert "  ✍️ music from words: 1 jobs, 0 delivered, 1 failed, 0 credits" in report
    assert "  🗣 speech: 1 jobs, 1 delivered, 0 failed, 1 credits" in report


# --- words typed in a private chat (Telegram quotes them back on a press) -----------------------


async def test_typed_words_offer_music_and_speech_each_with_its_cost_and_a_press_starts_it(bot):
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    picker = await bot.typed("telegram:1", "rainy night jazz")
    assert picker.text == "What shall I make of “rainy night jazz”? You have 10 credits."
    assert labels(picker) == [
        "✍️ 5s · 1",
        "✍️ 10s · 2",
        "✍️ 15s · 3",
        "✍️ 30s · 5",
        "🗣 female · 1",
        "🗣 male · 1",
    ]
    assert bot.movements() == before  # the picker holds nothing
    music, male = picker.rows[0][1], picker.rows[1][1]
    await bot.press("telegram:1", music, owner="1", quoted="rainy night jazz")
    await bot.press("telegram:1", male, owner="1", quoted="rainy night jazz")
    await bot.run_jobs()
    assert sorted(clip.caption for clip in bot.telegram.clips) == [
        "🎵 Your 10 s rainy night jazz clip",
        "🗣 Your text in the male voice",
    ]
    assert await bot.available("telegram:1") == 7


async def test_typed_words_get_only_what_can_take_them_and_a_lost_quote_is_refused(bot):
    await bot.say("telegram:1", "/start")
    long_words = "la " * 100  # 300 characters: too long to describe music, fine to say
    assert labels(await bot.typed("telegram:1", long_words)) == ["🗣 female · 2", "🗣 male · 2"]
    assert labels(await bot.typed("telegram:1", "你好")) == ["✍️ 5s · 1", "✍️ 10s · 2", "✍️ 15s · 3", "✍️ 30s · 5"]
    before = bot.movements()
    gone = await bot.press("telegram:1", "y:female", owner="1")
    assert gone.text == "I can't find those words any more. Send them again." and bot.movements() == before


async def test_a_tag_asked_while_the_clip_is_still_on_its_way_says_so_and_charges_nothing(bot):
    await bot.say("discord:1", "/start")
    await bot.options("discord:1", "generate", attachment=recording(HUM), args={"style": "piano", "length": "5"})
    job_id = bot.discord.statuses[-1].job.job_id
    store = bot.app.generation.store
    now = bot.app.clock.now()
    # the platform has the clip, the charge is not recorded yet
    assert await store.advance(
        job_id, frozenset({JobState.QUEUED}), JobState.DELIVERING, now=now, worker_id="w", lease_until=now
    )
    before = bot.movements()
    refused = await bot.options("discord:1", "tag", args={"job": job_id, "text": "made by Sam"})
    assert refused.text == f"Clip {job_id} is still on its way to you: try the voice tag again in a moment."
    assert bot.movements() == before

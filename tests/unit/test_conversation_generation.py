"""Making music through the conversation, with no database: the style × length picker, a press
or `/generate` holding the cost, the job's status words on the platform, the clip delivered and
charged once, the refusal with the offer when credits are short, and what a button press may not
do (twice, someone else's, stale). Jobs run on the local synthesizer when the test says so."""

from __future__ import annotations

import pytest

from adapters.chat.actions import Verb
from adapters.chat.messages import SILENT, Attachment, Menu
from core.domain.jobs import Stage
from tests.audio_samples import garbage_bytes, silence_clip
from tests.unit.conversation_kit import HUM, WELCOME, Kit, button, buttons, labels, recording

PICK = (
    "Pick a style (one row each: 🎹 Piano · 🎸 Guitar · 🎻 Strings · 🎛 Synth · 🔊 Bass) "
    "and a length (each button: length · credits). You have {n} credits."
)


async def start_on_telegram(bot: Kit, who: str = "telegram:1", length: str = "10", request_id: str = "p1"):
    """A recording, then the piano button of `length` seconds."""
    picker = await bot.send_recording(who)
    return await bot.press(who, button(picker, f"🎹 {length}s"), audio=HUM, request_id=request_id)


async def start_on_discord(bot: Kit, who: str = "discord:1", length: str = "10", request_id: str = "p1"):
    """`/generate` with its options named, the recording attached."""
    args = {"style": "warm solo piano", "length": length}
    return await bot.options(who, "generate", attachment=recording(), args=args, request_id=request_id)


STARTS = {"telegram:1": start_on_telegram, "discord:1": start_on_discord}


# --- the picker ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["telegram:1", "discord:1"])
async def test_a_recording_gets_the_picker_with_each_cost_and_writes_nothing(bot, who):
    picker = await bot.send_recording(who)
    assert picker.text == f"{WELCOME}\n{PICK.format(n=10)}"
    assert [len(row) for row in picker.rows] == [4] * 5  # a row per style, a button per length
    assert labels(picker)[:4] == ["🎹 5s · 1", "🎹 10s · 2", "🎹 15s · 3", "🎹 30s · 5"]
    assert labels(picker)[-1] == "🔊 30s · 5"
    assert [b.action.encode() for b in buttons(picker)[:2]] == ["g:piano:5:rec1", "g:piano:10:rec1"]
    assert not bot.known(who)  # nothing is written until a press
    assert bot.movements() == ((), ())


async def test_the_picker_is_built_once_per_language_whatever_the_recording(bot):
    first = await bot.send_recording("telegram:1", ref="")
    again = await bot.send_recording("telegram:2", ref="")
    assert again.rows is first.rows  # the very same rows: a platform may keep their keyboard built
    one = await bot.send_recording("discord:1", ref="m1")
    other = await bot.send_recording("discord:1", ref="m2")
    assert [buttons(r)[0].action.encode() for r in (first, one, other)] == ["g:piano:5", "g:piano:5:m1", "g:piano:5:m2"]
    assert list(bot.conversation.generation._pickers) == ["en"]  # not one more per recording


async def test_the_picker_follows_the_configured_costs_and_the_balance(make):
    bot = make(generation_costs="5:2,20:4")
    await bot.say("telegram:1", "/daily")
    picker = await bot.send_recording("telegram:1")
    assert picker.text == PICK.format(n=11)  # not new: no welcome
    assert labels(picker)[:2] == ["🎹 5s · 2", "🎹 20s · 4"]


async def test_a_recording_over_the_platform_s_limit_is_refused_before_it_is_read(bot):
    read = []

    async def never() -> bytes:
        read.append(True)
        return HUM

    too_big = Attachment("long.ogg", never, size=30_000_000)  # the Telegram-like surface allows 20 MB
    reply = await bot.conversation.recording(bot.request("telegram:1", attachment=too_big), "rec9")
    assert reply.text == "That file is too big (30.0 MB); the limit is 20 MB."
    assert not reply.rows and read == []


# --- a job: held, shown, delivered, charged once -----------------------------------------------------


@pytest.mark.parametrize("who", ["telegram:1", "discord:1"])
async def test_a_job_holds_the_cost_then_charges_it_once_when_the_clip_is_delivered(bot, who):
    platform = bot.platform(who)
    await bot.say(who, "/start")
    answer = await STARTS[who](bot, who)
    assert answer is SILENT  # the status message is the answer
    (status,) = platform.statuses
    assert status.reply.text == "🎵 warm solo piano · 10 s · 2 credits held · 8 left to use\nQueued: #1 in line"
    assert labels(status.reply) == ["✖ Cancel"]
    held = await bot.balance(who)
    assert (held.available, held.held, held.free) == (8, 2, 10)
    balance = (await bot.say(who, "/balance")).text
    assert "Credits: 8 (10 free, 0 paid) · 2 held for running jobs" in balance
    assert "· 10 s warm solo piano · queued (#1 in line) · 2 credits held" in balance

    await bot.run_jobs()

    assert [s.stage for s in platform.statuses] == [
        Stage.QUEUED,
        Stage.STARTED,
        Stage.GENERATING,
        Stage.DELIVERING,
        None,
    ]
    assert [s.reply.text.splitlines()[-1] for s in platform.statuses] == [
        "Queued: #1 in line",
        "Starting your 10 s warm solo piano clip…",
        "Generating your 10 s warm solo piano clip…",
        "Uploading your clip…",
        "🎉 Achievement unlocked: First clip!",  # under "✅ Done! −2 credits · 8 left"
    ]
    assert platform.statuses[-1].reply.text.endswith(
        "✅ Done! −2 credits · 8 left\n🎉 Achievement unlocked: First clip!"
    )
    assert [bool(s.reply.rows) for s in platform.statuses] == [
        True,
        True,
        True,
        False,
        False,
    ]  # no Cancel once uploading
    (clip,) = platform.clips
    assert (clip.caption, clip.charge) == ("🎵 Your 10 s warm solo piano clip", "−2 credits · 8 left")
    assert [c.label for row in clip.rows for c in row] == [
        "🔁 Again",
        "🎨 Other style",
        "➕ Longer (15 s)",
        "🏷 Add a voice tag · 1",
        "📤 Share",
    ]
    charged = await bot.balance(who)
    assert (charged.available, charged.held, charged.free) == (8, 0, 8)
    history = (await bot.say(who, "/history")).text
    assert history.count("−2 music clip") == 1
    assert "· 10 s warm solo piano · done · −2 credits" in history
    assert (await bot.say(who, "/jobs")).text == "No jobs running."


@pytest.mark.parametrize("who", ["telegram:1", "discord:1"])
async def test_the_same_request_twice_makes_one_job_and_one_charge(bot, who):
    await STARTS[who](bot, who, request_id="same")
    again = await STARTS[who](bot, who, request_id="same")
    assert (again.text, again.note) == ("Already on it: that clip is being made.", True)
    assert (await bot.balance(who)).held == 2
    await bot.run_jobs()
    after = await STARTS[who](bot, who, request_id="same")
    assert after.text == "You made that one already. Press 🔁 Again under the clip for another take."
    await bot.run_jobs()
    assert len(bot.platform(who).clips) == 1
    assert await bot.available(who) == 8


async def test_the_status_of_a_first_contact_s_command_carries_the_welcome(bot):
    await start_on_discord(bot, "discord:7")
    assert bot.discord.status_text.startswith(f"{WELCOME}\n🎵 warm solo piano · 10 s · 2 credits held")


# --- refusals: nothing held ---------------------------------------------------------------------------


async def test_too_few_credits_shows_the_offer_with_the_platform_s_buy_buttons_and_holds_nothing(make):
    bot = make(welcome_credits=1)
    picker = await bot.send_recording("telegram:1")
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    refused = await bot.press("telegram:1", button(picker, "🎹 10s"), audio=HUM)
    lines = refused.text.splitlines()
    assert lines[:3] == [
        "That costs 2 credits and you have 1.",
        "You have 1 credit left. Buy more to keep creating!",
        "Starter: 100 credits for 250 ⭐",
    ]
    assert "Questions? Use /support to contact us." in lines
    assert not refused.note  # with buttons: a message, not a pop-up
    assert labels(refused) == [
        "⭐ Starter: 100 credits for 250 ⭐",
        "⭐ Popular: 400 credits for 750 ⭐",
        "⭐ Pro: 1,000 credits for 1750 ⭐",
        "⭐ Creator: 2,500 credits for 3750 ⭐",
        "🎁 Claim your free daily credit",
        "💬 Contact support",
        "Continue with free",
    ]
    assert {b.action.encode() for b in buttons(refused)} >= {"b:1:s:starter", "d:1", "f:1"}
    assert bot.movements() == before and bot.telegram.statuses == []
    assert (await bot.balance("telegram:1")).held == 0


async def test_not_enough_for_this_length_but_not_low_shows_the_card_packs_on_discord(make):
    bot = make(card=True, welcome_credits=4)
    await bot.say("discord:1", "/start")
    before = bot.movements()
    refused = await start_on_discord(bot, "discord:1", length="30")
    assert refused.text.splitlines()[:3] == [
        "That costs 5 credits and you have 4.",
        "Credit packs:",
        "Starter: 100 credits for $5",
    ]
    assert labels(refused)[0] == "💳 Starter: 100 credits for $5"
    assert buttons(refused)[0].action.encode() == "b:1:p:starter"
    assert bot.movements() == before and bot.discord.statuses == []


@pytest.mark.parametrize(
    ("args", "audio", "words"),
    [
        ({"style": "piano", "length": "7"}, HUM, "Pick a length of 5, 10, 15, 30 seconds."),
        (
            {"style": "p" * 201, "length": "5"},
            HUM,
            "Describe a style in 1 to 200 characters, e.g. 'warm piano ballad'.",
        ),
        ({"style": "like taylor swift", "length": "5"}, HUM, "Styles can't name artists or songs ('taylor swift')."),
        ({"style": "piano", "length": "5"}, silence_clip(), "That recording is silent."),
        ({"style": "piano", "length": "5"}, garbage_bytes(), "That file isn't audio I can read"),
        ({"length": "5"}, None, "Describe a style in 1 to 200 characters"),
    ],
)
async def test_bad_input_to_generate_is_refused_in_words_before_anything_is_held(bot, args, audio, words):
    await bot.say("discord:1", "/start")
    before = bot.movements()
    attachment = recording(audio) if audio is not None else None
    reply = await bot.options("discord:1", "generate", attachment=attachment, args=args)
    assert reply.text.startswith(words)
    assert bot.movements() == before and bot.discord.statuses == []
    assert await bot.available("discord:1") == 10


async def test_generate_is_not_a_command_where_commands_carry_no_recording(bot):
    reply = await bot.say("telegram:1", "/generate hum.ogg piano 5")
    assert reply.text == "I don't know the command /generate. Try /help."


# --- buttons: once, the owner's only, stale ones refused ------------------------------------------------


async def test_someone_else_s_cancel_is_refused_and_the_owner_s_releases_the_credits(bot):
    await start_on_telegram(bot)
    await bot.say("telegram:2", "/start")
    cancel = buttons(bot.telegram.statuses[-1].reply)[0]
    assert cancel.action.encode().startswith("c:1:")

    refused = await bot.press("telegram:2", cancel)
    assert (refused.text, refused.note, refused.alert) == ("This button belongs to someone else.", True, True)
    assert (await bot.balance("telegram:1")).held == 2
    assert len(bot.telegram.statuses) == 1

    done = await bot.press("telegram:1", cancel)
    assert (done.text, done.note) == ("Canceled. Your credits were not charged.", True)
    assert bot.telegram.status_text == "Canceled. Your 2 credits were not charged.\nYou have 10 credits."
    assert bot.telegram.statuses[-1].reply.rows == ()  # no "Try again" after a cancel
    balance = await bot.balance("telegram:1")
    assert (balance.available, balance.held) == (10, 0)
    await bot.run_jobs()
    assert bot.telegram.clips == []
    assert (await bot.press("telegram:1", cancel)).text.startswith("Job ")  # already ended


async def test_a_picker_button_of_someone_else_s_recording_is_refused(bot):
    picker = await bot.send_recording("telegram:1")
    refused = await bot.press("telegram:2", button(picker, "🎹 5s"), audio=HUM, owner="1")
    assert refused.text == "This button belongs to someone else."
    assert not bot.known("telegram:2") and bot.telegram.statuses == []


@pytest.mark.parametrize("data", [None, "", "zz:1", "g", "c:1:not an id", "c:1:", "b:1:s:" + "x" * 70])
async def test_malformed_button_data_is_refused_as_stale(bot, data):
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    reply = await bot.press("telegram:1", data, audio=HUM)
    assert (reply.text, reply.note, reply.alert) == ("This button has expired. Send a new recording.", True, True)
    assert bot.movements() == before


@pytest.mark.parametrize(("data", "audio"), [("g:nostyle:10", HUM), ("g:piano:10:rec1", None)])
async def test_a_picker_button_without_its_recording_says_to_send_it_again(bot, data, audio):
    await bot.say("telegram:1", "/start")
    before = bot.movements()
    reply = await bot.press("telegram:1", data, audio=audio)
    assert reply.text == "I can't find that recording any more. Please send it again."
    assert reply.alert and bot.movements() == before


@pytest.mark.parametrize("verb", [Verb.CANCEL, Verb.AGAIN])
async def test_a_job_button_without_its_job_is_refused_as_stale(bot, verb):
    await bot.say("telegram:1", "/start")
    reply = await bot.press("telegram:1", f"{verb.value}:1")
    assert reply.text == "This button has expired. Send a new recording."


# --- the clip's buttons ----------------------------------------------------------------------------


async def test_other_style_offers_the_other_styles_and_a_pick_makes_a_new_clip(bot):
    await start_on_telegram(bot, length="5")
    await bot.run_jobs()
    (clip,) = bot.telegram.clips
    other = next(c for row in clip.rows for c in row if c.label == "🎨 Other style")

    menu = await bot.press("telegram:1", other.action)
    assert menu.text == "Pick another style for your 5 s clip (1 credit):"
    (control,) = menu.controls
    assert isinstance(control, Menu)
    assert [o.label for o in control.options] == [
        "🎸 Guitar · 1 credit",
        "🎻 Strings · 1 credit",
        "🎛 Synth · 1 credit",
        "🔊 Bass · 1 credit",
    ]
    guitar = control.options[0]
    assert (await bot.press("telegram:2", guitar)).text == "This button belongs to someone else."

    assert await bot.press("telegram:1", guitar) is SILENT
    assert bot.telegram.status_text.startswith("🎵 acoustic guitar · 5 s · 1 credit held · 8 left to use")
    await bot.run_jobs()
    assert [c.caption for c in bot.telegram.clips] == [
        "🎵 Your 5 s warm solo piano clip",
        "🎵 Your 5 s acoustic guitar clip",
    ]
    assert await bot.available("telegram:1") == 8


async def test_longer_makes_the_next_length_on_the_same_recording(bot):
    await start_on_discord(bot, length="10")
    await bot.run_jobs()
    longer = next(c for c in bot.discord.clips[0].rows[0] if c.label.startswith("➕"))
    assert longer.action.encode().endswith(":15")
    assert await bot.press("discord:1", longer.action) is SILENT
    assert bot.discord.status_text.startswith("🎵 warm solo piano · 15 s · 3 credits held · 5 left to use")
    await bot.run_jobs()
    assert bot.discord.statuses[-1].reply.text == "✅ Done! −3 credits · 5 left"


async def test_cancel_by_command_names_the_job_and_releases_it(bot):
    await start_on_discord(bot)
    (job_id,) = [view.job.job_id for view in await bot.app.generation.jobs(bot.request("discord:1").identity)]
    reply = await bot.say("discord:1", f"/cancel {job_id}")
    assert reply.text == f"Job {job_id} canceled. Your 2 credits were not charged."
    assert (await bot.say("discord:1", f"/cancel {job_id}")).text == f"Job {job_id} has already ended."
    assert await bot.available("discord:1") == 10

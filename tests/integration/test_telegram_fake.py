"""The fake Telegram Bot API and its harness, proven with a tiny demo bot run by real PTB."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, web
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LabeledPrice,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from tests.fakes.telegram_fake import MAX_DOWNLOAD_BYTES, FakeBotAPI, UploadedFile
from tests.fakes.telegram_harness import (
    BotHarness,
    PTBApplication,
    measure_polling_throughput,
    polling_bot,
    webhook_bot,
)

SECRET = "s3cret-token_for_tests"
CLIP = b"ID3" + bytes(range(256)) * 8  # what the demo bot "generates"

# --- the demo bot -----------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, with a Help button."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Help", callback_data="demo:help")]])
    await update.effective_message.reply_text("Welcome! Send me a voice message.", reply_markup=keyboard)


async def voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the voice note, say its size, send a clip back with an Again button."""
    message = update.effective_message
    assert message is not None and message.voice is not None
    telegram_file = await context.bot.get_file(message.voice.file_id)
    data = await telegram_file.download_as_bytearray()
    await message.reply_text(f"Got {len(data)} bytes.")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="demo:again")]])
    await context.bot.send_audio(
        chat_id=message.chat_id,
        audio=CLIP,
        filename="clip.mp3",
        title="Your melody",
        performer="MusicGen",
        caption="−2 credits · 8 left",
        reply_markup=keyboard,
    )


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message it came from."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.data == "demo:help":
        await query.edit_message_text("Hum a tune and send it as a voice message.")
    else:
        await query.edit_message_caption("Again: queued")


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer one article to share."""
    assert update.inline_query is not None
    content = InputTextMessageContent("Listen to my clip")
    await update.inline_query.answer([InlineQueryResultArticle("clip-1", "Share", content)])


async def pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Accept every Stars checkout."""
    assert update.pre_checkout_query is not None
    await update.pre_checkout_query.answer(ok=True)


async def paid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Thank, then refund (the demo sells nothing)."""
    message = update.effective_message
    assert message is not None and message.successful_payment is not None
    await message.reply_text(f"Paid {message.successful_payment.total_amount} stars.")
    await context.bot.refund_star_payment(
        user_id=message.chat_id,
        telegram_payment_charge_id=message.successful_payment.telegram_payment_charge_id,
    )


def demo_bot(app: PTBApplication) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.VOICE, voice))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^demo:"))
    app.add_handler(InlineQueryHandler(inline))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, paid))


def telegram_webhook(application: PTBApplication) -> web.Application:
    """The route our web server will host: check the secret, hand the update to PTB."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given, SECRET):
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/telegram/webhook", receive)
    return web_app


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def polling(fake: FakeBotAPI) -> AsyncIterator[BotHarness]:
    async with polling_bot(fake, demo_bot) as harness:
        yield harness


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    """A bare PTB Bot on the fake, for probing single methods."""
    async with Bot(fake.token, base_url=fake.api_url, base_file_url=fake.file_url) as client:
        yield client


# --- the demo bot through long polling --------------------------------------------------------


async def run_start_voice_and_buttons(fake: FakeBotAPI) -> None:
    """The whole demo conversation; shared by the polling and webhook tests."""
    ada = fake.new_user(first_name="Ada")
    await fake.push_update(fake.build.command(ada, "start"))
    welcome = await fake.wait_for("sendMessage", chat_id=ada["id"])
    assert welcome["text"] == "Welcome! Send me a voice message."
    assert welcome["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "demo:help"

    hum = b"OggS" + b"\x01" * 1234
    await fake.push_update(fake.build.voice(ada, hum, duration=4))
    audio = await fake.wait_for("sendAudio", chat_id=ada["id"])
    assert isinstance(audio["audio"], UploadedFile)
    assert audio["audio"].data == CLIP and audio["audio"].filename == "clip.mp3"
    assert (audio["title"], audio["performer"]) == ("Your melody", "MusicGen")
    assert audio["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "demo:again"
    assert fake.calls("getFile"), "the voice note was not fetched through getFile"
    size_reply = fake.calls("sendMessage", chat_id=ada["id"])[1]
    assert size_reply["text"] == f"Got {len(hum)} bytes."

    welcome_id = fake.chat_messages(ada["id"], from_bot=True)[0]["message_id"]
    await fake.push_update(fake.build.callback_query(ada, "demo:help", message_id=welcome_id))
    await fake.wait_for("editMessageText")
    edited = fake.message(ada["id"], welcome_id)
    assert edited is not None
    assert edited["text"] == "Hum a tune and send it as a voice message."
    assert "reply_markup" not in edited  # an edit without a keyboard drops it, as on Telegram

    clip_message = next(m for m in fake.chat_messages(ada["id"], from_bot=True) if "audio" in m)
    clip_id = clip_message["message_id"]
    await fake.push_update(fake.build.callback_query(ada, "demo:again", message_id=clip_id))
    await fake.wait_for("editMessageCaption")
    assert fake.message(ada["id"], clip_id)["caption"] == "Again: queued"  # type: ignore[index]
    await fake.wait_for("answerCallbackQuery", count=2)


async def test_demo_bot_answers_start_voice_and_buttons_through_long_polling(
    fake: FakeBotAPI, polling: BotHarness
) -> None:
    await run_start_voice_and_buttons(fake)
    polling.assert_no_errors()


async def test_demo_bot_answers_start_voice_and_buttons_through_a_webhook(
    fake: FakeBotAPI,
) -> None:
    async with webhook_bot(fake, demo_bot, telegram_webhook, path="/telegram/webhook", secret_token=SECRET) as harness:
        await run_start_voice_and_buttons(fake)
        harness.assert_no_errors()
        assert not fake.calls("getUpdates")
        assert fake.webhook_deliveries and all(d.status == 200 for d in fake.webhook_deliveries)


async def test_webhook_route_refuses_a_post_without_the_secret(fake: FakeBotAPI) -> None:
    async with webhook_bot(fake, demo_bot, telegram_webhook, path="/telegram/webhook", secret_token=SECRET) as harness:
        ada = fake.new_user()
        assert harness.webhook_url is not None
        async with ClientSession() as http:
            forged = fake.build.command(ada, "start")
            async with http.post(harness.webhook_url, json=forged) as response:
                assert response.status == 403
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            async with http.post(harness.webhook_url, json=forged, headers=wrong) as response:
                assert response.status == 403
        # A genuine delivery afterwards is answered, and only that one.
        await fake.push_update(fake.build.command(ada, "start"))
        await fake.wait_for("sendMessage")
        assert len(fake.calls("sendMessage")) == 1


async def test_fake_retries_a_refused_webhook_delivery_and_reports_the_error(
    fake: FakeBotAPI,
) -> None:
    async with webhook_bot(fake, demo_bot, telegram_webhook, path="/telegram/webhook", secret_token=SECRET) as harness:
        assert harness.webhook_url is not None
        await harness.bot.set_webhook(harness.webhook_url, secret_token="not-the-secret")
        await fake.push_update(fake.build.command(fake.new_user(), "start"))
        await fake.wait_until(lambda: len(fake.webhook_deliveries) == 3)
        assert [d.status for d in fake.webhook_deliveries] == [403, 403, 403]
        info = await harness.bot.get_webhook_info()
        assert info.last_error_message is not None and "403" in info.last_error_message
        assert not fake.calls("sendMessage")


async def test_harness_fails_the_test_when_a_handler_raised(fake: FakeBotAPI) -> None:
    async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Fail like a buggy handler."""
        raise ValueError("boom")

    def configure(app: PTBApplication) -> None:
        app.add_handler(CommandHandler("start", broken))

    with pytest.raises(AssertionError, match="ValueError: boom"):
        async with polling_bot(fake, configure) as harness:
            await fake.push_update(fake.build.command(fake.new_user(), "start"))
            await harness.wait_for_errors(1)


async def test_stars_payment_and_inline_query_reach_their_handlers(fake: FakeBotAPI, polling: BotHarness) -> None:
    ada = fake.new_user()
    await fake.push_update(fake.build.pre_checkout_query(ada, total_amount=50, invoice_payload="pack:starter"))
    answer = await fake.wait_for("answerPreCheckoutQuery")
    assert answer["ok"] is True

    paid_update = fake.build.successful_payment(ada, total_amount=50, invoice_payload="pack:starter")
    charge = paid_update["message"]["successful_payment"]["telegram_payment_charge_id"]
    await fake.push_update(paid_update)
    refund = await fake.wait_for("refundStarPayment")
    assert refund == {"user_id": ada["id"], "telegram_payment_charge_id": charge}
    with pytest.raises(BadRequest, match="(?i)charge_already_refunded"):
        await polling.bot.refund_star_payment(ada["id"], charge)

    await fake.push_update(fake.build.inline_query(ada, "my clip"))
    shared = await fake.wait_for("answerInlineQuery")
    assert shared["results"][0]["id"] == "clip-1"
    polling.assert_no_errors()


async def test_two_hundred_users_each_get_one_reply() -> None:
    result = await measure_polling_throughput(users=200, concurrent_updates=32)
    assert result.updates == 200
    print(f"fake + PTB polling: {result.per_second:.0f} updates/s")


# --- flood control ----------------------------------------------------------------------------


async def test_retry_after_is_waited_out_by_ptbs_rate_limiter(fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", retry_after=1)
    limiter = AIORateLimiter(max_retries=1)
    async with polling_bot(fake, demo_bot, rate_limiter=limiter) as harness:
        ada = fake.new_user()
        await fake.push_update(fake.build.command(ada, "start"))
        await fake.wait_for("sendMessage")
    refused, accepted = fake.requests("sendMessage")
    assert refused.status == 429 and refused.response["parameters"] == {"retry_after": 1}
    assert accepted.ok
    assert accepted.at - refused.at >= 1.0
    assert not harness.errors


async def test_without_a_rate_limiter_retry_after_reaches_the_error_handler(
    fake: FakeBotAPI,
) -> None:
    fake.fail_next("sendMessage", retry_after=3)
    async with polling_bot(fake, demo_bot, check_errors=False) as harness:
        ada = fake.new_user()
        await fake.push_update(fake.build.command(ada, "start"))
        [failure] = await harness.wait_for_errors(1)
    assert isinstance(failure.error, RetryAfter)
    assert "Retry in 3 seconds" in str(failure.error)
    assert not fake.calls("sendMessage")


# --- limits and rules the fake enforces -------------------------------------------------------


async def test_text_over_4096_characters_is_refused(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    await bot.send_message(ada["id"], "x" * 4096)
    with pytest.raises(BadRequest, match="(?i)too long"):
        await bot.send_message(ada["id"], "x" * 4097)
    assert len(fake.calls("sendMessage")) == 1


async def test_get_file_refuses_a_file_over_20_mb(fake: FakeBotAPI, bot: Bot) -> None:
    big = fake.register_file(declared_size=25 * 1024 * 1024)
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(big.file_id)
    at_limit = fake.register_file(b"abc", declared_size=MAX_DOWNLOAD_BYTES)
    assert (await bot.get_file(at_limit.file_id)).file_size == MAX_DOWNLOAD_BYTES


async def test_uploaded_audio_can_be_fetched_back(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    sent = await bot.send_audio(ada["id"], audio=b"mp3 bytes", filename="a.mp3", title="T")
    assert sent.audio is not None and sent.audio.title == "T"
    downloaded = await (await bot.get_file(sent.audio.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"mp3 bytes"


async def test_message_ids_increase_per_chat(fake: FakeBotAPI, bot: Bot) -> None:
    ada, bob = fake.new_user(), fake.new_user()
    first = await bot.send_message(ada["id"], "one")
    second = await bot.send_message(ada["id"], "two")
    other = await bot.send_message(bob["id"], "one")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.from_user is not None and first.from_user.id == fake.bot_user["id"]
    assert first.chat.type == "private" and first.date is not None


async def test_edit_rules_match_telegram(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    sent = await bot.send_message(ada["id"], "Queued")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Queued", ada["id"], sent.message_id)
    await bot.edit_message_text("Generating", ada["id"], sent.message_id)
    assert fake.message(ada["id"], sent.message_id)["text"] == "Generating"  # type: ignore[index]
    await bot.delete_message(ada["id"], sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("Done", ada["id"], sent.message_id)
    users_own = fake.build.text(ada, "hi")["message"]["message_id"]
    with pytest.raises(BadRequest, match="(?i)can.t be edited"):
        await bot.edit_message_text("hacked", ada["id"], users_own)


async def test_bad_markup_and_unknown_chats_are_refused(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(ada["id"], "pick", reply_markup=too_long)
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(ada["id"], "<b>bold", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await bot.send_message(ada["id"], "2 credits left.", parse_mode=ParseMode.MARKDOWN_V2)
    shown = await bot.send_message(ada["id"], "<b>2</b> &lt;credits&gt;", parse_mode="HTML")
    assert shown.text == "2 <credits>"
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(987654321, "hello stranger")
    fake.block(ada["id"])
    with pytest.raises(Forbidden, match="(?i)blocked"):
        await bot.send_message(ada["id"], "still there?")


async def test_queries_can_be_answered_once(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    sent = await bot.send_message(ada["id"], "pick")
    query = fake.build.callback_query(ada, "x", message_id=sent.message_id)["callback_query"]
    await bot.answer_callback_query(query["id"])
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query["id"])


async def test_wrong_token_is_unauthorized(fake: FakeBotAPI) -> None:
    stranger = Bot("1:wrong", base_url=fake.api_url)
    with pytest.raises(InvalidToken, match="(?i)rejected"):
        async with stranger:
            pass
    assert fake.requests("getMe")[0].status == 401


async def test_scripted_bad_request_then_success(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    fake.fail_next("sendChatAction", times=2, description="Bad Request: not enough rights")
    for _ in range(2):
        with pytest.raises(BadRequest, match="(?i)not enough rights"):
            await bot.send_chat_action(ada["id"], "upload_voice")
    assert await bot.send_chat_action(ada["id"], "upload_voice")
    assert [r.status for r in fake.requests("sendChatAction")] == [400, 400, 200]


async def test_unknown_methods_are_recorded_and_answered_true(fake: FakeBotAPI, bot: Bot) -> None:
    assert await bot.do_api_request("someFutureMethod", {"chat_id": 7, "mood": "hum"}) is True
    assert fake.calls("someFutureMethod") == [{"chat_id": 7, "mood": "hum"}]


async def test_commands_and_webhook_state_are_kept(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("balance", "Your credits")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "balance"]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="abc")
    assert (await bot.get_webhook_info()).url == "http://127.0.0.1:9/hook"
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_chat_member_status_comes_from_the_table(fake: FakeBotAPI, bot: Bot) -> None:
    group = fake.new_group("Choir")
    admin, member = fake.new_user(), fake.new_user()
    fake.set_member_status(group["id"], admin["id"], "administrator")
    assert isinstance(await bot.get_chat_member(group["id"], admin["id"]), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(group["id"], member["id"]), ChatMemberMember)


# --- getUpdates semantics ---------------------------------------------------------------------


async def test_get_updates_honours_offset_and_timeout(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    assert time.monotonic() - started < 0.5, "timeout=0 must answer at once"

    first, second = fake.build.text(ada, "a"), fake.build.text(ada, "b")
    await fake.push_updates([first, second])
    got = await bot.get_updates(timeout=5)
    assert [u.update_id for u in got] == [first["update_id"], second["update_id"]]
    again = await bot.get_updates(offset=second["update_id"], timeout=0)
    assert [u.update_id for u in again] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_until(lambda: fake.long_polls_waiting == 1)
    pushed = fake.build.text(ada, "late")
    await fake.push_update(pushed)
    got = await asyncio.wait_for(poll, timeout=2)
    assert [u.update_id for u in got] == [pushed["update_id"]]


# --- builders ---------------------------------------------------------------------------------


async def test_every_builder_produces_an_update_ptb_understands(fake: FakeBotAPI, bot: Bot) -> None:
    ada, bob = fake.new_user(first_name="Ada"), fake.new_user(first_name="Bob")
    group = fake.new_group("Choir")
    b = fake.build

    def parse(raw: dict[str, Any]) -> Update:
        return Update.de_json(raw, bot)

    start = parse(b.command(ada, "start", "ref_abc"))
    assert start.message is not None and start.message.text == "/start ref_abc"
    assert start.message.entities[0].type == "bot_command"
    assert start.message.entities[0].offset == 0

    voice = parse(b.voice(ada, b"1234", duration=7)).message
    assert voice is not None and voice.voice is not None
    assert voice.voice.to_dict()["duration"] == 7
    assert voice.voice.file_size == 4 and voice.voice.mime_type == "audio/ogg"

    audio = parse(b.audio(ada, b"12", file_name="hum.m4a", mime_type="audio/mp4")).message
    assert audio is not None and audio.audio is not None and audio.audio.file_name == "hum.m4a"
    document = parse(b.document(ada, b"RIFF", file_name="hum.wav")).message
    assert document is not None and document.document is not None
    photo = parse(b.photo(ada)).message
    assert photo is not None and len(photo.photo) == 3

    in_group = b.text(bob, "nice", chat=group)
    gift = parse(
        b.command(
            ada,
            "gift",
            "5",
            chat=group,
            reply_to=in_group["message"]["message_id"],
            mention_bot=True,
        )
    )
    assert gift.message is not None and gift.effective_chat is not None
    assert gift.effective_chat.type == "supergroup"
    assert gift.message.reply_to_message is not None
    assert gift.message.reply_to_message.from_user.id == bob["id"]  # type: ignore[union-attr]
    assert gift.message.text.startswith(f"/gift@{fake.bot_user['username']}")  # type: ignore[union-attr]

    sent = await bot.send_message(ada["id"], "pick")
    press = parse(b.callback_query(ada, "gen:again:42", message_id=sent.message_id))
    assert press.callback_query is not None and press.callback_query.data == "gen:again:42"
    assert press.callback_query.message.message_id == sent.message_id  # type: ignore[union-attr]

    checkout = parse(b.pre_checkout_query(ada, total_amount=100, invoice_payload="order:1"))
    assert checkout.pre_checkout_query is not None
    assert checkout.pre_checkout_query.currency == "XTR"
    payment = parse(b.successful_payment(ada, total_amount=100, invoice_payload="order:1"))
    assert payment.message is not None and payment.message.successful_payment is not None
    assert payment.message.successful_payment.telegram_payment_charge_id

    inline = parse(b.inline_query(ada, "clip"))
    assert inline.inline_query is not None and inline.inline_query.query == "clip"
    chosen = parse(b.chosen_inline_result(ada, "clip-1", query="clip"))
    assert chosen.chosen_inline_result is not None

    ids = [u.update_id for u in (start, gift, press, chosen)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_invoice_message_is_returned(fake: FakeBotAPI, bot: Bot) -> None:
    ada = fake.new_user()
    sent = await bot.send_invoice(
        ada["id"],
        "100 credits",
        "Starter pack",
        "pack:starter",
        "XTR",
        [LabeledPrice("Starter", 50)],
    )
    assert sent.invoice is not None and sent.invoice.total_amount == 50
    with pytest.raises(BadRequest):
        await bot.send_invoice(ada["id"], "t", "d", "p", "XTR", [LabeledPrice("a", 1), LabeledPrice("b", 1)])

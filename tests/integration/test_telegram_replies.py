"""Telegram's own limits and layout, checked without a server: every button the conversation
makes carries data within Telegram's 64 bytes for the largest ids (`adapters.chat.actions`), and
`adapters.telegram.replies` renders a reply's controls as an inline keyboard (menus in rows of
two, Share as the inline share picker, a link as a URL button, the picker built once per
language) and splits texts over 4,096 characters where a reader expects."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram import InlineKeyboardMarkup

from adapters.chat.actions import MAX_BYTES, UNOWNED, Action, Verb, decode, owned
from adapters.chat.catalogue import Catalogue
from adapters.chat.generation import GenerationChat
from adapters.chat.jobs import JobNotices
from adapters.chat.language import LanguageChat
from adapters.chat.messages import Button, LinkButton, Menu, PayBy, Reply, Request, Surface
from adapters.chat.offers import Offers, Shop
from adapters.chat.platform import Platforms
from adapters.chat.speech import SpeechChat
from adapters.chat.styles import BUTTON_STYLES
from adapters.chat.words import Words
from adapters.telegram.bot import LeanBot
from adapters.telegram.replies import MAX_TEXT, PrebuiltKeyboard, Replies, split_text
from core.domain.experiments import Terms
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Job, JobProgress, JobView, Stage
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.domain.operations import OperationPrices
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.prompts import PromptPolicy
from core.domain.speech import SpeechPolicy
from core.domain.upsell import Upsell
from core.errors import GenerationTimedOut
from core.services.languages import LanguageService
from core.services.wallets import Glance
from tests.fakes.chat import PacksOnSale, RecordingPlatform
from tests.fakes.memory import MemoryStores

BIGGEST_USER = str(10**19 - 1)  # Telegram ids fit in 64 bits; no real one is this long
JOB = "f" * 16
PRICING = Pricing({5: 1, 10: 2, 15: 3, 30: 5})
NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
STARS_PACK = Pack("creator", 2500, 3750, "XTR")
CARD_PACK = Pack("creator", 2500, 7500)
SURFACE = Surface("telegram", payment_methods=(PayBy.STARS, PayBy.CARD))
WORDS = Words(Catalogue())
TERMS = Terms(PackTable((CARD_PACK,)), PackTable((STARS_PACK,)))


def request(locale: str | None = "en") -> Request:
    return Request(Identity("telegram", BIGGEST_USER), SURFACE, "update-1", locale=locale)


def job(**values: object) -> Job:
    base: dict[str, object] = dict(
        job_id=JOB,
        request_key="k",
        person_id=1,
        wallet_id=1,
        identity=f"telegram:{BIGGEST_USER}",
        platform="telegram",
        reply_to={"locale": "en"},
        style="warm solo piano",
        seconds=15,
        cost=3,
    )
    base.update(values)
    return Job(**base)  # type: ignore[arg-type]


class Wallets:
    async def glance(self, identity: Identity) -> Glance:
        return Glance(available=7, welcome_credits=0)


class Generation:
    """The one job there is, as `GenerationService.job` finds it; the rules typed words meet."""

    prompts = PromptPolicy()
    prices = OperationPrices(PRICING, PRICING)
    speech = SpeechPolicy()

    async def job(self, job_id: str) -> JobView | None:
        return JobView(job(job_id=job_id), None)


class Chat:
    """The conversation's own row builders (picker, job notices, offers), on in-memory fakes."""

    def __init__(self) -> None:
        self.platform = RecordingPlatform(SURFACE)
        platforms = Platforms()
        platforms.register(self.platform)
        shop = Shop(PacksOnSale(card=(CARD_PACK,), stars=(STARS_PACK,)))  # type: ignore[arg-type]
        self.offers = Offers(WORDS, shop)

        async def available(wallet_id: int) -> Balance:
            return Balance(wallet_id, free=4, paid=0, held=0)

        self.jobs = JobNotices(platforms, WORDS, self.offers, PRICING, available=available)
        self.generation = GenerationChat(WORDS, Generation(), Wallets(), self.jobs, PRICING)  # type: ignore[arg-type]
        self.speech = SpeechChat(WORDS, Generation(), self.generation)  # type: ignore[arg-type]
        self.language = LanguageChat(WORDS, LanguageService(MemoryStores().languages, WORDS.catalogue.languages))

    async def every_reply(self) -> list[Reply]:
        """A reply of each kind a Telegram user meets, for the largest ids."""
        await self.jobs.progress(job(), JobProgress(Stage.QUEUED, 3))  # Cancel
        await self.jobs.deliver(job(), GeneratedClip(b"mp3", "mp3", 15.0))  # Again, Other style, Longer, Tag, Share
        speech = job(operation="speech", style="female", voice="female", text="hello", cost=1)
        await self.jobs.deliver(speech, GeneratedClip(b"ogg", "ogg", 1.0))  # the other voice
        await self.jobs.failed(job(), GenerationTimedOut(), Balance(1, free=4, paid=0, held=0))  # Try again
        offer = Offer(
            available=1,
            out_of_credits=False,
            packs=(CARD_PACK,),
            stars_packs=(STARS_PACK,),
            next_daily_at=NOW,
            daily_due=True,
        )
        return [
            await self.generation.picker(request()),
            self.platform.statuses[0].reply,
            Reply("clip", self.platform.clips[0].rows),
            Reply("voice", self.platform.clips[1].rows),
            await self.speech.picker(request(), "rainy night jazz"),  # music from the words, or spoken
            self.platform.statuses[-1].reply,
            await self.generation.press_styles(request(), owned(Verb.STYLES, BIGGEST_USER, JOB)),
            self.offers.offer(request(), offer),  # packs, daily, support, free
            Reply(
                "for the group",
                tuple(self.offers.pack_rows(request(), self.offers.shop.on_sale(request(), TERMS), Verb.GROUP_BUY)),
            ),
            self.offers.upsold(request(), Reply("pay"), PayBy.CARD, Upsell(CARD_PACK, 30)),  # the upsold pack
            await self.language.language(request()),  # a button per language
        ]


def callback_data(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    return [b.callback_data for row in markup.inline_keyboard for b in row if isinstance(b.callback_data, str)]


def replies() -> Replies:
    return Replies(LeanBot("123456:TEST-token"), WORDS)  # no request is made


async def test_every_button_fits_telegrams_64_bytes_and_round_trips():
    render = replies()
    seen: set[Verb] = set()
    for reply in await Chat().every_reply():
        for text in callback_data(render.keyboard(reply.rows)):
            assert len(text.encode()) <= MAX_BYTES == 64, text
            action = decode(text)
            assert action is not None and action.encode() == text
            assert action.verb in UNOWNED or action.owner == BIGGEST_USER  # a stranger's press is refused
            seen.add(action.verb)
    assert seen == set(Verb) - {Verb.SHARE}  # Share opens Telegram's share picker, it has no data here


def test_data_past_64_bytes_is_refused_when_made_not_cut():
    with pytest.raises(ValueError, match="too long"):
        owned(Verb.STYLE, BIGGEST_USER, JOB, "x" * 40).encode()


async def test_the_generate_keyboard_is_one_per_language_and_carries_no_owner():
    render, chat = replies(), Chat().generation
    picker = await chat.picker(request("en"))
    markup = render.keyboard(picker.rows)
    assert isinstance(markup, PrebuiltKeyboard)
    assert render.keyboard((await chat.picker(request("en-GB"))).rows) is markup
    assert render.keyboard((await chat.picker(request(None))).rows) is markup
    assert decode("g:piano:10") == Action(Verb.GENERATE, None, ("piano", "10"))
    assert len(callback_data(markup)) == len(BUTTON_STYLES) * 4  # one row per style, a button per length
    assert [b.text for b in markup.inline_keyboard[0]] == ["🎹 5s · 1", "🎹 10s · 2", "🎹 15s · 3", "🎹 30s · 5"]


def test_a_prebuilt_keyboard_is_serialised_once_and_hands_out_copies():
    render = replies()
    rows = ((Button("🎹 5s · 1", Action(Verb.GENERATE, None, ("piano", "5"))),),)
    markup = render.keyboard(rows)
    assert markup is not None and render.keyboard(rows) is markup  # the same rows: the same keyboard
    expected = InlineKeyboardMarkup(markup.inline_keyboard).to_dict()
    first = markup.to_dict()
    assert first == expected
    first["inline_keyboard"] = []
    assert markup.to_dict() == expected  # a caller changing its copy changes nothing
    equal_rows = ((Button("🎹 5s · 1", Action(Verb.GENERATE, None, ("piano", "5"))),),)
    other = render.keyboard(equal_rows)
    assert other is not None and other.to_dict() == expected
    assert render.keyboard(()) is None


async def test_the_clip_gets_again_other_style_longer_and_share_as_the_inline_share_picker():
    chat = Chat()
    await chat.jobs.deliver(job(), GeneratedClip(b"mp3", "mp3", 15.0))
    await chat.jobs.deliver(job(job_id="longest", seconds=30, cost=5), GeneratedClip(b"mp3", "mp3", 30.0))
    render = replies()
    markup = render.keyboard(chat.platform.clips[0].rows)
    assert markup is not None
    first, [tag, share] = markup.inline_keyboard
    assert (tag.text, tag.callback_data) == ("🏷 Add a voice tag · 1", f"t:{BIGGEST_USER}:{JOB}")
    assert [(b.text, b.callback_data) for b in first] == [
        ("🔁 Again", f"a:{BIGGEST_USER}:{JOB}"),
        ("🎨 Other style", f"o:{BIGGEST_USER}:{JOB}"),
        ("➕ Longer (30 s)", f"l:{BIGGEST_USER}:{JOB}:30"),
    ]
    assert (share.text, share.switch_inline_query, share.callback_data) == ("📤 Share", f"clip {JOB}", None)
    longest = render.keyboard(chat.platform.clips[1].rows)
    assert longest is not None
    assert [b.text for b in longest.inline_keyboard[0]] == ["🔁 Again", "🎨 Other style"]  # nothing longer


async def test_a_menu_becomes_rows_of_two():
    render, chat = replies(), Chat().generation
    other = await chat.press_styles(request(), owned(Verb.STYLES, BIGGEST_USER, JOB))  # every style but piano
    markup = render.keyboard(other.rows)
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["🎸 Guitar · 3 credits", "🎻 Strings · 3 credits"],
        ["🎛 Synth · 3 credits", "🔊 Bass · 3 credits"],
    ]
    assert callback_data(markup)[0] == f"s:{BIGGEST_USER}:{JOB}:guitar"
    odd = Menu("Choose", tuple(Button(str(n), owned(Verb.FREE, BIGGEST_USER)) for n in range(5)))
    markup = render.keyboard(((odd,),))
    assert markup is not None and [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["0", "1"],
        ["2", "3"],
        ["4"],
    ]


async def test_the_offer_shows_one_pack_per_row_then_the_way_out():
    chat = Chat()
    offer = Offer(
        available=1,
        out_of_credits=False,
        packs=(CARD_PACK,),
        stars_packs=(STARS_PACK,),
        next_daily_at=NOW,
        daily_due=True,
    )
    markup = replies().keyboard(chat.offers.offer(request(), offer).rows)
    assert markup is not None
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("⭐ Creator: 2,500 credits for 3750 ⭐", f"b:{BIGGEST_USER}:{PayBy.STARS}:creator")],
        [("💳 Creator: 2,500 credits for $75", f"b:{BIGGEST_USER}:{PayBy.CARD}:creator")],
        [("🎁 Claim your free daily credit", f"d:{BIGGEST_USER}")],
        [("💬 Contact support", f"h:{BIGGEST_USER}")],
        [("Continue with free", f"f:{BIGGEST_USER}")],
    ]


def test_a_link_is_a_url_button():
    markup = replies().keyboard(((LinkButton("💳 Pay $75", "https://checkout.example/c/1"),),))
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert (button.text, button.url, button.callback_data) == ("💳 Pay $75", "https://checkout.example/c/1", None)


def test_stale_or_foreign_callback_data_does_not_parse():
    for text in (None, "", "zz-old-format", "g", "c", "c::j1", "x:12:a b", "c:12:" + "é"):
        assert decode(text) is None, text


def test_long_texts_are_split_at_line_ends_within_the_limit():
    lines = [f"line {i} " + "x" * 90 for i in range(120)]  # ~12,000 characters
    chunks = split_text("\n".join(lines))
    assert len(chunks) == 3 and all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n".join(chunks) == "\n".join(lines)
    assert all(not c.startswith("\n") and c.startswith("line") for c in chunks)


def test_a_text_without_line_ends_is_still_split():
    chunks = split_text("y" * (MAX_TEXT * 2 + 10))
    assert [len(c) for c in chunks] == [MAX_TEXT, MAX_TEXT, 10]
    assert split_text("short") == ["short"]

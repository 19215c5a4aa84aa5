"""What an attacker types, generated: numbers in every script and size, commands with them, and
button data (Telegram's callback_data, Discord's custom_id) tampered with. Each answer is a clear
one (the usage line, a range, "not yours", "stale"), nothing is logged as unexpected, and no credit
moves. One app per test on the in-memory stores; Hypothesis drives it on one event loop."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import string
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.chat.actions import ARITY, MAX_BYTES, UNOWNED, Action, Verb, decode
from adapters.chat.messages import Member
from adapters.console.lines import read_line as read_console_line
from adapters.console.platform import SURFACE as CONSOLE
from adapters.console.platform import read_file as console_attachment
from adapters.console.platform import read_regular_file as read_console_file
from core.domain.identity import Identity
from core.domain.ledger import MAX_AMOUNT, checked_amount
from core.domain.numbers import MAX_DIGITS, whole_number
from core.domain.pricing import Pricing
from core.errors import InvalidAmount, InvalidLength, OperationFailed
from tests.unit.conversation_kit import OPERATOR, Kit, group, kit

T = TypeVar("T")
CORPUS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Characters Python calls digits (or int() reads) that nobody means as a number for this bot.
LOOKALIKES = "²³⁵¹⁰₅٣٥۵५๕０１９߁᠕𝟓_+-−., \t\u00a0\u200b\x00eE"
NUMBERISH = st.one_of(
    st.text(alphabet=string.digits + LOOKALIKES, max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=40),
    st.sampled_from(["0", "007", "1e3", "0x10", "∞", "NaN", "9" * 19, "9" * 21, "9" * 5000, " 5 ", "٥", "⁵", "²"]),
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture
def app(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[Kit]:
    made = kit(tmp_path)
    yield made
    loop.run_until_complete(made.app.close())


def unexpected(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def runner(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    return loop.run_until_complete


# --- the one reading of a number --------------------------------------------------------------


@given(NUMBERISH)
@example("²")
@example("٥")
@example("1_000")
@settings(max_examples=300, deadline=None, database=None)
def test_a_number_is_only_ever_ascii_digits_read_whole(text: str) -> None:
    value = whole_number(text)
    plain = text.strip()
    if value is None:
        assert not (plain.isascii() and plain.isdigit() and 0 < len(plain) <= MAX_DIGITS)
    else:
        assert plain.isascii() and plain.isdigit() and value == int(plain)


def test_a_64_bit_id_is_a_number_and_anything_longer_is_not() -> None:
    assert whole_number("18446744073709551615") == 2**64 - 1  # a Discord snowflake fits with room
    assert whole_number("1578901024754630656") == 1578901024754630656
    assert whole_number("1" * (MAX_DIGITS + 1)) is None


@given(NUMBERISH)
@settings(max_examples=300, deadline=None, database=None)
def test_an_amount_or_a_length_is_a_number_in_range_or_a_typed_refusal(text: str) -> None:
    try:
        assert 0 < checked_amount(text) <= MAX_AMOUNT
    except InvalidAmount as refused:
        assert refused.maximum == MAX_AMOUNT
    try:
        assert Pricing({5: 1, 10: 2}).parse_length(text) in (5, 10)
    except InvalidLength as refused:
        assert refused.allowed == (5, 10)


# --- commands with numbers ---------------------------------------------------------------------

MEMBER = Member(Identity.parse("telegram:6"), "@six")


def number_commands() -> list[tuple[str, str, list[str], str]]:
    """(who, command, words with {n} for the number, the usage line's start). A text platform
    splits words at spaces, so the number is one word."""
    return [
        (OPERATOR, "admin", ["grant", "telegram:5", "{n}", "why"], "Usage: /admin grant"),
        (OPERATOR, "admin", ["take", "telegram:5", "{n}", "why"], "Usage: /admin take"),
        (OPERATOR, "admin", ["reply", "{n}", "hello"], "Usage: /admin reply"),
        (OPERATOR, "admin", ["reply", "1", "hello", "grant", "{n}"], "Usage: /admin reply"),
        ("telegram:5", "gift", ["{n}"], "Usage: reply to a member's message in a group with /gift"),
        ("telegram:5", "groupwallet", ["add", "{n}"], "Usage: /groupwallet"),
        ("telegram:5", "server-wallet", ["deposit", "{n}"], "Usage: /groupwallet"),
    ]


@pytest.mark.parametrize(("who", "name", "words", "usage"), number_commands())
def test_a_command_given_a_number_that_is_not_plain_digits_answers_its_usage_and_moves_nothing(
    app: Kit, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture, who, name, words, usage
) -> None:
    run = runner(loop)
    run(app.say("telegram:5", "/balance"))
    place = group(admin=True) if who != OPERATOR else None

    @CORPUS
    @given(NUMBERISH.filter(lambda t: whole_number(t) is None and t.strip() != "" and not any(c.isspace() for c in t)))
    def check(text: str) -> None:
        before = app.movements()
        request = app.request(who, place=place, member=MEMBER) if place else app.request(who)
        said = [w.replace("{n}", text) for w in words]
        reply = run(app.conversation.run(request, name, said))
        assert reply.text.startswith(usage), reply.text
        assert app.movements() == before

    caplog.set_level(logging.INFO)
    check()
    assert unexpected(caplog) == []
    assert run(app.available("telegram:5")) == 10


def test_plain_digits_reach_the_rules_which_answer_in_words_and_move_only_what_they_allow(
    app: Kit, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    run = runner(loop)
    run(app.say("telegram:5", "/balance"))
    moved = 0

    @CORPUS
    @given(st.one_of(st.integers(min_value=0, max_value=10**18).map(str), st.text("0123456789", max_size=20)))
    def check(text: str) -> None:
        nonlocal moved
        reply = run(app.say(OPERATOR, f"/admin grant telegram:5 {text} corpus"))
        value = whole_number(text)
        if value is None:
            assert reply.text.startswith("Usage: /admin grant")
        elif 0 < value <= MAX_AMOUNT:
            moved += value
            assert reply.text.startswith(f"Granted {value} credits")
        else:
            assert reply.text == "The amount must be a whole number from 1 to 1000000."

    caplog.set_level(logging.INFO)
    check()
    assert unexpected(caplog) == []
    assert run(app.available("telegram:5")) == 10 + moved


def test_an_operator_taking_more_than_a_wallet_holds_is_told_its_balance_not_offered_packs(
    app: Kit, loop: asyncio.AbstractEventLoop
) -> None:
    run = runner(loop)
    run(app.say("telegram:5", "/balance"))
    before = app.movements()
    refused = run(app.say(OPERATOR, "/admin take telegram:5 11 overdrawn"))
    assert refused.text == "telegram:5 has 10 credits available; nothing was taken (asked: 11)."
    assert refused.rows == ()
    assert app.movements() == before


# --- button data --------------------------------------------------------------------------------

PARTS = st.text(alphabet=string.ascii_letters + string.digits + "_.-:²٥ \x00é", max_size=12)


def tampered_data() -> st.SearchStrategy[str]:
    """Data shaped like ours with a verb, an owner and a wrong number of odd arguments, or
    anything at all (up to Discord's 100 characters)."""
    shaped = st.builds(
        lambda verb, owner, args: ":".join([verb, owner, *args]),
        st.sampled_from([v.value for v in Verb] + ["", "z", "gg"]),
        PARTS,
        st.lists(PARTS, max_size=5),
    )
    return st.one_of(shaped, st.text(max_size=100))


@given(tampered_data())
@settings(max_examples=400, deadline=None, database=None)
def test_button_data_decodes_to_an_action_of_the_right_shape_or_to_nothing(data: str) -> None:
    action = decode(data)
    if action is None:
        return
    least, most = ARITY[action.verb]
    assert least <= len(action.args) <= most
    assert (action.owner is None) == (action.verb in UNOWNED)
    assert decode(action.encode()) == action if len(action.encode().encode()) <= MAX_BYTES else True


@pytest.mark.parametrize("verb", list(Verb))
def test_each_verb_with_the_wrong_number_of_arguments_is_stale(verb: Verb) -> None:
    least, most = ARITY[verb]
    for count in {0, least - 1, most + 1, most + 3} - set(range(least, most + 1)):
        if count < 0:
            continue
        parts = [verb.value, *([] if verb in UNOWNED else ["42"]), *(["1"] * count)]
        assert decode(":".join(parts)) is None


def test_a_press_with_tampered_data_is_refused_in_words_and_moves_nothing(
    app: Kit, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    run = runner(loop)
    run(app.say("telegram:5", "/balance"))
    run(app.say("telegram:6", "/balance"))

    @CORPUS
    @given(tampered_data())
    def check(data: str) -> None:
        before = app.movements()
        reply = run(app.press("telegram:5", data, owner="6"))
        assert reply.text
        action = decode(data)
        if action is None:
            assert reply.text == "This button has expired. Send a new recording."
        elif (action.owner or "6") != "5":
            assert reply.text == "This button belongs to someone else."
        else:
            return  # a well-formed press of one's own: the verb's own answer (tested elsewhere)
        assert reply.alert and app.movements() == before

    caplog.set_level(logging.INFO)
    check()
    assert unexpected(caplog) == []


def test_someone_else_s_buttons_are_refused_whatever_their_verb(app: Kit, loop: asyncio.AbstractEventLoop) -> None:
    run = runner(loop)
    run(app.say("telegram:6", "/balance"))
    before = app.movements()
    for verb in Verb:
        if verb in UNOWNED:
            continue
        least, _ = ARITY[verb]
        pressed = Action(verb, "5", tuple(["1"] * least))
        reply = run(app.press("telegram:6", pressed))
        assert reply.text == "This button belongs to someone else.", verb
    assert app.movements() == before


@pytest.mark.parametrize(
    ("line", "usage"),
    [
        (["support", "help\x00me"], "Usage: /support"),
        (["cancel", "j\x00"], "Usage: /cancel"),
        (["refer", "\x00"], "Usage: /refer"),
        (["generate", "hum.ogg", "pi\x00ano", "5"], "Usage: /generate"),
    ],
)
def test_a_nul_in_any_argument_answers_the_usage_line_before_reaching_storage(
    app: Kit, loop: asyncio.AbstractEventLoop, line: list[str], usage: str
) -> None:
    run = runner(loop)
    run(app.say("discord:5", "/balance"))
    before = app.movements()
    reply = run(app.conversation.run(app.request("discord:5"), line[0], line[1:]))
    assert reply.text.startswith(usage)
    assert app.movements() == before


def test_the_console_reads_regular_files_only_and_never_waits_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.ogg"
    os.mkfifo(fifo)
    (tmp_path / "hum.ogg").write_bytes(b"OggS")
    for path, reason in [
        (str(fifo), "file_not_regular"),
        ("/dev/zero", "file_not_regular"),
        (str(tmp_path), "file_not_regular"),
        ("hum\x00.ogg", "file_name_invalid"),
        (str(tmp_path / "missing.ogg"), "file_not_found"),
        ("~no-such-user-here/hum.ogg", "file_not_found"),
    ]:
        with pytest.raises(OperationFailed) as refused:
            read_console_file(path)
        assert refused.value.reason == reason, path
    assert read_console_file(str(tmp_path / "hum.ogg")) == b"OggS"


def test_a_console_line_that_is_not_utf8_is_skipped_and_the_next_one_read() -> None:
    piped = io.TextIOWrapper(io.BytesIO(b"/balance \xff\xfe\n/balance\n"))
    assert read_console_line(piped) is None
    assert read_console_line(piped) == "/balance\n"
    assert read_console_line(piped) == ""


async def test_a_console_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, make) -> None:
    app = make(max_input_bytes=1_000_000)
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * 2_000_000)
    attachment = console_attachment(str(big))
    assert attachment.size == 2_000_000 and console_attachment(os.devnull).size is None
    reads: list[int] = []

    async def counted() -> bytes:
        reads.append(1)
        return await attachment.read()

    request = replace(app.request("discord:5"), surface=CONSOLE, attachment=replace(attachment, read=counted))
    reply = await app.conversation.run(request, "generate", ["big.wav", "piano", "5"])
    assert reply.text == "That file is too big (2.0 MB); the limit is 1 MB."
    assert reads == []

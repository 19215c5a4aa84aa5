"""The pure rules of the priced operations: what each costs, what a voice may be asked to say."""

from __future__ import annotations

import pytest

from core.domain.operations import OperationName, OperationPrices, SpeechPrice, operation
from core.domain.pricing import Pricing
from core.domain.speech import SpeechPolicy
from core.errors import ControlCharacters, EmptyText, TextTooLong, UnknownVoice, UnspeakableText


@pytest.mark.parametrize(("chars", "credits"), [(1, 1), (200, 1), (201, 2), (400, 2), (401, 3), (1000, 5)])
def test_speech_costs_a_credit_per_started_block_of_characters(chars, credits):
    assert SpeechPrice(200, 1).cost("a" * chars) == credits


def test_every_price_comes_from_the_settings():
    prices = OperationPrices(
        music=Pricing({5: 1}), prompt=Pricing({5: 2, 10: 3}), speech=SpeechPrice(50, 3), voice_tag=4
    )
    assert prices.for_length(OperationName.PROMPT).cost_for(10) == 3
    assert prices.for_length(OperationName.MUSIC).cost_for(5) == 1
    assert prices.speech.cost("a" * 51) == 6 and prices.voice_tag == 4


def test_each_operation_says_what_it_returns_and_an_unknown_name_is_music():
    assert operation("speech").output_format == "ogg" and not operation("speech").keeps_output
    assert operation("prompt").keeps_output and not operation("prompt").needs_recording
    assert operation("music").needs_recording and operation("").name == OperationName.MUSIC
    assert operation("something new").name == OperationName.MUSIC


def test_text_is_cleaned_to_single_spaces():
    assert SpeechPolicy().clean("  Hello,\n\n  world!\t") == "Hello, world!"
    assert SpeechPolicy().clean("Crème brûlée, naïve café") == "Crème brûlée, naïve café"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", EmptyText),
        (" \n\t ", EmptyText),
        ("x" * 1001, TextTooLong),
        ("bell\x07", ControlCharacters),
        ("zero\u200bwidth", ControlCharacters),
        ("right\u202eleft", ControlCharacters),
        ("Привет мир", UnspeakableText),
        ("🎉🎉🎉", UnspeakableText),
        ("...", UnspeakableText),
    ],
)
def test_text_a_voice_cannot_take_is_refused_with_a_typed_error(text, error):
    with pytest.raises(error):
        SpeechPolicy().clean(text)


def test_the_limit_and_the_voice_are_checked():
    assert SpeechPolicy(max_chars=5).clean("12345") == "12345"
    with pytest.raises(TextTooLong) as refused:
        SpeechPolicy(max_chars=5).clean("123456")
    assert (refused.value.length, refused.value.max_chars) == (6, 5)
    with pytest.raises(UnknownVoice):
        SpeechPolicy().clean("hello", "robot")
    assert SpeechPolicy().voice("MALE").key == "male"

"""The style a person types: cleaned, bounded, and checked against artist and song names."""

from __future__ import annotations

import pytest

from core.domain.prompts import DEFAULT_BLOCKLIST, PromptPolicy, fold
from core.errors import InvalidStyle, PromptBlocked

POLICY = PromptPolicy()


@pytest.mark.parametrize(
    ("style", "term"),
    [
        ("in the style of Taylor Swift", "taylor swift"),
        ("BEYONCÉ vibes", "beyonce"),
        ("like bohemian-rhapsody, but jazz", "bohemian rhapsody"),
        ("TaylorSwift piano", "taylor swift"),
        ("t.a.y.l.o.r swift", "taylor swift"),
        ("Drake type beat", "drake"),
    ],
)
def test_named_artists_and_songs_are_refused_however_they_are_written(style, term):
    with pytest.raises(PromptBlocked) as blocked:
        POLICY.clean(style)
    assert blocked.value.term == term


@pytest.mark.parametrize(
    "style",
    [
        "warm piano ballad",
        "mandrake forest ambience",
        "queen of the night strings",
        "imagine a rainy synth",
        "lo-fi hip hop",
    ],
)
def test_honest_styles_pass_even_when_a_word_hides_a_name(style):
    assert POLICY.clean(style) == style


def test_whitespace_and_control_characters_are_cleaned_and_length_is_bounded():
    assert POLICY.clean("  warm\tpiano \n\x00 ballad  ") == "warm piano ballad"
    with pytest.raises(InvalidStyle) as empty:
        POLICY.clean(" \n ")
    assert empty.value.max_chars == 200
    with pytest.raises(InvalidStyle):
        POLICY.clean("a" * 201)
    assert POLICY.clean("a" * 200) == "a" * 200


def test_the_list_is_a_setting_and_can_be_empty():
    assert PromptPolicy(blocked=("lofi girl",)).blocked_term("Lofi-Girl beats") == "lofi girl"
    assert PromptPolicy(blocked=()).clean("Taylor Swift") == "Taylor Swift"
    assert all(fold(term) == term for term in DEFAULT_BLOCKLIST)  # stored already folded

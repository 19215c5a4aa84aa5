"""Pick a voice from a free-text style ("warm piano ballad", "synth bass", "lofi beat")."""

from __future__ import annotations

import re

DEFAULT_VOICE = "piano"

# Two-word names that would otherwise be read word by word ("bass guitar" is a bass).
_PHRASES: dict[str, str] = {
    "bass guitar": "bass",
    "synth bass": "bass",
    "sub bass": "bass",
    "electric piano": "piano",
    "string quartet": "strings",
    "synth pad": "strings",
    "synth lead": "synth",
    "lead guitar": "guitar",
}
# Instrument nouns name the voice outright; the first one in the text wins.
_INSTRUMENTS: dict[str, str] = {
    **dict.fromkeys(("piano", "pianos", "keys", "keyboard", "rhodes"), "piano"),
    **dict.fromkeys(
        ("guitar", "guitars", "ukulele", "banjo", "mandolin", "harp", "pluck", "plucked", "strum"),
        "guitar",
    ),
    **dict.fromkeys(
        (
            "strings",
            "string",
            "violin",
            "violins",
            "viola",
            "cello",
            "cellos",
            "orchestra",
            "pad",
            "pads",
            "choir",
        ),
        "strings",
    ),
    **dict.fromkeys(("synth", "synths", "synthesizer", "lead", "chiptune", "8-bit", "8bit", "arpeggio"), "synth"),
    **dict.fromkeys(("bass", "bassline", "808"), "bass"),
}
# Genres and moods only hint at a voice; used when no instrument is named.
_HINTS: dict[str, str] = {
    **dict.fromkeys(("ballad", "classical", "jazz", "lullaby", "romantic"), "piano"),
    **dict.fromkeys(("acoustic", "folk", "country", "flamenco", "campfire", "indie"), "guitar"),
    **dict.fromkeys(
        ("orchestral", "cinematic", "ambient", "epic", "film", "soundtrack", "dreamy", "chill"),
        "strings",
    ),
    **dict.fromkeys(
        (
            "electronic",
            "edm",
            "techno",
            "trance",
            "house",
            "synthwave",
            "retro",
            "arcade",
            "electro",
            "dance",
            "pop",
        ),
        "synth",
    ),
    **dict.fromkeys(("funk", "dub", "dubstep", "reggae", "hiphop", "trap"), "bass"),
}


def voice_name_for_style(style: str) -> str:
    """The voice a style asks for; `DEFAULT_VOICE` when nothing in it is recognised."""
    text = " ".join(re.findall(r"[a-z0-9-]+", style.lower()))
    for phrase, voice in _PHRASES.items():
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return voice
    words = text.split()
    for word in words:
        if word in _INSTRUMENTS:
            return _INSTRUMENTS[word]
    for word in words:
        if word in _HINTS:
            return _HINTS[word]
    return DEFAULT_VOICE

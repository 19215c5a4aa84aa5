"""What a voice may be asked to say: checked before any credit is held.

Refused: empty or whitespace-only text, text over the limit, control or invisible formatting
characters, and text the voice cannot speak (letters of a script it has no rules for, or no
letter or digit at all: eSpeak would spell out symbol names or say nothing)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import ControlCharacters, EmptyText, TextTooLong, UnknownVoice, UnspeakableText

_SPACES = re.compile(r"[ \t\r\n]+")
_ALLOWED_CONTROLS = frozenset(" \t\r\n")


@dataclass(frozen=True)
class Voice:
    key: str  # the neutral name buttons and jobs carry ("female", "male")
    scripts: frozenset[str]  # the Unicode scripts its letters may come from, as their name prefix


LATIN = frozenset({"LATIN"})
DEFAULT_VOICES: tuple[Voice, ...] = (Voice("female", LATIN), Voice("male", LATIN))


@dataclass(frozen=True)
class SpeechPolicy:
    voices: tuple[Voice, ...] = DEFAULT_VOICES
    max_chars: int = 1000
    max_tag_chars: int = 100  # a voice tag is short: it is spoken over the clip's start

    @property
    def default_voice(self) -> str:
        return self.voices[0].key

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(voice.key for voice in self.voices)

    def voice(self, key: str | None) -> Voice:
        wanted = (key or self.default_voice).strip().lower()
        for voice in self.voices:
            if voice.key == wanted:
                return voice
        raise UnknownVoice(wanted, self.keys)

    def clean(self, text: str, voice_key: str | None = None, *, max_chars: int | None = None) -> str:
        """The text to speak (runs of spaces and newlines as one space), or a typed refusal."""
        limit = self.max_chars if max_chars is None else max_chars
        voice = self.voice(voice_key)
        raw = str(text)
        if any(_is_control(ch) for ch in raw):
            raise ControlCharacters()
        spoken = _SPACES.sub(" ", raw).strip()
        if not spoken:
            raise EmptyText()
        if len(spoken) > limit:
            raise TextTooLong(len(spoken), limit)
        foreign = [ch for ch in spoken if ch.isalpha() and not _in_scripts(ch, voice.scripts)]
        if foreign or not any(ch.isalnum() for ch in spoken):
            raise UnspeakableText(voice.key, "".join(foreign[:5]) or spoken[:5])
        return spoken


def _is_control(ch: str) -> bool:
    if ch in _ALLOWED_CONTROLS:
        return False
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Cs", "Co", "Cn")


def _in_scripts(ch: str, scripts: frozenset[str]) -> bool:
    name = unicodedata.name(ch, "")
    return any(name.startswith(script) for script in scripts)

"""The style a person types: cleaned up, bounded, and checked against a block list of artist and
song names (MusicGen should not be asked to imitate a named artist or song)."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from core.errors import InvalidStyle, PromptBlocked

# The default block list (setting PROMPT_BLOCKLIST replaces it). Multi-word names and
# distinctive single names only: blocking an everyday word ("queen", "imagine") would refuse
# honest styles.
DEFAULT_BLOCKLIST: tuple[str, ...] = (
    "taylor swift",
    "beyonce",
    "drake",
    "the beatles",
    "beatles",
    "ed sheeran",
    "billie eilish",
    "eminem",
    "rihanna",
    "ariana grande",
    "kanye west",
    "lady gaga",
    "adele",
    "coldplay",
    "metallica",
    "michael jackson",
    "elvis presley",
    "blackpink",
    "the weeknd",
    "bruno mars",
    "justin bieber",
    "dua lipa",
    "olivia rodrigo",
    "bad bunny",
    "hans zimmer",
    "daft punk",
    "bohemian rhapsody",
    "shape of you",
    "blinding lights",
    "despacito",
    "billie jean",
    "smells like teen spirit",
    "hotel california",
    "stairway to heaven",
    "never gonna give you up",
)

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=4096)  # the block list is folded once, not for every request
def fold(text: str) -> str:
    """Lower case, accents dropped, punctuation as spaces: 'Beyoncé!' → 'beyonce'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", plain).strip()


@dataclass(frozen=True)
class PromptPolicy:
    blocked: tuple[str, ...] = DEFAULT_BLOCKLIST
    max_chars: int = 200

    def clean(self, style: str) -> str:
        """The style to send (whitespace collapsed, control characters dropped), or a typed
        refusal: `InvalidStyle` (empty, too long) or `PromptBlocked(term)`."""
        text = "".join(ch for ch in str(style) if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
        text = _SPACES.sub(" ", text).strip()
        if not text or len(text) > self.max_chars:
            raise InvalidStyle(self.max_chars)
        term = self.blocked_term(text)
        if term is not None:
            raise PromptBlocked(term)
        return text

    def blocked_term(self, text: str) -> str | None:
        words = f" {fold(text)} "
        squashed = words.replace(" ", "")
        for term in self.blocked:
            folded = fold(term)
            if not folded:
                continue
            if f" {folded} " in words:
                return term
            # 'TaylorSwift', 't-a-y-l-o-r swift': only for several-word names, where a match
            # inside other words is no accident.
            if " " in folded and folded.replace(" ", "") in squashed:
                return term
        return None

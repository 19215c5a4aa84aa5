"""The priced operations: what each one is called, how its cost is worked out from settings, what
it returns, and the label the stats count it under.

Every operation takes the same money path (hold with the job, capture once the platform accepted
the result, release on any failure); only the cost rule, the limits and the provider differ.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from core.domain.pricing import Pricing


class OperationName(enum.StrEnum):
    MUSIC = "music"  # a recording's melody → music, priced by length
    PROMPT = "prompt"  # a typed description → music, priced by length (its own table)
    SPEECH = "speech"  # text → speech, priced by started blocks of characters
    VOICE_TAG = "voicetag"  # a delivered clip + a short text → the clip with the text spoken first


@dataclass(frozen=True)
class Operation:
    name: OperationName
    output_format: str  # what its provider returns: "mp3" (music) or "ogg" (Opus speech)
    needs_recording: bool  # it starts from the person's recording (kept for "Again")
    keeps_output: bool  # its clip is kept a while so a voice tag can be added to it
    voiced: bool  # it speaks a text (checked against the voice before anything is held)


OPERATIONS: dict[OperationName, Operation] = {
    OperationName.MUSIC: Operation(OperationName.MUSIC, "mp3", True, True, False),
    OperationName.PROMPT: Operation(OperationName.PROMPT, "mp3", False, True, False),
    OperationName.SPEECH: Operation(OperationName.SPEECH, "ogg", False, False, True),
    OperationName.VOICE_TAG: Operation(OperationName.VOICE_TAG, "mp3", False, False, True),
}


def operation(name: str) -> Operation:
    """The operation a job row names (rows made before operations existed are music)."""
    try:
        return OPERATIONS[OperationName(name or OperationName.MUSIC)]
    except ValueError:
        return OPERATIONS[OperationName.MUSIC]


@dataclass(frozen=True)
class SpeechPrice:
    """`credits` for every started block of `chars_per_block` characters (200 → 1 by default)."""

    chars_per_block: int = 200
    credits: int = 1

    def cost(self, text: str) -> int:
        return max(1, math.ceil(len(text) / max(self.chars_per_block, 1))) * self.credits


@dataclass(frozen=True)
class OperationPrices:
    """Every operation's price, from settings: nothing here is fixed in code."""

    music: Pricing
    prompt: Pricing
    speech: SpeechPrice = SpeechPrice()
    voice_tag: int = 1  # a flat add-on

    def for_length(self, name: OperationName) -> Pricing:
        """The length table of a music operation."""
        return self.prompt if name == OperationName.PROMPT else self.music

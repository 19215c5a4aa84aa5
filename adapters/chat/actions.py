"""What a button does, as a short string every platform can carry (Telegram's `callback_data`,
Discord's `custom_id`, the console's numbered choices): `<verb>:<owner>:<args...>`.

Each string carries every id a press needs, so buttons keep working after a restart, and the id
of the person they belong to, so someone else's press is refused without asking the database.
A generate button has no owner in its data: it belongs to whoever sent the recording it
answers, which the platform knows.

| verb | args | a press... |
|---|---|---|
| g | style, seconds[, recording] | makes music from the recording (no owner) |
| c | job | cancels the job |
| a | job | makes the same clip again |
| o | job | shows the other styles for the clip |
| s | job, style | makes the clip again in another style |
| l | job, seconds | makes a longer clip |
| x | job | shares the clip in the channel |
| b | method, pack[, u] | buys a pack (method: s Stars, p card; u: the upsell's pack, not upsold again) |
| w | method, pack | buys a pack for the group's wallet |
| f | | continues with free (dismisses the offer) |
| d | | claims the daily credit |
| h | | says how to contact support |
| lg | language | speaks to the person in that language from now on |
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit for callback data (Discord allows 100)
_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class Verb(enum.StrEnum):
    GENERATE = "g"
    CANCEL = "c"
    AGAIN = "a"
    STYLES = "o"
    STYLE = "s"
    LONGER = "l"
    SHARE = "x"
    BUY = "b"
    GROUP_BUY = "w"
    FREE = "f"
    DAILY = "d"
    SUPPORT = "h"
    TAG = "t"  # how to add a voice tag to a clip
    VOICE = "v"  # the same text again in another voice
    DESCRIBE = "e"  # music from the words of the message the picker answers
    SAY = "y"  # the words of the message the picker answers, spoken
    LANGUAGE = "lg"


# How many arguments each verb carries (least, most): anything else is data this version did not make.
ARITY = {
    Verb.GENERATE: (2, 3),
    Verb.CANCEL: (1, 1),
    Verb.AGAIN: (1, 1),
    Verb.STYLES: (1, 1),
    Verb.STYLE: (2, 2),
    Verb.LONGER: (2, 2),
    Verb.SHARE: (1, 1),
    Verb.BUY: (2, 3),
    Verb.GROUP_BUY: (2, 2),
    Verb.FREE: (0, 0),
    Verb.DAILY: (0, 0),
    Verb.SUPPORT: (0, 0),
    Verb.TAG: (1, 1),
    Verb.VOICE: (2, 2),
    Verb.DESCRIBE: (1, 1),
    Verb.SAY: (1, 1),
    Verb.LANGUAGE: (1, 1),
}
# The pickers under a person's own message: the platform knows whose message it answers.
UNOWNED = frozenset({Verb.GENERATE, Verb.DESCRIBE, Verb.SAY})
# Presses that start a job: the job's status message answers them.
STARTS_JOB = frozenset({Verb.GENERATE, Verb.AGAIN, Verb.STYLE, Verb.LONGER, Verb.VOICE, Verb.DESCRIBE, Verb.SAY})
# Presses that take a while (a download, the payment provider): platforms that must answer at
# once acknowledge these first.
SLOW = frozenset(
    {
        Verb.GENERATE,
        Verb.AGAIN,
        Verb.STYLE,
        Verb.LONGER,
        Verb.VOICE,
        Verb.DESCRIBE,
        Verb.SAY,
        Verb.SHARE,
        Verb.BUY,
        Verb.GROUP_BUY,
        Verb.CANCEL,
    }
)


@dataclass(frozen=True)
class Action:
    verb: Verb
    owner: str | None = None  # the user id (on the platform) the button belongs to
    args: tuple[str, ...] = ()

    def encode(self) -> str:
        parts = [self.verb.value, *([] if self.verb in UNOWNED else [self.owner or ""]), *self.args]
        text = ":".join(parts)
        if len(text.encode()) > MAX_BYTES:
            raise ValueError(f"action data too long: {text!r}")
        return text

    def arg(self, index: int, default: str = "") -> str:
        return self.args[index] if index < len(self.args) else default


def decode(text: str | None) -> Action | None:
    """The action a button carries, or None for data this version does not know."""
    parts = (text or "").split(":")
    try:
        verb = Verb(parts[0])
    except ValueError:
        return None
    owner = None
    if verb not in UNOWNED:
        if len(parts) < 2 or not _PART.match(parts[1]):
            return None
        owner, parts = parts[1], parts[1:]
    args = tuple(parts[1:])
    least, most = ARITY[verb]
    if not least <= len(args) <= most or not all(_PART.match(arg) for arg in args):
        return None
    return Action(verb, owner, args)


def owned(verb: Verb, owner: str, *args: object) -> Action:
    return Action(verb, owner, tuple(str(a) for a in args))

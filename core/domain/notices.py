"""Messages the bot sends to a person on its own initiative, after the fact (a referral payout).

The fact itself (credits paid) is committed first; the message is a separate, later step that
may fail without undoing anything. Each notice is keyed by the ledger movement it announces and
*claimed* (committed as `sending`) before it is sent, so a second sweeper or a restart never
sends it again. A send that raised is retried a bounded number of times; a claim left behind by
a crash mid-send is not retried (at most once, by design).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

# A payout is announced only this long after it was made (older ones are not news any more;
# this also bounds what the recovery sweep looks at).
NOTICE_WINDOW = dt.timedelta(days=1)
# Sends per notice at most (the first one included), and the pause before another try.
NOTICE_ATTEMPTS = 3
NOTICE_RETRY_AFTER = dt.timedelta(seconds=60)


class NoticeState(enum.StrEnum):
    SENDING = "sending"  # claimed: being sent (or the sender crashed: never sent again)
    SENT = "sent"  # at least one platform accepted it
    FAILED = "failed"  # every send raised; tried again while attempts < NOTICE_ATTEMPTS


@dataclass(frozen=True)
class NoticeCandidate:
    """A referral payout that may need announcing: its ledger key and who was paid."""

    key: str  # referral:<referred>:<side>, the payout's transfer key
    person_id: int  # the receiver when it was paid (resolved through account links on claim)


@dataclass(frozen=True)
class ReferralNotice:
    """A claimed notice: tell `person_id` they got `credits` for a referral."""

    key: str  # referral:<referred>:<side>, the payout's transfer key
    person_id: int  # the receiver, now (after any account link)
    credits: int  # what the payout moved, read from the ledger
    identities: tuple[str, ...]  # the receiver's identities on platforms this process can reach
    attempt: int = 1

    @property
    def side(self) -> str:
        """`referrer` (their friend made a first clip) or `referred` (their own first clip)."""
        return self.key.rsplit(":", 1)[1]

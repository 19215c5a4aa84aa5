"""`ReferralNotifier` for the console: a referral payout announced in the terminal."""

from __future__ import annotations

from collections.abc import Callable

from adapters.chat.render_rewards import RewardRenderer
from core.domain.notices import ReferralNotice


class ConsoleReferralNotices:
    def __init__(self, say: Callable[[str], None], render: RewardRenderer) -> None:
        self.say = say
        self.render = render

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        self.say(f"[{identity}] " + self.render.referral_notice(notice))

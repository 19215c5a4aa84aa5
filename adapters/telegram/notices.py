"""`ReferralNotifier` for Telegram: a referral payout announced in the person's private chat
(whose id is their user id, as for support answers in `adapters.telegram.support`)."""

from __future__ import annotations

from typing import Any

from adapters.chat.render_rewards import RewardRenderer
from core.domain.identity import Identity
from core.domain.notices import ReferralNotice


class TelegramReferralNotices:
    def __init__(self, bot: Any, render: RewardRenderer) -> None:
        self.bot = bot
        self.render = render

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        who = Identity.parse(identity)
        if who.platform != "telegram":
            raise ValueError(f"not a Telegram identity: {identity}")
        await self.bot.send_message(int(who.user_id), self.render.referral_notice(notice))

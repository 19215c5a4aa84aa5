"""Referrals: every person has a code; a new person who arrives with one records the referrer
once; both get `referral_credits` when the referred person's first generation succeeds.

Rules (see `core.domain.rewards.referral_refusal` / `referral_side`):
- a code is accepted within `referral_window` of the referred person's first contact and before
  their first generation; one referrer per person; no self-referral (linked identities are the
  same person) and no mutual referral;
- each side is paid once (idempotency keys `referral:<referred>:referred|referrer`);
- the referrer is paid at most `referral_monthly_cap` times per UTC month (beyond: "capped");
- a side whose receiver is younger than `new_account_cooldown`, or whose free allowance for
  today is used up, waits; `pay_due_referrals` (run every minute by the runtime) pays it later.
"""

from __future__ import annotations

import logging

from core.domain.identity import Identity
from core.domain.rewards import (
    CODE_ALPHABET,
    ReferralPayout,
    ReferralRecord,
    ReferralRefusal,
    ReferralSummary,
    RewardRules,
    clean_code,
)
from core.errors import ReferralRefused
from core.ports import Clock, CodeSource, ReferralStore
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

REFERRAL_CODE_LENGTH = 8


class ReferralService:
    def __init__(
        self,
        store: ReferralStore,
        wallets: WalletService,
        rules: RewardRules,
        clock: Clock,
        codes: CodeSource,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.codes = codes

    async def my_code(self, identity: Identity) -> ReferralSummary:
        """`/refer` with no code: the person's code (made on first ask) and their counts.
        Telegram builds `t.me/<bot>?start=ref_<code>` from it."""
        await self.wallets.person(identity)
        return await self.store.referral_code(
            identity.key,
            lambda: self.codes.code(REFERRAL_CODE_LENGTH, CODE_ALPHABET),
            now=self.clock.now(),
        )

    async def record_referral(self, identity: Identity, code_text: str) -> ReferralRecord:
        """Telegram `/start ref_<code>`, Discord `/refer code:<code>`. Repeating the same code is
        "already done" (`duplicate=True`); anything else refused raises ReferralRefused(reason)."""
        await self.wallets.person(identity)
        code = clean_code(code_text)
        if code is None:
            raise ReferralRefused(ReferralRefusal.UNKNOWN_CODE)
        record = await self.store.record_referral(identity.key, code, self.rules, now=self.clock.now())
        if record.refusal is not None:
            raise ReferralRefused(record.refusal)
        return record

    async def on_first_success(self, person_id: int) -> ReferralPayout | None:
        """Called by the generation service after a clip was delivered and charged. Idempotent
        and cheap to call after every success: only the first pays, each side once."""
        if self.rules.referral_credits <= 0 or not await self.store.has_open_referral(person_id):
            return None
        return await self.store.settle_referral(person_id, self.rules, now=self.clock.now(), qualify=True)

    async def pay_due_referrals(self, limit: int = 100) -> int:
        """Pay the sides that were waiting (new-account cooldown, daily allowance); returns how
        many credits were paid."""
        paid = 0
        for person_id in await self.store.due_referrals(limit=limit):
            payout = await self.store.settle_referral(person_id, self.rules, now=self.clock.now(), qualify=False)
            if payout is not None:
                paid += payout.referred_credits + payout.referrer_credits
        return paid

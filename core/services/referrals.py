"""Referrals: every person has a code; a new person who arrives with one records the referrer
once; both get `referral_credits` when the referred person's first generation succeeds.

Rules (see `core.domain.rewards.referral_refusal` / `decide_referral`):
- a code is accepted within `referral_window` of the referred person's first contact and before
  their first generation; one referrer per person; no self-referral (linked identities are the
  same person) and no mutual referral;
- each side is paid once (idempotency keys `referral:<referred>:referred|referrer`);
- the referrer is paid at most `referral_monthly_cap` times per UTC month (beyond: "capped");
- a side whose receiver is younger than `new_account_cooldown`, or whose free allowance for
  today is used up, waits; `pay_due_referrals` (run every minute by the runtime) pays it later.

Each side that is paid is told so ("referral_paid") on every platform of theirs that this
process reaches (`ReferralNotifier.reachable`), after the payout committed (see `core.domain.notices`): the
notice is claimed in its own transaction before it is sent, so it goes out at most once; a send
that raised is retried by `deliver_notices` (at most NOTICE_ATTEMPTS sends in all), and no
failure there ever touches the payout.
"""

from __future__ import annotations

import logging
from functools import partial

from core.domain.identity import Identity
from core.domain.notices import (
    NOTICE_ATTEMPTS,
    NOTICE_RETRY_AFTER,
    NOTICE_WINDOW,
    NoticeCandidate,
    ReferralNotice,
)
from core.domain.referral_payouts import decide_referral
from core.domain.rewards import (
    CODE_ALPHABET,
    ReferralPayout,
    ReferralRecord,
    ReferralRefusal,
    ReferralSummary,
    clean_code,
    referral_key,
)
from core.domain.rules import CreditRules
from core.errors import ReferralRefused
from core.ports import Clock, CodeSource, ReferralNoticeStore, ReferralNotifier, ReferralStore
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

REFERRAL_CODE_LENGTH = 8


class ReferralService:
    def __init__(
        self,
        store: ReferralStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        codes: CodeSource,
        *,
        notices: ReferralNoticeStore | None = None,
        notifier: ReferralNotifier | None = None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.codes = codes
        self.notices = notices  # None: payouts are not announced
        self.notifier = notifier

    async def _settle(self, person_id: int, *, succeeded: bool) -> ReferralPayout | None:
        now = self.clock.now()
        decide = partial(decide_referral, rules=self.rules, now=now, succeeded=succeeded)
        return await self.store.settle_referral(person_id, decide, now=now)

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

    async def on_success(self, person_id: int) -> ReferralPayout | None:
        """Called by the generation service after every clip delivered and charged: one indexed
        read when the person has no open referral; else the referral settles, each side paid
        once, whichever success gets there (a settlement that failed at the first clip is paid at
        the next). Both sides are told once the payout committed."""
        if self.rules.referral_credits <= 0 or not await self.store.has_open_referral(person_id):
            return None
        payout = await self._settle(person_id, succeeded=True)
        if payout is not None:
            await self._announce(paid_sides(payout))
        return payout

    async def pay_due_referrals(self, limit: int = 100) -> int:
        """Pay the sides that were waiting (new-account cooldown, daily allowance), tell them,
        then deliver any notice still due (`deliver_notices`); returns how many credits were paid."""
        paid = 0
        for person_id in await self.store.due_referrals(limit=limit):
            payout = await self._settle(person_id, succeeded=False)
            if payout is not None:
                paid += payout.referred_credits + payout.referrer_credits
                await self._announce(paid_sides(payout))
        await self.deliver_notices(limit=limit)
        return paid

    async def deliver_notices(self, limit: int = 100) -> int:
        """The notices still due: payouts of the last NOTICE_WINDOW never claimed (the process
        stopped between the payout and its notice, or no process reached the person then) and
        sends that raised, again after NOTICE_RETRY_AFTER. Returns how many were delivered."""
        if self.notices is None or self.notifier is None:
            return 0
        now = self.clock.now()
        try:
            due = await self.notices.due_notices(
                since=now - NOTICE_WINDOW,
                retry_before=now - NOTICE_RETRY_AFTER,
                max_attempts=NOTICE_ATTEMPTS,
                limit=limit,
            )
        except Exception:
            logger.exception("reading the due referral notices failed")
            return 0
        return await self._announce(due)

    async def _announce(self, candidates: list[NoticeCandidate]) -> int:
        """Claim (commit) then send; never raises: a notice must not disturb a payout."""
        if self.notices is None or self.notifier is None or not candidates:
            return 0
        now = self.clock.now()
        try:
            claimed = await self.notices.claim_notices(
                candidates,
                platforms=self.notifier.reachable(),
                retry_before=now - NOTICE_RETRY_AFTER,
                max_attempts=NOTICE_ATTEMPTS,
                now=now,
            )
        except Exception:
            logger.exception("claiming referral notices failed")
            return 0
        delivered = 0
        for notice in claimed:
            delivered += await self._send(notice)
        return delivered

    async def _send(self, notice: ReferralNotice) -> int:
        store, notifier = self.notices, self.notifier
        assert store is not None and notifier is not None
        reached = False
        for identity in notice.identities:  # those on the platforms this process reaches (the claim chose them)
            try:
                await notifier.referral_paid(identity, notice)
                reached = True
            except Exception:  # the person blocked the bot, the platform is down, ...
                logger.warning("referral notice %s to %s failed", notice.key, identity, exc_info=True)
        try:
            if reached:
                await store.notice_sent(notice.key, now=self.clock.now())
            else:
                await store.notice_failed(notice.key, now=self.clock.now())
        except Exception:  # stays `sending`: never sent again, which errs on the side of quiet
            logger.exception("recording referral notice %s failed", notice.key)
        return 1 if reached else 0


def paid_sides(payout: ReferralPayout) -> list[NoticeCandidate]:
    """The sides this settlement paid (a side paid earlier, waiting or capped is not news)."""
    sides = []
    if payout.referred_credits > 0:
        sides.append(NoticeCandidate(referral_key(payout.referred_person_id, "referred"), payout.referred_person_id))
    if payout.referrer_credits > 0:
        sides.append(NoticeCandidate(referral_key(payout.referred_person_id, "referrer"), payout.referrer_person_id))
    return sides

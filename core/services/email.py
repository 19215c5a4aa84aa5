"""Email verification: `/verify-email <address>` sends a 6-digit code; `/verify-email <code>`
confirms it and pays `email_credits` once per person and once per address (all persons).

The code's hash and expiry are stored first, then the mail is sent (no network call inside a
transaction); a failed send drops the code so the person can try again at once. Wrong codes
count across codes: `email_max_attempts` of them lock verification for `email_lock`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial

from core.domain.bonuses import bonus_of, decide_bonus
from core.domain.identity import Identity
from core.domain.ledger import Balance
from core.domain.rewards import BonusKind, CodeCheck, looks_like_code, valid_email
from core.domain.rules import CreditRules
from core.errors import (
    EmailCodeExpired,
    EmailCodeWrong,
    EmailLocked,
    EmailNotConfigured,
    EmailNotSent,
    InvalidEmail,
    NoEmailCode,
)
from core.ports import Clock, CodeSource, EmailSender, EmailStore
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

DIGITS = "0123456789"


@dataclass(frozen=True)
class EmailCodeSent:
    address: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class EmailVerified:
    address: str
    granted: int
    balance: Balance


class EmailVerificationService:
    def __init__(
        self,
        store: EmailStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        codes: CodeSource,
        sender: EmailSender | None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.codes = codes
        self.sender = sender  # None: SMTP is not configured

    async def verify(
        self, identity: Identity, text: str, *, language: str | None = None
    ) -> EmailCodeSent | EmailVerified:
        """The one command: six digits confirm a code, anything else is an address to send to
        (the mail in `language`)."""
        if looks_like_code(text):
            return await self.confirm(identity, text.strip())
        return await self.start(identity, text.strip(), language=language)

    async def start(self, identity: Identity, address: str, *, language: str | None = None) -> EmailCodeSent:
        """Raises InvalidEmail, EmailNotConfigured, EmailAlreadyVerified, EmailTaken,
        EmailLocked(until), EmailResendTooSoon(retry_at) or EmailNotSent."""
        if self.sender is None:
            raise EmailNotConfigured()
        if not valid_email(address):
            raise InvalidEmail(address)
        await self.wallets.person(identity)
        code = self.codes.code(6, DIGITS)
        started = await self.store.begin_email(identity.key, address, code, self.rules, now=self.clock.now())
        try:
            minutes = int(self.rules.email_code_ttl.total_seconds() // 60)
            await self.sender.send_code(address, code, minutes, language=language)
        except Exception as error:
            await self.store.email_send_failed(started.person_id)
            if isinstance(error, EmailNotSent):
                raise
            logger.exception("sending the verification code failed")
            raise EmailNotSent(type(error).__name__) from error
        return EmailCodeSent(address, started.expires_at)

    async def confirm(self, identity: Identity, code: str) -> EmailVerified:
        """Raises EmailCodeWrong(tries_left), EmailLocked(until), EmailCodeExpired, NoEmailCode,
        EmailAlreadyVerified, EmailTaken or FreeCreditLimitReached."""
        await self.wallets.person(identity)
        now = self.clock.now()
        bonus = partial(decide_bonus, bonus=bonus_of(BonusKind.EMAIL, self.rules, now), rules=self.rules)
        result = await self.store.confirm_email(identity.key, code, bonus, self.rules, now=now)
        verdict = result.verdict
        if verdict.check == CodeCheck.WRONG:
            raise EmailCodeWrong(verdict.tries_left)
        if verdict.check == CodeCheck.LOCKED:
            raise EmailLocked(verdict.locked_until)
        if verdict.check == CodeCheck.EXPIRED:
            raise EmailCodeExpired()
        if verdict.check == CodeCheck.NO_CODE:
            raise NoEmailCode()
        assert result.address is not None and result.bonus is not None
        return EmailVerified(result.address, result.bonus.granted, result.bonus.balance)

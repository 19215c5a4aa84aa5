"""Email verification in memory: `EmailStore`. Codes are judged by the same core functions the
SQL store asks; the right code pays what the bonus decision decides and claims the address,
all or nothing."""

from __future__ import annotations

import datetime as dt

from core.domain.offers import next_utc_midnight
from core.domain.rewards import (
    BonusStatus,
    CodeCheck,
    EmailCodeState,
    EmailConfirmation,
    EmailStart,
    attempts_carried_over,
    canonical_email,
    check_email_code,
    code_digest,
    email_send_refusal,
)
from core.domain.rules import CreditRules
from core.errors import EmailAlreadyVerified, EmailTaken, FreeCreditLimitReached
from core.ports import BonusDecision
from tests.fakes.memory.bonuses import apply_bonus, bonus_snapshot
from tests.fakes.memory.world import EmailCodeRow, World


def _state(row: EmailCodeRow | None) -> EmailCodeState | None:
    if row is None:
        return None
    return EmailCodeState(row.code_digest, row.expires_at, row.failed_attempts, row.locked_until, row.sent_at)


class FakeEmailStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _verified(self, person_id: int) -> bool:
        return person_id in self.world.verified_emails.values()

    async def begin_email(
        self, identity: str, address: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> EmailStart:
        with self.world.transaction():
            person = self.world.require_person(identity)
            if self._verified(person.person_id):
                raise EmailAlreadyVerified()
            if canonical_email(address) in self.world.verified_emails:
                raise EmailTaken()
            state = _state(self.world.email_codes.get(person.person_id))
            refusal = email_send_refusal(state, now, rules)
            if refusal is not None:
                raise refusal
            expires_at = now + rules.email_code_ttl
            self.world.email_codes[person.person_id] = EmailCodeRow(
                address.strip(),
                code_digest(str(person.person_id), code),
                expires_at,
                now,
                attempts_carried_over(state),
            )
            return EmailStart(person.person_id, expires_at)

    async def email_send_failed(self, person_id: int) -> None:
        row = self.world.email_codes.get(person_id)
        if row is not None:
            row.code_digest, row.sent_at = None, None

    async def confirm_email(
        self, identity: str, code: str, bonus: BonusDecision, rules: CreditRules, *, now: dt.datetime
    ) -> EmailConfirmation:
        with self.world.transaction():
            person = self.world.require_person(identity)
            if self._verified(person.person_id):
                raise EmailAlreadyVerified()
            row = self.world.email_codes.get(person.person_id)
            verdict = check_email_code(_state(row), code_digest(str(person.person_id), code), now, rules)
            if verdict.check != CodeCheck.OK:
                if row is not None:
                    row.failed_attempts, row.locked_until = verdict.failed_attempts, verdict.locked_until
                    if verdict.check == CodeCheck.LOCKED:
                        row.code_digest = None
                return EmailConfirmation(verdict)
            assert row is not None
            result = apply_bonus(self.world, person, bonus(bonus_snapshot(self.world, person, now)), now)
            if result.status == BonusStatus.LIMIT:
                raise FreeCreditLimitReached(rules.max_free_per_day, next_utc_midnight(now))
            address = canonical_email(row.address)
            if address in self.world.verified_emails:
                raise EmailTaken()
            self.world.verified_emails[address] = person.person_id
            row.code_digest, row.failed_attempts, row.locked_until = None, 0, None
            return EmailConfirmation(verdict, address=row.address, bonus=result)

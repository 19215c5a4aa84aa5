"""Email verification over SQL: `EmailStore`.

The code's hash and expiry are stored before the mail is sent; a confirmation is judged by
`core.domain.rewards.check_email_code` under the person's lock, and wrong guesses are
*recorded* (returned, not raised, so the counter survives the savepoint). The right code pays
what the bonus decision decides and claims the address, all or nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, insert, null, select, update

from adapters.storage.bonuses import apply_bonus, bonus_snapshot
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.persons import locked_person
from adapters.storage.sql import Statement, as_int, const, from_db_time, insert_or_skip, one, run, scalar, to_db_time
from adapters.storage.tables_rewards import email_verifications, verified_emails
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
from core.errors import (
    EmailAlreadyVerified,
    EmailTaken,
    FreeCreditLimitReached,
)
from core.ports import BonusDecision

_OF_PERSON = email_verifications.c.person_id == bindparam("person_id")

_VERIFIED_BY = Statement(
    select(verified_emails.c.address).where(verified_emails.c.person_id == bindparam("person_id")).limit(const(1))
)
_OWNER_OF_ADDRESS = Statement(
    select(verified_emails.c.person_id).where(verified_emails.c.address == bindparam("address"))
)
_STATE = Statement(
    select(
        email_verifications.c.address,
        email_verifications.c.code_digest,
        email_verifications.c.expires_at,
        email_verifications.c.failed_attempts,
        email_verifications.c.locked_until,
        email_verifications.c.sent_at,
    ).where(_OF_PERSON)
)
_NEW_CODE = Statement(
    update(email_verifications)
    .where(_OF_PERSON)
    .values(
        address=bindparam("address"),
        code_digest=bindparam("digest"),
        expires_at=bindparam("expires_at"),
        sent_at=bindparam("now"),
        failed_attempts=bindparam("attempts"),
        locked_until=null(),
    )
)
_FIRST_CODE = Statement(
    insert(email_verifications).values(
        person_id=bindparam("person_id"),
        address=bindparam("address"),
        code_digest=bindparam("digest"),
        expires_at=bindparam("expires_at"),
        sent_at=bindparam("now"),
        failed_attempts=bindparam("attempts"),
        locked_until=null(),
        created_at=bindparam("now"),
    )
)
_SEND_FAILED = Statement(update(email_verifications).where(_OF_PERSON).values(code_digest=null(), sent_at=null()))
_WRONG_CODE = Statement(
    update(email_verifications)
    .where(_OF_PERSON)
    .values(failed_attempts=bindparam("attempts"), locked_until=bindparam("locked_until"))
)
# The attempt that locks verification also kills the code.
_LOCKING_CODE = Statement(
    update(email_verifications)
    .where(_OF_PERSON)
    .values(failed_attempts=bindparam("attempts"), locked_until=bindparam("locked_until"), code_digest=null())
)
_VERIFY = Statement(
    insert_or_skip(
        verified_emails,
        ["address"],
        {"address": bindparam("address"), "person_id": bindparam("person_id"), "verified_at": bindparam("now")},
    )
)
_CONSUMED = Statement(
    update(email_verifications)
    .where(_OF_PERSON)
    .values(code_digest=null(), failed_attempts=const(0), locked_until=null())
)


def _state(conn: Connection, person_id: int) -> tuple[str, EmailCodeState] | None:
    row = one(conn, _STATE, person_id=person_id)
    if row is None:
        return None
    address, digest, expires_at, attempts, locked_until, sent_at = row
    return str(address), EmailCodeState(
        code_digest=None if digest is None else str(digest),
        expires_at=from_db_time(expires_at),
        failed_attempts=as_int(attempts),
        locked_until=from_db_time(locked_until),
        sent_at=from_db_time(sent_at),
    )


class SqlEmailStore:
    """`EmailStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger

    async def begin_email(
        self, identity: str, address: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> EmailStart:
        def work(conn: Connection) -> EmailStart:
            person = locked_person(conn, identity)
            if scalar(conn, _VERIFIED_BY, person_id=person.person_id) is not None:
                raise EmailAlreadyVerified()
            if scalar(conn, _OWNER_OF_ADDRESS, address=canonical_email(address)) is not None:
                raise EmailTaken()
            found = _state(conn, person.person_id)
            state = None if found is None else found[1]
            refusal = email_send_refusal(state, now, rules)
            if refusal is not None:
                raise refusal
            expires_at = now + rules.email_code_ttl
            run(
                conn,
                _FIRST_CODE if state is None else _NEW_CODE,
                person_id=person.person_id,
                address=address.strip(),
                digest=code_digest(str(person.person_id), code),
                expires_at=to_db_time(conn, expires_at),
                attempts=attempts_carried_over(state),
                now=to_db_time(conn, now),
            )
            return EmailStart(person.person_id, expires_at)

        return await self.db.write(work)

    async def email_send_failed(self, person_id: int) -> None:
        """Nobody received the code: drop it, and allow another try at once."""

        def work(conn: Connection) -> None:
            run(conn, _SEND_FAILED, person_id=person_id)

        await self.db.write(work)

    async def confirm_email(
        self, identity: str, code: str, bonus: BonusDecision, rules: CreditRules, *, now: dt.datetime
    ) -> EmailConfirmation:
        system = self.ledger.system

        def work(conn: Connection) -> EmailConfirmation:
            person = locked_person(conn, identity)
            if scalar(conn, _VERIFIED_BY, person_id=person.person_id) is not None:
                raise EmailAlreadyVerified()
            found = _state(conn, person.person_id)
            address, state = (None, None) if found is None else found
            verdict = check_email_code(state, code_digest(str(person.person_id), code), now, rules)
            if verdict.check != CodeCheck.OK:
                if found is not None:
                    run(
                        conn,
                        _LOCKING_CODE if verdict.check == CodeCheck.LOCKED else _WRONG_CODE,
                        person_id=person.person_id,
                        attempts=verdict.failed_attempts,
                        locked_until=to_db_time(conn, verdict.locked_until),
                    )
                return EmailConfirmation(verdict)
            assert address is not None
            # Right code: pay the bonus (it must fit today's allowance, else nothing happens and
            # the person can confirm again tomorrow), then claim the address; any refusal undoes both.
            result = apply_bonus(conn, system, person, bonus(bonus_snapshot(conn, person, now)), now)
            if result.status == BonusStatus.LIMIT:
                raise FreeCreditLimitReached(rules.max_free_per_day, next_utc_midnight(now))
            stamp = to_db_time(conn, now)
            if (
                run(conn, _VERIFY, address=canonical_email(address), person_id=person.person_id, now=stamp).rowcount
                != 1
            ):
                raise EmailTaken()  # another person verified the same address a moment ago
            run(conn, _CONSUMED, person_id=person.person_id)
            return EmailConfirmation(verdict, address=address, bonus=result)

        return await self.db.write(work)

"""Email verification: the code's hash and expiry are stored before the mail is sent; a
confirmation is judged by `core.domain.rewards.check_email_code` under the person's lock, and
wrong guesses are *recorded* (returned, not raised, so the counter survives the savepoint)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import bonus_sql
from adapters.storage.ledger_sql import SystemAccounts
from adapters.storage.persons_sql import locked_person
from adapters.storage.sql import Statement as S
from adapters.storage.sql import from_db_time, one, run, scalar, to_db_time
from core.domain.offers import next_utc_midnight
from core.domain.rewards import (
    Bonus,
    BonusStatus,
    CodeCheck,
    EmailCodeState,
    EmailConfirmation,
    EmailStart,
    RewardRules,
    canonical_email,
    check_email_code,
    code_digest,
    email_send_refusal,
)
from core.errors import (
    EmailAlreadyVerified,
    EmailLocked,
    EmailResendTooSoon,
    EmailTaken,
    FreeCreditLimitReached,
)

_VERIFIED_BY = S("SELECT address FROM verified_emails WHERE person_id = :person_id LIMIT 1")
_OWNER_OF_ADDRESS = S("SELECT person_id FROM verified_emails WHERE address = :address")
_STATE = S("""
    SELECT address, code_digest, expires_at, failed_attempts, locked_until, sent_at
    FROM email_verifications WHERE person_id = :person_id""")
_NEW_CODE = S("""
    UPDATE email_verifications
    SET address = :address, code_digest = :digest, expires_at = :expires_at,
        sent_at = :now, failed_attempts = :attempts, locked_until = :locked_until
    WHERE person_id = :person_id""")
_FIRST_CODE = S("""
    INSERT INTO email_verifications
        (person_id, address, code_digest, expires_at, sent_at, failed_attempts, locked_until,
        created_at)
    VALUES (:person_id, :address, :digest, :expires_at, :now, 0, NULL, :now)""")
_SEND_FAILED = S("UPDATE email_verifications SET code_digest = NULL, sent_at = NULL WHERE person_id = :person_id")
_ATTEMPT = S("""
    UPDATE email_verifications SET failed_attempts = :attempts, locked_until = :locked_until,
        code_digest = CASE WHEN :kill = 1 THEN NULL ELSE code_digest END
    WHERE person_id = :person_id""")
_VERIFY = S("""
    INSERT INTO verified_emails (address, person_id, verified_at)
    VALUES (:address, :person_id, :now)
    ON CONFLICT (address) DO NOTHING""")
_CONSUMED = S("""
    UPDATE email_verifications SET code_digest = NULL, failed_attempts = 0, locked_until = NULL
    WHERE person_id = :person_id""")


def _state(conn: Connection, person_id: int) -> tuple[str, EmailCodeState] | None:
    row = one(conn, _STATE, person_id=person_id)
    if row is None:
        return None
    address, digest, expires_at, attempts, locked_until, sent_at = row
    return str(address), EmailCodeState(
        code_digest=digest,
        expires_at=from_db_time(expires_at),
        failed_attempts=int(attempts),
        locked_until=from_db_time(locked_until),
        sent_at=from_db_time(sent_at),
    )


def _refuse_taken(conn: Connection, person_id: int, address: str) -> None:
    if scalar(conn, _VERIFIED_BY, person_id=person_id) is not None:
        raise EmailAlreadyVerified()
    owner = scalar(conn, _OWNER_OF_ADDRESS, address=canonical_email(address))
    if owner is not None:
        raise EmailTaken()


def begin_email(
    conn: Connection, identity: str, address: str, code: str, rules: RewardRules, now: dt.datetime
) -> EmailStart:
    person = locked_person(conn, identity)
    _refuse_taken(conn, person.person_id, address)
    found = _state(conn, person.person_id)
    state = None if found is None else found[1]
    refusal = email_send_refusal(state, now, rules)
    if refusal is not None:
        kind, until = refusal
        raise EmailLocked(until) if kind == "locked" else EmailResendTooSoon(until)
    expires_at = now + rules.email_code_ttl
    params = dict(
        person_id=person.person_id,
        address=address.strip(),
        digest=code_digest(str(person.person_id), code),
        expires_at=to_db_time(conn, expires_at),
        now=to_db_time(conn, now),
    )
    if state is None:
        run(conn, _FIRST_CODE, **params)
    else:
        lock_over = state.locked_until is not None  # a lock that ran out: count afresh
        run(
            conn,
            _NEW_CODE,
            **params,
            attempts=0 if lock_over else state.failed_attempts,
            locked_until=None,
        )
    return EmailStart(person.person_id, expires_at)


def email_send_failed(conn: Connection, person_id: int) -> None:
    """Nobody received the code: drop it, and allow another try at once."""
    run(conn, _SEND_FAILED, person_id=person_id)


def confirm_email(
    conn: Connection,
    system: SystemAccounts,
    identity: str,
    code: str,
    bonus: Bonus,
    rules: RewardRules,
    now: dt.datetime,
) -> EmailConfirmation:
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
                _ATTEMPT,
                person_id=person.person_id,
                attempts=verdict.failed_attempts,
                locked_until=to_db_time(conn, verdict.locked_until),
                kill=1 if verdict.check == CodeCheck.LOCKED else 0,
            )
        return EmailConfirmation(verdict)
    assert address is not None
    # Right code: pay the bonus (it must fit today's allowance, else nothing happens and the
    # person can confirm again tomorrow), then claim the address; any refusal undoes both.
    result = bonus_sql.check_and_pay(conn, system, person, bonus, rules, now)
    if result.status == BonusStatus.LIMIT:
        raise FreeCreditLimitReached(rules.max_free_per_day, next_utc_midnight(now))
    if (
        run(
            conn,
            _VERIFY,
            address=canonical_email(address),
            person_id=person.person_id,
            now=to_db_time(conn, now),
        ).rowcount
        != 1
    ):
        raise EmailTaken()  # another person verified the same address a moment ago
    run(conn, _CONSUMED, person_id=person.person_id)
    return EmailConfirmation(verdict, address=address, bonus=result)

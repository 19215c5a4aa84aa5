"""Referral payout notices (`core.domain.notices`): which payouts were announced to whom.

A row is written (*claimed*, state `sending`) in its own transaction before the message goes
out, keyed by the payout's ledger key under the primary key: two sweepers, or a sweeper and the
payout path, claim a notice once. The payout itself is never touched here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.persons_sql import survivor
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, one, run, scalar, to_db_time
from core.domain.notices import NoticeCandidate, NoticeState, ReferralNotice

# Paid sides of referrals settled since :since with no notice row yet. The keys are built as
# `core.domain.rewards.referral_key` builds them (referral:<referred>:<side>; the literal parts
# are parameters, as a colon in the SQL text would read as one); after an account link
# re-points a referral the built key names no transfer, and `claim_notices` skips it.
_UNCLAIMED = S("""
    SELECT paid.key, paid.person_id FROM (
        SELECT CAST(:prefix AS TEXT) || CAST(referred_person_id AS TEXT) || CAST(:referred AS TEXT) AS key,
            referred_person_id AS person_id, referred_settled_at AS settled_at
        FROM referrals WHERE referred_state = 'paid' AND referred_settled_at >= :since
        UNION ALL
        SELECT CAST(:prefix AS TEXT) || CAST(referred_person_id AS TEXT) || CAST(:referrer AS TEXT) AS key,
            referrer_person_id AS person_id, referrer_settled_at AS settled_at
        FROM referrals WHERE referrer_state = 'paid' AND referrer_settled_at >= :since
    ) paid
    WHERE NOT EXISTS (SELECT 1 FROM referral_notices n WHERE n.key = paid.key)
    ORDER BY paid.settled_at, paid.key LIMIT :limit""")
_RETRIES = S("""
    SELECT key, person_id FROM referral_notices
    WHERE state = 'failed' AND attempts < :max_attempts AND claimed_at <= :retry_before
    ORDER BY claimed_at, key LIMIT :limit""")
_PAID_AMOUNT = S("SELECT amount FROM transfers WHERE key = :key AND reason = 'referral'")
_CLAIM = S("""
    INSERT INTO referral_notices (key, person_id, state, attempts, claimed_at, sent_at)
    VALUES (:key, :person_id, 'sending', 1, :now, NULL) ON CONFLICT (key) DO NOTHING""")
_RECLAIM = S("""
    UPDATE referral_notices SET state = 'sending', attempts = attempts + 1, claimed_at = :now,
        person_id = :person_id
    WHERE key = :key AND state = 'failed' AND attempts < :max_attempts AND claimed_at <= :retry_before
    RETURNING attempts""")
_FINISH = S("UPDATE referral_notices SET state = :state, sent_at = :sent_at WHERE key = :key AND state = 'sending'")


def due_notices(
    conn: Connection, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
) -> list[NoticeCandidate]:
    retries = every(
        conn,
        _RETRIES,
        max_attempts=max_attempts,
        retry_before=to_db_time(conn, retry_before),
        limit=limit,
    )
    fresh = every(
        conn,
        _UNCLAIMED,
        prefix="referral:",
        referred=":referred",
        referrer=":referrer",
        since=to_db_time(conn, since),
        limit=max(limit - len(retries), 0),
    )
    return [NoticeCandidate(str(key), int(person)) for key, person in [*retries, *fresh]]


def claim_notices(
    conn: Connection,
    candidates: list[NoticeCandidate],
    platforms: frozenset[str],
    retry_before: dt.datetime,
    max_attempts: int,
    now: dt.datetime,
) -> list[ReferralNotice]:
    claimed: list[ReferralNotice] = []
    for candidate in candidates:
        amount = scalar(conn, _PAID_AMOUNT, key=candidate.key)
        if amount is None:
            continue  # no such payout (a re-pointed referral): nothing to announce
        receiver = survivor(conn, candidate.person_id)
        reachable = tuple(
            identity for identity in ledger_sql.identities_of(conn, receiver) if identity.split(":", 1)[0] in platforms
        )
        if not reachable:
            continue  # left for a process that runs one of their platforms
        stamp = to_db_time(conn, now)
        if run(conn, _CLAIM, key=candidate.key, person_id=receiver, now=stamp).rowcount == 1:
            attempt = 1
        else:
            row = one(
                conn,
                _RECLAIM,
                key=candidate.key,
                person_id=receiver,
                now=stamp,
                max_attempts=max_attempts,
                retry_before=to_db_time(conn, retry_before),
            )
            if row is None:
                continue  # claimed before (sent, being sent, or out of attempts)
            attempt = int(row[0])
        claimed.append(ReferralNotice(candidate.key, receiver, int(amount), reachable, attempt))
    return claimed


def finish_notice(conn: Connection, key: str, state: NoticeState, now: dt.datetime) -> None:
    sent_at = to_db_time(conn, now) if state == NoticeState.SENT else None
    run(conn, _FINISH, key=key, state=str(state), sent_at=sent_at)

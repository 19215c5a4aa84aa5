"""Account linking: a one-time code from one identity joins another identity to its person.

- A brand-new identity (no person yet) simply joins: no person, no wallet, no welcome grant.
- Two existing persons merge into the older one. The absorbed wallet's balance moves with one
  `link` transfer per lot kind (free, paid), and its lots move along unchanged, so the spend
  order, expiry, the plan (packs bought) and refunds by order still work. Open holds or a frozen
  wallet refuse the link. No credits are created; the auditor stays clean.
- Everything that names the absorbed person is re-pointed (identities, reward claims, referral
  codes and referrals, emails, tickets); `person_links` records the merge for tables owned by
  other areas (jobs, orders), which resolve an old person id through it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.persons_sql import created_at, lock_wallets, survivor, wallet_of
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, from_db_time, one, run, scalar, to_db_time
from core.domain.ledger import Reason
from core.domain.rewards import LinkRefusal, LinkResult, link_key, platforms_clash
from core.errors import LinkCodeInvalid, LinkRefused

_DROP_UNUSED = S("DELETE FROM link_codes WHERE person_id = :person_id AND used_at IS NULL")
_INSERT_CODE = S("""
    INSERT INTO link_codes (code_digest, person_id, expires_at, used_at, created_at)
    VALUES (:digest, :person_id, :expires_at, NULL, :now)""")
_CODE = S("SELECT person_id, expires_at, used_at FROM link_codes WHERE code_digest = :digest")
_USE_CODE = S("UPDATE link_codes SET used_at = :now WHERE code_digest = :digest AND used_at IS NULL")
_ATTACH = S("""
    INSERT INTO identities (key, person_id, created_at) VALUES (:key, :person_id, :now)
    ON CONFLICT (key) DO NOTHING""")

# moving the balance
_REMAINING_BY_KIND = S("""
    SELECT kind, COALESCE(SUM(remaining), 0) FROM lots WHERE account_id = :account_id
    GROUP BY kind ORDER BY kind""")
_INSERT_TRANSFER = S("""
    INSERT INTO transfers
        (key, debit_account_id, credit_account_id, amount, reason, order_ref, memo, created_at)
    VALUES (:key, :debit, :credit, :amount, :reason, NULL, :memo, :now)""")
_DEBIT = S("UPDATE accounts SET debits_posted = debits_posted + :amount WHERE id = :id")
_CREDIT = S("UPDATE accounts SET credits_posted = credits_posted + :amount WHERE id = :id")
_MOVE_LOTS = S("UPDATE lots SET account_id = :target WHERE account_id = :source")

# re-pointing what names the absorbed person
_REPOINT = [
    S("UPDATE identities SET person_id = :survivor WHERE person_id = :absorbed"),
    S("UPDATE reward_claims SET person_id = :survivor WHERE person_id = :absorbed"),
    S("UPDATE referral_codes SET person_id = :survivor WHERE person_id = :absorbed"),
    S("UPDATE referrals SET referrer_person_id = :survivor WHERE referrer_person_id = :absorbed"),
    S("UPDATE verified_emails SET person_id = :survivor WHERE person_id = :absorbed"),
    S("UPDATE support_tickets SET person_id = :survivor WHERE person_id = :absorbed"),
    S("DELETE FROM link_codes WHERE person_id = :absorbed AND used_at IS NULL"),
    S("UPDATE person_links SET survivor_person_id = :survivor WHERE survivor_person_id = :absorbed"),
]
_HAS_REFERRAL = S("SELECT 1 FROM referrals WHERE referred_person_id = :person_id")
_MOVE_REFERRAL = S("UPDATE referrals SET referred_person_id = :survivor WHERE referred_person_id = :absorbed")
_DROP_OPEN_REFERRAL = S("""
    DELETE FROM referrals WHERE referred_person_id = :person_id
    AND (referred_state IS NULL OR referrer_state IS NULL)""")
_DROP_SELF_REFERRAL = S("""
    DELETE FROM referrals WHERE referred_person_id = :person_id AND referrer_person_id = :person_id
    AND (referred_state IS NULL OR referrer_state IS NULL)""")
_HAS_EMAIL_CODE = S("SELECT 1 FROM email_verifications WHERE person_id = :person_id")
_MOVE_EMAIL_CODE = S("UPDATE email_verifications SET person_id = :survivor WHERE person_id = :absorbed")
_DROP_EMAIL_CODE = S("DELETE FROM email_verifications WHERE person_id = :person_id")
_INSERT_LINK = S("""
    INSERT INTO person_links (absorbed_person_id, survivor_person_id, linked_at)
    VALUES (:absorbed, :survivor, :now)""")


def create_link_code(conn: Connection, identity: str, digest: str, expires_at: dt.datetime, now: dt.datetime) -> None:
    """One live code per person: a new one replaces the unused ones."""
    person = ledger_sql.require_person(conn, identity)
    run(conn, _DROP_UNUSED, person_id=person.person_id)
    run(
        conn,
        _INSERT_CODE,
        digest=digest,
        person_id=person.person_id,
        expires_at=to_db_time(conn, expires_at),
        now=to_db_time(conn, now),
    )


def redeem_link(conn: Connection, identity: str, digest: str, now: dt.datetime) -> LinkResult:
    row = one(conn, _CODE, digest=digest)
    if row is None or row[2] is not None:
        raise LinkCodeInvalid()
    expires_at = from_db_time(row[1])
    if expires_at is None or now >= expires_at:
        raise LinkCodeInvalid()
    # Use the code first: a refusal below rolls the whole unit back, the code included.
    if run(conn, _USE_CODE, digest=digest, now=to_db_time(conn, now)).rowcount != 1:
        raise LinkCodeInvalid()  # used by someone else a moment ago
    issuer = survivor(conn, int(row[0]))
    found = ledger_sql.find_person(conn, identity)
    if found is None:
        return _attach(conn, identity, issuer, now)
    return _merge(conn, issuer, survivor(conn, found.person_id), now)


def _attach(conn: Connection, identity: str, person_id: int, now: dt.datetime) -> LinkResult:
    wallet = wallet_of(conn, person_id)
    lock_wallets(conn, wallet)
    identities = ledger_sql.identities_of(conn, person_id)
    if platforms_clash(identities, [identity]):
        raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
    if run(conn, _ATTACH, key=identity, person_id=person_id, now=to_db_time(conn, now)).rowcount != 1:
        # The identity became a person meanwhile (its first message raced the link): merge.
        found = ledger_sql.require_person(conn, identity)
        return _merge(conn, person_id, survivor(conn, found.person_id), now)
    return LinkResult(
        person_id,
        None,
        tuple(identities + [identity]),
        ledger_sql.balance(conn, wallet),
        moved_free=0,
        moved_paid=0,
    )


def _merge(conn: Connection, issuer: int, other: int, now: dt.datetime) -> LinkResult:
    if issuer == other:
        raise LinkRefused(LinkRefusal.SAME_PERSON)
    # The older person survives (a stable rule: their code, history and creation date stay).
    keep, gone = sorted((issuer, other), key=lambda p: (created_at(conn, p), p))
    keep_wallet, gone_wallet = wallet_of(conn, keep), wallet_of(conn, gone)
    lock_wallets(conn, keep_wallet, gone_wallet)
    for wallet in (keep_wallet, gone_wallet):
        balance = ledger_sql.balance(conn, wallet)
        if balance.frozen or balance.debt:
            raise LinkRefused(LinkRefusal.FROZEN)
        if balance.held:
            raise LinkRefused(LinkRefusal.JOBS_RUNNING)
    if platforms_clash(ledger_sql.identities_of(conn, keep), ledger_sql.identities_of(conn, gone)):
        raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
    moved = _move_balance(conn, gone, gone_wallet, keep_wallet, now)
    _repoint(conn, keep, gone, now)
    return LinkResult(
        keep,
        gone,
        tuple(ledger_sql.identities_of(conn, keep)),
        ledger_sql.balance(conn, keep_wallet),
        moved_free=moved.get("free", 0),
        moved_paid=moved.get("paid", 0),
    )


def _move_balance(conn: Connection, gone: int, from_wallet: int, to_wallet: int, now: dt.datetime) -> dict[str, int]:
    """One `link` transfer per lot kind, then the lots themselves (with their pack, order and
    expiry) change wallet: lots and posted totals stay equal on both sides."""
    moved: dict[str, int] = {}
    for kind, amount in every(conn, _REMAINING_BY_KIND, account_id=from_wallet):
        if int(amount) <= 0:
            continue
        run(
            conn,
            _INSERT_TRANSFER,
            key=link_key(gone, str(kind)),
            debit=from_wallet,
            credit=to_wallet,
            amount=int(amount),
            reason=str(Reason.LINK),
            memo=f"{kind} credits of person {gone}",
            now=to_db_time(conn, now),
        )
        run(conn, _DEBIT, id=from_wallet, amount=int(amount))
        run(conn, _CREDIT, id=to_wallet, amount=int(amount))
        moved[str(kind)] = int(amount)
    run(conn, _MOVE_LOTS, target=to_wallet, source=from_wallet)
    return moved


def _repoint(conn: Connection, keep: int, gone: int, now: dt.datetime) -> None:
    # Referrals where `gone` was the referred one: one referrer per person, so if both had one,
    # the absorbed one's unsettled referral is cancelled.
    if scalar(conn, _HAS_REFERRAL, person_id=keep) is None:
        run(conn, _MOVE_REFERRAL, survivor=keep, absorbed=gone)
    else:
        run(conn, _DROP_OPEN_REFERRAL, person_id=gone)
    if scalar(conn, _HAS_EMAIL_CODE, person_id=keep) is None:
        run(conn, _MOVE_EMAIL_CODE, survivor=keep, absorbed=gone)
    else:
        run(conn, _DROP_EMAIL_CODE, person_id=gone)
    for statement in _REPOINT:
        run(conn, statement, survivor=keep, absorbed=gone)
    # A referral between the two is now a self-referral: cancel it unless already paid.
    run(conn, _DROP_SELF_REFERRAL, person_id=keep)
    run(conn, _INSERT_LINK, absorbed=gone, survivor=keep, now=to_db_time(conn, now))

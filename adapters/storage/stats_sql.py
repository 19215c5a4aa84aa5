"""Usage figures straight from the ledger's and the orders' rows (definitions:
`core.domain.stats`)."""

from __future__ import annotations

from sqlalchemy import Connection

from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, one, scalar, to_db_time
from core.domain.rewards import Window
from core.domain.stats import Sales, WindowStats

_NEW_PERSONS = S("""
    SELECT COUNT(*) FROM persons p WHERE p.created_at >= :start AND p.created_at <= :end
    AND NOT EXISTS (SELECT 1 FROM person_links l WHERE l.absorbed_person_id = p.id)""")
_SPENDS = S("""
    SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM transfers
    WHERE reason = 'spend' AND created_at >= :start AND created_at <= :end""")
_GRANTED = S("""
    SELECT t.reason, SUM(t.amount) FROM transfers t JOIN accounts a ON a.id = t.debit_account_id
    WHERE a.kind = 'system' AND t.reason <> 'spend'
    AND t.created_at >= :start AND t.created_at <= :end
    GROUP BY t.reason ORDER BY t.reason""")
# Orders whose payment landed in the window (`paid_at` is set once, with the grant), at what
# they charged, and what has been refunded or disputed on each so far (capped at its amount).
_SALES = S("""
    SELECT currency, pack_id, COUNT(*), COALESCE(SUM(amount), 0),
        COALESCE(SUM(CASE WHEN amount_refunded + amount_disputed < amount
            THEN amount_refunded + amount_disputed ELSE amount END), 0)
    FROM orders
    WHERE paid_at IS NOT NULL AND paid_at >= :start AND paid_at <= :end
    GROUP BY currency, pack_id ORDER BY currency, pack_id""")
# A person's first purchase: the earliest lot with a pack on any wallet of theirs (after a link,
# the lots live on the survivor's wallet).
_FIRST_PURCHASES = S("""
    WITH firsts AS (
        SELECT l.account_id, MIN(l.created_at) AS first_at
        FROM lots l JOIN accounts a ON a.id = l.account_id
        WHERE a.kind = 'person' AND l.pack_id IS NOT NULL GROUP BY l.account_id)
    SELECT
        (SELECT COUNT(*) FROM firsts WHERE first_at >= :start AND first_at <= :end),
        (SELECT COUNT(*) FROM firsts WHERE first_at < :start)""")
_PERSONS_BY = S("""
    SELECT COUNT(*) FROM persons p WHERE p.created_at <= :end
    AND NOT EXISTS (SELECT 1 FROM person_links l WHERE l.absorbed_person_id = p.id)""")
# Running posted balance of each person wallet after each of its transfers; a spend that leaves
# it below the cheapest clip is "running out".
_RAN_OUT = S("""
    WITH moves AS (
        SELECT t.id, t.credit_account_id AS account_id, t.amount AS delta, t.reason, t.created_at
        FROM transfers t JOIN accounts a ON a.id = t.credit_account_id WHERE a.kind = 'person'
        UNION ALL
        SELECT t.id, t.debit_account_id, -t.amount, t.reason, t.created_at
        FROM transfers t JOIN accounts a ON a.id = t.debit_account_id WHERE a.kind = 'person'),
    running AS (
        SELECT account_id, id, reason, created_at,
            SUM(delta) OVER (PARTITION BY account_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS after
        FROM moves),
    ran_out AS (
        SELECT account_id, MIN(id) AS first_id FROM running
        WHERE reason = 'spend' AND after < :cheapest AND created_at >= :start AND created_at <= :end
        GROUP BY account_id)
    SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (
        SELECT 1 FROM transfers s
        WHERE s.debit_account_id = r.account_id AND s.reason = 'spend' AND s.id > r.first_id
    ) THEN 1 ELSE 0 END), 0) FROM ran_out r""")


def window_stats(conn: Connection, window: Window, cheapest_clip: int) -> WindowStats:
    span = dict(start=to_db_time(conn, window.start), end=to_db_time(conn, window.end))
    generations, spent = one(conn, _SPENDS, **span) or (0, 0)
    first_in, first_before = one(conn, _FIRST_PURCHASES, **span) or (0, 0)
    persons_by_end = int(scalar(conn, _PERSONS_BY, end=span["end"]))
    ran_out, came_back = one(conn, _RAN_OUT, cheapest=cheapest_clip, **span) or (0, 0)
    return WindowStats(
        window=window,
        new_persons=int(scalar(conn, _NEW_PERSONS, **span)),
        generations=int(generations),
        credits_spent=int(spent),
        granted_by_reason={str(reason): int(total) for reason, total in every(conn, _GRANTED, **span)},
        sales=tuple(
            Sales(str(currency), str(pack), int(count), int(paid), int(returned))
            for currency, pack, count, paid, returned in every(conn, _SALES, **span)
        ),
        first_purchasers=int(first_in),
        free_base=max(persons_by_end - int(first_before), 0),
        ran_out=int(ran_out),
        came_back=int(came_back),
    )

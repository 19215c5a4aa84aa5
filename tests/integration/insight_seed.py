"""A small history with known answers for the success metrics, written straight into the tables
(exact times, day boundaries included), on SQLite or PostgreSQL.

The range asked is 2026-03-01 .. 2026-03-10 (UTC). Cheapest clip: 2 credits.
- ann: welcomed 03-01 10:00 (2 credits); clip 03-02 09:00 leaves 0 (ran out) and is shown the
  packs (bob, who also ran out, is shown none on record); buys `small` by
  Stripe and `big` on Discord 03-04; clip 03-05 (came back after 3 days).
- bob: welcomed 03-03 23:59:30 (2); clip 03-04 00:00:30 leaves 0 (ran out); buys `small` with
  Stars 03-09 (100, 30 refunded); never clips again.
- cat: welcomed 03-05, nothing else.
- dan: welcomed 02-20 (before the range, 2); clip 03-01 01:00 leaves 0 (ran out); two daily
  credits, clip 03-09 02:00 (8 days later: not within a week); one failed job.
- eve: welcomed 03-06 and linked into ann (not a person of her own).
- fay: welcomed 03-07, buys `small` by Stripe at once without a clip.
- Outside the range or unpaid: an order paid 02-28, an open order, a ticket 02-27, dan's clip 02-25.
- Tickets: 03-02 10:00 "charged twice" (payment, answered after 1 h); 03-02 23:00 with markup
  "clip stuck" (clip, answered after 3 h); 03-06 "hello" (other, unanswered).
"""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import Connection, insert

from adapters.storage.database import Database
from adapters.storage.tables import accounts, persons, transfers
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_offers import offer_events
from adapters.storage.tables_payments import orders
from adapters.storage.tables_rewards import person_links, support_replies, support_tickets
from core.domain.insight import DayRange

SPAN = DayRange(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
CHEAPEST = 2
MARKUP_TICKET = "<script>alert('x')</script> my clip is stuck"


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC)


class Seed:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.ids = itertools.count(1)
        self.system = self._account("system", "system:seed", at(1, 0, month=1))

    def _account(self, kind: str, owner: str, when: dt.datetime) -> int:
        row = self.conn.execute(
            insert(accounts).values(kind=kind, owner_key=owner, created_at=when).returning(accounts.c.id)
        )
        return int(row.scalar_one())

    def person(self, when: dt.datetime, welcome: int) -> tuple[int, int]:
        person = int(self.conn.execute(insert(persons).values(created_at=when).returning(persons.c.id)).scalar_one())
        wallet = self._account("person", f"person:{person}", when)
        self.credit(wallet, welcome, "welcome", when)
        return person, wallet

    def credit(self, wallet: int, amount: int, reason: str, when: dt.datetime) -> None:
        self._transfer(self.system, wallet, amount, reason, when)

    def _transfer(self, debit: int, credit: int, amount: int, reason: str, when: dt.datetime) -> None:
        self.conn.execute(
            insert(transfers).values(
                key=f"seed:{next(self.ids)}",
                debit_account_id=debit,
                credit_account_id=credit,
                amount=amount,
                reason=reason,
                memo="",
                created_at=when,
            )
        )

    def clip(self, person: int, wallet: int, when: dt.datetime, cost: int = 2, state: str = "succeeded") -> None:
        n = next(self.ids)
        self.conn.execute(
            insert(jobs).values(
                id=f"job{n}",
                request_key=f"seed:{n}",
                person_id=person,
                wallet_id=wallet,
                identity=f"console:{person}",
                platform="console",
                reply_to="{}",
                style="lofi",
                seconds=10,
                cost=cost,
                seed=n,
                state=state,
                created_at=when - dt.timedelta(minutes=1),
                updated_at=when,
                finished_at=when,
                deadline_at=when + dt.timedelta(minutes=30),
            )
        )
        if state == "succeeded":
            self._transfer(wallet, self.system, cost, "spend", when)

    def order(
        self,
        person: int,
        wallet: int,
        channel: str,
        pack: str,
        amount: int,
        currency: str,
        paid_at: dt.datetime | None,
        refunded: int = 0,
    ) -> None:
        n = next(self.ids)
        created = paid_at or at(9)
        self.conn.execute(
            insert(orders).values(
                id=f"ord{n}",
                request_key=f"seed:{n}",
                person_id=person,
                wallet_id=wallet,
                identity=f"console:{person}",
                channel=channel,
                pack_id=pack,
                credits=10,
                amount=amount,
                currency=currency,
                state="open" if paid_at is None else "paid",
                amount_refunded=refunded,
                amount_disputed=0,
                paid_at=paid_at,
                created_at=created,
                updated_at=created,
            )
        )
        if paid_at is not None:
            self.credit(wallet, 10, "purchase", paid_at)

    def ticket(self, person: int, text: str, when: dt.datetime, replied: dt.datetime | None) -> int:
        ticket = int(
            self.conn.execute(
                insert(support_tickets)
                .values(
                    person_id=person,
                    identity=f"console:{person}",
                    text=text,
                    available=0,
                    status="open" if replied is None else "answered",
                    created_at=when,
                    answered_at=replied,
                )
                .returning(support_tickets.c.id)
            ).scalar_one()
        )
        for reply_at in [replied, replied and replied + dt.timedelta(hours=5)] if replied else []:
            self.conn.execute(
                insert(support_replies).values(
                    ticket_id=ticket,
                    request_id=f"r{next(self.ids)}",
                    operator="console:op",
                    text="on it",
                    granted=0,
                    created_at=reply_at,
                )
            )
        return ticket


def history(conn: Connection) -> None:
    s = Seed(conn)
    ann, ann_w = s.person(at(1, 10), 2)
    s.clip(ann, ann_w, at(2, 9))
    conn.execute(insert(offer_events).values(account_id=ann_w, kind="shown", pack_id="small", created_at=at(2, 9)))
    s.order(ann, ann_w, "stripe", "small", 500, "usd", at(4, 8))
    s.order(ann, ann_w, "discord", "big", 999, "usd", at(4, 9))
    s.clip(ann, ann_w, at(5, 9))
    bob, bob_w = s.person(at(3, 23, 59, 30), 2)
    s.clip(bob, bob_w, at(4, 0, 0, 30))
    s.order(bob, bob_w, "stars", "small", 100, "XTR", at(9, 15), refunded=30)
    s.person(at(5, 8), 2)
    dan, dan_w = s.person(at(20, 8, month=2), 4)
    s.clip(dan, dan_w, at(25, 8, month=2))
    s.clip(dan, dan_w, at(1, 1))
    s.credit(dan_w, 1, "daily", at(8, 7))
    s.credit(dan_w, 1, "daily", at(9, 1))
    s.clip(dan, dan_w, at(9, 2))
    s.clip(dan, dan_w, at(9, 3), state="failed")
    eve, _ = s.person(at(6, 8), 2)
    conn.execute(insert(person_links).values(absorbed_person_id=eve, survivor_person_id=ann, linked_at=at(6, 9)))
    fay, fay_w = s.person(at(7, 8), 2)
    s.order(fay, fay_w, "stripe", "small", 500, "usd", at(7, 8, 5))
    s.order(dan, dan_w, "stripe", "small", 500, "usd", at(28, 8, month=2))
    s.order(dan, dan_w, "stripe", "small", 500, "usd", None)
    s.ticket(ann, "My payment was charged twice", at(2, 10), at(2, 11))
    s.ticket(bob, MARKUP_TICKET, at(2, 23), at(3, 2))
    s.ticket(dan, "hello", at(6, 12), None)
    s.ticket(dan, "old question about credits", at(27, 8, month=2), at(27, 9, month=2))


async def seed(database: Database) -> None:
    await database.write(history)

"""The ledger auditor: checks the books from the rows alone. Used by tests and benchmarks."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from adapters.storage.balances import POSTED
from adapters.storage.tables import accounts, holds, lots, transfers
from core.domain.ledger import HoldState, Reason


def audit(conn: Connection) -> list[str]:
    """Every broken invariant, in words; an empty list means the books are sound."""
    problems: list[str] = []
    # Every transfer debits one account and credits another, so the derived balances of all
    # accounts sum to zero; wallets keep running totals, system accounts are derived only.
    total = conn.execute(select(func.coalesce(func.sum(POSTED), 0)).where(accounts.c.kind != "system")).scalar_one()
    system_net = (
        conn.execute(
            select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
                transfers.c.credit_account_id.in_(select(accounts.c.id).where(accounts.c.kind == "system"))
            )
        ).scalar_one()
        - conn.execute(
            select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
                transfers.c.debit_account_id.in_(select(accounts.c.id).where(accounts.c.kind == "system"))
            )
        ).scalar_one()
    )
    if total + system_net != 0:
        problems.append(f"books do not balance: wallets {total} + system {system_net} != 0")

    credited = dict(
        conn.execute(
            select(transfers.c.credit_account_id, func.sum(transfers.c.amount)).group_by(transfers.c.credit_account_id)
        ).all()
    )
    debited = dict(
        conn.execute(
            select(transfers.c.debit_account_id, func.sum(transfers.c.amount)).group_by(transfers.c.debit_account_id)
        ).all()
    )
    pending = dict(
        conn.execute(
            select(holds.c.account_id, func.sum(holds.c.amount))
            .where(holds.c.state == HoldState.HELD.value)
            .group_by(holds.c.account_id)
        ).all()
    )
    lot_sums = dict(
        conn.execute(select(lots.c.account_id, func.sum(lots.c.remaining)).group_by(lots.c.account_id)).all()
    )
    for acc in conn.execute(select(accounts)).mappings():
        aid = acc["id"]
        if acc["kind"] == "system":
            if acc["credits_posted"] or acc["debits_posted"] or acc["debits_pending"]:
                problems.append(f"system account {aid} keeps running totals (they are derived)")
            continue
        if acc["credits_posted"] != int(credited.get(aid, 0)):
            problems.append(
                f"account {aid}: credits_posted {acc['credits_posted']} != transfers {credited.get(aid, 0)}"
            )
        if acc["debits_posted"] != int(debited.get(aid, 0)):
            problems.append(f"account {aid}: debits_posted {acc['debits_posted']} != transfers {debited.get(aid, 0)}")
        if acc["debits_pending"] != int(pending.get(aid, 0)):
            problems.append(f"account {aid}: pending {acc['debits_pending']} != open holds {pending.get(aid, 0)}")
        posted = acc["credits_posted"] - acc["debits_posted"]
        if posted - acc["debits_pending"] < 0 and not acc["frozen"]:
            problems.append(f"account {aid} ({acc['owner_key']}) is below zero: {posted - acc['debits_pending']}")
        if int(lot_sums.get(aid, 0)) != max(posted, 0):
            problems.append(f"account {aid}: lots {lot_sums.get(aid, 0)} != posted balance {max(posted, 0)}")

    # A hold resolves at most once: a captured hold has exactly one spend; a released one none.
    spends = {
        key.removeprefix("spend:")
        for key in conn.execute(select(transfers.c.key).where(transfers.c.reason == Reason.SPEND.value)).scalars()
    }
    for key, state in conn.execute(select(holds.c.key, holds.c.state)).all():
        if state == HoldState.CAPTURED.value and key not in spends:
            problems.append(f"hold {key} captured without a spend")
        if state in (HoldState.RELEASED.value, HoldState.HELD.value) and key in spends:
            problems.append(f"hold {key} is {state} but was charged")
    return problems

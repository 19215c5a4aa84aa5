"""What the test kits do to a wallet as other areas would: a purchase's paid credits, a
delivered clip's charge, and reading the balance back. Shared by the SQL kits and the
in-memory services."""

from __future__ import annotations

import datetime as dt

from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.ledger import Balance, Grant, LotKind, Reason
from core.ports import LedgerStore
from core.services.wallets import WalletService


class WalletMoves:
    """Needs `wallets`, `ledger` (with `audit()`) and `clock`."""

    wallets: WalletService
    ledger: LedgerStore
    clock: ManualClock

    async def person(self, key: str) -> tuple[Identity, int]:
        identity = Identity.parse(key)
        return identity, (await self.wallets.person(identity)).person_id

    async def balance(self, identity: Identity) -> Balance:
        person = await self.wallets.person(identity)
        return await self.ledger.balance(person.wallet_id)

    async def available(self, identity: Identity) -> int:
        return (await self.balance(identity)).available

    async def buy(self, identity: Identity, pack: str, credits: int, order: str) -> None:
        """A purchase's paid credits, as the payments area grants them."""
        person = await self.wallets.person(identity)
        await self.ledger.grant(
            Grant(
                f"purchase:{order}",
                person.wallet_id,
                credits,
                Reason.PURCHASE,
                LotKind.PAID,
                pack_id=pack,
                order_ref=order,
            ),
            now=self.clock.now(),
        )

    async def spend(self, identity: Identity, amount: int, job: str) -> None:
        """A delivered clip's charge: hold then capture, as the job workers do."""
        person = await self.wallets.person(identity)
        now = self.clock.now()
        await self.ledger.hold(
            f"hold:{job}", person.wallet_id, amount, expires_at=now + dt.timedelta(minutes=20), now=now
        )
        await self.ledger.capture(f"hold:{job}", now=now)

    async def audit(self) -> list[str]:
        return await self.ledger.audit()  # type: ignore[attr-defined, no-any-return]

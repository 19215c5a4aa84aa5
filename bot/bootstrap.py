"""The composition root: the only place that builds concrete adapters and wires them to core."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.chat.catalogue import Catalogue
from adapters.storage.database import Database
from adapters.storage.ledger_store import SqlLedgerStore
from bot.config import Settings
from core.clock import SystemClock
from core.domain.rules import CreditRules
from core.ports import Clock
from core.services.wallets import WalletService


@dataclass
class App:
    settings: Settings
    database: Database
    ledger: SqlLedgerStore
    clock: Clock
    rules: CreditRules
    catalogue: Catalogue
    wallets: WalletService

    async def close(self) -> None:
        await self.database.close()


async def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    """Build and start everything the adapters need (the database must be migrated first)."""
    clock = clock or SystemClock()
    database = Database(settings.database_url)
    await database.start()
    ledger = SqlLedgerStore(database)
    rules = settings.credit_rules()
    return App(
        settings=settings,
        database=database,
        ledger=ledger,
        clock=clock,
        rules=rules,
        catalogue=Catalogue(),
        wallets=WalletService(ledger, rules, clock),
    )

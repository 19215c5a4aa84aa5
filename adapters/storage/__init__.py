"""SQL storage: SQLModel tables, the batching database runner, and the ledger/job repositories."""

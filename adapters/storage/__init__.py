"""SQL storage (SQLite by default, PostgreSQL for scale): one module per area, each implementing
its port from `core/ports.py` directly, over one table definition.

- `tables*.py`: the SQLModel tables, the one definition Alembic's metadata (`schema.py`,
  `alembic/`) and every statement are built from; `sql.py` compiles each statement once per
  dialect and runs it on the driver's cursor; `database.py` batches units of work into
  transactions.
- `ledger.py` (`LedgerStore`, `ExpiryStore`), `jobs.py` (`JobStore`), `payments.py`
  (`PaymentStore`), `bonuses.py` (`BonusStore`), `referrals.py` (`ReferralStore`),
  `referral_notices.py` (`ReferralNoticeStore`), `email_verification.py` (`EmailStore`),
  `linking.py` (`LinkStore`), `support.py` (`SupportStore`), `stats.py` (`StatsStore`).
- `persons.py`: who an identity or a person id is now, and their wallet's lock (every area).
- `metrics.py`, `dashboard.py`: the read models behind GET /metrics and GET /dashboard;
  `audit.py`: the ledger's invariants checked from the rows alone.
"""

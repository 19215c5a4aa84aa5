"""Tables of the payments area (SQLModel). Their migration: alembic/versions/*_payments.py."""

from __future__ import annotations

"""Tables of the rewards area (SQLModel). Their migration: alembic/versions/*_rewards.py."""

from __future__ import annotations

"""Tables of the jobs area (SQLModel). Their migration: alembic/versions/*_jobs.py."""

from __future__ import annotations

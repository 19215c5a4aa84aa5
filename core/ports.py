"""The Protocols the core speaks through. Adapters implement them; `bot.bootstrap` wires them."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from core.domain.generation import GenerationRequest, PredictionStatus, PreparedClip
from core.domain.identity import Person
from core.domain.ledger import AccountStats, Balance, Entry, Grant, Hold, Outcome, Reason


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class AudioIntake(Protocol):
    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        """Decode, validate, mix to mono, resample and trim; raise an `AudioRejected` subclass."""
        ...


class MusicGenerator(Protocol):
    """A backend that turns a prepared clip and a style into music (Replicate or local)."""

    async def submit(self, request: GenerationRequest, *, webhook_url: str | None) -> str:
        """Start a prediction; return its id. Raises `GenerationFailed` subclasses."""
        ...

    async def status(self, prediction_id: str) -> PredictionStatus:
        """The prediction's current state. Raises `GenerationFailed` subclasses."""
        ...

    async def cancel(self, prediction_id: str) -> None:
        """Ask the backend to stop; best effort, never raises for an already finished one."""
        ...

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        """Fetch the finished output (MP3 bytes). Raises `OutputUnavailable`."""
        ...


class LedgerStore(Protocol):
    """Atomic credit operations. Each call is one transaction; each movement carries an
    idempotency key under a unique constraint, and a repeated key returns the first outcome
    with `duplicate=True` instead of moving credits twice."""

    async def ensure_person(
        self, identity: str, *, welcome: Grant | None, now: dt.datetime
    ) -> Person:
        """The person behind `identity`, created on first contact together with its wallet and
        the welcome grant (whose `account_id` is filled in here), exactly once even under races."""
        ...

    async def find_person(self, identity: str) -> Person | None: ...

    async def ensure_server_wallet(self, server_key: str, *, now: dt.datetime) -> int: ...

    async def grant(self, grant: Grant, *, now: dt.datetime) -> Outcome: ...

    async def hold(
        self, key: str, account_id: int, amount: int, *, expires_at: dt.datetime, now: dt.datetime
    ) -> Outcome:
        """Reserve `amount`; `InsufficientCredits` or `WalletFrozen` if it cannot."""
        ...

    async def capture(self, key: str, *, now: dt.datetime) -> Outcome:
        """Charge a held amount (the clip was delivered). A hold that already expired is
        charged only if the balance still allows it."""
        ...

    async def release(self, key: str, *, now: dt.datetime) -> Outcome: ...

    async def sweep_expired_holds(self, *, now: dt.datetime, limit: int = 500) -> int:
        """Release every hold past its expiry; returns how many were released."""
        ...

    async def transfer(
        self,
        key: str,
        from_account: int,
        to_account: int,
        amount: int,
        reason: Reason,
        *,
        now: dt.datetime,
        memo: str = "",
    ) -> Outcome: ...

    async def take_back(
        self,
        key: str,
        account_id: int,
        *,
        order_ref: str,
        target_total: int,
        reason: Reason,
        now: dt.datetime,
    ) -> Outcome:
        """Bring the credits taken back for `order_ref` up to `target_total`. A refund takes
        only that purchase's unspent credits and never goes below zero; a dispute takes the
        whole target (the wallet may go below zero) and freezes the wallet."""
        ...

    async def take(
        self, key: str, account_id: int, amount: int, reason: Reason, *, now: dt.datetime, memo: str = ""
    ) -> Outcome:
        """An operator takes credits back (never below zero)."""
        ...

    async def set_frozen(self, account_id: int, frozen: bool) -> Balance: ...

    async def balance(self, account_id: int) -> Balance: ...

    async def stats(self, account_id: int) -> AccountStats: ...

    async def history(self, account_id: int, *, limit: int = 10) -> list[Entry]: ...

    async def get_hold(self, key: str) -> Hold | None: ...

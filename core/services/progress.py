"""Progress: the daily streak and achievements (rules in `core.domain.progress`).

A check awards what is newly reached and is safe to repeat anywhere: after a clip is delivered
and charged (its "Done!" notice celebrates), after the daily credit and a share (their replies
celebrate), and when someone opens /progress (which also catches a purchase or a referral that
paid since).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from core.domain.identity import Identity
from core.domain.progress import (
    ACHIEVEMENTS,
    Achievement,
    Award,
    ProgressResult,
    Streak,
    decide_progress,
)
from core.domain.rules import CreditRules
from core.ports import Clock, ProgressStore
from core.services.wallets import WalletService


@dataclass(frozen=True)
class ProgressView:
    """What /progress shows."""

    streak: Streak
    clips: int
    earned: frozenset[Achievement]
    result: ProgressResult  # the check this look made: its awards are new

    @property
    def new(self) -> tuple[Award, ...]:
        return self.result.awards

    @property
    def achievements(self) -> tuple[tuple[Achievement, bool], ...]:
        return tuple((a, a in self.earned) for a in ACHIEVEMENTS)


class ProgressService:
    def __init__(
        self,
        store: ProgressStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        styles: frozenset[str],
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.styles = styles  # the styles "every style tried" asks for (as jobs record them)

    async def check(self, identity: Identity) -> ProgressResult:
        """Award what `identity`'s person newly reached. Earned twice, or in two processes at
        once, an achievement is granted once."""
        person = await self.wallets.person(identity)
        return await self._award(person.person_id)

    async def _award(self, person_id: int) -> ProgressResult:
        """A read first: most checks find nothing new, and then no write transaction (and no
        wallet lock) is taken. Only when something is due is it decided again under the lock."""
        now = self.clock.now()
        decide = partial(decide_progress, all_styles=self.styles, rules=self.rules, now=now)
        seen = await self.store.progress_snapshot(person_id, now=now)
        if not decide(seen):
            return ProgressResult(seen, ())
        return await self.store.award_progress(person_id, decide, now=now)

    async def view(self, identity: Identity) -> ProgressView:
        """/progress: checks first, so what was reached since is awarded (and shown) now."""
        result = await self.check(identity)
        s = result.snapshot
        earned = s.earned | {a.achievement for a in result.awards if a.achievement is not None}
        return ProgressView(s.streak, s.clips, frozenset(earned), result)

    async def streak(self, identity: Identity) -> Streak:
        """The streak alone, read without a lock (for /balance)."""
        person = await self.wallets.person(identity)
        snapshot = await self.store.progress_snapshot(person.person_id, now=self.clock.now())
        return snapshot.streak

    async def after_clip(self, person_id: int) -> ProgressResult:
        """After a delivered clip (the job notices ask, to say it with "Done!")."""
        return await self._award(person_id)

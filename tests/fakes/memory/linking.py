"""Account linking in memory: `LinkStore`. Two persons merge as `core.domain.merges.decide_merge`
decides from what is read here; the absorbed wallet's credits move with `link` transfers and its
lots move along, and everything that names the absorbed person names the survivor."""

from __future__ import annotations

import datetime as dt

from core.domain.ledger import LotKind, Reason
from core.domain.merges import LinkParty, MergePlan, decide_merge, link_code_valid
from core.domain.rewards import LinkRefusal, LinkResult, platforms_clash
from core.errors import InternalError, LinkCodeInvalid, LinkRefused
from tests.fakes.memory.ledger import balance, move
from tests.fakes.memory.world import LinkCodeRow, World


class FakeLinkStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def create_link_code(self, identity: str, code: str, *, expires_at: dt.datetime, now: dt.datetime) -> None:
        with self.world.transaction():
            person = self.world.require_person(identity)
            for digest, row in list(self.world.link_codes.items()):
                if row.person_id == person.person_id and row.used_at is None:
                    del self.world.link_codes[digest]
            self.world.link_codes[code] = LinkCodeRow(person.person_id, expires_at)

    async def redeem_link(self, identity: str, code: str, *, now: dt.datetime) -> LinkResult:
        with self.world.transaction():
            row = self.world.link_codes.get(code)
            if row is None or not link_code_valid(row.expires_at, row.used_at, now):
                raise LinkCodeInvalid()
            row.used_at = now
            issuer = self.world.survivor(row.person_id)
            found = self.world.find_person(identity)
            if found is None:
                return self._attach(identity, issuer, now)
            return self._merge(issuer, self.world.survivor(found.person_id), now)

    def _attach(self, identity: str, person_id: int, now: dt.datetime) -> LinkResult:
        known = self.world.identities_of(person_id)
        if platforms_clash(known, [identity]):
            raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
        self.world.identities[identity] = person_id
        wallet = self.world.wallet_of(person_id)
        return LinkResult(person_id, None, (*known, identity), balance(self.world, wallet), moved_free=0, moved_paid=0)

    def _party(self, person_id: int) -> LinkParty:
        wallet = self.world.wallet_of(person_id)
        unspent: dict[LotKind, int] = {}
        for lot in self.world.lots.values():
            if lot.account_id == wallet:
                unspent[lot.kind] = unspent.get(lot.kind, 0) + lot.remaining
        return LinkParty(
            person_id,
            wallet,
            self.world.created_at(person_id),
            tuple(self.world.identities_of(person_id)),
            balance(self.world, wallet),
            unspent,
        )

    def _merge(self, issuer: int, other: int, now: dt.datetime) -> LinkResult:
        plan = decide_merge(self._party(issuer), self._party(other))
        self._move_balance(plan, now)
        self._repoint(plan.keep.person_id, plan.gone.person_id)
        moved = {move.kind: move.amount for move in plan.moves}
        return LinkResult(
            plan.keep.person_id,
            plan.gone.person_id,
            tuple(self.world.identities_of(plan.keep.person_id)),
            balance(self.world, plan.keep.wallet_id),
            moved_free=moved.get(LotKind.FREE, 0),
            moved_paid=moved.get(LotKind.PAID, 0),
        )

    def _move_balance(self, plan: MergePlan, now: dt.datetime) -> None:
        source, target = plan.gone.wallet_id, plan.keep.wallet_id
        for step in plan.moves:
            if not move(
                self.world, step.key, source, target, step.amount, Reason.LINK, now, guarded=False, memo=step.memo
            ):
                raise InternalError(f"{step.key} was applied before")
        for lot in self.world.lots.values():
            if lot.account_id == source:
                lot.account_id = target

    def _repoint(self, keep: int, gone: int) -> None:
        world = self.world
        referrals = world.referrals
        if keep not in referrals and gone in referrals:
            referrals[keep] = referrals.pop(gone)
            referrals[keep].referred = keep
        elif gone in referrals and (referrals[gone].referred_state is None or referrals[gone].referrer_state is None):
            del referrals[gone]  # one referrer per person: the absorbed one's open referral is cancelled
        if keep not in world.email_codes and gone in world.email_codes:
            world.email_codes[keep] = world.email_codes.pop(gone)
        else:
            world.email_codes.pop(gone, None)
        for key, owner in world.identities.items():
            if owner == gone:
                world.identities[key] = keep
        for claim in world.claims.values():
            if claim.person_id == gone:
                claim.person_id = keep
        for code, (owner, made) in world.referral_codes.items():
            if owner == gone:
                world.referral_codes[code] = (keep, made)
        for row in referrals.values():
            if row.referrer == gone:
                row.referrer = keep
        for address, owner in world.verified_emails.items():
            if owner == gone:
                world.verified_emails[address] = keep
        for ticket in world.tickets.values():
            if ticket.person_id == gone:
                ticket.person_id = keep
        for digest, row in list(world.link_codes.items()):
            if row.person_id == gone and row.used_at is None:
                del world.link_codes[digest]
        for absorbed, survivor in world.person_links.items():
            if survivor == gone:
                world.person_links[absorbed] = keep
        own = referrals.get(keep)
        if own is not None and own.referrer == keep and (own.referred_state is None or own.referrer_state is None):
            del referrals[keep]  # a referral between the two is a self-referral now
        world.person_links[gone] = keep

"""Account linking: `/link` on one platform gives a one-time code; entered on the other platform
it joins the two identities into one person with one wallet.

An identity that has never talked to the bot joins without becoming a person of its own (no
welcome credits): adapters should call `redeem` *before* anything that creates the person, e.g.
Telegram `/start link_<code>`. Two existing persons merge into the older one; the ledger moves
the balance with `link` transfers (no credits created). Open jobs or a frozen wallet refuse.
"""

from __future__ import annotations

from core.domain.identity import Identity
from core.domain.rewards import (
    CODE_ALPHABET,
    LinkCode,
    LinkResult,
    clean_code,
    code_digest,
)
from core.domain.rules import CreditRules
from core.errors import LinkCodeInvalid
from core.ports import Clock, CodeSource, LinkStore
from core.services.wallets import WalletService

LINK_CODE_LENGTH = 8  # 32^8 ≈ 10^12 codes, each alive for minutes: not guessable


class LinkService:
    def __init__(
        self,
        store: LinkStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        codes: CodeSource,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.codes = codes

    async def start(self, identity: Identity) -> LinkCode:
        """`/link`: a new one-time code (earlier unused ones stop working)."""
        await self.wallets.person(identity)
        code = self.codes.code(LINK_CODE_LENGTH, CODE_ALPHABET)
        now = self.clock.now()
        expires_at = now + self.rules.link_code_ttl
        await self.store.create_link_code(identity.key, _digest(code), expires_at=expires_at, now=now)
        return LinkCode(code, expires_at)

    async def redeem(self, identity: Identity, code_text: str) -> LinkResult:
        """`/link <code>` on the other platform. Raises LinkCodeInvalid (unknown, used or
        expired) or LinkRefused(reason: already_linked, platform_taken, jobs_running,
        wallet_frozen_link)."""
        code = clean_code(code_text)
        if code is None:
            raise LinkCodeInvalid()
        return await self.store.redeem_link(identity.key, _digest(code), now=self.clock.now())


def _digest(code: str) -> str:
    return code_digest("link", code)

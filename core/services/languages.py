"""Which language to speak to a person: the one they chose with /language, kept on the person
(so their linked platforms agree), else what their platform says (the caller's fallback)."""

from __future__ import annotations

from core.domain.identity import Identity
from core.errors import UnknownLanguage
from core.ports import LanguageStore


class LanguageService:
    def __init__(self, store: LanguageStore, known: tuple[str, ...]) -> None:
        self.store = store
        self.known = known

    async def chosen(self, identity: Identity | str) -> str | None:
        """The language the person chose, if any."""
        key = identity.key if isinstance(identity, Identity) else identity
        return await self.store.language_of(key)

    async def choose(self, identity: Identity, language: str) -> str:
        """Remember `language` for the person; `UnknownLanguage` for one the bot does not speak."""
        code = language.strip().lower()
        if code not in self.known:
            raise UnknownLanguage(language, self.known)
        await self.store.set_language(identity.key, code)
        return code

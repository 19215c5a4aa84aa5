"""The language a person chose, in memory: `LanguageStore`."""

from __future__ import annotations

from tests.fakes.memory.world import World


class FakeLanguageStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def language_of(self, identity: str) -> str | None:
        person_id = self.world.identities.get(identity)
        return None if person_id is None else self.world.languages.get(person_id)

    async def set_language(self, identity: str, language: str) -> None:
        with self.world.transaction():
            self.world.languages[self.world.require_person(identity).person_id] = language

"""A person's languages, on their row of `persons`: `LanguageStore`. An identity names its
person directly (linking re-points identities to the person that remains)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from adapters.storage.database import Database
from adapters.storage.persons import find_person, require_person
from adapters.storage.sql import Statement, one, run
from adapters.storage.tables import identities, persons
from core.domain.languages import LanguagePreference

_LANGUAGES_OF = Statement(
    select(persons.c.language, persons.c.seen_language)
    .select_from(identities.join(persons, persons.c.id == identities.c.person_id))
    .where(identities.c.key == bindparam("key"))
)
_SET_CHOSEN = Statement(update(persons).where(persons.c.id == bindparam("id")).values(language=bindparam("language")))
_SET_SEEN = Statement(
    update(persons).where(persons.c.id == bindparam("id")).values(seen_language=bindparam("language"))
)


class SqlLanguageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def languages_of(self, identity: str) -> LanguagePreference:
        row = await self.db.read_point(lambda conn: one(conn, _LANGUAGES_OF, key=identity))
        if row is None:
            return LanguagePreference()
        chosen, seen = row
        return LanguagePreference(None if chosen is None else str(chosen), None if seen is None else str(seen))

    async def set_language(self, identity: str, language: str) -> None:
        def work(conn: Connection) -> None:
            run(conn, _SET_CHOSEN, id=require_person(conn, identity).person_id, language=language)

        await self.db.write(work)

    async def saw_language(self, identity: str, language: str) -> None:
        def work(conn: Connection) -> None:
            person = find_person(conn, identity)
            if person is not None:
                run(conn, _SET_SEEN, id=person.person_id, language=language)

        await self.db.write(work)

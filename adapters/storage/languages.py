"""The language a person chose, on their row of `persons`: `LanguageStore`. An identity names
its person directly (linking re-points identities to the person that remains)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from adapters.storage.database import Database
from adapters.storage.persons import require_person
from adapters.storage.sql import Statement, run, scalar
from adapters.storage.tables import identities, persons

_LANGUAGE_OF = Statement(
    select(persons.c.language)
    .select_from(identities.join(persons, persons.c.id == identities.c.person_id))
    .where(identities.c.key == bindparam("key"))
)
_SET_LANGUAGE = Statement(update(persons).where(persons.c.id == bindparam("id")).values(language=bindparam("language")))


class SqlLanguageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def language_of(self, identity: str) -> str | None:
        found = await self.db.read_point(lambda conn: scalar(conn, _LANGUAGE_OF, key=identity))
        return None if found is None else str(found)

    async def set_language(self, identity: str, language: str) -> None:
        def work(conn: Connection) -> None:
            run(conn, _SET_LANGUAGE, id=require_person(conn, identity).person_id, language=language)

        await self.db.write(work)

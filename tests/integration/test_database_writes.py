"""The SQLite writer thread tells each batch's callers on their own event loop; a caller whose
loop closed before its batch committed cannot be told, and the writer carries on."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from sqlalchemy import Connection

from adapters.storage.database import Database


async def test_a_write_whose_event_loop_closed_meanwhile_leaves_the_writer_running(sqlite_url: str):
    async with Database(sqlite_url) as db:
        closed = threading.Event()

        def slow(conn: Connection) -> str:
            closed.wait(5)  # the caller's loop closes while this unit runs
            return "done"

        async def ask() -> str:
            return await db.write(slow)

        def caller_on_a_loop_of_its_own() -> None:
            loop = asyncio.new_event_loop()
            try:
                with contextlib.suppress(TimeoutError):  # it gives up and its loop closes
                    loop.run_until_complete(asyncio.wait_for(ask(), 0.05))
            finally:
                loop.close()
                closed.set()

        await asyncio.to_thread(caller_on_a_loop_of_its_own)
        assert await asyncio.wait_for(db.write(lambda conn: "still writing"), 5) == "still writing"

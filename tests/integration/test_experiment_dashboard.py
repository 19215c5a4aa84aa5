"""GET /dashboard's pricing-experiment section: the running experiment (else the latest), a row
per arm with the report's figures, read in the page's one read (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain.identity import Identity
from tests.integration.test_dashboard import Browser, browser  # noqa: F401 - the fixture

HEAD = ["Arm", "Weight", "People", "Offer views", "Packs chosen", "Payers", "Conversion", "Revenue per person"]


async def test_experiment_section_of_the_dashboard_shows_each_arm(browser: Browser, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    app = browser.app
    assert "Experiment" not in " ".join((await browser.get()).tables())  # none yet: no section
    await app.experiments.start(None, "dec a=starter:100:500 b:2=starter:120:500".split())
    running = await app.experiments.running()
    assert running is not None
    arms: dict[str, int] = {"a": 0, "b": 0}
    for n in range(6):
        wallet = (await app.wallets.person(Identity("console", f"p{n}"))).wallet_id
        await app.experiments.shown_to(wallet)
        arms[running.arm_of(wallet).name] += 1

    reads: list[Any] = []
    real_read = app.database.read  # type: ignore[union-attr]

    async def counted(work: Any) -> Any:
        reads.append(work)
        return await real_read(work)

    monkeypatch.setattr(app.database, "read", counted)
    page = await browser.get()

    assert page.status == 200, page.body
    assert len(reads) == 1  # the experiment comes with the page's one read
    [title] = [heading for heading in page.tables() if heading.startswith("Experiment dec, running since ")]
    head, first, second = page.tables()[title]
    assert head == [*HEAD, "p against the control"]
    assert first[:6] == ["a, control", "1", str(arms["a"]), str(arms["a"]), "0", "0"]
    assert second[:6] == ["b", "2", str(arms["b"]), str(arms["b"]), "0", "0"]
    assert second[-1] == ("1.000" if arms["a"] and arms["b"] else "")

"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium, against the
bot's web server on loopback, over a seeded database. The charts render (SVG marks with data,
drawn with a size), the browser logs no error, a wrong token is refused, a ticket with markup
shows as text and runs nothing, the page fits a phone's width, the range picker works, and a
screenshot is saved.

Skipped (with the reason) where Chromium, its driver or Selenium is missing; `.ci/run` installs
them and sets CI=true, and there a missing browser fails instead."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.web import WebServer
from bot.bootstrap import build_app
from core.domain.identity import Identity
from tests.integration.insight_seed import history
from tests.integration.test_dashboard import TOKEN, app_settings

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCRIPT_TICKET = "<script>window.pwned = 1</script> my clip <b>vanished</b>"
SEEDED = "dashboard?from=2026-03-01&to=2026-03-10"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture
def chromium() -> Iterator[object]:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,2400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _severe(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _follow(driver, act) -> None:  # type: ignore[no-untyped-def]
    """Do `act` (a click that loads a page) and wait until the new page is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    act()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _look(driver, base: str, shots: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Everything the browser is asked, in one synchronous run (Selenium blocks)."""
    from selenium.webdriver.common.by import By

    seen: dict[str, object] = {}
    host = base.removeprefix("http://")
    driver.get(f"http://operator:wrong-{TOKEN}@{host}/dashboard")
    seen["refused"] = driver.page_source  # Chromium shows no page of its own for a 401 it won't retry
    driver.get_log("browser")  # the 401 is an expected console error: start counting after it

    driver.get(f"http://operator:{TOKEN}@{host}/{SEEDED}")
    seen["title"] = driver.title
    series = driver.find_element(By.CSS_SELECTOR, "svg.chart.series")
    seen["series_size"] = series.size
    seen["marks"] = [int(c.get_attribute("data-value")) for c in series.find_elements(By.TAG_NAME, "circle")]
    seen["lines"] = [p.get_attribute("points") for p in series.find_elements(By.TAG_NAME, "polyline")]
    bars = driver.find_elements(By.CSS_SELECTOR, "svg.chart.bars rect")
    seen["bar_widths"] = [float(b.get_attribute("width")) for b in bars]
    seen["bar_sizes"] = [b.size["width"] for b in bars]
    cells = driver.find_elements(By.CSS_SELECTOR, "td.text")
    seen["ticket_cells"] = [c.text for c in cells]
    seen["pwned"] = driver.execute_script("return window.pwned === undefined ? null : window.pwned")
    seen["bold_in_cells"] = len(driver.find_elements(By.CSS_SELECTOR, "td.text b"))
    seen["errors"] = _severe(driver)
    driver.save_screenshot(str(shots / "dashboard-desktop.png"))

    driver.set_window_size(390, 1600)  # a phone
    driver.get(f"http://operator:{TOKEN}@{host}/{SEEDED}")
    seen["phone_overflow"] = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    seen["phone_chart_width"] = driver.find_element(By.CSS_SELECTOR, "svg.chart.series").size["width"]
    driver.save_screenshot(str(shots / "dashboard-phone.png"))

    _follow(driver, lambda: driver.find_element(By.LINK_TEXT, "Last 7 days").click())
    seen["quick_heading"] = driver.find_element(By.CSS_SELECTOR, "#insight h2").text
    driver.execute_script(
        "document.querySelector('input[name=from]').value = '2026-03-02';"
        "document.querySelector('input[name=to]').value = '2026-03-04';"
    )
    _follow(driver, lambda: driver.find_element(By.CSS_SELECTOR, "form.range button").click())
    seen["picked_heading"] = driver.find_element(By.CSS_SELECTOR, "#insight h2").text
    seen["errors_after"] = _severe(driver)
    return seen


async def test_the_dashboard_renders_its_charts_in_chromium(chromium, sqlite_url: str, tmp_path: Path):
    app = await build_app(app_settings(sqlite_url, tmp_path, dashboard_token=TOKEN))  # the SQL is tested elsewhere
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        await app.database.write(history)
        await app.rewards.support.open_ticket(Identity("console", "mallory"), SCRIPT_TICKET)
        async with WebServer(app.web_hooks, "127.0.0.1", 0) as server:
            seen = await asyncio.to_thread(_look, chromium, server.base_url, shots)
    finally:
        await app.close()
    if os.environ.get("DASHBOARD_SCREENSHOTS"):  # to look at them after the run
        shutil.copytree(shots, os.environ["DASHBOARD_SCREENSHOTS"], dirs_exist_ok=True)

    refused = str(seen["refused"])
    assert "Operator dashboard" not in refused and "<svg" not in refused and "mallory" not in refused
    assert seen["title"] == "Operator dashboard"
    size = seen["series_size"]
    assert isinstance(size, dict) and size["width"] > 300 and size["height"] > 100
    marks = seen["marks"]
    assert isinstance(marks, list) and len(marks) == 30 and sum(marks[10:20]) == 5  # ten days × 3 series
    lines = seen["lines"]
    assert isinstance(lines, list) and len(lines) == 3 and all(len(p.split()) == 10 for p in lines)
    widths, drawn = seen["bar_widths"], seen["bar_sizes"]
    assert isinstance(widths, list) and isinstance(drawn, list)
    assert len(widths) == 5 + 3  # the funnel's five steps, two USD packs and one XTR pack
    assert max(widths) > 100 and all(w > 0 for w in drawn if w)
    assert seen["ticket_cells"] == ["hello", SCRIPT_TICKET]  # the open tickets, shown as written, as text
    assert seen["pwned"] is None and seen["bold_in_cells"] == 0  # nothing in it ran or rendered
    assert seen["errors"] == [] and seen["errors_after"] == []
    assert seen["phone_overflow"] == 0  # no sideways scrolling on a phone
    assert 300 < float(str(seen["phone_chart_width"])) <= 390  # the chart shrinks to the screen
    assert "(UTC, 7 days)" in str(seen["quick_heading"])
    assert seen["picked_heading"] == "Success metrics 2026-03-02 to 2026-03-04 (UTC, 3 days)"
    for name in ("dashboard-desktop.png", "dashboard-phone.png"):
        assert (shots / name).stat().st_size > 10_000

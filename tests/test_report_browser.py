"""report.html as a person uses it: the demo report in headless Chromium (Debian's chromium and
chromium-driver, driven by selenium; no browser is downloaded at test time).

Fails on any console error; types into the search box and checks the cards filter; pages, filters
and sorts; opens a card's ladder and buying committee; saves screenshots next to the test's tmp dir.
Without chromium the test skips with the reason, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")


def _browser_or_skip() -> Any:
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not path]
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        reason = f"browser test needs {', '.join(missing)} (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " — CI must run it: .ci/run installs them")
        pytest.skip(reason)
    return webdriver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1800", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _cards(driver: Any) -> list[str]:
    return [c.get_attribute("data-account") for c in driver.find_elements("css selector", "#cards article.card")]


def test_demo_report_in_chromium(browser: Any, demo_run: Path, tmp_path: Path):
    from selenium.webdriver.support.ui import Select

    browser.get((demo_run / "report.html").resolve().as_uri())
    assert browser.find_element("tag name", "html").get_attribute("lang") == "ja"
    first_page = _cards(browser)
    assert 0 < len(first_page) <= 20
    collisions = pl.read_parquet(demo_run / "collisions.parquet")
    critical = set(collisions.filter(pl.col("severity") == "critical")["account_id"])
    assert first_page[0] in critical                      # most urgent first

    # search: a company name narrows the cards to that company
    accounts = pl.read_parquet(demo_run / "accounts.parquet")
    name = accounts.filter(pl.col("account_id") == first_page[-1])["name"][0]
    box = browser.find_element("id", "q")
    box.send_keys(name)
    time.sleep(0.5)  # the search waits for typing to pause
    found = _cards(browser)
    assert first_page[-1] in found and len(found) < len(first_page)
    names = set(accounts.filter(pl.col("account_id").is_in(found))["name"])
    assert all(name in n for n in names)
    browser.find_element("id", "reset").click()

    # paging: page 2 shows other accounts
    browser.find_element("css selector", "#pager-top button:last-child").click()
    assert set(_cards(browser)).isdisjoint(first_page)

    # filters: critical only → every card has a critical collision
    Select(browser.find_element("id", "f-severity")).select_by_value("critical")
    shown = _cards(browser)
    assert set(shown) <= critical and len(shown) == min(20, len(critical))
    badges = browser.find_elements("css selector", "#cards .flag .sev-low, #cards .flag .gap")
    assert not badges
    Select(browser.find_element("id", "f-severity")).select_by_value("")
    Select(browser.find_element("id", "f-gap")).select_by_value("no_decision_maker")
    gap_accounts = set(pl.read_parquet(demo_run / "key_person_gaps.parquet")
                       .filter(pl.col("gap_type") == "no_decision_maker")["account_id"])
    assert set(_cards(browser)) <= gap_accounts and _cards(browser)
    Select(browser.find_element("id", "sort")).select_by_value("name")
    browser.find_element("id", "reset").click()

    # the first card's ladder and committee open and draw
    for summary in browser.find_elements("css selector", "#cards article.card:first-child details summary"):
        summary.click()
    assert browser.find_elements("css selector", "#cards article.card:first-child .ladder li")
    assert browser.find_elements("css selector", "#cards article.card:first-child svg.committee rect")
    assert browser.find_elements("css selector", "#depts .dept")

    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert _errors(browser) == []


@pytest.mark.parametrize("hostile", ['"><img src=x onerror="window.__pwned=1">',
                                     "</script><script>window.__pwned=2</script>",
                                     "<!--<script>window.__pwned=3</script>"])
def test_hostile_names_render_as_text_in_chromium(browser: Any, tmp_path: Path, hostile: str):
    from datetime import date

    from abm.report.html import write_report
    from tests.test_report import _tables

    page = tmp_path / "report.html"
    write_report(page, _tables(hostile, hostile, hostile), date(2026, 1, 5), {})
    browser.get(page.as_uri())
    assert browser.execute_script("return window.__pwned") is None
    assert browser.find_element("css selector", "#cards article.card h3").text == hostile
    assert not browser.find_elements("css selector", "#cards img")
    browser.find_element("css selector", "#cards article.card details summary").click()
    assert hostile in browser.find_element("css selector", "#cards article.card .ladder").text
    assert _errors(browser) == []

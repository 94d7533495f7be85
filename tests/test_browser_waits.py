"""The browser journeys assert what a page shows with Playwright's ``expect``, which retries
until the page shows it. ``locator.is_visible()`` answers at once: right after a click it can
read the page before the new one has arrived, and a slow CI machine then fails the journey
(it failed the Cohort journey that way). This keeps the pattern out."""

import re
from pathlib import Path

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
READ_AT_ONCE = re.compile(r"assert\s[^\n]*\.is_visible\(\)")


def test_no_browser_journey_asserts_is_visible_instead_of_expect():
    found = [
        f"{path.name}:{text[: match.start()].count(chr(10)) + 1}"
        for path in sorted(BROWSER_TESTS.glob("*.py"))
        for text in [path.read_text()]
        for match in READ_AT_ONCE.finditer(text)
    ]
    assert found == [], f"use expect(locator).to_be_visible() instead: {found}"


def test_the_check_finds_the_pattern():
    assert READ_AT_ONCE.search('    assert page.get_by_role("heading").is_visible()\n')
    assert not READ_AT_ONCE.search('    expect(page.get_by_role("heading")).to_be_visible()\n')

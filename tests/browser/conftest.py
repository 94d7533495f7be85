"""Playwright (Python) driving Debian's Chromium headless against a live server.

Chromium comes from the system packages (`make test` installs it when missing and the
user is root); Playwright's own browser download is never used. Without Chromium the
browser tests are skipped locally with the reason, and fail in CI (CI=true).
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.ci import ci_enabled

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# still synchronous, so Django's async-safety guard is lifted for browser tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if ci_enabled():
        raise pytest.UsageError(
            f"Chromium not found at {CHROMIUM}: CI must run the browser journeys."
        )
    skip = pytest.mark.skip(
        reason=f"Chromium not installed ({CHROMIUM}); `apt-get install chromium`"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    # bypass_csp lets the test inject axe-core; the app's own pages never need it.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page, live_server):
    def go(username: str, password: str = "correct-horse-battery"):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        return page

    return go


@pytest.fixture
def axe_violations(page):
    """Serious and critical accessibility violations on the current page (axe-core)."""

    def scan() -> list[dict]:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return scan


@pytest.fixture(autouse=True)
def regimen_catalogue(transactional_db):
    """Browser tests run in committed transactions, and flushing between them removes the
    catalogue rows the data migration wrote; write them again (the seeding is idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("therapy.migrations.0002_regimen_catalogue").seed_catalogue(apps, None)

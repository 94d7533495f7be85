"""Playwright (Python) driving Debian's Chromium headless against a live server.

Chromium comes from the system packages (`make test` installs it when missing and the
user is root); Playwright's own browser download is never used. Without Chromium the
browser tests are skipped locally with the reason, and fail in CI (CI=true).
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

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


CSP_WORDS = ("Content Security Policy", "Refused to apply", "Refused to load", "Refused to execute")


@pytest.fixture
def page(chromium):
    """A page under the app's real Content Security Policy (never ``bypass_csp``). Every
    console message is kept on ``page.console``; a journey fails if the policy blocked
    anything, so a CSP breakage cannot hide behind a passing journey."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # expect() retries an assertion until the page shows it; give it the page's patience (the
    # first Cohort page of a test server imports lifelines and pandas, seconds on a slow CI).
    expect.set_options(timeout=15_000)
    page.console = []
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console.append(f"pageerror: {e}"))
    yield page
    context.close()
    blocked = [line for line in page.console if any(w in line for w in CSP_WORDS)]
    assert blocked == [], f"the Content Security Policy blocked something: {blocked[:5]}"


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
        # Evaluated through the DevTools protocol, which the page's CSP does not govern: no
        # inline script tag, so the policy stays in force for the app's own code.
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
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


@pytest.fixture
def worker(settings):
    """A real Celery worker on a queue of its own (every monitoring task is routed there),
    so a worker of another test process never takes our message, nor ours theirs."""
    import uuid

    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from patients import services as patient_services
    from patients.models import Patient

    queue = f"browser-{uuid.uuid4().hex[:8]}"
    settings.MONITORING_TASK_QUEUE = queue
    # Evaluations the test's data fixtures queued went to the default queue, which nobody
    # consumes here; their marks, and the start time of their task, would hold back the
    # test's own (a patient already waiting is not queued again; nor, while that task
    # waits, is anyone) until they go stale.
    Patient.objects.filter(evaluation_queued_at__isnull=False).update(evaluation_queued_at=None)
    patient_services.evaluation_task_forget()
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]
    ):
        yield
    app.amqp.queues._consume_from = None

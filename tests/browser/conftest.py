"""Playwright in Debian's Chromium against pytest-django's live server.

Fixtures for every browser test:
- `browser`: one headless Chromium for the whole run (never a downloaded one);
- `live_url`: the live server's address;
- `browser_page(user, viewport=(1366, 900))`: a fresh context, logged in through the real login
  form, in a timezone that is not UTC, so the viewer's-timezone display is exercised;
- `shot(page, name)`: a full-page PNG in tests/browser/artifacts/ (ignored by git), to look at;
- `accessible(page)`: axe-core's WCAG 2 A and AA rules on the page as it is; any violation fails.

Every test collected here is marked `browser`, so `pytest -m "not browser"` leaves them out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import TransactionTestCase
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWER_TIMEZONE = "Europe/Berlin"
LAPTOP = (1366, 900)
PHONE = (390, 844)
ARTIFACTS = Path(__file__).parent / "artifacts"
HERE = Path(__file__).parent
# Installed by `make test` (npm, pinned in the Makefile); var/ is ignored by git.
AXE_SCRIPT = HERE.parents[1] / "var" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Nothing in a test run may fetch a browser of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def pytest_itemcollected(item):
    if HERE in item.path.parents:
        item.add_marker(pytest.mark.browser)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    Playwright's sync API keeps an event loop running in the test thread from the moment the
    browser starts, which makes Django refuse ORM calls there. Running the browser tests after
    every other test confines that window, and the exemption it needs, to them.
    """
    browser_tests = [item for item in items if HERE in item.path.parents]
    others = [item for item in items if HERE not in item.path.parents]
    items[:] = others + browser_tests


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Start each browser test's database from empty, so serialized rollback can restore it.

    Serialized rollback loads the rows the migrations made (the severities, content types,
    permissions) with their original ids. A transactional test elsewhere that flushed without
    it had post_migrate recreate content types and permissions under new ids, and loading the
    originals over those fails on their unique names.
    """
    marker = request.node.get_closest_marker("django_db")
    restores = "django_db_serialized_rollback" in request.fixturenames or bool(
        marker and marker.kwargs.get("serialized_rollback")
    )
    if fixturedef.argname == "_django_db_helper" and restores:
        with request.getfixturevalue("django_db_blocker").unblock():
            for alias in connections:
                call_command(
                    "flush",
                    database=alias,
                    interactive=False,
                    verbosity=0,
                    inhibit_post_migrate=True,
                )
    return (yield)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM} "
            "(Debian: apt-get install chromium; `make test` installs it when run as root)."
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    # Only while Playwright's loop runs in this thread; see pytest_collection_modifyitems.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # With an event loop running, Django keeps this thread's database connections apart from
    # the ones the test database was set up on; the new ones need that setup's snapshot of
    # the migrated rows for serialized rollback.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    playwright = sync_playwright().start()
    for alias, snapshot in snapshots.items():
        connections[alias]._test_serialized_contents = snapshot
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live_url(django_db_serialized_rollback, live_server) -> str:
    """The live server's URL, without a trailing slash.

    The live server runs in another thread, so the test's rows must really be committed
    (transactional_db). Serialized rollback puts back what the migrations created (the
    severities) after each test's flush, for the next browser test.
    """
    return live_server.url


@pytest.fixture
def browser_page(browser, live_url) -> Iterator[Callable[..., Page]]:
    """Open a page logged in as `user`: `browser_page(user, viewport=(390, 844))`.

    A JavaScript error on any page opened this way fails the test.
    """
    contexts = []
    page_errors: list[str] = []

    def open_page(user, viewport: tuple[int, int] = LAPTOP) -> Page:
        width, height = viewport
        phone = width < 600
        context = browser.new_context(
            base_url=live_url,
            viewport={"width": width, "height": height},
            timezone_id=VIEWER_TIMEZONE,
            locale="en-GB",
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"{page.url}: {error}"))
        page.goto("/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    yield open_page
    for context in contexts:
        context.close()
    _wait_for_requests_in_flight()
    assert not page_errors, "JavaScript errors on the page:\n" + "\n".join(page_errors)


def _wait_for_requests_in_flight(timeout: float = 5.0) -> None:
    """Let the requests a closed page left in flight finish before the test's rows are flushed.

    A presence beat or session save still running in the live server's thread holds locks that
    the flush's TRUNCATE waits on, and PostgreSQL may end one of them as a deadlock.
    """
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


def _end_other_sessions() -> None:
    """End every other connection to the test database (servers open a new one per request)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


_flush_rows = TransactionTestCase._fixture_teardown


def _flush_rows_past_a_deadlock(self) -> None:
    """Flush a browser test's rows, again if a late request deadlocked the first TRUNCATE.

    A server (the live server, a uvicorn process) may still start a query after the wait for
    requests in flight: a page's last beacon, a stream's access check. PostgreSQL then ends one
    side as a deadlock; the flush rolls back whole, so once the others are gone it can run again.
    """
    for attempt in range(3):
        try:
            return _flush_rows(self)
        except CommandError as error:
            if attempt == 2 or "deadlock" not in str(error.__cause__).lower():
                raise
            _end_other_sessions()
            time.sleep(0.2)


TransactionTestCase._fixture_teardown = _flush_rows_past_a_deadlock


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as tests/browser/artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"The browser tests need axe-core at {AXE_SCRIPT}: `make test` installs it.")
    return AXE_SCRIPT.read_text()


@pytest.fixture
def accessible(axe_source) -> Callable[..., None]:
    """Run axe-core on the page as it is now and fail on any WCAG 2 A or AA violation:
    `accessible(page)`, or `accessible(page, within="#entry-7")` for one part of it.

    The script is evaluated through the DevTools protocol rather than added as a <script>,
    so the page's Content-Security-Policy stays as strict as it is for people.
    """

    def check(page: Page, within: str | None = None) -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        # Judge the page at rest: a note fading out is not text someone has to read mid-fade.
        page.evaluate(
            """() => document.getAnimations()
                .filter(animation => animation.effect.getComputedTiming().iterations !== Infinity)
                .forEach(animation => animation.finish())"""
        )
        results = page.evaluate(
            """([tags, within]) => axe.run(within || document,
                                           {runOnly: {type: "tag", values: tags}})
                .then(r => ({
                    passes: r.passes.length,
                    violations: r.violations.map(v => ({
                        id: v.id,
                        impact: v.impact,
                        help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — "
                            + (n.failureSummary || "").replace(/\\s+/g, " ")),
                    })),
                }))""",
            [AXE_TAGS, within],
        )
        ARTIFACTS.mkdir(exist_ok=True)
        with (ARTIFACTS / "axe.log").open("a") as log:
            log.write(
                f"{page.url}\t{results['passes']} rules passed\t"
                f"{len(results['violations'])} violated\n"
            )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in results["violations"]
        ]
        assert not problems, f"Accessibility violations on {page.url}:\n" + "\n".join(problems)

    return check
